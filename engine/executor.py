"""What the engine asks of whatever runs its tasks: run a pure function on
its arguments somewhere and hand back its value, or one of three errors.

- `TaskFailed`: the task itself failed on its inputs (a parse error, a
  verifier error); never retried, it fails its module.
- `WorkerCrashed`: whatever ran the task died running it, again after a retry;
  it fails its module alone.
- `asyncio.CancelledError`: the build was abandoned; a task not started yet
  never runs.

The local process pool (`pool.TaskPool`) implements it, and so does a Dask
cluster (`dask_executor.DaskExecutor`); the scheduler does not change. Tasks
carry their inputs as arguments and return plain values, so they need
nothing of the workspace or the cache where they run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Tasks the engine keeps started per job slot: enough to keep every worker
# busy, few enough that a thousand modules are not a thousand coroutines
# stepping at once (which freezes a UI sharing the loop for a second or more).
IN_FLIGHT_PER_JOB = 8


@dataclass
class TaskResult:
    value: object
    worker: int | str      # which process ran it: a PID locally, "host:pid" on a cluster
    start: float           # wall-clock seconds since the epoch
    end: float


class Executor(Protocol):
    jobs: int              # tasks it runs at once
    where: str             # where tasks run, for people ("2 local worker processes")

    async def run(self, fn: Callable, *args) -> TaskResult: ...

    def warm(self) -> None:
        """Get ready to run tasks now, not with the first one: a watch
        session's next build is an edit, which should not wait for that."""

    def close(self) -> None: ...

    def kill(self) -> None: ...


async def each(executor: Executor, items: Iterable[T], fn: Callable[[T], Awaitable[R]]) -> list[R]:
    """`fn(item)` for every item, with a bounded number in flight."""
    slots = asyncio.Semaphore(IN_FLIGHT_PER_JOB * executor.jobs)

    async def one(item: T) -> R:
        async with slots:
            return await fn(item)
    return await asyncio.gather(*(one(i) for i in items))
