"""Running an edit sequence: generate it from a seed (`run`) or replay a
given one (`replay`), building incrementally after every step and comparing
with a clean build each time."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from thinwatch.engine.pool import TaskPool

from .helpers import build
from .tree import Tree, apply_changes, invert, read_tree, write_tree

Edit = dict        # {"kind": str, "changes": [change, ...]}


@dataclass
class Result:
    edits: list[Edit] = field(default_factory=list)
    failed_builds: int = 0
    mismatch: list[str] = field(default_factory=list)   # differences at the last step, if any
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.edits)


def propose(target, tree: Tree, rng: random.Random, step: int, history: list[Edit]) -> Edit:
    """A random edit that applies to `tree` and, for checked kinds, adds no
    problem. While a deliberate break is in, or an edit after which the
    program hung, its fix is the likely next edit: a hang costs every step
    the run's timeout twice until it is undone."""
    before = target.problems(tree)
    kinds = list(target.proposers) + ["revert"]
    weights = [w for w, _, _ in target.proposers.values()] + [10]
    broken = [e for e in history if (e["kind"] == "break" or e.get("hung"))
              and apply_changes(tree, invert(e["changes"]))]
    for _ in range(50):
        kind = "revert" if broken and rng.random() < 0.7 else rng.choices(kinds, weights)[0]
        if kind == "revert":
            # never re-apply a break by reverting its fix
            undoable = [e for e in history if not e["kind"].startswith(("break", "revert"))]
            if not (broken or undoable):
                continue
            undone = broken[-1] if broken else rng.choice(undoable)
            kind, changes, checked = f"revert {undone['kind']}", invert(undone["changes"]), True
        else:
            _, proposer, checked = target.proposers[kind]
            if (made := proposer(target.view(tree), rng, step)) is None:
                continue
            kind, changes = made
        after = apply_changes(tree, changes)
        if after is not None and after != tree and (not checked or target.problems(after) <= before):
            return {"kind": kind, "changes": changes}
    return {"kind": "comment", "changes": [{"path": sorted(tree)[0], "old": "", "new": "\n"}]}


class Runner:
    """One workspace under `work`, built through a shared pool."""

    def __init__(self, target, pool: TaskPool, work: Path, log: Callable[[str], None] = lambda s: None):
        self.target, self.pool, self.work, self.log = target, pool, work, log
        self._last = None                     # the incremental outcome of the last step

    def _start(self) -> tuple[Path, Tree]:
        ws = self.work / "ws"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.target.create(ws)
        if not build(ws, self.pool).finished.ok:
            raise RuntimeError(f"the initial {self.target.kind} workspace does not build")
        return ws, read_tree(ws, self.target.suffixes)

    def _step(self, ws: Path, tree: Tree, edit: Edit, res: Result) -> Tree:
        after = apply_changes(tree, edit["changes"])
        if after is None:
            after = tree                      # a replayed edit whose text is gone: a no-op save
        write_tree(ws, tree, after)
        res.edits.append(edit)
        self._last, res.mismatch = self.target.check(ws, self.pool, self.work, len(res.edits))
        res.failed_builds += not self._last.ok
        if self._last.run == "timeout":
            edit["hung"] = True
        return after

    def _verdict(self, res: Result) -> str:
        if res.mismatch:
            return "MISMATCH\n  " + "\n  ".join(res.mismatch)
        return "same" if self._last.ok else f"same (both failed: {self._last.why})"

    def run(self, seed: int, steps: int) -> Result:
        rng = random.Random(seed)
        ws, tree = self._start()
        res, t0 = Result(), time.monotonic()
        for i in range(steps):
            edit = propose(self.target, tree, rng, i + 1, res.edits)
            tree = self._step(ws, tree, edit, res)
            self.log(f"step {i + 1}/{steps} {edit['kind']}: {self._verdict(res)}")
            if res.mismatch:
                break
        res.seconds = time.monotonic() - t0
        return res

    def replay(self, edits: list[Edit]) -> Result:
        """Apply `edits` from the initial tree, stopping at the first mismatch."""
        ws, tree = self._start()
        res, t0 = Result(), time.monotonic()
        for edit in edits:
            tree = self._step(ws, tree, edit, res)
            if res.mismatch:
                break
        res.seconds = time.monotonic() - t0
        return res
