"""The engine's event stream. Front-ends (headless printer, Textual app) are
plain consumers of these values; `to_json` gives the `--json` line form, with
a `reason` field like cargo's `--message-format=json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import orjson

REBUILD = "(rebuild requested)"    # how a requested rebuild names its trigger, no path being so


class ModuleStatus(StrEnum):
    """A module's state in a build: live ones while it is worked on, then
    exactly one final one. A `str`, so `--json` writes its plain name."""

    symbol: str     # reads in monochrome
    order: int      # place when sorted by state: what needs attention first
    final: bool
    meaning: str    # for people, where a module's own reasons say nothing more

    def __new__(cls, name: str, symbol: str, order: int, final: bool, meaning: str):
        status = str.__new__(cls, name)
        status._value_ = name
        status.symbol, status.order, status.final, status.meaning = symbol, order, final, meaning
        return status

    PENDING = "pending", "…", 5, False, "waiting for this build"
    EMITTING = "emitting", "…", 4, False, "emitting pre-link bitcode"
    OPTIMIZING = "optimizing", "…", 3, False, "running the ThinLTO backend"
    REBUILT = "rebuilt", "●", 1, True, "own bitcode changed (or new): emission + backend"
    REIMPORTED = "reimported", "◐", 2, True, "own bitcode unchanged, backend key changed: backend only"
    REUSED = "reused", "○", 7, True, "backend key unchanged: cached object"
    FAILED = "failed", "✗", 0, True, "see the log and the inspector"
    REMOVED = "removed", "−", 6, True, "its source is gone"


LIVE_STATES = tuple(s for s in ModuleStatus if not s.final)
FINAL_STATES = tuple(s for s in ModuleStatus if s.final)


@dataclass
class Event:
    reason: ClassVar[str] = ""
    generation: int

    def to_json(self) -> bytes:
        # A shallow copy: orjson writes the values (nested dataclasses too)
        # itself, where dataclasses.asdict deep-copies every one first.
        return orjson.dumps({"reason": self.reason, **vars(self)})


@dataclass
class BuildStarted(Event):
    reason: ClassVar[str] = "build-started"
    trigger: list[str]
    workspace: str

    def cause(self) -> str:
        """What started it, as a line says after the build's number:
        ` (app/main.ll, rebuild requested)`, or nothing. REBUILD's own
        parentheses set it apart from paths in a list, not in a sentence."""
        said = [t[1:-1] if t == REBUILD else t for t in self.trigger[:3]]
        return f" ({', '.join(said)}{' …' if len(self.trigger) > 3 else ''})" if said else ""


@dataclass
class ModuleState(Event):
    reason: ClassVar[str] = "module-state"
    module: str
    crate: str
    state: ModuleStatus
    why: list[str] = field(default_factory=list)
    imports: list[list[str]] = field(default_factory=list)   # [name, exporter, hash]
    exported_to: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)
    internalized: list[str] = field(default_factory=list)
    object_size: int | None = None
    backend_seconds: float | None = None    # its backend's last run (this build's, or the one reused)
    # What a person reads (engine/names.py): what the module holds, "" when
    # this event does not say (the id stays the key), and the symbols above
    # demangled, raw -> readable, for those demangling changes.
    label: str = ""
    names: dict[str, str] = field(default_factory=dict)


@dataclass
class TaskFinished(Event):
    reason: ClassVar[str] = "task-finished"
    module: str
    phase: str            # emit | backend
    worker: int | str     # a local worker's PID, or "host:pid" of a cluster's
    start: float
    seconds: float
    early: bool = False   # a backend job started while cargo still ran (engine/early.py)


@dataclass
class Diagnostic(Event):
    reason: ClassVar[str] = "diagnostic"
    level: str            # error | warning
    message: str
    module: str | None = None
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def location(self) -> str:
        loc = self.file or self.module or ""
        if self.file and self.line:
            loc += f":{self.line}" + (f":{self.col}" if self.col else "")
        return loc

    def parts(self) -> tuple[str, str]:
        """(`level: `, `place: message`) as a line shows them; the level is
        left out when the message, as rustc renders it, starts with it."""
        loc = self.location()
        said = self.message.startswith((f"{self.level}:", f"{self.level}["))
        return "" if said else f"{self.level}: ", (f"{loc}: " if loc else "") + self.message


@dataclass
class LinkFinished(Event):
    reason: ClassVar[str] = "link-finished"
    output: str
    skipped: bool
    seconds: float
    early: bool = False       # linked while cargo ran, from the objects it turned out to need


@dataclass
class BuildFinished(Event):
    reason: ClassVar[str] = "build-finished"
    ok: bool
    counts: dict[str, int]    # final state name -> modules in it
    seconds: float
    phases: dict[str, float]
    backend_jobs: int
    output: str | None
    superseded: bool = False
    outputs: list[str] = field(default_factory=list)
    early_jobs: int = 0       # of backend_jobs, started while cargo ran (engine/early.py)
    backend_llvm: str = ""    # which LLVM compiled the backends (native_llvm.Codegen.label)
    executor: str = ""        # where tasks ran (executor.Executor.where)


@dataclass
class ProgramStarted(Event):
    """Watch mode started what it runs after a good build: the program
    (`kind` run) or the test programs, one after another (`kind` test)."""
    reason: ClassVar[str] = "program-started"
    kind: str             # test | run
    program: str          # as its ProgramOutput names it; "the tests" for the tests
    name: str             # as a status line says it: the program's file name, or "tests"


@dataclass
class ProgramEnded(Event):
    """What `ProgramStarted` started is over: it ended on its own, or was
    `stopped` by a change (or a requested rebuild) so the next build could start."""
    reason: ClassVar[str] = "program-ended"
    kind: str
    program: str
    stopped: bool


@dataclass
class ProgramFinished(Event):
    """A built program was run: a test binary, or the manifest's `run` command."""
    reason: ClassVar[str] = "program-finished"
    kind: str             # test | run
    program: str
    exit_code: int
    output: str
    summary: str = ""     # libtest's `test result: …` lines in the output, one per run

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass
class ProgramOutput(Event):
    """One line a running program wrote (stdout and stderr, as the program
    interleaved them), as it wrote it; its `ProgramFinished` carries all of
    them again, once it ends on its own."""
    reason: ClassVar[str] = "program-output"
    kind: str             # test | run
    program: str
    line: str


@dataclass
class Paused(Event):
    """Watching goes on, building waits: changes collect until `Resumed`."""
    reason: ClassVar[str] = "paused"


@dataclass
class Resumed(Event):
    reason: ClassVar[str] = "resumed"
