"""The one place a build's events are made (its start, module states,
tasks, diagnostics, links and finish): a `Reporter` per build generation
constructs every one it sends down the sink and keeps the only count of
modules per final state, so what `build-finished` says is exactly what the
`module-state` events before it said. (What runs after a build, a program
or the tests, reports its own `program-*` events: engine/programs.py.)
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

from .events import (FINAL_STATES, BuildFinished, BuildStarted, Diagnostic, Event, LinkFinished, ModuleState,
                     ModuleStatus, TaskFinished)
from .executor import TaskResult


class Reporter:
    def __init__(self, sink: Callable[[Event], None], generation: int):
        self.sink = sink
        self.generation = generation
        self.started_at = time.monotonic()
        self.final: dict[ModuleStatus, int] = {}
        self.phases: dict[str, float] = {}

    def started(self, trigger: list[str], workspace: str) -> None:
        self.sink(BuildStarted(self.generation, trigger, workspace))

    def module(self, module: str, crate: str, state: ModuleStatus, **details) -> None:
        if state.final:
            self.final[state] = self.final.get(state, 0) + 1
        self.sink(ModuleState(self.generation, module, crate, state, **details))

    def diagnostic(self, level: str, message: str, **where) -> None:
        self.sink(Diagnostic(self.generation, level, message, **where))

    def task(self, module: str, phase: str, res: TaskResult, early: bool = False) -> None:
        self.sink(TaskFinished(self.generation, module, phase, res.worker, res.start, res.end - res.start,
                               early=early))

    def linked(self, output: str, skipped: bool, seconds: float, early: bool) -> None:
        self.sink(LinkFinished(self.generation, output, skipped, round(seconds, 4), early=early))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase of the build; a phase met again (per unit) adds up."""
        t = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - t

    def finished(self, ok: bool, *, counted: bool = True, backend_jobs: int = 0, outputs: list[str] = (),
                 early_jobs: int = 0, backend_llvm: str = "", executor: str = "",
                 superseded: bool = False) -> BuildFinished:
        """The build's last event. `counted` is False when it never got to
        its modules (the workspace is unusable, or it was superseded): its
        counts are then empty, not zeros."""
        counts = {s.value: self.final.get(s, 0) for s in FINAL_STATES} if counted else {}
        ev = BuildFinished(self.generation, ok, counts, round(time.monotonic() - self.started_at, 4),
                           {k: round(v, 4) for k, v in self.phases.items()}, backend_jobs,
                           outputs[0] if outputs else None, superseded=superseded, outputs=list(outputs),
                           early_jobs=early_jobs, backend_llvm=backend_llvm, executor=executor)
        self.sink(ev)
        return ev

    def superseded(self) -> BuildFinished:
        return self.finished(False, counted=False, superseded=True)

    def speculative(self) -> "Reporter":
        """What early work reports through: its tasks, marked early, on the
        same stream; its module states and diagnostics nowhere (they are
        the real build's to report, from what cargo actually produced)."""
        return _Speculative(self)


class _Speculative(Reporter):
    def __init__(self, real: Reporter):
        super().__init__(lambda _: None, real.generation)
        self.real = real

    def task(self, module: str, phase: str, res: TaskResult, early: bool = True) -> None:
        self.real.task(module, phase, res, early=True)
