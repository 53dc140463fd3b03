"""Running what was built: test binaries and the manifest's `run` command."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .events import ProgramFinished

TIMEOUT = 600


async def run_program(argv: list[str], cwd: Path, kind: str, generation: int) -> ProgramFinished:
    try:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
    except OSError as e:
        return ProgramFinished(generation, kind, " ".join(argv), 127, f"cannot run: {e}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    return ProgramFinished(generation, kind, " ".join(argv), proc.returncode,
                           out.decode("utf-8", "replace"))
