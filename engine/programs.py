"""Child processes: starting them so that they end with the engine, running
what was built (test binaries, the manifest's `run` command), and stopping a
child on cancellation."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import signal
from pathlib import Path

from .events import ProgramFinished

TIMEOUT = 600
PR_SET_PDEATHSIG = 1
# Linux's; elsewhere programs are stopped on every exit but a SIGKILL.
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)


def _die_with(engine: int) -> None:
    """In the child, before it execs: the kernel kills it when the engine
    ends, however it ends (SIGKILL included)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != engine:       # the engine ended before the line above
        os._exit(1)


async def spawn(*argv: str, **kw) -> asyncio.subprocess.Process:
    """`asyncio.create_subprocess_exec` for every program the engine runs.
    The kernel signals when the *thread* that forked the child ends, not the
    process: the child is forked by the event loop's thread, which lives as
    long as the engine (never from a worker thread such as `to_thread`'s)."""
    guard = functools.partial(_die_with, os.getpid()) if _prctl is not None else None
    return await asyncio.create_subprocess_exec(*argv, preexec_fn=guard, **kw)


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
        proc = await spawn(*argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                           stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    except OSError as e:
        return ProgramFinished(generation, kind, label, 127, f"cannot run: {e}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        await stop(proc)
        raise
    return ProgramFinished(generation, kind, label, proc.returncode,
                           out.decode("utf-8", "replace"))
