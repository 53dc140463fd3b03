"""The Rust side: the sample Cargo workspace, each step compared with a
clean thinwatch build of the same bitcode (cache and units moved aside) and,
every few steps, the program with plain `cargo build --release`'s."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from . import rust_edits
from .helpers import IGNORE, SAMPLE_RUST, build, incremental_state_aside, objects
from .outcome import Outcome, differences, failed, run_program
from .tree import Tree


class RustTarget:
    kind = "rust"
    workspace = "sample"
    suffixes = (".rs",)
    proposers = rust_edits.PROPOSERS

    def __init__(self, cargo_every: int = 5):
        self.cargo_every = cargo_every

    def create(self, dest: Path) -> None:
        shutil.copytree(SAMPLE_RUST, dest, ignore=IGNORE)

    def problems(self, tree: Tree) -> set[str]:
        return set()        # rustc is the judge; broken steps are reverted later

    def view(self, tree: Tree) -> Tree:
        return tree

    def check(self, ws: Path, pool, work: Path, step: int) -> tuple[Outcome, list[str]]:
        incremental = self._outcome(ws, pool)
        diffs = differences(incremental, self._clean(ws, pool))
        if incremental.ok and step % self.cargo_every == 0:
            cargo = cargo_run(ws, work)
            if cargo != incremental.run:
                diffs.append(f"program output: thinwatch {incremental.run!r}, cargo {cargo!r}")
        return incremental, diffs

    def _clean(self, ws: Path, pool) -> Outcome:
        """A clean thinwatch build of the same bitcode, as the tests make it,
        but one that may fail."""
        with incremental_state_aside(ws):
            return self._outcome(ws, pool)

    @staticmethod
    def _outcome(ws: Path, pool) -> Outcome:
        if not (out := build(ws, pool)).finished.ok:
            return failed(out)
        exe = ws / ".thinwatch" / "out" / "app"
        return Outcome(True, {**objects(ws), exe.name: hashlib.sha256(exe.read_bytes()).hexdigest()},
                       run_program(exe))


def cargo_run(ws: Path, work: Path) -> str:
    """What the binary of plain `cargo build --release` does."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(work / "cargo-target"))
    env.pop("RUSTFLAGS", None)
    res = subprocess.run(["cargo", "build", "--release", "--offline", "-q"], cwd=ws, env=env,
                         capture_output=True, text=True)
    if res.returncode:
        return "cargo build failed"
    return run_program(work / "cargo-target" / "release" / "app")
