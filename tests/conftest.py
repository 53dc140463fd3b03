"""Shared fixtures: real sample workspaces in temp dirs, a real worker pool,
and builds driven through the engine's event stream."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from thinwatch.engine.events import BuildFinished, Diagnostic, Event, ModuleState
from thinwatch.engine.pool import TaskPool
from thinwatch.engine.reporter import Reporter
from thinwatch.engine.scheduler import run_build

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_IR = ROOT / "sample_crates" / "ir"
IGNORE = shutil.ignore_patterns(".thinwatch", "target")


@dataclass
class Outcome:
    events: list[Event] = field(default_factory=list)

    @property
    def finished(self) -> BuildFinished:
        return next(e for e in self.events if isinstance(e, BuildFinished))

    @property
    def states(self) -> dict[str, str]:
        """Final state of every module."""
        return {e.module: e.state for e in self.events
                if isinstance(e, ModuleState) and e.state in ("rebuilt", "reimported", "reused", "failed", "removed")}

    def final(self, module: str) -> ModuleState:
        return [e for e in self.events if isinstance(e, ModuleState) and e.module == module][-1]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [e for e in self.events if isinstance(e, Diagnostic)]

    def only(self, state: str) -> set[str]:
        return {m for m, s in self.states.items() if s == state}


@pytest.fixture(scope="session")
def pool():
    p = TaskPool(2)
    yield p
    p.close()


def build(ws: Path, pool: TaskPool) -> Outcome:
    out = Outcome()
    asyncio.run(run_build(ws, pool, Reporter(out.events.append, 1)))
    return out


@pytest.fixture
def ir_ws(tmp_path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(SAMPLE_IR, dest, ignore=IGNORE)
    return dest


def outputs(ws: Path) -> dict[str, str]:
    """Digest of every object and of the executable a build left."""
    build_dir = ws / ".thinwatch"
    files = sorted((build_dir / "objects").glob("*.o")) + sorted((build_dir / "out").iterdir())
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files if not p.name.startswith(".")}


def clean_outputs(ws: Path, pool: TaskPool, tmp: Path) -> dict[str, str]:
    """What a clean build (empty cache) of the same sources produces."""
    clean = tmp / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    shutil.copytree(ws, clean, ignore=IGNORE)
    assert build(clean, pool).finished.ok
    return outputs(clean)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def run_exe(path: Path) -> str:
    return subprocess.run([str(path)], capture_output=True, text=True, check=True, timeout=30).stdout


def thinwatch(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thinwatch.engine.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600, **kw)


def cargo_release_dir(ws: Path) -> Path:
    """Where thinwatch's cargo puts a workspace's release artifacts: it names
    the host as its target (cargo's `target/<host>/`)."""
    from thinwatch.engine.frontends.cargo.config import host
    return ws / ".thinwatch" / "target" / host() / "release"


def undefined_symbols_of(obj: Path) -> set[str]:
    out = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}
