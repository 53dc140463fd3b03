"""Emission task (runs in a worker): source bytes -> pre-link bitcode, summary
and import fragments. A pure function of its arguments: it reads no files.
"""

from __future__ import annotations

import re

from . import irtext, llvm_env, native_llvm, utf8
from .errors import TaskFailed
from .summary import summarize

PARSE_ERROR = re.compile(r"<string>:(\d+):(\d+): error: (.*)")


def _header(opts: dict, text: str, name: str) -> tuple[str, int]:
    """Lines to put in front of a `.ll` that names no target (the build's) or
    no source file (its module id, which its object's symbol table and the
    linker's messages then show instead of `<string>`)."""
    lines = []
    if not re.search(r"^source_filename\s*=", text, re.M):
        spelt = "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\{b:02X}" for b in name.encode())
        lines.append(f'source_filename = "{spelt}"')
    if not re.search(r"^target triple\s*=", text, re.M):
        lines.append(f'target triple = "{opts["triple"]}"')
    if not re.search(r"^target datalayout\s*=", text, re.M):
        lines.append(f'target datalayout = "{opts["datalayout"]}"')
    return "".join(line + "\n" for line in lines), len(lines)


def parse_source(source: bytes, is_bitcode: bool, opts: dict, name: str):
    llvm = llvm_env.binding()
    ctx = llvm.create_context()
    if is_bitcode:
        try:
            return llvm.parse_bitcode(source, ctx)
        except RuntimeError as e:
            raise TaskFailed(f"invalid bitcode: {str(e).strip()}") from None
    try:
        text = utf8.decode(source)
    except utf8.NotUtf8 as e:
        raise TaskFailed(e.message, e.line, e.col) from None
    header, shift = _header(opts, text, name)
    try:
        return llvm.parse_assembly(header + text, ctx)
    except RuntimeError as e:
        m = PARSE_ERROR.search(str(e))
        if m:
            raise TaskFailed(m.group(3), line=int(m.group(1)) - shift, col=int(m.group(2))) from None
        raise TaskFailed(str(e).strip()) from None


def _check_target(triple: str, layout: str, opts: dict) -> None:
    if triple and triple != opts["triple"]:
        raise TaskFailed(f"module targets {triple!r}, the build targets {opts['triple']!r}")
    if layout and layout != opts["datalayout"]:
        raise TaskFailed(f"module data layout {layout!r} differs from the target's {opts['datalayout']!r}")


def emit(module_id: str, source: bytes, is_bitcode: bool, opts: dict,
         reader: tuple[str, str, str] | None = None) -> dict:
    """`reader`: the release LLVM (library, stamp, identity) that reads a
    bitcode source, else llvmlite. A bitcode source is its own pre-link
    bitcode (`bitcode` None: the caller has it); text is written as bitcode."""
    if is_bitcode and reader:
        text, triple, layout = native_llvm.read_bitcode(*reader, source, verify=True)
        _check_target(triple, layout, opts)
        bitcode = None
    else:
        mod = parse_source(source, is_bitcode, opts, module_id)
        _check_target(mod.triple, mod.data_layout, opts)
        llvm_env.verify(mod)
        if opts.get("prelink_opt") is not None and not is_bitcode:
            llvm_env.optimize(mod, opts["triple"], opts["prelink_opt"], prelink=True)
        text = str(mod)
        bitcode = None if is_bitcode else mod.as_bitcode()
    mt = irtext.split_module(text)
    summary, fragments = summarize(mt, module_id, opts["triple"], opts["import_limit"])
    return {"bitcode": bitcode, "summary": summary, "fragments": fragments}
