"""A release build of LLVM, driven through its C API, for reading bitcode and
for the backend's optimisation and code generation.

llvmlite's LLVM is built with assertions on, which makes its O2 pipeline and
`emit_object` two to three times slower than a release LLVM of the same
version. The Rust toolchain ships exactly that: `<sysroot>/lib/libLLVM.so.*`,
a shared library exporting the LLVM-C API. When it is there and has
llvmlite's major version, a backend job parses its module's bitcode there,
applies its plan through the C API and links its fragments in (printing the
module and parsing it again was ~10% of the job), runs LLVM's ThinLTO
backend pipeline (`thinlto<On>`, what lld runs) and emits the object there;
what the C API cannot do takes the text path (`compile_text`). Bitcode is
read (parsed, verified, printed) there for emission too: llvmlite's
assertions made that ~1.8x slower. Everything else (summaries, fragments,
plans) is Python over the printed IR, which llvmlite's LLVM, of the same
major version, also reads.

Which LLVM compiled an object is part of its key (`backend.BackendOptions`),
so switching between them never reuses an object of the other. It is named
by identity (version and the SHA-256 of the library's content), never by
its path: a checkout elsewhere, or a machine sharing the cache, whose
toolchain is the same file reuses every object, and a worker whose library
differs is refused (`_checked`).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import files, llvm_env, toolchain
from .errors import ConfigError, TaskFailed
from .memo import remembered

# The LLVM target a triple's architecture belongs to (its initialiser names).
_TARGETS = {"x86_64": "X86", "i686": "X86", "i386": "X86", "aarch64": "AArch64", "arm64": "AArch64",
            "riscv64": "RISCV", "riscv32": "RISCV", "powerpc64le": "PowerPC", "powerpc64": "PowerPC",
            "s390x": "SystemZ", "loongarch64": "LoongArch", "wasm32": "WebAssembly"}

_RELOC_PIC = 2              # LLVMRelocPIC
_CODE_MODEL_DEFAULT = 0     # LLVMCodeModelDefault
_OBJECT_FILE = 1            # LLVMObjectFile
_RETURN_STATUS = 2          # LLVMReturnStatusAction: report, do not abort
# LLVMLinkage values of the linkages a backend plan sets (thinlink.py).
_LINKAGE = {"": 0, "available_externally": 1, "weak": 5, "weak_odr": 6, "internal": 8}
_HIDDEN = 1                 # LLVMHiddenVisibility
_NO_UNNAMED_ADDR = 0        # LLVMNoUnnamedAddr
_GLOBAL_UNNAMED_ADDR = 2    # LLVMGlobalUnnamedAddr
# available_externally, appending, common: no section of their own is emitted for them.
_NOT_PLACED = (1, 7, 14)
_DS_ERROR = 0               # LLVMDSError
# LLVMDiagnosticHandler: (LLVMDiagnosticInfoRef, void *context)
_DiagnosticHandler = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


@dataclass(frozen=True)
class Codegen:
    """Which LLVM optimises and compiles the backend jobs."""
    library: str            # path of the shared library; "" = llvmlite in-process
    stamp: str              # that file on this machine (`_file_id`) when its identity was taken
    identity: str           # version and content digest: part of every backend key
    pipeline: str           # the pass pipeline, without its level
    label: str              # for people: which LLVM, and where it is


@lru_cache(maxsize=None)
def llvmlite_codegen() -> Codegen:
    return Codegen("", "", llvm_env.version(), "default",
                   f"{llvm_env.version()} (assertions {llvm_env.binding().llvm_assertions_state})")


def choose(setting: str, cwd: Path, build_dir: Path | None = None) -> Codegen:
    """The backend LLVM for a workspace setting: "auto" (the Rust toolchain's
    libLLVM if it has llvmlite's major version, else llvmlite), "llvmlite",
    or the path of an LLVM shared library. `build_dir` keeps the library's
    identity, and llvmlite's facts, between processes."""
    if setting == "llvmlite":
        return llvmlite_codegen()
    if setting == "auto":
        found = _toolchain_library(str(cwd))
        if found is None:
            return llvmlite_codegen()
        try:
            return _describe(found, build_dir)
        except ConfigError:
            return llvmlite_codegen()
    path = Path(setting).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if not path.is_file():
        raise ConfigError(f"llvm = {setting!r}: no such file")
    return _describe(str(path.resolve()), build_dir)


_toolchains: dict[str, tuple[list, str | None]] = {}    # cwd -> (what chose the toolchain, its library)


def _toolchain_library(cwd: str) -> str | None:
    """Asked again whenever what picks the toolchain may have changed
    (`toolchain.selection`) and once the library it found is gone (`rustup update`
    removes it), so that a session compiles with the LLVM a clean build
    would use."""
    selection, read_at = toolchain.selection(cwd), time.time()
    known = _toolchains.get(cwd)
    if known is not None and known[0] == selection and (known[1] is None or os.path.exists(known[1])):
        return known[1]
    found = _find_toolchain_library(cwd)
    if all(stamp is None or files.vouches(stamp, read_at) for stamp in selection[2]):
        _toolchains[cwd] = (selection, found)
    else:                              # edited just now: it may change again unseen
        _toolchains.pop(cwd, None)
    return found


def _find_toolchain_library(cwd: str) -> str | None:
    # Run in the workspace: a rust-toolchain.toml there picks the toolchain.
    try:
        sysroot = subprocess.run(["rustc", "--print", "sysroot"], cwd=cwd, capture_output=True,
                                 text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    if not sysroot:
        return None
    # `libLLVM-<major>-rust-*.so` is a linker script naming the real library.
    for candidate in sorted(Path(sysroot, "lib").glob("libLLVM*.so*")):
        with open(candidate, "rb") as f:
            if f.read(4) == b"\x7fELF":
                return str(candidate.resolve())
    return None


def _file_id(path: str) -> str:
    """This very file on this machine, unchanged: its device, inode, size and
    mtime. Another machine's copy, or a rewrite, has another."""
    st = os.stat(path)
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns}"


def _describe(path: str, build_dir: Path | None) -> Codegen:
    return _described(path, _file_id(path), build_dir)


@lru_cache(maxsize=None)
def _described(path: str, stamp: str, build_dir: Path | None) -> Codegen:
    lib = _load(path)
    if lib.stamp != stamp:
        raise ConfigError(f"{path} changed on disk after thinwatch loaded it: restart thinwatch")
    version = lib.version()
    want = llvm_env.facts(build_dir).major
    if version[0] != want:
        raise ConfigError(f"{path} is LLVM {'.'.join(map(str, version))}; "
                          f"the IR thinwatch writes needs LLVM {want}")
    name = f"LLVM {'.'.join(map(str, version))}"
    return Codegen(path, stamp, _remembered_identity(path, stamp, build_dir), "thinlto", f"{name}, {path}")


def _remembered_identity(path: str, stamp: str, build_dir: Path | None) -> str:
    """`_identity`, kept in `build_dir` for the very file it was taken of:
    hashing the library was ~0.1 s of every one-shot `thinwatch build`."""
    return remembered(build_dir / "llvm-identity.json" if build_dir is not None else None, f"{path}\0{stamp}",
                      lambda: _identity(path, stamp), lambda known: isinstance(known, str),
                      fields=("file", "identity"))


@lru_cache(maxsize=None)
def _identity(path: str, stamp: str) -> str:
    """The library's version and content digest, once per process and file
    (hashing ~200 MB takes ~0.2 s). `stamp` is only the cache's key."""
    version = '.'.join(map(str, _load(path).version()))
    with open(path, "rb") as f:
        return f"LLVM {version} sha256:{hashlib.file_digest(f, 'sha256').hexdigest()[:32]}"


@lru_cache(maxsize=None)
def _load(path: str) -> "_Library":
    # A process keeps the first library it loads from a path (dlopen matches
    # by name), so what it loaded is known by the file's stamp around the load.
    try:
        before = _file_id(path)
        lib = _Library(ctypes.CDLL(path), before)
        if _file_id(path) != before:
            raise OSError("it changed while being loaded")
        return lib
    except OSError as e:
        raise ConfigError(f"cannot load {path}: {e}") from None
    except AttributeError as e:
        raise ConfigError(f"{path} does not export the LLVM-C API ({e})") from None


def compile_text(library: str, stamp: str, identity: str, text: str, triple: str, cpu: str, opt: int,
                 pipeline: str, want_ir: bool) -> tuple[bytes, str | None]:
    """Parse, verify, optimise and compile one module: (object, optimised IR)."""
    return _checked(library, stamp, identity).compile(text, triple, cpu, opt, pipeline, want_ir)


def compile_planned(library: str, stamp: str, identity: str, bitcode: bytes, plan: dict,
                    renames: dict[str, str], fragments: str, fragment_names: list[str], triple: str,
                    cpu: str, opt: int, pipeline: str, want_ir: bool) -> tuple[bytes, str | None, list[str]] | None:
    """Apply a backend plan to a module's bitcode, link the imported
    fragments (the text of their definitions, declarations and metadata)
    in, verify, optimise and compile: (object, optimised IR, the fragments'
    functions it took). None when the plan cannot be applied this way
    (`_Library._apply`): the caller takes the text path."""
    return _checked(library, stamp, identity).compile_planned(bitcode, plan, renames, fragments, fragment_names,
                                                             triple, cpu, opt, pipeline, want_ir)


def _symbol(name: str) -> bytes:
    """A symbol's bytes from the name as LLVM prints it unquoted (`\\XX` for
    a byte it does not print as itself)."""
    return _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name.encode())


