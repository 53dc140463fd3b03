"""The linker rustc calls (`-C linker=`) when thinwatch drives cargo, and how
the engine reads what it leaves behind.

The shim is a POSIX shell script because it starts on every link of the
workspace: a Python shim cost ~30 ms of every edit, this one a few. It
links the target's crates only (build scripts and proc-macros are the
host's: cargo does not give them thinwatch's flags). Links thinwatch does not
own (shared libraries, anything outside the workspace's primary packages) go
straight to the linker rustc would have run (`$THINWATCH_LINKER`, else `cc`)
with rustc's line untouched; with `-C linker-plugin-lto` and rustc's
`-fuse-ld=lld`, lld does their LTO itself. For a workspace executable or test harness the shim
captures the link in `$THINWATCH_CAPTURE/<output file name>/`:

    argv     rustc's link line, NUL-separated
    files/   hard links to the inputs that cargo produced (the files next to
             the output, and in rustc's temporary directory below it, which
             rustc deletes after the link): codegen units, rlibs, symbols.o

A capture is named after cargo's file name for the executable,
`<crate>-<hash>`, which is unique per unit cargo builds: the library's and
the binary's test harnesses of one package, a binary and an integration test
of one name, two members' `tests/integration.rs` each get their own, and
shims linking at the same time never write the same directory. The engine
names the units for people from cargo's messages (`artifacts.py`).

Where cargo expects the executable the shim leaves a placeholder. A
binary's runs thinwatch's build of it (integration tests run binaries from
there, `CARGO_BIN_EXE_<name>`); any other says where thinwatch puts it.
(A line rustc had to pass as an `@file`, longer than exec allows, is not
captured: that link fails with the reason.) After cargo exits,
`read_capture` turns a capture into a link line whose bitcode inputs (loose,
or members of the rlibs) are files thinwatch's build reads. An rlib may also
hold native objects (C a build script compiled with the `cc` crate, which
rustc bundles into the rlib): those stay in the line where the rlib was, as
an archive of just them, so the linker takes what it needs from them with
the archive semantics the rlib had.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import orjson

from ... import files
from ...cache import atomic_write

SHIM = r"""#!/bin/sh
# thinwatch's linker shim (written by thinwatch; see engine/frontends/cargo/linkshim.py).
if [ "$CARGO_PRIMARY_PACKAGE" != 1 ] || [ "$CARGO_CRATE_NAME" = build_script_build ] || [ -z "$THINWATCH_CAPTURE" ]; then
    exec "${THINWATCH_LINKER:-cc}" "$@"
fi
# rustc hands over a line too long to exec (E2BIG) as `@file`; a capture
# cannot be made from one, so that link fails with a reason, never silently.
case $#:$1 in
    1:@*)
        grep -qx -- -shared "${1#@}" 2>/dev/null && exec "${THINWATCH_LINKER:-cc}" "$1"
        echo "thinwatch: rustc passed the link of $CARGO_CRATE_NAME in an argument file ($1), as its line is longer than the system allows; thinwatch cannot take over such a link (build this crate with cargo alone)" >&2
        exit 1 ;;
esac
out= prev= harness=
for a do
    [ "$prev" = -o ] && out=$a
    case $a in
        -shared) exec "${THINWATCH_LINKER:-cc}" "$@" ;;          # a proc-macro or other dylib, not an executable
        */libtest-*) harness=1 ;;
    esac
    prev=$a
