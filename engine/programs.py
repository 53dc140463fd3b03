"""Child processes: running what was built (test binaries, the manifest's
`run` command), and stopping a child on cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .events import ProgramFinished

TIMEOUT = 600


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Kill `proc` and reap it; it may have exited on its own already."""
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    await proc.wait()


async def run_program(argv: list[str], cwd: Path, kind: str, generation: int,
                      env: dict[str, str] | None = None, label: str | None = None) -> ProgramFinished:
    """Run a program to its end; `label` names it for people (else its argv)."""
    label = label or " ".join(argv)
    try:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
    except OSError as e:
        return ProgramFinished(generation, kind, label, 127, f"cannot run: {e}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        await stop(proc)
        raise
    return ProgramFinished(generation, kind, label, proc.returncode,
                           out.decode("utf-8", "replace"))
