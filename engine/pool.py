"""The local executor (`executor.Executor`): worker processes of our own,
one task at a time each, forked by a fork server (fork is deadlock-prone
next to threads, and llvmlite serialises every call behind one lock so
threads would give no parallelism).
Owning each process, rather than sharing an executor's queues, is what keeps
these promises:
- A task waits in the engine for an idle worker, so a task cancelled before
  it started never runs; one cancelled while running has its worker killed
  (its result would be dropped, and a new worker forks in milliseconds), so a
  burst of edits does not queue the work of the builds it supersedes.
- Every wait on a worker ends: its pipe reports its death at once (no other
  process holds the other end), a worker whose task uses no CPU for `stall`
  seconds is wedged and killed, and no task runs longer than DEADLINE.
- A crash is the task's own (one task per process), but an outside kill (the
  OOM killer) looks the same: the task is retried once in a fresh process
  whose standard error is kept, and fails with WorkerCrashed only if it
  breaks that one too, carrying what the process said last: an LLVM abort
  explains itself there (`LLVM ERROR: ...`) and nowhere else.
- Workers end with the engine however it ends, SIGKILL included: each one
  watches a pipe that only the engine holds open. (Their parent is the fork
  server, which itself exits once the engine and the workers are gone.)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler

from . import llvm_env
from .errors import WorkerCrashed
from .executor import TaskResult

# What of a crashed task's standard error its diagnostic carries.
STDERR_TAIL = 4000
# Tasks are CPU-bound pure functions: one whose process uses no CPU for this
# long is stuck (a deadlock in LLVM's crash handling, a stopped process).
STALL = 60.0
# No backend or emission takes anywhere near this; an endless loop in LLVM must
# still end the build.
DEADLINE = 1800.0
CHECK_EVERY = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _exit_with_engine(engine: Connection) -> None:
    """Return from reading only when the engine's end closes, then end."""
    try:
        engine.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)


def _serve(tasks: Connection, engine: Connection, stderr: str | None) -> None:
    threading.Thread(target=_exit_with_engine, args=(engine,), daemon=True).start()
    # Interrupts are the engine's to handle: it kills workers when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if stderr is not None:
        fd = os.open(stderr, os.O_WRONLY | os.O_APPEND)
        os.dup2(fd, 2)
        os.close(fd)
    llvm_env.init()
    while True:
        try:
            fn, args = tasks.recv()
        except EOFError:
            return                     # the pool is closing
        start = time.time()
        try:
            reply = (True, fn(*args))
        except Exception as e:
            reply = (False, e)
        end = time.time()
        try:
            data = ForkingPickler.dumps((*reply, os.getpid(), start, end))
        except Exception as e:         # what cannot travel is reported, so the task still ends
            data = ForkingPickler.dumps((False, RuntimeError(f"the task's reply cannot be sent: {e!r}"),
                                         os.getpid(), start, end))
        tasks.send_bytes(data)


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None                    # no /proc: deaths and the deadline still end every wait
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class _Lost(Exception):
    """The worker died, stalled or overran the deadline during the task."""


class _Worker:
    def __init__(self, ctx, engine: Connection, stderr: str | None = None):
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(theirs, engine, stderr), daemon=True)
        self.proc.start()
        theirs.close()
        self._io: list[asyncio.Future] = []     # threads sending to it or receiving from it

    def kill(self) -> None:
        try:
            self.proc.kill()
        except (OSError, ValueError):  # gone already, or closed
            pass

    def reap(self, timeout: float) -> None:
        self.proc.join(timeout)

    async def bury(self) -> None:
        """Once killed: reap it, then close its pipe and process handle once
        no thread uses them (one may be sending or receiving, and ends on
        the broken pipe). Without this every lost worker kept descriptors
        open in the engine for as long as it ran."""
        await asyncio.to_thread(self.proc.join, 5)
        await asyncio.gather(*self._io, return_exceptions=True)
        self.conn.close()
        try:
            self.proc.close()
        except ValueError:             # still running after 5 s: the pool's kill reaps it
            pass

    def _in_thread(self, fn, *args) -> asyncio.Future:
        """`fn` in a thread, shielded so that `bury` waits for the thread
        itself even when the task awaiting it was cancelled."""
        self._io = [f for f in self._io if not f.done()]
        self._io.append(asyncio.ensure_future(asyncio.to_thread(fn, *args)))
        return asyncio.shield(self._io[-1])

    async def call(self, fn, args: tuple, stall: float) -> tuple:
        """Run one task; every wait here ends, with the reply or _Lost."""
        loop = asyncio.get_running_loop()
        replied = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: replied.done() or replied.set_result(None))
        # In a thread: a task's bitcode can fill the pipe while the worker reads it.
        sending = self._in_thread(self.conn.send, (fn, args))
        # A send into a dead worker fails; the reply's end of file says so, not this.
        sending.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            await self._progress(replied, stall)
        finally:
            loop.remove_reader(fd)
        try:
            await sending              # the worker read it all before replying, or is gone
            ok, value, pid, start, end = await self._in_thread(self.conn.recv)
        except (EOFError, OSError):
            raise _Lost("the worker process died (LLVM abort, signal or out of memory)") from None
        if not ok:
            raise value
        return value, pid, start, end

    async def _progress(self, replied: asyncio.Future, stall: float) -> None:
        """Wait for the reply while the worker makes progress: _Lost if it
        uses no CPU for `stall` seconds or runs past the deadline."""
        started = time.monotonic()
        cpu, progressed = _cpu_seconds(self.proc.pid), started
        while not replied.done():
            await asyncio.wait({replied}, timeout=CHECK_EVERY)
            if replied.done() or self.conn.poll(0):
                return
            now, used = time.monotonic(), _cpu_seconds(self.proc.pid)
            if used != cpu:
                cpu, progressed = used, now
            elif used is not None and now - progressed > stall:
                raise _Lost(f"the worker process stopped making progress (no CPU time for {stall:g} s)")
            if now - started > DEADLINE:
                raise _Lost(f"the task did not finish within {DEADLINE:g} s")