_ESCAPE = re.compile(rb"\\([0-9A-Fa-f]{2})")


def read_bitcode(library: str, stamp: str, identity: str, data: bytes, verify: bool) -> tuple[str, str, str]:
    """Parse (and verify) a bitcode module: its printed IR, triple and data layout."""
    return _checked(library, stamp, identity).read(data, verify)


def _checked(library: str, stamp: str, identity: str) -> "_Library":
    """The library `identity` (a key component) names and no other. A worker
    that loaded the very file the engine described (`stamp`) trusts the
    engine's digest; any other (a cluster's worker, or the file replaced
    since) hashes its own once and is refused if it differs."""
    try:
        lib = _load(library)
    except ConfigError as e:
        raise TaskFailed(f"this worker has no usable LLVM at {library}: {e}") from None
    if lib.stamp != stamp:
        try:
            changed = _file_id(library) != lib.stamp
        except OSError:
            changed = True
        if changed:
            raise TaskFailed(f"{library} changed on disk after this worker loaded it: restart it")
        mine = _identity(library, lib.stamp)
        if mine != identity:
            raise TaskFailed(f"refused: this worker's LLVM ({mine}, {library}) differs from the one the "
                             f"build's keys name ({identity}); give every worker the same toolchain")
    return lib


class _Library:
    def __init__(self, lib: ctypes.CDLL, stamp: str):
        self.lib = lib
        self.stamp = stamp          # the file's `_file_id` when it was loaded
        p, s, u, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_int
        out_p = ctypes.POINTER(p)     # out-parameters, messages included (read with _message)
        for name, res, args in [
            ("LLVMGetVersion", None, [ctypes.POINTER(u)] * 3),
            ("LLVMContextCreate", p, []),
            ("LLVMContextDispose", None, [p]),
            ("LLVMCreateMemoryBufferWithMemoryRangeCopy", p, [s, ctypes.c_size_t, s]),
            ("LLVMParseIRInContext", i, [p, p, out_p, out_p]),
            ("LLVMVerifyModule", i, [p, i, out_p]),
            ("LLVMPrintModuleToString", p, [p]),
            ("LLVMGetTarget", s, [p]),
            ("LLVMGetDataLayoutStr", s, [p]),
            ("LLVMDisposeModule", None, [p]),
            ("LLVMDisposeMessage", None, [p]),
            ("LLVMGetTargetFromTriple", i, [s, out_p, out_p]),
            ("LLVMCreateTargetMachine", p, [p, s, s, s, i, i, i]),
            ("LLVMCreatePassBuilderOptions", p, []),
            ("LLVMPassBuilderOptionsSetLoopVectorization", None, [p, i]),
            ("LLVMPassBuilderOptionsSetSLPVectorization", None, [p, i]),
            ("LLVMDisposePassBuilderOptions", None, [p]),
            ("LLVMRunPasses", p, [p, s, p, p]),
            ("LLVMGetErrorMessage", p, [p]),
            ("LLVMDisposeErrorMessage", None, [p]),
            ("LLVMTargetMachineEmitToMemoryBuffer", i, [p, p, i, out_p, out_p]),
            ("LLVMGetBufferStart", p, [p]),
            ("LLVMGetBufferSize", ctypes.c_size_t, [p]),
            ("LLVMDisposeMemoryBuffer", None, [p]),
            ("LLVMGetModuleContext", p, [p]),
            ("LLVMGetNamedFunction", p, [p, s]),
            ("LLVMGetNamedGlobal", p, [p, s]),
            ("LLVMIsDeclaration", i, [p]),
            ("LLVMSetValueName2", None, [p, s, ctypes.c_size_t]),
            ("LLVMSetLinkage", None, [p, i]),
            ("LLVMSetVisibility", None, [p, i]),
            ("LLVMSetComdat", None, [p, p]),
            ("LLVMSetSection", None, [p, s]),
            ("LLVMSetInitializer", None, [p, p]),
            ("LLVMSetUnnamedAddress", None, [p, i]),
            ("LLVMGlobalClearMetadata", None, [p]),
            ("LLVMLinkModules2", i, [p, p]),
            ("LLVMContextSetDiagnosticHandler", None, [p, _DiagnosticHandler, p]),
            ("LLVMGetDiagInfoSeverity", i, [p]),
            ("LLVMGetDiagInfoDescription", p, [p]),
            ("LLVMGetFirstFunction", p, [p]),
            ("LLVMGetNextFunction", p, [p]),
            ("LLVMGetFirstGlobal", p, [p]),
            ("LLVMGetNextGlobal", p, [p]),
            ("LLVMGetValueName2", p, [p, ctypes.POINTER(ctypes.c_size_t)]),
            ("LLVMGetLinkage", i, [p]),
            ("LLVMGetSection", s, [p]),
            ("LLVMIsThreadLocal", i, [p]),
            ("LLVMIsGlobalConstant", i, [p]),
            ("LLVMGetInitializer", p, [p]),
            ("LLVMIsNull", i, [p]),
            ("LLVMGetUnnamedAddress", i, [p]),
            ("LLVMGetNumOperands", i, [p]),
            ("LLVMGetOperand", p, [p, u]),
            ("LLVMIsAGlobalValue", p, [p]),
            ("LLVMIsABlockAddress", p, [p]),
            ("LLVMIsAConstantDataSequential", p, [p]),
            ("LLVMIsConstantString", i, [p]),
            ("LLVMGetAsString", p, [p, ctypes.POINTER(ctypes.c_size_t)]),
            ("LLVMGetModuleDataLayout", p, [p]),
            ("LLVMGlobalGetValueType", p, [p]),
            ("LLVMABISizeOfType", ctypes.c_ulonglong, [p, p]),
        ]:
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.machines: dict[tuple[str, str, int], int] = {}
        self.initialised: set[str] = set()

    def version(self) -> tuple[int, int, int]:
        parts = [ctypes.c_uint() for _ in range(3)]
        self.lib.LLVMGetVersion(*map(ctypes.byref, parts))
        return tuple(p.value for p in parts)

    def _message(self, ptr: ctypes.c_void_p) -> str:
        """Take ownership of a C string LLVM allocated (and free it)."""
        if not ptr:
            return ""
        text = ctypes.string_at(ptr).decode("utf-8", "replace")
        self.lib.LLVMDisposeMessage(ptr)
        return text

    def machine(self, triple: str, cpu: str, opt: int):
        key = (triple, cpu, opt)
        if key not in self.machines:
            target_name = _TARGETS.get(triple.split("-", 1)[0])
            if target_name is None:
                raise TaskFailed(f"no LLVM target known for {triple!r}")
            if target_name not in self.initialised:
                # The asm parser too: without it LLVM aborts on inline and
                # module-level assembly (Rust's `asm!`, `global_asm!`).
                for part in ("TargetInfo", "Target", "TargetMC", "AsmPrinter", "AsmParser"):
                    getattr(self.lib, f"LLVMInitialize{target_name}{part}")()
                self.initialised.add(target_name)
            target, err = ctypes.c_void_p(), ctypes.c_void_p()
            if self.lib.LLVMGetTargetFromTriple(triple.encode(), ctypes.byref(target), ctypes.byref(err)):
                raise TaskFailed(f"unknown target {triple!r}: {self._message(err)}")
            self.machines[key] = self.lib.LLVMCreateTargetMachine(
                target, triple.encode(), cpu.encode(), b"", opt, _RELOC_PIC, _CODE_MODEL_DEFAULT)
        return self.machines[key]

    def _parsed(self, data: bytes, failure: str, work, verify: bool = True):
        """`work(module)` on `data` (IR text or bitcode) parsed (and verified)
        in a context of its own; a parse error is `failure`: LLVM's message."""
        lib = self.lib
        ctx = lib.LLVMContextCreate()
        try:
            mod = self._parse(ctx, data, b"<string>", failure)
            try:
                if verify:
                    self._verify(mod, "module")
                return work(mod)
            finally:
                lib.LLVMDisposeModule(mod)
        finally:
            lib.LLVMContextDispose(ctx)

    def _parse(self, ctx, data: bytes, name: bytes, failure: str):
        """`data` (IR text or bitcode) parsed in `ctx` as the buffer `name`:
        a module for the caller to dispose of or hand on; a parse error is
        `failure`: LLVM's message."""
        buf = self.lib.LLVMCreateMemoryBufferWithMemoryRangeCopy(data, len(data), name)
        mod, msg = ctypes.c_void_p(), ctypes.c_void_p()
        # The parser owns the buffer whether or not it succeeds.
        if self.lib.LLVMParseIRInContext(ctx, buf, ctypes.byref(mod), ctypes.byref(msg)):
            raise TaskFailed(f"{failure}: {self._message(msg).strip()}")
        return mod

    def _verify(self, mod, what: str) -> None:
        msg = ctypes.c_void_p()
        failed = self.lib.LLVMVerifyModule(mod, _RETURN_STATUS, ctypes.byref(msg))
        problem = self._message(msg)
        if failed:
            raise TaskFailed(f"{what} does not verify: {problem.strip()}")

    def read(self, data: bytes, verify: bool) -> tuple[str, str, str]:
        # The parser takes text too: anything else must not pass for bitcode.
        if data[:4] not in (b"BC\xc0\xde", b"\xde\xc0\x17\x0b"):
            raise TaskFailed("invalid bitcode: no bitcode magic number")
        lib = self.lib
        return self._parsed(data, "invalid bitcode", lambda mod: (
            self._message(lib.LLVMPrintModuleToString(mod)),
            (lib.LLVMGetTarget(mod) or b"").decode(), (lib.LLVMGetDataLayoutStr(mod) or b"").decode()), verify)

    def compile_planned(self, bitcode: bytes, plan: dict, renames: dict[str, str], fragments: str,
                        fragment_names: list[str], triple: str, cpu: str, opt: int, pipeline: str,
                        want_ir: bool):
        tm = self.machine(triple, cpu, opt)

        def work(mod):
            if not self._apply(mod, plan, renames):
                return None
            lib = self.lib
            imported = [n for n in fragment_names
                        if not (f := lib.LLVMGetNamedFunction(mod, _symbol(n))) or lib.LLVMIsDeclaration(f)]
            if fragments:
                self._link(mod, fragments)
            self._verify(mod, "planned module")
            return (*self._optimise_and_emit(mod, tm, opt, pipeline, want_ir), imported)
        return self._parsed(bitcode, "invalid bitcode", work, verify=False)

    def _link(self, mod, fragments: str) -> None:
        """Link the fragments' text into `mod`. LLVM's default handler of
        the linker's errors ends the process: they are collected instead,
        to fail the module with them (for the link only: the code
        generator's errors still end the worker, as the text path's do)."""
        lib = self.lib
        ctx = lib.LLVMGetModuleContext(mod)
        header = (b'target datalayout = "' + (lib.LLVMGetDataLayoutStr(mod) or b"") + b'"\n'
                  b'target triple = "' + (lib.LLVMGetTarget(mod) or b"") + b'"\n')
        frags = self._parse(ctx, header + fragments.encode(), b"<fragments>", "imported fragments do not parse")
        errors = []

        @_DiagnosticHandler
        def collect(info, _):
            if lib.LLVMGetDiagInfoSeverity(info) == _DS_ERROR:
                errors.append(self._message(lib.LLVMGetDiagInfoDescription(info)))
        lib.LLVMContextSetDiagnosticHandler(ctx, collect, None)
        try:
            failed = lib.LLVMLinkModules2(mod, frags)     # (it takes the fragments' module, linked or not)
        finally:
            lib.LLVMContextSetDiagnosticHandler(ctx, _DiagnosticHandler(), None)
        if failed:
            raise TaskFailed("imported fragments do not link into the module: " + "; ".join(errors))

    def _apply(self, mod, plan: dict, renames: dict[str, str]) -> bool:
        """The plan's promotions, internalizations and resolutions, as
        `backend.apply_plan` makes them in text; False if one is not possible
        here (a symbol it does not find, or a function to make a declaration:
        the C API cannot drop a body), before anything changed."""
        lib = self.lib

        def found(name: str):
            sym = _symbol(name)
            return lib.LLVMGetNamedFunction(mod, sym) or lib.LLVMGetNamedGlobal(mod, sym)
        promoted = {old: found(old) for old in renames}
        internal = [found(name) for name in plan["internalize"]]
        resolved = [(found(name), action, bool(lib.LLVMGetNamedFunction(mod, _symbol(name))))
                    for name, action in plan["resolution"]]
        if not all([*promoted.values(), *internal, *(v for v, _, _ in resolved)]) \
                or any(action == "declare" and is_function for _, action, is_function in resolved):
            return False
        for old, value in promoted.items():
            new = _symbol(renames[old])
            lib.LLVMSetValueName2(value, new, len(new))
            lib.LLVMSetLinkage(value, _LINKAGE[""])      # before the visibility: a local cannot be hidden
            lib.LLVMSetVisibility(value, _HIDDEN)
        for value in internal:
            lib.LLVMSetLinkage(value, _LINKAGE["internal"])
        for value, action, _ in resolved:
            if action == "declare":              # a variable: as `fragment.global_declaration` writes it
                lib.LLVMSetInitializer(value, None)
                lib.LLVMSetUnnamedAddress(value, _NO_UNNAMED_ADDR)
                lib.LLVMGlobalClearMetadata(value)
                action = ""
            if action in ("", "available_externally"):
                lib.LLVMSetComdat(value, None)
                lib.LLVMSetSection(value, b"")
            lib.LLVMSetLinkage(value, _LINKAGE[action])
        return True

    def compile(self, text: str, triple: str, cpu: str, opt: int, pipeline: str, want_ir: bool):
        tm = self.machine(triple, cpu, opt)
        return self._parsed(text.encode(), "planned module does not parse",
                            lambda mod: self._optimise_and_emit(mod, tm, opt, pipeline, want_ir))

    def _own_sections(self, mod) -> None:
        """Put every function and variable the object defines in a section of
        its own, named as LLVM's function and data sections name them, so
        that the link's `--gc-sections` drops what the program never reaches,
        one function at a time, as it does after lld's LTO (which always asks
        for them) and rustc's. The C API cannot ask the target machine for
        them; after optimisation, explicit sections only name what code
        generation emits. Left in the shared sections: what is not emitted
        here, thread-locals, and the constants the linker merges."""
        lib = self.lib
        size = ctypes.c_size_t()

        def name(value) -> bytes:
            return ctypes.string_at(lib.LLVMGetValueName2(value, ctypes.byref(size)), size.value).lstrip(b"\x01")

        def placed(value) -> bool:
            return bool(lib.LLVMIsDeclaration(value) or lib.LLVMGetLinkage(value) in _NOT_PLACED
                        or lib.LLVMGetSection(value))
        fn = lib.LLVMGetFirstFunction(mod)
        while fn:
            if not placed(fn):
                lib.LLVMSetSection(fn, b".text." + name(fn))
            fn = lib.LLVMGetNextFunction(fn)
        layout = lib.LLVMGetModuleDataLayout(mod)
        var = lib.LLVMGetFirstGlobal(mod)
        while var:
            symbol = name(var)
            if not (placed(var) or lib.LLVMIsThreadLocal(var) or symbol.startswith(b"llvm.")):
                init = lib.LLVMGetInitializer(var)
                if not lib.LLVMIsGlobalConstant(var):
                    lib.LLVMSetSection(var, (b".bss." if lib.LLVMIsNull(init) else b".data.") + symbol)
                elif self._relocated(init):
                    lib.LLVMSetSection(var, b".data.rel.ro." + symbol)
                elif not (lib.LLVMGetUnnamedAddress(var) == _GLOBAL_UNNAMED_ADDR and self._mergeable(
                        init, lib.LLVMABISizeOfType(layout, lib.LLVMGlobalGetValueType(var)))):
                    lib.LLVMSetSection(var, b".rodata." + symbol)
            var = lib.LLVMGetNextGlobal(var)

    def _relocated(self, constant) -> bool:
        """Whether a constant holds an address (the linker relocates it)."""
        lib = self.lib
        stack, seen = [constant], set()
        while stack:
            c = stack.pop()
            if c in seen or lib.LLVMIsAConstantDataSequential(c):
                continue
            if lib.LLVMIsAGlobalValue(c) or lib.LLVMIsABlockAddress(c):
                return True
            seen.add(c)
            stack.extend(lib.LLVMGetOperand(c, k) for k in range(lib.LLVMGetNumOperands(c)))
        return False

    def _mergeable(self, constant, size: int) -> bool:
        """What LLVM gives the linker to merge: a C string, or 4 to 32 bytes."""
        if size in (4, 8, 16, 32):
            return True
        lib = self.lib
        if not (lib.LLVMIsAConstantDataSequential(constant) and lib.LLVMIsConstantString(constant)):
            return False
        length = ctypes.c_size_t()
        text = ctypes.string_at(lib.LLVMGetAsString(constant, ctypes.byref(length)), length.value)
        return text.endswith(b"\0") and b"\0" not in text[:-1]

    def _optimise_and_emit(self, mod, tm, opt: int, pipeline: str, want_ir: bool):
        lib = self.lib
        options = lib.LLVMCreatePassBuilderOptions()
        try:
            # As lld's LTO configures it: vectorisers on from O2.
            lib.LLVMPassBuilderOptionsSetLoopVectorization(options, int(opt > 1))
            lib.LLVMPassBuilderOptionsSetSLPVectorization(options, int(opt > 1))
            err = lib.LLVMRunPasses(mod, f"{pipeline}<O{opt}>".encode(), tm, options)
        finally:
            lib.LLVMDisposePassBuilderOptions(options)
        if err:
            text = ctypes.string_at(ptr := lib.LLVMGetErrorMessage(err)).decode("utf-8", "replace")
            lib.LLVMDisposeErrorMessage(ptr)
            raise TaskFailed(f"pass pipeline failed: {text}")
        ir = self._message(lib.LLVMPrintModuleToString(mod)) if want_ir else None
        self._own_sections(mod)
        out, msg = ctypes.c_void_p(), ctypes.c_void_p()
        if lib.LLVMTargetMachineEmitToMemoryBuffer(tm, mod, _OBJECT_FILE, ctypes.byref(msg), ctypes.byref(out)):
            raise TaskFailed(f"code generation failed: {self._message(msg)}")
        try:
            obj = ctypes.string_at(lib.LLVMGetBufferStart(out), lib.LLVMGetBufferSize(out))
        finally:
            lib.LLVMDisposeMemoryBuffer(out)
        return obj, ir
