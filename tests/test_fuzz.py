"""The differential edit fuzzer (fuzz/): a fast slice of it, proof that it
can fail and shrink, replays of the minimal sequences it found, and (slow)
the big runs."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import IGNORE, SAMPLE_IR, build, edit
from fuzz import regressions
from fuzz.cli import shrink, target_for
from fuzz.outcome import Outcome, differences
from fuzz.session import Runner
from fuzz.shrink import ddmin
from fuzz.target_rust import WORKSPACES
from fuzz.tree import apply_changes, invert, read_tree
from test_corpus import registry  # noqa: F401  (the fixture: the corpus program's Debian crates)
from test_engine_core import reference_build

needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
# Known failing minimal sequences: name -> why (the engine is not fixed yet).
KNOWN = {}


def run(kind: str, pool, tmp: Path, seed: int, steps: int, workspace: str = "sample", cargo_every: int = 5):
    res = Runner(target_for(kind, workspace, cargo_every), pool, tmp, print).run(seed, steps)
    assert not res.mismatch, "\n".join(res.mismatch)
    assert res.failed_builds <= res.steps // 3, "most steps should build"
    return res


def test_ir_sample_slice(pool, tmp_path):
    run("ir", pool, tmp_path, seed=11, steps=30)


def test_ir_generated_slice(pool, tmp_path):
    run("ir", pool, tmp_path, seed=12, steps=10, workspace="generated:4")


@needs_cargo
def test_rust_slice(pool, tmp_path):
    run("rust", pool, tmp_path, seed=13, steps=4, cargo_every=2)


@needs_cargo
def test_rust_generated_slice(pool, tmp_path):
    run("rust", pool, tmp_path, seed=14, steps=3, workspace="generated", cargo_every=3)


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_rust_edits_apply_and_revert_exactly(workspace, tmp_path):
    """Every Rust edit kind applies to its workspace's sources, its revert
    gives the sources back byte for byte, and reverting the revert makes the
    edit again (a revert that undid the wrong `pub ` once left builds broken
    for dozens of steps; a redone insertion into `main` once landed after
    it, and the long generated run then stayed broken for 40 steps)."""
    target = target_for("rust", workspace)
    target.create(tmp_path / "ws")
    tree = read_tree(tmp_path / "ws", target.suffixes)
    made = set()
    for seed in range(30):
        rng = random.Random(seed)
        for kind, (_, proposer, _) in target.proposers.items():
            if (proposal := proposer(tree, rng, 100 + seed)) is None:
                continue
            after = apply_changes(tree, proposal[1])
            assert after is not None, (kind, proposal)
            if after == tree:
                continue                  # a literal given its own value: the runner skips it too
            assert apply_changes(after, invert(proposal[1])) == tree, (kind, proposal)
            assert apply_changes(tree, invert(invert(proposal[1]))) == after, (kind, proposal)
            made.add(proposal[0])
    assert {"move-module", "generic", "trait-impl", "literal"} <= made
    assert workspace == "corpus" or "move-crate" in made     # its program is one crate


def test_comparator_reports_every_difference():
    inc = Outcome(True, {"core.math.o": "a1", "sample": "e1"}, "exit 0\nsum = 25\n")
    clean = Outcome(True, {"core.math.o": "a1", "sample": "e2", "core.geom.o": "g1"}, "exit 0\nsum = 26\n")
    found = differences(inc, clean)
    assert [d.split(":")[0] for d in found] == ["core.geom.o", "sample", "program output"]
    assert differences(Outcome(False), clean) == ["incremental build failed, clean build succeeded"]
    assert differences(inc, inc) == [] and differences(Outcome(False), Outcome(False)) == []


class NotesTarget:
    """A stand-in target that "mismatches" exactly when two given notes are
    both in the sources: the runner and shrinker must find and isolate them."""
    kind, workspace, suffixes = "ir", "sample", (".ll",)

    proposers: dict = {}

    def __init__(self, culprits: tuple[str, str]):
        self.culprits = culprits

    def create(self, dest: Path) -> None:
        shutil.copytree(SAMPLE_IR, dest, ignore=IGNORE)

    def problems(self, tree):
        return set()

    def view(self, tree):
        return tree

    def check(self, ws: Path, pool, work: Path, step: int):
        text = (ws / "core" / "math.ll").read_text()
        bad = all(f"; fuzz note {n}\n" in text for n in self.culprits)
        return Outcome(True), ["core.math.o differs"] if bad else []


def note(n: int) -> dict:
    return {"kind": "comment", "changes": [{"path": "core/math.ll", "old": "", "new": f"; fuzz note {n}\n"}]}


def test_a_mismatch_is_found_and_shrunk_to_its_cause(pool, tmp_path):
    runner = Runner(NotesTarget(("3", "7")), pool, tmp_path)
    res = runner.replay([note(n) for n in range(1, 13)])
    assert res.steps == 7 and res.mismatch == ["core.math.o differs"]
    minimal, mismatch = shrink(runner, res.edits, print)
    assert [e["changes"][0]["new"] for e in minimal] == ["; fuzz note 3\n", "; fuzz note 7\n"]
    assert mismatch == ["core.math.o differs"]


def test_ddmin_finds_a_one_minimal_subsequence():
    def failing_prefix(seq):
        return seq.index(9) + 1 if {2, 9} <= set(seq) and seq.index(2) < seq.index(9) else None
    assert ddmin(list(range(12)), failing_prefix) == [2, 9]


@pytest.mark.parametrize("path", sorted(regressions.DIR.glob("*.json")), ids=lambda p: p.stem)
def test_fuzz_regression_replays_clean(path, pool, tmp_path, request):
    if path.stem in KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN[path.stem]))
    case = regressions.load(path)
    if case["target"] == "rust" and shutil.which("cargo") is None:
        pytest.skip("cargo is not installed")
    res = Runner(target_for(case["target"], case["workspace"]), pool, tmp_path).replay(case["edits"])
    assert not res.mismatch, "\n".join(res.mismatch)


def test_linkonce_odr_referenced_only_elsewhere_fails_as_separate_compilation_does(ir_ws, pool, tmp_path):
    """Found by the fuzzer. A linkonce_odr definition may be discarded where
    its own module does not use it: a module that uses it must carry its own
    copy (the one-definition rule). The pre-link O2 drops it, as it does in
    separate compilation, and the link fails naming the symbol, as `cc`
    does with the modules compiled one by one; it is never reported ok."""
    edit(ir_ws / "core/math.ll", "define i32 @mix_hash", "define linkonce_odr i32 @mix_hash")
    with pytest.raises(subprocess.CalledProcessError):
        reference_build(ir_ws, tmp_path)
    out = build(ir_ws, pool)
    assert not out.finished.ok
    assert any("undefined reference to `mix_hash'" in d.message for d in out.diagnostics)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_ir_sample_long(pool, tmp_path, seed):
    run("ir", pool, tmp_path, seed=seed, steps=300)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_ir_generated_long(pool, tmp_path, seed):
    run("ir", pool, tmp_path, seed=seed, steps=200, workspace="generated:8")


@pytest.mark.slow
@needs_cargo
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.timeout(1500)     # a step that builds took up to ~10 s on two cores: 60 pass 600 s
def test_rust_long(pool, tmp_path, seed):
    run("rust", pool, tmp_path, seed=seed, steps=80)


@pytest.mark.slow
@needs_cargo
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.timeout(1500)     # a step that builds took up to ~10 s on two cores: 60 pass 600 s
def test_rust_generated_long(pool, tmp_path, seed):
    run("rust", pool, tmp_path, seed=seed, steps=60, workspace="generated")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.timeout(1500)     # a step that builds took up to ~10 s on two cores: 60 pass 600 s
def test_rust_corpus_long(registry, pool, tmp_path, seed):
    run("rust", pool, tmp_path, seed=seed, steps=50, workspace="corpus")
