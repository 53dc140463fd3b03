"""The IR side: a sample or generated IR workspace, each step compared with
a clean build of a copy of its sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.generate import IRSpec, generate_ir
from engine.frontends.ir import load

from . import ir_edits
from .helpers import IGNORE, SAMPLE_IR, build, outputs
from .ir_model import Model, externals_of
from .outcome import Outcome, differences, failed, run_program
from .tree import Tree, read_tree


class IRTarget:
    kind = "ir"
    suffixes = (".ll",)
    proposers = ir_edits.PROPOSERS

    def __init__(self, workspace: str = "sample"):
        self.workspace = workspace          # "sample" or "generated:<modules>"
        self.externals: frozenset[str] = frozenset()

    def create(self, dest: Path) -> None:
        if self.workspace == "sample":
            shutil.copytree(SAMPLE_IR, dest, ignore=IGNORE)
        else:
            n = int(self.workspace.removeprefix("generated:"))
            generate_ir(dest, IRSpec(modules=n, per_crate=max(2, (n + 1) // 2)))
        self.externals = externals_of(read_tree(dest, self.suffixes))

    def problems(self, tree: Tree) -> set[str]:
        return Model.of(tree).problems(self.externals)

    def view(self, tree: Tree) -> Model:
        return Model.of(tree)

    def check(self, ws: Path, pool, work: Path, step: int) -> tuple[Outcome, list[str]]:
        incremental = self._outcome(ws, pool)
        clean = work / "clean"
        shutil.rmtree(clean, ignore_errors=True)
        shutil.copytree(ws, clean, ignore=IGNORE)
        return incremental, differences(incremental, self._outcome(clean, pool))

    def _outcome(self, ws: Path, pool) -> Outcome:
        if not (out := build(ws, pool)).finished.ok:
            return failed(out)
        return Outcome(True, outputs(ws), run_program(load(ws).output_path))
