"""Child processes: starting them so that they end with the engine, running
what was built (test binaries, the manifest's `run` command), and stopping a
child on cancellation."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import signal
import re
from collections import deque
from pathlib import Path
from typing import Callable

from .events import ProgramFinished

TIMEOUT = 600
# What a program's ProgramFinished keeps of its output when its lines are
# also handed over as they come (a server running for hours must not fill memory).
KEPT_WHEN_STREAMED = 1 << 20
_TEST_RESULT = re.compile(r"^test result: .*$", re.M)
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
                      env: dict[str, str] | None = None, label: str | None = None,
                      on_line: Callable[[str], None] | None = None,
                      timeout: float | None = TIMEOUT) -> ProgramFinished:
    """Run a program to its end; `label` names it for people (else its argv).
    `on_line` hears each line of its output as it is written (a program that
    runs until the next change would show nothing otherwise); no `timeout`
    lets it run until cancelled."""
    label = label or " ".join(argv)
    try:
        proc = await spawn(*argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                           stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    except OSError as e:
        return ProgramFinished(generation, kind, label, 127, f"cannot run: {e}")
    chunks: deque[bytes] = deque()
    kept = 0

    async def read() -> None:
        nonlocal kept
        partial = b""            # the end of the output that is no whole line yet
        while chunk := await proc.stdout.read(1 << 16):
            chunks.append(chunk)
            kept += len(chunk)
            while on_line is not None and kept > KEPT_WHEN_STREAMED and len(chunks) > 1:
                kept -= len(chunks.popleft())
            if on_line is not None:
                *whole, partial = (partial + chunk).split(b"\n")
                for line in whole:
                    on_line(line.decode("utf-8", "replace"))
        if on_line is not None and partial:
            on_line(partial.decode("utf-8", "replace"))
        await proc.wait()
    try:
        await asyncio.wait_for(read(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        await stop(proc)
        raise
    output = b"".join(chunks).decode("utf-8", "replace")
    return ProgramFinished(generation, kind, label, proc.returncode, output, summary=test_summary(output))


def test_summary(output: str) -> str:
    """libtest's verdict lines (`test result: ok. 30 passed; 0 failed; …`),
    one per harness or doc-test run in the output; "" if it printed none."""
    return "\n".join(m.group(0).strip() for m in _TEST_RESULT.finditer(output))
