"""The LLVM IR front end: a workspace's manifest (`thinwatch.toml`) and the
modules it names.

    [build]
    output = "sample"      # executable, written to .thinwatch/out/<output>
    entry = ["main"]       # symbols kept external (never internalized)
    opt_level = 2          # backend pipeline, 0-3
    libs = ["-lm"]         # extra arguments for the final `cc` link
    target = ""            # target triple; empty = the host's
    llvm = "auto"          # backend LLVM: "auto", "llvmlite" or a libLLVM path (engine/native_llvm.py)
    run = []               # optional command to run the built program
    executor = "local"     # where tasks run: "local", or a Dask cluster "dask://HOST:PORT"

    [cache]
    max_size_mb = 2048     # pruned to this after every good build (oldest first)
    max_age_days = 30      # entries older than this are dropped
    dir = ""               # a cache to share between checkouts; "" = .thinwatch/cache

    [crates]
    core = "core"          # crate name = directory of its .ll / .bc modules

A module's id is `<crate>::<path below the crate dir without suffix>`, with
`/` spelled `::`: stable across edits, so promotion names and cache records
survive them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ConfigError
from ..link import read_where_they_lie
from ..project import BUILD_DIR, ModuleSource, Project, Unit, WatchRules, printable
from ..settings import Settings, read_toml

MANIFEST = "thinwatch.toml"
SUFFIXES = (".ll", ".bc")


@dataclass(kw_only=True)
class Workspace(Project):
    """An IR workspace: a `thinwatch.toml` and its crates of modules."""
    # Never a `target/`: a Cargo project's output beside IR (generated from it) is no source.
    WATCH = WatchRules(frozenset({*SUFFIXES, ".toml"}), (BUILD_DIR, "target"))
    output: str
    entry: list[str]
    libs: list[str]
    crates: dict[str, Path]

    @property
    def output_path(self) -> Path:
        return self.build_dir / "out" / self.output

    @classmethod
    def open(cls, root: Path, options=None) -> "Workspace":
        return load(root)

    async def prepare(self, report, tests: bool, early) -> list[Unit]:
        return self.units()

    def units(self) -> list[Unit]:
        return [Unit(self.output, self.modules(), set(self.entry), self.output_path, self.build_dir,
                     lambda objects: [*map(str, objects), *self.libs], [*self.libs, *read_where_they_lie(self.libs)])]

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


def load(root: Path) -> Workspace:
    root = Path(root).resolve()
    manifest = root / MANIFEST
    if not manifest.is_file():
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
        executor=build.executor("executor"),
        cache_dir=cache.directory("dir"),
        **cache.cache_limits(),
    )