class TaskPool:
    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        self.where = f"{self.jobs} local worker process{'es' if self.jobs > 1 else ''}"
        self.stall = STALL
        self._ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has the engine's tasks and LLVM loaded.
        # Starting them waits for that server to import them (~0.1 s): a
        # thread does it, from the first task on (one submitted while the front
        # end runs starts them then), so a build with no task starts no process.
        self._ctx.set_forkserver_preload(["thinwatch.engine.backend", "thinwatch.engine.emit", "llvmlite.binding"])
        # Workers hold the read end; the engine's write end closes only when it ends.
        self._engine_r, self._engine_w = self._ctx.Pipe(duplex=False)
        self._idle: list[_Worker | None] = []     # None: a slot whose worker is to be started
        self._busy: set[_Worker] = set()
        self._burying: set[asyncio.Task] = set()
        self._waiters: list[asyncio.Future] = []
        self._starting: threading.Thread | None = None

    def warm(self) -> None:
        """Start the fork server and the workers, in a thread, unless started. The server
        starts multiprocessing's resource tracker, passing it stderr's fd: it
        is started here first (~1 ms), with the standard error the process
        began with, since a front end may have replaced sys.stderr by an
        object with no fd by now (Textual does as its app starts), and every
        worker then fails to start."""
        if self._starting is not None:
            return
        shown, sys.stderr = sys.stderr, sys.__stderr__
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = shown
        self._starting = threading.Thread(target=self._start_workers, daemon=True)
        self._starting.start()

    def _start_workers(self) -> None:
        for _ in range(self.jobs):
            try:
                self._idle.append(self._spawn())
            except WorkerCrashed:
                self._idle.append(None)    # started when first needed, which reports its error

    def _spawn(self, stderr: str | None = None) -> _Worker:
        try:
            return _Worker(self._ctx, self._engine_r, stderr)
        except Exception as e:         # no fork server, no processes left, ...
            raise WorkerCrashed(f"cannot start a worker process: {e!r}") from None

    async def _acquire(self) -> _Worker:
        self.warm()
        if self._starting.is_alive():
            await asyncio.to_thread(self._starting.join)
        while not self._idle:
            woken = asyncio.get_running_loop().create_future()
            self._waiters.append(woken)
            try:
                await woken
            except asyncio.CancelledError:
                if woken.done() and not woken.cancelled():
                    self._wake_one()   # pass on the worker it was woken for
                raise
            finally:
                self._waiters.remove(woken)
        worker = self._idle.pop()
        if worker is None:
            try:
                worker = self._spawn()
            except WorkerCrashed:      # the slot stays, for the next task to try again
                self._release(None)
                raise
        self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker | None) -> None:
        self._busy.discard(worker)
        self._idle.append(worker)
        self._wake_one()

    def _wake_one(self) -> None:
        for woken in self._waiters:
            if not woken.done():
                woken.set_result(None)
                return

    def _lose(self, worker: _Worker) -> None:
        """Kill a worker whose task is lost or cancelled, and bury it."""
        worker.kill()
        self._busy.discard(worker)
        burial = asyncio.ensure_future(worker.bury())
        self._burying.add(burial)
        burial.add_done_callback(self._burying.discard)

    async def run(self, fn, *args) -> TaskResult:
        worker = await self._acquire()
        try:
            result = TaskResult(*await worker.call(fn, args, self.stall))
        except _Lost:
            self._lose(worker)
            self._release(None)        # its slot starts a fresh worker when next needed
        except asyncio.CancelledError:
            self._lose(worker)         # the result would be dropped: stop the work now
            self._release(None)
            raise
        except BaseException:
            self._release(worker)      # the task failed on its inputs; its worker is fine
            raise
        else:
            self._release(worker)
            return result
        return await self._retry(fn, args)

    async def _retry(self, fn, args: tuple) -> TaskResult:
        """Run a task whose worker was lost once more, alone, keeping what its
        process says: it is the culprit only if it loses this one too. A file,
        not a pipe: the worker comes from the fork server, so it opens the
        file by name."""
        with tempfile.NamedTemporaryFile(prefix="thinwatch-stderr-") as stderr:
            alone = self._spawn(stderr.name)
            self._busy.add(alone)
            try:
                return TaskResult(*await alone.call(fn, args, self.stall))
            except _Lost as e:
                said = stderr.read().decode("utf-8", "replace").strip()[-STDERR_TAIL:]
                raise WorkerCrashed(str(e) + (f":\n{said}" if said else "")) from None
            finally:
                self._lose(alone)

    def close(self) -> None:
        """End the workers once idle ones have seen their pipe close."""
        self._join_start()
        idle = [w for w in self._idle if w is not None]
        for worker in idle:
            worker.conn.close()
        for worker in idle:
            worker.reap(5)
        self.kill()

    def _join_start(self) -> None:
        if self._starting is not None:
            self._starting.join()

    def kill(self) -> None:
        """End every worker now (interrupt): no orphans, no waiting on LLVM."""
        self._join_start()                    # else a worker could start after the kill
        everyone = [w for w in self._idle if w is not None] + list(self._busy)
        for worker in everyone:
            worker.kill()
        for worker in everyone:
            worker.reap(5)
            worker.conn.close()
