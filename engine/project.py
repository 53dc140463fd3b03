"""What a front end gives the engine, whatever kind of workspace it reads.

A front end (`frontends/`) is a `Project`: it turns a workspace into link
`Unit`s of `ModuleSource`s (`prepare`), tells the watcher which files are
its inputs (`WATCH`), says where a module's source is (`source_of`), and may
hand modules over early, while it still runs. The scheduler knows no more
of it than this.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Iterable, Sequence

from .cache import DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES
from .errors import ConfigError
from .events import Event

if TYPE_CHECKING:
    from .reporter import Reporter

BUILD_DIR = ".thinwatch"


@dataclass(frozen=True)
class ModuleSource:
    id: str
    crate: str
    path: Path
    is_bitcode: bool
    problem: str = ""        # why it cannot be built at all (reported as its error)
    # Which compilation of its crate it comes from (Cargo: `<crate>-<hash>`),
    # where crates of one name (a package's library and binary, two versions
    # of a dependency) must be told apart.
    origin: str = ""

    @property
    def display(self) -> str:
        return printable(str(self.path))


def printable(text: str) -> str:
    """A file name as valid UTF-8 text (undecodable bytes spelled as \\xNN)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass
class Unit:
    """One ThinLTO link: its modules, what must stay external, how to link."""
    name: str
    modules: list[ModuleSource]
    preserve: set[str]
    output: Path
    state_dir: Path                           # objects/ and state.json of this unit
    link_args: Callable[[list[Path]], list[str]]   # objects -> cc arguments (without -o)
    key_args: list[str] = field(default_factory=list)  # what else the link depends on
    opt_level: int | None = None              # the LTO level its link line asks for, if it says
    driver: str = ""                          # the C compiler driver that links it; "" = $CC or cc
    cpu: str | None = None                    # the CPU its link line asks the LTO for, if it says

    def object(self, mid: str) -> Path:
        """Where the current build's object of a module is, for the link."""
        return Path(self.object_name(mid))

    def object_name(self, mid: str) -> str:
        """`object` as a string, for checking thousands cheaply."""
        return os.path.join(self.state_dir, "objects", mid.replace("::", ".") + ".o")


@dataclass(frozen=True)
class WatchRules:
    """Which changed files are a front end's inputs."""
    suffixes: frozenset[str]          # of sources and manifests
    ignore_dirs: tuple[str, ...]      # never inputs (what the front end's tools write)
    # Files the front end's own tool writes as it runs (cargo's lock file):
    # such a write must not cancel the build that made it; it is built after.
    written_by_tool: frozenset[str] = frozenset()


# Hands a front end's early modules to the engine: a function reading them
# (run in a thread), all of one crate instance.
EarlyModules = Callable[[Callable[[], list[ModuleSource]]], None]


@dataclass(kw_only=True)
class Project:
    """What every kind of workspace tells a build: where it lives, the
    backend's target, opt level and LLVM, the cache limits, what to run."""
    WATCH: ClassVar[WatchRules]
    root: Path
    target: str = ""
    opt_level: int = 2
    cpu: str = ""                # backend target CPU; "" = the triple's generic one
    llvm: str = "auto"              # which LLVM compiles the backends (native_llvm.choose)
    run: list[str] = field(default_factory=list)
    cache_max_bytes: int = DEFAULT_MAX_BYTES
    cache_max_age: float = DEFAULT_MAX_AGE
    cache_dir: Path | None = None   # a cache to share with other checkouts; None = the build dir's
    executor: str = ""              # where tasks run: "" = local worker processes (engine/executors.py)

    @classmethod
    def open(cls, root: Path, options=None) -> "Project":
        """Read the workspace at `root`, with the front end's command-line
        `options` (Cargo: its selection flags); a ConfigError says what is wrong."""
        raise NotImplementedError

    @property
    def build_dir(self) -> Path:
        return self.root / BUILD_DIR

    @property
    def cache_root(self) -> Path:
        return self.cache_dir or self.build_dir / "cache"

    async def prepare(self, report: "Reporter", tests: bool, early: EarlyModules | None) -> list[Unit] | None:
        """This build's link units, or None if the front end failed (it has
        reported why). `tests`: build the test harnesses too."""
        raise NotImplementedError

    async def run_tests(self, sink: Callable[[Event], None], generation: int, args: Sequence[str] = ()) -> bool:
        """Run the test programs the last build (with `tests`) made, each with
        `args`, their results down the sink; True if all passed."""
        raise ConfigError(f"{self.root} has no test harnesses: `thinwatch test` runs a Cargo workspace's tests")

    def follow_profile(self, units: list[Unit]) -> None:
        """Take the backend opt level and CPU from the units' link lines,
        where the workspace's front end sets them (Cargo); an IR workspace
        sets its own."""

    def source_of(self, module: str, symbols: Iterable[str]) -> Path:
        """The file to edit for `module`, which defines `symbols` (its
        functions, when it was built); LookupError says why there is none."""
        raise LookupError(f"no source file is known for {module}")

    def label(self, module: str, functions: Iterable[str]) -> str:
        """What a person calls `module`, which defines `functions`: an IR
        module is named by its file, so its id says it."""
        return module

    def line_of(self, path: Path, function: str) -> int | None:
        """The line of `function` (a symbol) in `path`, where known."""
        return None
