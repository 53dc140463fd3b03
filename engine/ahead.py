"""Emission ahead of need: the rlibs of a cold build emitted while cargo runs.

cargo is a cold build's critical path, and it leaves a core idle now and
then (a crate's front end is one thread). A build with no last links to
guess from (a cold build, a session's first) hands each rlib cargo writes
to one process of its own, at the kernel's idle priority (SCHED_IDLE), so
that it runs on the CPU time cargo leaves. It emits each member into the
cache under the key the build gives it (`emission.py`); once cargo is done,
the build finds those entries as it finds any, and emits the rest itself.
That time is not free on every machine: on a two-core VM even a process at
idle priority slows cargo, by less than the emission costs after it
(docs/benchmarks.md, point 14).

All of that work is in the process, reading and hashing included: the
engine only passes each rlib on. (Early work that emitted through the
engine, at normal priority, made bat's cargo 1.5-3 s slower.) The process
is told to stop when cargo is done and ends after the member in hand; were
the build to emit that one too, both write the same entries, each renamed
into place. Nothing it does is reported, and nothing depends on it: what it
did not get to, or failed at, the build emits and reports as always.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
import threading
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Callable

import orjson

from .errors import ConfigError
from .programs import spawn, stop
from .project import ModuleSource

if TYPE_CHECKING:
    from .build import Build

# The process's entry: the directory that holds the `thinwatch` package comes
# first on its path, so it runs the engine's own code.
_MAIN = "import sys; sys.path.insert(0, sys.argv[1]); from thinwatch.engine.ahead import main; main()"


class Ahead:
    """The engine's end: `start` has an `EarlyModules` signature."""

    def __init__(self, b: "Build"):
        self.b = b
        self._lines: list[bytes] = []
        self._more = asyncio.Event()
        self._done = False
        self._feeding: asyncio.Task | None = None

    def start(self, modules: Callable[[], list[ModuleSource]]) -> None:
        """A crate's modules, to be read and emitted in the process."""
        self._lines.append(pickle.dumps(modules).hex().encode() + b"\n")
        self._more.set()
        if self._feeding is None:
            self._feeding = asyncio.create_task(self._feed())

    def stop(self) -> None:
        """cargo is done: the build emits what is left from here."""
        self._done = True
        self._more.set()

    async def close(self) -> None:
        """The build is over: the process ends now, whatever it is doing."""
        self.stop()
        if self._feeding is not None:
            self._feeding.cancel()
            await asyncio.wait([self._feeding])

    async def _feed(self) -> None:
        try:
            await self.b.reader_ready()
        except ConfigError:
            return                       # the build says why
        b = self.b
        config = {"cache": str(b.cache.root), "named": b.cache.named, "opts": b.emit_opts,
                  "reader": b.bitcode_reader}
        package = Path(sys.modules[__package__.rpartition(".")[0]].__file__).parent.parent
        try:
            proc = await spawn(sys.executable, "-c", _MAIN, str(package), stdin=asyncio.subprocess.PIPE,
                               stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        except OSError:
            return                        # the build emits everything itself
        try:
            proc.stdin.write(orjson.dumps(config) + b"\n")
            while True:
                lines, self._lines = self._lines, []
                proc.stdin.writelines(lines)
                await proc.stdin.drain()
                if self._done:
                    break
                self._more.clear()
                if not self._lines:
                    await self._more.wait()
            proc.stdin.close()
            await proc.wait()
        except (BrokenPipeError, ConnectionResetError):
            pass                          # it died: the build emits the rest
        finally:
            if proc.returncode is None:
                await asyncio.shield(stop(proc))


# -- the process ----------------------------------------------------------------

def main() -> None:
    _lower_priority()
    from . import emission, emit, llvm_env
    from .cache import Cache

    stream = sys.stdin.buffer
    config = orjson.loads(stream.readline())
    cache = Cache(Path(config["cache"]), config["named"])
    opts, reader = config["opts"], tuple(config["reader"]) if config["reader"] else None
    arrived: SimpleQueue[bytes | None] = SimpleQueue()
    ended = threading.Event()              # the engine closed its end: stop

    def read() -> None:
        for line in stream:
            arrived.put(line)
        ended.set()
        arrived.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (line := arrived.get()) is not None and not ended.is_set():
        try:
            sources = pickle.loads(bytes.fromhex(line.decode()))()
        except Exception:
            continue                      # the build reads that crate itself, and says what is wrong
        for src in sources:
            if ended.is_set():
                return
            try:
                data = src.path.read_bytes()
                read_by = reader if src.is_bitcode else None
                if read_by is None:
                    llvm_env.init()
                key = emission.key(src.id, src.is_bitcode, data, read_by, opts)
                if not emission.cached(cache, key):
                    emission.store(cache, key, emit.emit(src.id, data, src.is_bitcode, opts, read_by), data)
            except Exception:
                pass                      # the build emits it again, and says what is wrong


def _lower_priority() -> None:
    """SCHED_IDLE: the CPU time no other process wants. Where a kernel
    refuses it, the lowest nice value."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)
