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
import sys

# Imports are kept to the minimum: the shim starts on every link of the
# workspace, and each module imported here is paid for on every one. That is
# why this one file is written with the standard library's json: importing
# orjson costs 20 ms (uuid, datetime, ...), more than the rest of the shim.
import json

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


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def capture(args: list[str], root: str) -> None:
    out = args[args.index("-o") + 1]
    out_dir = os.path.dirname(out)
    is_test = any("libtest-" in os.path.basename(a) for a in args)
    unit = ("test-" if is_test else "") + os.path.basename(out).rsplit("-", 1)[0]
    dest = os.path.join(root, unit)
    inputs = os.path.join(dest, "inputs")
    os.makedirs(inputs, exist_ok=True)
    for old in os.listdir(inputs):
        os.unlink(os.path.join(inputs, old))
    line: list = []
    for arg in args:
        parent = os.path.dirname(arg)
        # Only what this cargo compiled (next to the output, or in rustc's
        # temporary directory) can hold bitcode; the sysroot's rlibs are
        # native and large, and are never read.
        ours = parent == out_dir or os.path.dirname(parent) == out_dir
        if arg.startswith("-") or not ours or not os.path.isfile(arg):
            line.append(arg)
            continue
        name, data = os.path.basename(arg), _read(arg)
        if is_bitcode(data):
            _write(os.path.join(inputs, name), data)
            line.append({"bitcode": [name]})
        elif arg.endswith(".rlib") and any(is_bitcode(body) for _, body in ar_members(data)):
            names = []
            for member, body in ar_members(data):
                if is_bitcode(body):
                    _write(os.path.join(inputs, member), body)
                    names.append(member)
            line.append({"bitcode": names})
        elif os.path.basename(parent).startswith("rustc"):   # rustc's temporary dir: symbols.o
            _write(os.path.join(dest, name), data)
            line.append({"native": name})
        else:
            line.append(arg)
    tmp = os.path.join(dest, f".link.json.{os.getpid()}")
    _write(tmp, json.dumps({"unit": unit, "test": is_test, "argv": line, "out": out}).encode())
    os.replace(tmp, os.path.join(dest, "link.json"))   # a reader sees the old capture or the new one
    with open(out, "w") as f:
        f.write(PLACEHOLDER.format(out=os.path.join(os.path.dirname(root), "out", unit)))
    os.chmod(out, 0o755)


def main() -> None:
    args = sys.argv[1:]
    if not owned() or "-o" not in args:
        os.execvp("cc", ["cc", *args])
    capture(args, os.environ["THINWATCH_CAPTURE"])


if __name__ == "__main__":
    main()
