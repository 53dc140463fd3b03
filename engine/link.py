"""The final link: native objects -> executable, with the system `cc`.

The executable is written under a temporary name and renamed into place, so
the last good one stays runnable until a new one is complete.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from .errors import ConfigError
from .fragment import digest
from .programs import stop


class LinkFailed(Exception):
    pass


def inputs_key(objects: dict[str, str], key_args: list[str]) -> str:
    """What a link's output is a function of: each object by its backend key
    digest, the rest of the link line, and the driver. (The output does not
    depend on where the objects are.)"""
    return digest({"objects": [[mid, objects[mid]] for mid in sorted(objects)], "args": key_args, "cc": find_cc()})


def find_cc() -> str:
    cc = os.environ.get("CC") or "cc"
    path = shutil.which(cc)
    if path is None:
        raise ConfigError(f"no C compiler driver {cc!r} on PATH (install gcc or clang, e.g. `apt-get install gcc`)")
    return path


async def link(args: list[str], output: Path) -> str:
    """`cc -o output args...`; returns the linker's output text, raises LinkFailed."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    proc = await asyncio.create_subprocess_exec(
        find_cc(), "-o", str(tmp), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await proc.communicate()
    except asyncio.CancelledError:
        await stop(proc)
        tmp.unlink(missing_ok=True)
        raise
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise LinkFailed(text.strip() or f"cc exited with {proc.returncode}")
    os.replace(tmp, output)
    return text