done
[ -n "$out" ] || exec "${THINWATCH_LINKER:-cc}" "$@"
dir=${out%/*}
# What cargo built for this link: beside the output (in `deps/`, or in
# `examples/` for an example), rustc's temporary directory there, and the
# rlibs in the profile's `deps/`; not std's rlibs nor system libraries.
deps=${dir%/*}/deps
dest=$THINWATCH_CAPTURE/${out##*/}
# No argv until files/ is complete: a capture cut short reads as missing.
mkdir -p "$dest" && rm -rf "$dest/argv" "$dest/files" "$dest/argv.tmp" && mkdir "$dest/files" || exit 1
printf '%s\0' "$@" > "$dest/argv.tmp" || exit 1
# Keep only the inputs to preserve as the positional parameters.
for a do
    shift
    case $a in -*) continue ;; esac
    case $a in "$dir"/*|"$deps"/*) [ -f "$a" ] && set -- "$@" "$a" ;; esac
done
if [ $# -gt 0 ]; then
    ln -f -- "$@" "$dest/files/" 2>/dev/null || cp -f -- "$@" "$dest/files/" || exit 1
fi
mv -f -- "$dest/argv.tmp" "$dest/argv" || exit 1
# Tell the engine the capture is complete, while cargo still runs: it starts
# the new codegen units' backends now. Only a hint; it never fails the link.
# (By /dev/fd: dash redirects only descriptors 0-9, this one may be above.)
[ -n "$THINWATCH_NOTIFY_FD" ] && (trap '' PIPE; printf '%s\n' "$dest" >"/dev/fd/$THINWATCH_NOTIFY_FD") 2>/dev/null
# The placeholder where cargo expects the executable. A binary's runs
# thinwatch's (named as cargo's): integration tests run binaries from there
# (CARGO_BIN_EXE_<name>). Any other says where thinwatch's outputs are.
built=$(printf '%s' "${THINWATCH_CAPTURE%/*}/out" | sed "s/'/'\\\\''/g")     # quoted for sh: ' is '\''
{
    echo '#!/bin/sh'
    case $dir:$harness:$CARGO_BIN_NAME in
        */examples:*|*:1:*|*:) ;;
        *) printf "p='%s/%s'\n[ -x \"\$p\" ] && exec \"\$p\" \"\$@\"\n" "$built" "$CARGO_BIN_NAME" ;;
    esac
    printf "echo 'built by thinwatch: see %s' >&2\nexit 1\n" "$built"
} > "$out" || exit 1
chmod 755 "$out"
"""


class CaptureFeed:
    """The pipe the shim announces each complete capture on, while cargo
    runs: `on_capture(dest)` for each, from the event loop. Any process cargo
    started may hold the write end after cargo exits, so the engine closes
    the feed when cargo has exited, not when the pipe ends."""

    def __init__(self, on_capture: Callable[[Path], None]):
        self.on_capture = on_capture
        self._read, self._write = os.pipe()
        self._pending = b""
        self.env = {"THINWATCH_NOTIFY_FD": str(self._write)}
        self.pass_fds = (self._write,)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._read, self._readable)

    def spawned(self) -> None:
        """cargo has the write end: the engine keeps none."""
        os.close(self._write)
        self._write = -1

    def _readable(self) -> None:
        data = os.read(self._read, 1 << 16)
        if not data:
            self._loop.remove_reader(self._read)
            return
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            self.on_capture(Path(os.fsdecode(line)))

    def close(self) -> None:
        self._loop.remove_reader(self._read)
        os.close(self._read)
        if self._write >= 0:
            os.close(self._write)


BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")


def module_id(member: str) -> tuple[str, str]:
    """(crate, id) for `<crate>-<hash>.<cgu>[.<session>].rcgu.o`. Without
    incremental state (registry crates) the unit is `<crate>.<hash>-cgu.<N>`,
    whose hash tells two versions of one crate apart: the id keeps it."""
    parts = member.split(".")
    crate = parts[0].rsplit("-", 1)[0]
    rest = [p for p in parts[1:] if p not in ("rcgu", "o")]
    if len(rest) >= 2 and rest[0] == crate:          # non-incremental: <crate>.<hash>-cgu.<N>
        cgu = ".".join(rest[1:])
    else:                                            # incremental: <cgu id>.<session>
        cgu = rest[0] if rest else parts[0]
    return crate, f"{crate}::{cgu}"


def keep_module(directory: Path, member: str, data: bytes) -> tuple[str, str, str, str]:
    """Store a codegen unit under a name that stays the same across builds
    (rustc's carries a session suffix), rewritten only when its bytes change,
    so that an unchanged unit keeps its file stamp: (id, crate, path,
    instance). The instance, `<crate>-<cargo's hash>`, tells apart crates of
    one name: a package's library and binary, two versions of a dependency."""
    crate, mid = module_id(member)
    path = write_if_changed(directory / (mid.replace("::", ".") + ".bc"), data)
    return mid, crate, str(path), member.split(".")[0]


def keep_members(directory: Path, members: list[tuple[str, bytes]]) -> list[tuple[str, str, str, str]]:
    """`keep_module` for every bitcode member of an rlib's `ar_members` (none if it has none)."""
    return [keep_module(directory, member, body) for member, body in members if is_bitcode(body)]


@dataclass
class Capture:
    """One captured link: `argv` holds rustc's arguments, with each bitcode
    input replaced by {"bitcode": [(module id, crate, path, crate instance),
    ...]} (plus "archive": the path of an archive of its native members, if
    it has any) and each deleted-after-link native input by {"native": path}."""
    unit: str
    out: Path
    argv: list
    dir: Path


def is_bitcode(data: bytes) -> bool:
    return data[:4] in BITCODE_MAGIC


def is_native_object(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


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


def captured_output(dest: Path) -> Path | None:
    """The executable a capture links, without reading its inputs; None for
    an incomplete capture, or one an older shim named otherwise."""
    try:
        args = (dest / "argv").read_bytes().split(b"\0")
    except FileNotFoundError:
        return None
    out = Path(args[args.index(b"-o") + 1].decode("utf-8", "surrogateescape"))
    return out if out.name == dest.name else None


def read_capture(dest: Path) -> Capture | None:
    try:
        args = [a.decode("utf-8", "surrogateescape") for a in (dest / "argv").read_bytes().split(b"\0")[:-1]]
    except FileNotFoundError:
        return None
    out = args[args.index("-o") + 1]
    out_dir = os.path.dirname(out)
    built = (out_dir + "/", os.path.join(os.path.dirname(out_dir), "deps") + "/")     # as the shim decides
    inputs, members = dest / "files", dest / "members"
    members.mkdir(exist_ok=True)
    read = _Reads(dest / "reads.json")
    line: list = []
    for arg in args:
        copy = inputs / os.path.basename(arg)
        parent = os.path.dirname(arg)
        if arg.startswith("-") or not arg.startswith(built) or not copy.is_file():
            line.append(arg)
        elif item := read.item(copy, lambda data: _split_input(members, copy.name, data)):
            line.append(item)
        elif os.path.basename(parent).startswith("rustc"):   # rustc's temporary dir: symbols.o
            line.append({"native": str(copy)})
        else:
            line.append(arg)
    read.save()
    kept = {Path(path).name for item in line if isinstance(item, dict) for path in _files(item)}
    for stale in set(os.listdir(members)) - kept:
        (members / stale).unlink(missing_ok=True)
    return Capture(dest.name, Path(out), line, dest)


def _split_input(members: Path, name: str, data: bytes) -> dict:
    """What thinwatch links in place of an input: its codegen units (itself
    if it is bitcode, an rlib's bitcode members) and, for an rlib that has
    native members too, an archive of those; {} for an input without bitcode,
    which is linked as it is."""
    if is_bitcode(data):
        return {"bitcode": [keep_module(members, name, data)]}
    if not name.endswith(".rlib"):
        return {}
    contents = ar_members(data)
    units = keep_members(members, contents)
    # `lib.rmeta` is an object too, holding only the crate's metadata, which
    # the linker never takes (it defines no symbol) and rustc rewrites on
    # every build.
    natives = [(member, body) for member, body in contents if is_native_object(body) and member != "lib.rmeta"]
    if not units:
        return {}
    if not natives:
        return {"bitcode": units}
    return {"bitcode": units, "archive": str(native_archive(members / (name + ".native.a"), natives))}


def native_archive(path: Path, objects: list[tuple[str, bytes]]) -> Path:
    """An archive (with its symbol index, which GNU ld needs) of these
    objects, by `ar` in deterministic mode, rewritten only when it changes."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        names = []
        for i, (member, body) in enumerate(objects):      # member names may repeat
            (Path(tmp) / str(i)).mkdir()
            names.append(Path(tmp) / str(i) / os.path.basename(member))
            names[-1].write_bytes(body)
        made = Path(tmp) / "out.a"
        subprocess.run(["ar", "qcsD", str(made), *map(str, names)], check=True, capture_output=True)
        return write_if_changed(path, made.read_bytes())


def _files(item: dict) -> list[str]:
    """The files `_split_input` wrote for an input."""
    return [path for _, _, path, _ in item.get("bitcode", ())] + ([item["archive"]] if "archive" in item else [])


class _Reads:
    """What each captured input held when last read, by its file stamp.

    Every build links every dependency's rlib, and cargo rewrites only the
    ones it rebuilt: an input whose stamp vouches for it (files.vouches) and
    whose members are all still there is not read again, so a build costs
    what changed, not the size of the dependency tree.
    """

    # What an entry says changes with `_split_input`: an older thinwatch's
    # entries are not read.
    FORMAT = 2

    def __init__(self, path: Path):
        self.path = path
        try:
            saved = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            saved = {}
        self.known = saved.get("inputs", {}) if isinstance(saved, dict) and saved.get("format") == self.FORMAT else {}
        self.now: dict[str, dict] = {}

    def item(self, copy: Path, split) -> dict:
        # Not files.stamp: the shim's hard link to an input changes its ctime
        # at every capture. Size, mtime and inode do not change without a write.
        st, read_at = copy.stat(), time.time()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]
        prior = self.known.get(copy.name)
        if (prior is not None and prior["stamp"] == stamp and files.vouches(stamp, read_at)
                and all(os.path.exists(path) for path in _files(prior["item"]))):
            item = prior["item"]
            if "bitcode" in item:
                item["bitcode"] = [tuple(u) for u in item["bitcode"]]
        else:
            item = split(copy.read_bytes())
        self.now[copy.name] = {"stamp": stamp, "item": item}
        return item

    def save(self) -> None:
        if self.now != self.known:
            atomic_write(self.path, orjson.dumps({"format": self.FORMAT, "inputs": self.now}))


def write_if_changed(path: Path, data: bytes) -> Path:
    """Write a file only if its bytes changed: its stamp then says it is unchanged."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return path
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return path
