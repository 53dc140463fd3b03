"""An executor (`executor.Executor`) on an existing Dask cluster: emission and
backend tasks run on its workers, wherever they are.

Tasks carry every input (bitcode, plan, fragments, options) and return
bytes, so a worker needs thinwatch's engine and llvmlite installed (and, for
native backends, the same toolchain's libLLVM at the same path), never the
workspace or the cache. Dask itself is the optional `thinwatch[dask]`:
only a session that names a cluster imports it.

How its failures map onto the contract's three:
- a worker killed mid-task: the scheduler runs the task again elsewhere,
  unseen here; one that dies every time (`distributed.scheduler.allowed-failures`
  + 1 workers) ends as `KilledWorker`, here WorkerCrashed: its module fails alone;
- a task failing on its inputs, or refused by a worker whose LLVM is not
  the one the keys name (`on_worker`, `native_llvm.compile_text`): TaskFailed;
- cancellation (a superseded build): the task's future is released, so the
  scheduler forgets it if queued, and drops its result if running;
  `close`/`kill` disconnect, which releases every task of this client.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid

from . import llvm_env
from .errors import ConfigError, TaskFailed, WorkerCrashed
from .executor import TaskResult
from .settings import DASK

# An unreachable scheduler must fail at once, not after a long retry.
CONNECT_TIMEOUT = 5.0
FETCH_EVERY = 1.0


def on_worker(llvmlite: str, fn, *args) -> tuple:
    """Run on a Dask worker: `fn(*args)`, if this worker's llvmlite is the
    engine's (emission keys, and every backend's parse, depend on it); with
    which process ran it and when."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    mine = llvm_env.version()
    if mine != llvmlite:
        raise TaskFailed(f"refused by worker {name}: it has {mine}, the build's keys name {llvmlite}; "
                         f"install the same thinwatch on every worker")
    llvm_env.init()
    start = time.time()
    value = fn(*args)
    return value, name, start, time.time()


class DaskExecutor:
    def __init__(self, address: str):
        """Connect to the scheduler at `address` (HOST:PORT); a ConfigError
        says why not."""
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(f"executor {DASK}{address} needs Dask: pip install 'thinwatch[dask]'") from None
        host, _, port = address.rpartition(":")
        try:
            # A refused connection is known at once; Dask's own connect retries until its timeout.
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
            self.client = Client(f"tcp://{address}", timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise ConfigError(f"cannot reach the Dask scheduler at {address}: {e.strerror or e}") from None
        try:
            workers = self.client.nthreads()
        except Exception:
            self.client.close(timeout=CONNECT_TIMEOUT)
            raise
        # Tasks kept in flight follow the cluster's slots as it was when we connected.
        self.jobs = max(1, sum(workers.values()))
        self.where = f"Dask cluster at {address} ({len(workers)} workers)"
        self._llvmlite = llvm_env.version()
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker
        self._killed_worker, self._dropped = KilledWorker, FutureCancelledError

    async def run(self, fn, *args) -> TaskResult:
        """As the local pool retries a task whose worker died: Dask counts a
        worker's death against every task running there, so a task that was
        only beside the culprit on its workers can end as KilledWorker too;
        submitted once more it gets a fresh count, and only the culprit, which
        kills again, ends as WorkerCrashed."""
        try:
            return await self._run_once(fn, *args)
        except self._killed_worker:
            pass
        try:
            return await self._run_once(fn, *args)
        except self._killed_worker as e:
            raise WorkerCrashed(f"the task's worker process died on each of the {e.allowed_failures + 1} "
                                f"workers that ran it, twice over (LLVM abort, signal or out of memory); "
                                f"the last, {e.last_worker.address}, logged why") from None

    async def _run_once(self, fn, *args) -> TaskResult:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wake(_) -> None:           # in Dask's callback thread
            try:
                loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))
            except RuntimeError:       # our loop is gone: nobody waits
                pass
        future = self.client.submit(on_worker, self._llvmlite, fn, *args, pure=False,
                                    key=f"thinwatch-{fn.__name__}-{uuid.uuid4().hex}")
        try:
            future.add_done_callback(wake)
            await done      # then `result` takes no thread for long (a thread per task would starve the rest)
            while True:
                # A result lost with its worker since is computed again, and `result` waits for it: a
                # second at a time, so that a cancellation meanwhile leaves no thread waiting on.
                try:
                    return TaskResult(*await asyncio.to_thread(future.result, FETCH_EVERY))
                except TimeoutError:
                    continue
        except self._dropped as e:
            raise WorkerCrashed(f"the Dask cluster dropped the task ({e}): its scheduler restarted, "
                                f"or the connection was lost") from None
        finally:
            # Queued: the scheduler forgets it; running: its result is dropped; done: its data freed.
            future.release()

    def warm(self) -> None:
        pass                          # connected when made

    def close(self) -> None:
        """Disconnect: the scheduler releases every task of this client."""
        self.client.close(timeout=CONNECT_TIMEOUT)

    def kill(self) -> None:
        self.close()
