"""The linker rustc calls (`-C linker=`) when thinwatch drives cargo.

Links thinwatch does not own (build scripts, proc-macros, anything outside
the workspace's primary packages) go straight to `cc` with rustc's line
untouched; with `-C linker-plugin-lto` and rustc's `-fuse-ld=lld`, lld does
their LTO itself. For a workspace executable or test harness, the shim
captures the link instead: the bitcode codegen units (loose and from rlibs),
`symbols.o` (rustc deletes its temporary directory after the link) and the
rest of the line, into `$THINWATCH_CAPTURE/<unit>/`. It leaves a placeholder
where cargo expects the executable; thinwatch then does the ThinLTO and the
real link from the capture.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import orjson

from .cache import atomic_write

BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
PLACEHOLDER = "#!/bin/sh\necho 'built by thinwatch: run {out} instead' >&2\nexit 1\n"


def is_bitcode(data: bytes) -> bool:
    return data[:4] in BITCODE_MAGIC


def ar_members(data: bytes) -> list[tuple[str, bytes]]:
    """Members of a GNU ar archive (rlibs are ones)."""
    if not data.startswith(b"!<arch>\n"):
        return []
    pos, names, out = 8, b"", []
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().rstrip()
        size = int(header[48:58])
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name == "//":
            names = body
        elif name in ("/", "/SYM64/"):
            continue
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            out.append((names[start:names.index(b"/\n", start)].decode(), body))
        else:
            out.append((name.rstrip("/"), body))
    return out


def owned() -> bool:
    return (os.environ.get("CARGO_PRIMARY_PACKAGE") == "1"
            and os.environ.get("CARGO_CRATE_NAME") != "build_script_build"
            and "THINWATCH_CAPTURE" in os.environ)


def capture(args: list[str], root: Path) -> None:
    out = Path(args[args.index("-o") + 1])
    is_test = any("libtest-" in Path(a).name for a in args)
    unit = ("test-" if is_test else "") + out.name.rsplit("-", 1)[0]
    dest = root / unit
    inputs = dest / "inputs"
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir(parents=True)
    line: list = []
    for arg in args:
        path = Path(arg)
        if arg.startswith("-") or not path.is_file():
            line.append(arg)
            continue
        data = path.read_bytes()
        if is_bitcode(data):
            (inputs / path.name).write_bytes(data)
            line.append({"bitcode": [path.name]})
        elif path.suffix == ".rlib" and any(is_bitcode(body) for _, body in ar_members(data)):
            names = []
            for name, body in ar_members(data):
                if is_bitcode(body):
                    (inputs / name).write_bytes(body)
                    names.append(name)
            line.append({"bitcode": names})
        elif path.parent.name.startswith("rustc"):       # rustc's temporary dir: symbols.o
            (dest / path.name).write_bytes(data)
            line.append({"native": path.name})
        else:
            line.append(arg)
    atomic_write(dest / "link.json", orjson.dumps({"unit": unit, "test": is_test, "argv": line,
                                                   "out": str(out)}))
    out.write_text(PLACEHOLDER.format(out=root.parent / "out" / unit))
    out.chmod(0o755)


def main() -> None:
    args = sys.argv[1:]
    if not owned() or "-o" not in args:
        os.execvp("cc", ["cc", *args])
    capture(args, Path(os.environ["THINWATCH_CAPTURE"]))


if __name__ == "__main__":
    main()
