"""The final link: native objects -> executable, with the system `cc`.

The executable is written under a temporary name and renamed into place, so
the last good one stays runnable until a new one is complete.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from . import files
from .errors import ConfigError
from .fragment import digest
from .programs import spawn, stop
from .project import Unit


class LinkFailed(Exception):
    pass


def read_where_they_lie(args: list[str], driver: str = "") -> list[str]:
    """The files a link line reads where they lie, each with its size and
    mtime, for a link key: a path on the line or in an option the linker
    gets (`-Wl,`, `-Xlinker`: a linker or version script, a response file),
    and what an `-l` finds where the linker looks for it: the line's `-L`
    directories (every `-L` applies to every `-l`, wherever it stands),
    then the driver's own (`-print-search-dirs`, which `LIBRARY_PATH`
    joins). A file rewritten under its name (a build script's
    `OUT_DIR/libx.a`, named by path or as `-lx`, or its linker script), or
    a system library an upgrade replaced, must not leave the last
    executable."""
    words = _as_the_linker_gets_them(args)
    pairs = [(a, words[i + 1] if i + 1 < len(words) else "") for i, a in enumerate(words)]
    dirs = [Path(a[2:] or after) for a, after in pairs if a.startswith("-L")]
    found = _named_files(words)
    names = [a[2:] or after for a, after in pairs if a.startswith("-l")]
    if names:
        dirs += _driver_library_dirs(driver, _choosing(args))
    for name in names:
        candidates = [name[1:]] if name.startswith(":") else [f"lib{name}.a", f"lib{name}.so"]
        # The first directory that has the name decides; it may have both kinds.
        found += next((hits for d in dirs if (hits := [d / c for c in candidates if (d / c).is_file()])), [])
    return [f"{path} {files.installed(str(path))}" for path in found]


def _driver_library_dirs(driver: str, choosing: tuple[str, ...]) -> tuple[Path, ...]:
    try:
        cc = find_cc(driver)
    except ConfigError:
        return ()                       # the link itself says so
    return _library_dirs(cc, _stamped(cc), choosing, os.environ.get("LIBRARY_PATH", ""))


@lru_cache(maxsize=16)
def _library_dirs(cc: str, cc_stamp: str, choosing: tuple[str, ...], library_path: str) -> tuple[Path, ...]:
    """Where the driver has the linker look for `-l` names, asked once per
    driver version, linker choice and `LIBRARY_PATH`."""
    said = subprocess.run([cc, *choosing, "-print-search-dirs"], capture_output=True, text=True).stdout
    listed = next((line.split("=", 1)[1] for line in said.splitlines() if line.startswith("libraries: =")), "")
    return tuple(Path(d) for d in listed.split(":") if d)


def _as_the_linker_gets_them(args: list[str]) -> list[str]:
    """The line with what the driver hands the linker split out: `-Wl,a,b`
    is the words a and b, `-Xlinker a` the word a."""
    words: list[str] = []
    for a in args:
        if a.startswith("-Wl,"):
            words += a[4:].split(",")
        elif a != "-Xlinker":
            words.append(a)
    return words


# Options whose value the link writes, not reads.
_WRITTEN = ("-o", "--output", "-Map", "--Map", "--dependency-file", "--out-implib")


def _named_files(words: list[str]) -> list[Path]:
    """The existing files the words name: a word itself, a response file
    (`@file`), an option's value after `=`, a script glued to `-T`."""
    named = []
    for i, word in enumerate(words):
        if i and words[i - 1] in _WRITTEN:
            continue
        option, equals, value = word.partition("=")
        if not word.startswith("-"):
            named.append(word[1:] if word.startswith("@") else word)
        elif equals and option not in _WRITTEN:
            named.append(value)
        elif word.startswith("-T") and len(word) > 2:
            named.append(word[2:])
    return [Path(name) for name in named if os.path.isfile(name)]


def inputs_key(objects: dict[str, str], unit: Unit) -> str:
    """What a link's output is a function of: each object by its backend key
    digest, the rest of the link line, and the programs that link. (The
    output does not depend on where the objects are.)"""
    return digest({"objects": [[mid, objects[mid]] for mid in sorted(objects)], "args": unit.key_args,
                   "toolchain": toolchain(unit.link_args([]), unit.driver)})


def toolchain(args: list[str], driver: str = "") -> list[str]:
    """The driver and the linker it runs for `args`, each by path, size and
    mtime: after a compiler or binutils upgrade a clean build links a
    different executable, so the last one must not be kept."""
    cc = find_cc(driver)
    driver_stamp = _stamped(cc)
    linker = _linker(cc, driver_stamp, _choosing(args))
    return [driver_stamp, _stamped(linker) if os.path.exists(linker) else linker]


def _choosing(args: list[str]) -> tuple[str, ...]:
    """The options by which a driver picks its linker and the directories it searches."""
    return tuple(a for i, a in enumerate(args)
                 if a.startswith(("-fuse-ld=", "--ld-path=", "-B")) or (i > 0 and args[i - 1] == "-B"))


def _stamped(path: str) -> str:
    real = os.path.realpath(path)
    return f"{real} {files.installed(real)}"


@lru_cache(maxsize=64)
def _linker(cc: str, cc_stamp: str, choosing: tuple[str, ...]) -> str:
    """The linker's path, asked once per driver version and linker choice:
    `-print-prog-name` answers as the driver resolves it, `-B` directories
    included."""
    use = next((a.split("=", 1)[1] for a in reversed(choosing) if a.startswith(("-fuse-ld=", "--ld-path="))), "")
    if os.path.isabs(use):
        return use
    name = f"ld.{use}" if use else "ld"
    said = subprocess.run([cc, *choosing, f"-print-prog-name={name}"], capture_output=True,
                          text=True).stdout.strip() or name
    return said if os.path.isabs(said) else shutil.which(said) or said


def find_cc(driver: str = "") -> str:
    """The driver's path: `driver` if given, else $CC, else `cc`."""
    cc = driver or os.environ.get("CC") or "cc"
    path = shutil.which(cc)
    if path is None:
        raise ConfigError(f"no C compiler driver {cc!r} on PATH (install gcc or clang, e.g. `apt-get install gcc`)")
    return path


async def link(args: list[str], output: Path, driver: str = "") -> str:
    """`cc -o output args...` (with `driver` for cc); returns the linker's
    output text, raises LinkFailed. `output` is a staging name, never the
    executable people run: the caller moves it into place once its record
    is written, and a failed or cancelled link leaves nothing there."""
    output.parent.mkdir(parents=True, exist_ok=True)
    # The driver's own temporary files (gcc's `cc*.res`, `cc*.cdtor.*`) go
    # into a directory of this link's: a cancelled link kills the driver
    # before it can remove them.
    with tempfile.TemporaryDirectory(prefix="link-", ignore_cleanup_errors=True) as private:
        proc = await spawn(
            find_cc(driver), "-o", str(output), *args, env={**os.environ, "TMPDIR": private},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await proc.communicate()
        except asyncio.CancelledError:
            await stop(proc)
            output.unlink(missing_ok=True)
            raise
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        output.unlink(missing_ok=True)
        raise LinkFailed(text.strip() or f"cc exited with {proc.returncode}")
    return text
