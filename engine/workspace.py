"""A workspace: its manifest (`thinwatch.toml`) and the modules it names.

    [build]
    output = "sample"      # executable, written to .thinwatch/out/<output>
    entry = ["main"]       # symbols kept external (never internalized)
    opt_level = 2          # backend pipeline, 0-3
    libs = ["-lm"]         # extra arguments for the final `cc` link
    target = ""            # target triple; empty = the host's
    llvm = "auto"          # backend LLVM: "auto", "llvmlite" or a libLLVM path (engine/native_llvm.py)
    run = []               # optional command to run the built program

    [cache]
    max_size_mb = 2048     # pruned to this after every good build (oldest first)
    max_age_days = 30      # entries older than this are dropped

    [crates]
    core = "core"          # crate name = directory of its .ll / .bc modules

A module's id is `<crate>::<path below the crate dir without suffix>`, with
`/` spelled `::`: stable across edits, so promotion names and cache records
survive them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .cache import DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES
from .errors import ConfigError
from .settings import Settings, read_toml

MANIFEST = "thinwatch.toml"
BUILD_DIR = ".thinwatch"
SUFFIXES = (".ll", ".bc")


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
        return self.state_dir / "objects" / (mid.replace("::", ".") + ".o")


@dataclass(kw_only=True)
class Project:
    """What every kind of workspace tells a build: where it lives, the
    backend's target, opt level and LLVM, the cache limits, what to run."""
    root: Path
    target: str = ""
    opt_level: int = 2
    cpu: str = ""                # backend target CPU; "" = the triple's generic one
    llvm: str = "auto"              # which LLVM compiles the backends (native_llvm.choose)
    run: list[str] = field(default_factory=list)
    cache_max_bytes: int = DEFAULT_MAX_BYTES
    cache_max_age: float = DEFAULT_MAX_AGE

    @property
    def build_dir(self) -> Path:
        return self.root / BUILD_DIR

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


@dataclass(kw_only=True)
class Workspace(Project):
    """An IR workspace: a `thinwatch.toml` and its crates of modules."""
    output: str
    entry: list[str]
    libs: list[str]
    crates: dict[str, Path]

    @property
    def output_path(self) -> Path:
        return self.build_dir / "out" / self.output

    def units(self) -> list[Unit]:
        return [Unit(self.output, self.modules(), set(self.entry), self.output_path, self.build_dir,
                     lambda objects: [*map(str, objects), *self.libs], list(self.libs))]

    def source_of(self, module: str, symbols: Iterable[str]) -> Path:
        path = next((src.path for src in self.modules() if src.id == module), None)
        if path is None:
            raise LookupError(f"no source: {module} is not a module of this workspace")
        return path

    def modules(self) -> list[ModuleSource]:
        found = []
        for crate, directory in sorted(self.crates.items()):
            for dirpath, dirnames, filenames in os.walk(directory):   # never follows directory links
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    if path.suffix not in SUFFIXES or name.startswith("."):
                        continue
                    rel = path.relative_to(directory).with_suffix("")
                    mid = printable(crate + "::" + "::".join(rel.parts))
                    problem = ""
                    if printable(name) != name:
                        problem = "file name is not valid UTF-8; rename the file"
                    elif self.root not in path.resolve().parents:
                        problem = f"symlink points outside the workspace (to {printable(str(path.resolve()))})"
                    found.append(ModuleSource(mid, crate, path, path.suffix == ".bc", problem))
        return found


def require_workspace(root: Path) -> None:
    """A ConfigError unless `root` holds a manifest of either kind: checked
    before anything is made there, so a mistyped directory is left without a
    build directory or a lock."""
    if not (root / MANIFEST).is_file() and not (root / "Cargo.toml").is_file():
        raise ConfigError(f"{root} is not a workspace: it has neither a {MANIFEST} (LLVM IR) "
                          f"nor a Cargo.toml (Rust)")


def load(root: Path) -> Workspace:
    root = Path(root).resolve()
    manifest = root / MANIFEST
    if not manifest.is_file():
        require_workspace(root)
        raise ConfigError(f"{manifest} is not a file", str(manifest))
    settings = Settings(manifest, read_toml(manifest))
    build, crates, cache = settings.table("build"), settings.table("crates"), settings.table("cache")
    if not crates.values:
        raise ConfigError("[crates] names no crate", str(manifest))
    dirs = {}
    for name in crates.values:
        rel = crates.string(name, "")
        if not re.fullmatch(r"[A-Za-z0-9_][-A-Za-z0-9_]*", name):
            raise ConfigError(f"crate name {name!r} must be letters, digits, '_' or '-'", str(manifest))
        path = (root / rel).resolve()
        if root != path and root not in path.parents:
            raise ConfigError(f"crate {name!r} directory {rel!r} is outside the workspace", str(manifest))
        if not path.is_dir():
            raise ConfigError(f"crate {name!r} directory {rel!r} does not exist", str(manifest))
        dirs[name] = path
    output = build.string("output", "a.out")
    if not output or "/" in output or output.startswith("."):
        raise ConfigError("build.output must be a plain file name", str(manifest))
    return Workspace(
        root=root,
        output=output,
        entry=build.strings("entry", ["main"]),
        opt_level=build.integer("opt_level", 2, 0, 3),
        libs=build.strings("libs", []),
        target=build.string("target", ""),
        llvm=build.string("llvm", "auto"),
        crates=dirs,
        run=build.strings("run", []),
        cache_max_bytes=cache.integer("max_size_mb", DEFAULT_MAX_BYTES >> 20, 0) << 20,
        cache_max_age=cache.number("max_age_days", DEFAULT_MAX_AGE / 86400, 0) * 86400,
    )
