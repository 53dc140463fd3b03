"""The benchmark workloads build and run: a small generated Cargo workspace
with cargo and with thinwatch (same checksum), a small IR workspace with
thinwatch, and every scenario edit changes what it should."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generate import CargoSpec, Edit, IRSpec, generate_cargo, generate_ir

REPO = Path(__file__).resolve().parent.parent


def thinwatch_build(ws: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thinwatch.engine.cli", "build", "--once", "--no-tui", "-j", "2", str(ws)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def run(exe: Path) -> str:
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True, timeout=60).stdout


def test_ir_workspace_builds_and_edits(tmp_path):
    targets = generate_ir(tmp_path, IRSpec(modules=6, per_crate=3))
    assert sorted(p.name for p in tmp_path.glob("*/*.ll")) == sorted(
        ["agg.ll"] * 2 + ["main.ll"] + [f"m{i}.ll" for i in range(3)] * 2)
    p = thinwatch_build(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    exe = tmp_path / ".thinwatch" / "out" / "synth"
    first = run(exe)
    assert first.startswith("checksum ")
    assert run(exe) == first                                   # deterministic

    edit = Edit(tmp_path, targets, "ir")
    src = tmp_path / targets["medium function"].file
    before = src.read_text()
    for serial, scenario in enumerate(("comment only", "private helper", "medium function", "imported leaf",
                                       "add function"), 1):
        edit.apply(scenario, serial)
        assert src.read_text() != before, scenario
        before = src.read_text()
    edit.apply("no-op save", 99)
    assert src.read_text() == before
    p = thinwatch_build(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert run(exe).startswith("checksum ") and run(exe) != first


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_cargo_workspace_builds_with_cargo_and_thinwatch(tmp_path):
    spec = CargoSpec(crates=2, modules=2, leaves=2, mediums=1, fanout=2, app_modules=1)
    targets = generate_cargo(tmp_path, spec)
    assert targets["imported leaf"].importers, "the edited leaf must have callers"
    p = thinwatch_build(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    tw_out = run(tmp_path / ".thinwatch" / "out" / "app")
    assert tw_out.startswith("checksum ")
    # plain cargo in its own target dir gives the same program output
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("RUSTFLAGS", "CARGO_TARGET_DIR")}
    env["CARGO_TARGET_DIR"] = str(tmp_path / "plain-target")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=tmp_path, env=env, check=True, timeout=300)
    assert run(tmp_path / "plain-target" / "release" / "app") == tw_out

    # a private-helper edit changes the program and rebuilds through thinwatch
    Edit(tmp_path, targets, "rust").apply("private helper", 1)
    p = thinwatch_build(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert run(tmp_path / ".thinwatch" / "out" / "app") != tw_out
