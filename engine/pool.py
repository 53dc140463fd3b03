"""The backend interface the scheduler talks to: run a task, get its result or
one of three errors (TaskFailed, WorkerCrashed, asyncio.CancelledError).

Implemented on a process pool (forkserver: fork is deadlock-prone next to
threads, and llvmlite serialises every call behind one lock so threads would
give no parallelism). A task that breaks the pool is retried alone in a
one-off process, so that the tasks running beside it are not blamed; if it
breaks that process too, it is the culprit and fails with WorkerCrashed,
carrying what the process said last on its standard error: an LLVM abort
explains itself there (`LLVM ERROR: ...`) and nowhere else.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from . import llvm_env
from .errors import WorkerCrashed


@dataclass
class TaskResult:
    value: object
    worker: int
    start: float
    end: float


def _worker_init(stderr: str | None = None) -> None:
    # Interrupts are the engine's to handle: it kills workers when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if stderr is not None:
        fd = os.open(stderr, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)
    llvm_env.init()


# What of a crashed task's standard error its diagnostic carries.
STDERR_TAIL = 4000


def _ready() -> None:
    """Nothing: submitted once per worker so that every worker starts now."""


def _timed(fn, args):
    start = time.time()
    value = fn(*args)
    return value, os.getpid(), start, time.time()


class TaskPool:
    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        self._ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has the engine's tasks and LLVM loaded, and
        # start while the front end (cargo) runs rather than after it. Starting
        # one waits for that server to import them (~0.1 s): a thread does it.
        self._ctx.set_forkserver_preload(["engine.backend", "engine.emit", "llvmlite.binding"])
        self._executor = self._new(self.jobs)
        self._starting = threading.Thread(target=self._start_workers, daemon=True)
        self._starting.start()

    def _start_workers(self) -> None:
        for _ in range(self.jobs):
            self._executor.submit(_ready)

    def _new(self, workers: int, stderr: str | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=self._ctx, initializer=_worker_init,
                                   initargs=(stderr,))

    async def run(self, fn, *args) -> TaskResult:
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return TaskResult(*await loop.run_in_executor(executor, _timed, fn, args))
        except BrokenProcessPool:
            if executor is self._executor:
                self._executor = self._new(self.jobs)
                executor.shutdown(wait=False, cancel_futures=True)
        # A file, not a pipe: the worker comes from the fork server, not from
        # this process, so it opens the file by name.
        with tempfile.NamedTemporaryFile(prefix="thinwatch-stderr-") as stderr:
            alone = self._new(1, stderr.name)
            try:
                return TaskResult(*await loop.run_in_executor(alone, _timed, fn, args))
            except BrokenProcessPool:
                said = stderr.read().decode("utf-8", "replace").strip()[-STDERR_TAIL:]
                raise WorkerCrashed("the worker process died (LLVM abort, signal or out of memory)"
                                    + (f":\n{said}" if said else "")) from None
            finally:
                alone.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._starting.join()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        """End every worker now (interrupt): no orphans, no waiting on LLVM."""
        self._starting.join()                 # else a worker could start after the kill
        for proc in list(getattr(self._executor, "_processes", {}).values()):
            proc.kill()
        # With the workers gone this returns at once, and it releases the
        # queues' semaphores now: the process may end without a teardown
        # (cli.main), and multiprocessing's tracker would report them leaked.
        self._executor.shutdown(wait=True, cancel_futures=True)
