"""The Rust side: a Cargo workspace (the sample, a bench.generate one, or a
program of the real-world corpus), each step compared with a clean thinwatch
build of the same bitcode (cache and units moved aside) and, every few
steps, the program with plain `cargo build --release`'s."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from bench.generate import CargoSpec, generate_cargo

from . import rust_edits
from .helpers import IGNORE, ROOT, SAMPLE_RUST, build, incremental_state_aside
from .outcome import Outcome, differences, failed, run_program
from .tree import Tree

CORPUS = ROOT / "tests" / "corpus"
# The corpus program: serde + serde_derive (a proc-macro) + serde_json from
# Debian's registry, so edits instantiate real crates' generics. Copied
# alone (its workspace's other members pull in tokio, rayon ...) with the
# registry's lock file and the `.cargo` config that points cargo offline at
# /usr/share/cargo/registry (tests/test_corpus.py installs the packages).
CORPUS_PROGRAM = "roundtrip"
# Small enough that a clean build per step stays cheap, big enough for
# moves between modules and between three crates (lib2 -> lib1 -> lib0).
GENERATED = CargoSpec(crates=3, modules=2, leaves=3, mediums=2, fanout=2, app_modules=1, large_every=2)
WORKSPACES = ("sample", "generated", "corpus")


class RustTarget:
    kind = "rust"
    suffixes = (".rs",)

    def __init__(self, cargo_every: int = 5, workspace: str = "sample"):
        if workspace not in WORKSPACES:
            raise ValueError(f"Rust workspace {workspace!r}: one of {', '.join(WORKSPACES)}")
        self.cargo_every, self.workspace = cargo_every, workspace
        self.layout = rust_edits.LAYOUTS[workspace]
        self.proposers = rust_edits.proposers(self.layout)

    def create(self, dest: Path) -> None:
        if self.workspace == "sample":
            shutil.copytree(SAMPLE_RUST, dest, ignore=IGNORE)
        elif self.workspace == "generated":
            generate_cargo(dest, GENERATED)
        else:
            dest.mkdir(parents=True)
            shutil.copytree(CORPUS / ".cargo", dest / ".cargo")
            shutil.copytree(CORPUS / "registry" / CORPUS_PROGRAM, dest / CORPUS_PROGRAM, ignore=IGNORE)
            shutil.copy(CORPUS / "registry" / "Cargo.lock", dest / "Cargo.lock")
            (dest / "Cargo.toml").write_text(f'[workspace]\nresolver = "2"\nmembers = ["{CORPUS_PROGRAM}"]\n')

    def problems(self, tree: Tree) -> set[str]:
        return set()        # rustc is the judge; broken steps are reverted later

    def view(self, tree: Tree) -> Tree:
        return tree

    def check(self, ws: Path, pool, work: Path, step: int) -> tuple[Outcome, list[str]]:
        incremental = self._outcome(ws, pool)
        diffs = differences(incremental, self._clean(ws, pool))
        if incremental.ok and step % self.cargo_every == 0:
            cargo = cargo_run(ws, work, self.layout.binary)
            if cargo != incremental.run:
                diffs.append(f"program output: thinwatch {incremental.run!r}, cargo {cargo!r}")
        return incremental, diffs

    def _clean(self, ws: Path, pool) -> Outcome:
        """A clean thinwatch build of the same bitcode, as the tests make it,
        but one that may fail."""
        with incremental_state_aside(ws):
            return self._outcome(ws, pool)

    def _outcome(self, ws: Path, pool) -> Outcome:
        if not (out := build(ws, pool)).finished.ok:
            return failed(out)
        exe = ws / ".thinwatch" / "out" / self.layout.binary
        # thinwatch names a binary's link unit as cargo names the binary
        objects = ws / ".thinwatch" / "units" / self.layout.binary / "objects"
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in objects.glob("*.o")}
        return Outcome(True, {**files, exe.name: hashlib.sha256(exe.read_bytes()).hexdigest()}, run_program(exe))


def cargo_run(ws: Path, work: Path, binary: str) -> str:
    """What the binary of plain `cargo build --release` does."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(work / "cargo-target"))
    env.pop("RUSTFLAGS", None)
    res = subprocess.run(["cargo", "build", "--release", "--offline", "-q"], cwd=ws, env=env,
                         capture_output=True, text=True)
    if res.returncode:
        return "cargo build failed"
    return run_program(work / "cargo-target" / "release" / binary)
