"""Pure UI state folded from the engine's event stream; no Textual here.

`Model.apply(events)` folds a batch and returns the ids of the modules whose
row changed, so the table can update just those cells. Events of a generation
older than the current build are stale (an abandoned build's late results) and
are dropped; a `BuildFinished(superseded=True)` closes its build without
touching the last good build's timing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from thinwatch.engine.events import (BuildFinished, BuildStarted, Diagnostic, Event, LinkFinished, ModuleState,
                           ModuleStatus, Paused, ProgramEnded, ProgramFinished, ProgramOutput, ProgramStarted,
                           Resumed, TaskFinished)
from thinwatch.engine.session_api import demangle_text, plural

HISTORY = 20
LOG_LINES = 2000


@dataclass
class Task:
    module: str
    phase: str
    lane: int             # the worker's place in order of first appearance (0, 1, …)
    worker: str           # its name on screen: "1", "2", … or a host
    start: float
    seconds: float
    early: bool = False   # a backend job started while cargo still ran


@dataclass
class ModuleRow:
    module: str
    crate: str
    state: ModuleStatus = ModuleStatus.PENDING
    label: str = ""                       # what it holds (events say it once built); "" = unknown
    names: dict[str, str] = field(default_factory=dict)   # raw symbol -> demangled
    why: list[str] = field(default_factory=list)
    imports: list[list[str]] = field(default_factory=list)
    exported_to: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    internalized: list[str] = field(default_factory=list)
    object_size: int | None = None
    emit_s: float | None = None           # this build's emission, if it ran
    backend_s: float | None = None        # this build's backend, if it ran
    last_backend_s: float | None = None   # last known backend time (for "saved")
    last_final: ModuleStatus | None = None   # final state of the previous finished module
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))   # (generation, state)

    @property
    def name(self) -> str:
        """What the views call it: its label, its id until one is known."""
        return self.label or self.module

    def readable(self, symbol: str) -> str:
        return self.names.get(symbol, symbol)

    @property
    def symbol(self) -> str:
        return self.state.symbol

    @property
    def changed(self) -> bool:
        """Shown by the "changed only" filter: did work, or is about to."""
        if self.state == ModuleStatus.REUSED:
            return False
        if self.state == ModuleStatus.PENDING:
            return self.last_final not in (None, ModuleStatus.REUSED)
        return True


@dataclass
class LogLine:
    style: str          # "build" | "ok" | "error" | "warning" | "link" | "superseded" | "program"
    text: str


class Model:
    def __init__(self, workspace: str = ""):
        self.workspace = workspace
        self.generation = 0
        self.building = False
        self.paused = False
        self.rows: dict[str, ModuleRow] = {}
        self.tasks: list[Task] = []                 # this (or the last) build's tasks
        # A worker's PID means nothing to a reader and changes when the pool
        # restarts: workers are numbered as they first appear (a host, when
        # the event names one, is its own name).
        self.workers: dict[int | str, tuple[int, str]] = {}     # PID or host -> (lane, name)
        self.last: BuildFinished | None = None      # last build that ran to its end
        self.last_ok: int | None = None             # generation of the last good one
        self.backend_llvm = ""                      # logged once, and again when it changes
        self.executor = ""                          # where tasks run: likewise
        self.log: deque[LogLine] = deque(maxlen=LOG_LINES)
        self.log_total = 0                          # lines ever logged (for incremental panels)
        # The output of the programs a build ran (its tests, the `run`
        # command), kept apart from the log: a chatty program pushed the
        # build and link lines out of view. Only the latest build's, kept
        # until its first line comes (the last result stays in view).
        self.output: deque[LogLine] = deque(maxlen=LOG_LINES)
        self.output_generation = 0
        self.output_total = 0                       # lines ever put in `output` (for incremental panels)
        self.live = ""                  # the program whose lines came as it ran, in output_generation
        # What the status line says of what a watch runs after a good build:
        # "running app", "testing", "app stopped by a change", or nothing.
        self.program = ""
        self.started: ProgramStarted | None = None   # the latest, whose name a stop is said with
        self.version = 0                            # bumped on every applied batch

    # -- derived -------------------------------------------------------------
    @property
    def watch_state(self) -> str:
        if self.paused:
            return "paused"
        if self.building:
            return "building"
        if self.last is not None and not self.last.ok:
            return "failed"
        return "watching"

    def counts(self) -> dict[str, int]:
        """Modules per state in the build the counts line is about. While one
        runs: its modules in progress and those it has finished (a row still
        in an earlier build's final state is not counted as this one's).
        Then: the last finished build's counts, as the engine made them; the
        rows may still hold older states (a build that failed in cargo
        touches none)."""
        if not self.building and self.last is not None:
            return {ModuleStatus(s): n for s, n in self.last.counts.items() if n}
        out: dict[str, int] = {}
        for row in self.rows.values():
            if not row.state.final or (row.history and row.history[-1][0] == self.generation):
                out[row.state] = out.get(row.state, 0) + 1
        return out

    def saved_seconds(self) -> float:
        """Backend time not spent: last known backend seconds of reused modules."""
        return sum(r.last_backend_s or 0.0 for r in self.rows.values() if r.state == ModuleStatus.REUSED)

    # -- folding ---------------------------------------------------------------
    def _log(self, style: str, text: str) -> None:
        self.log.append(LogLine(style, text))
        self.log_total += 1

    def apply(self, events: Iterable[Event]) -> set[str]:
        dirty: set[str] = set()
        for ev in events:
            self._apply(ev, dirty)
        self.version += 1
        return dirty

    def _apply(self, ev: Event, dirty: set[str]) -> None:
        if isinstance(ev, (Paused, Resumed)):       # about the watch, not about a build
            self.paused = isinstance(ev, Paused)
            return
        if ev.generation < self.generation:
            return                                   # stale: an abandoned build's late event
        if ev.generation > self.generation or isinstance(ev, BuildStarted):
            self._start(ev, dirty)
        if isinstance(ev, BuildStarted):
            self.workspace = self.workspace or ev.workspace
            self._log("build", f"build {ev.generation} started{ev.cause()}")
        elif isinstance(ev, ModuleState):
            self._module(ev, dirty)
        elif isinstance(ev, TaskFinished):
            row = self.rows.get(ev.module)
            lane, name = self._worker(ev.worker)
            self.tasks.append(Task(ev.module, ev.phase, lane, name, ev.start, ev.seconds, ev.early))
            if row is not None:
                if ev.phase == "emit":
                    row.emit_s = ev.seconds
                else:
                    row.backend_s = row.last_backend_s = ev.seconds
                dirty.add(ev.module)
        elif isinstance(ev, Diagnostic):
            self._log(ev.level, demangle_text("".join(ev.parts())))
        elif isinstance(ev, LinkFinished):
            self._log("link", f"link {ev.output}: " + ("up to date" if ev.skipped else
                      "linked while cargo ran" if ev.early else f"linked in {ev.seconds:.2f}s"))
        elif isinstance(ev, ProgramStarted):
            self.started = ev
            self.program = "testing" if ev.kind == "test" else f"running {ev.name}"
        elif isinstance(ev, ProgramOutput):
            self._output(ev.generation, [LogLine("program", ev.line)])
            self.live = ev.program
        elif isinstance(ev, ProgramFinished):
            self._program(ev)
        elif isinstance(ev, ProgramEnded):
            self._ended(ev)
        elif isinstance(ev, BuildFinished):
            self._finish(ev)

    def _worker(self, worker: int | str) -> tuple[int, str]:
        if worker not in self.workers:
            n = len(self.workers)
            self.workers[worker] = (n, worker if isinstance(worker, str) else str(n + 1))
        return self.workers[worker]

    def _start(self, ev: Event, dirty: set[str]) -> None:
        self.generation = ev.generation
        self.building = True
        self.tasks = []
        for row in self.rows.values():
            if row.emit_s is not None or row.backend_s is not None:
                row.emit_s = row.backend_s = None
                dirty.add(row.module)

    def _module(self, ev: ModuleState, dirty: set[str]) -> None:
        row = self.rows.get(ev.module)
        if row is None:
            row = self.rows[ev.module] = ModuleRow(ev.module, ev.crate)
        elif ev.state == ModuleStatus.PENDING and row.state.final:
            row.last_final = row.state
        row.state = ev.state
        if ev.label:
            row.label = ev.label
        if ev.state.final:
            row.why = list(ev.why)
            if ev.state != ModuleStatus.FAILED or ev.imports:
                row.imports, row.exported_to = list(ev.imports), list(ev.exported_to)
                row.promoted, row.internalized = list(ev.promoted), list(ev.internalized)
                row.names = dict(ev.names)
            if ev.object_size is not None:
                row.object_size = ev.object_size
            if ev.backend_seconds is not None:
                row.last_backend_s = ev.backend_seconds
            row.history.append((ev.generation, ev.state))
            row.last_final = ev.state
        dirty.add(ev.module)

    def _output(self, generation: int, lines: list[LogLine]) -> None:
        """Add to the output pane; a new build's programs replace the last's."""
        if generation != self.output_generation:
            self.output.clear()
            self.output_generation = generation
            self.live = ""
        self.output.extend(lines)
        self.output_total += len(lines)

    def _program(self, ev: ProgramFinished) -> None:
        lines = ev.output.splitlines()
        # A test program is named by its file, as the headless lines name it:
        # its path would push libtest's summary out of a narrow log.
        name = Path(ev.program).name if ev.kind == "test" else ev.program
        said = " · ".join([f"{ev.kind} {name}: exit {ev.exit_code}", *ev.summary.splitlines()])
        style = "build" if ev.passed else "error"
        self._log(style, said + (f" ({plural(len(lines), 'line')} of output)" if lines else ""))
        if ev.generation == self.output_generation and ev.program == self.live:
            self._output(ev.generation, [LogLine(style, said)])      # its lines are shown already
        else:
            self._output(ev.generation, [LogLine(style, said), *(LogLine("program", ln) for ln in lines)])

    def _ended(self, ev: ProgramEnded) -> None:
        self.program = f"{self.started.name} stopped by a change" if ev.stopped else ""
        if ev.stopped:
            self._log("superseded", self.program)
            self._output(ev.generation, [LogLine("build", self.program)])

    def _finish(self, ev: BuildFinished) -> None:
        self.building = False
        if ev.superseded:
            self._log("superseded", f"build {ev.generation} superseded after {ev.seconds:.2f}s")
            return
        self.last = ev
        if ev.ok:
            self.last_ok = ev.generation
        if ev.backend_llvm and ev.backend_llvm != self.backend_llvm:
            self.backend_llvm = ev.backend_llvm
            self._log("link", f"backends compiled by {ev.backend_llvm}")
        if ev.executor and ev.executor != self.executor:
            self.executor = ev.executor
            self._log("link", f"tasks run on {ev.executor}")
        counts = ", ".join(f"{n} {s}" for s, n in ev.counts.items() if n) or "nothing to do"
        status = "ok" if ev.ok else "FAILED"
        self._log("ok" if ev.ok else "error",
                  f"build {ev.generation} {status} in {ev.seconds:.2f}s: {counts} ({plural(ev.backend_jobs, 'backend job')})")

    # -- questions the UI asks ---------------------------------------------------
    def name_of(self, module: str) -> str:
        """A module's name as the views show it (another module's, in a list)."""
        row = self.rows.get(module)
        return row.name if row is not None else module

    def why_text(self, row: ModuleRow) -> str:
        if row.why:
            return "; ".join(row.why)
        return row.state.meaning
