"""One cache shared by checkouts at different paths: keys hold no path, so
a second checkout reuses every object; builds writing and pruning it at
the same time lose nothing and never use a bad entry."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from conftest import IGNORE, ROOT, SAMPLE_IR, build, clean_outputs, edit, outputs, thinwatch
from thinwatch.engine import native_llvm
from thinwatch.engine.cache import Cache
from test_rust import SAMPLE_RUST


def _finished(res: subprocess.CompletedProcess) -> dict:
    assert res.returncode == 0, res.stderr
    return [e for e in map(orjson.loads, res.stdout.splitlines()) if e["reason"] == "build-finished"][-1]


def test_a_second_cargo_checkout_elsewhere_reuses_every_object(tmp_path):
    shared = tmp_path / "shared-cache"
    first = shutil.copytree(SAMPLE_RUST, tmp_path / "a" / "checkout", ignore=IGNORE)
    second = shutil.copytree(SAMPLE_RUST, tmp_path / "elsewhere" / "deeper" / "work", ignore=IGNORE)
    one = _finished(thinwatch("build", "--json", "--cache-dir", str(shared), str(first)))
    assert one["backend_jobs"] > 0
    two = _finished(thinwatch("build", "--json", "--cache-dir", str(shared), str(second)))
    assert two["ok"] and two["backend_jobs"] == 0 and two["counts"]["reused"] == one["counts"]["rebuilt"]
    exe = Path(".thinwatch/out/app")
    assert (second / exe).read_bytes() == (first / exe).read_bytes()
    assert not (second / ".thinwatch" / "cache").exists()      # all of it went to the shared one


def _ir_checkout(root: Path, cache: Path | str, limits: str = "") -> Path:
    ws = shutil.copytree(SAMPLE_IR, root, ignore=IGNORE)
    with open(ws / "thinwatch.toml", "a") as f:
        f.write(f'\n[cache]\ndir = "{cache}"\n{limits}')
    return ws


def test_the_cache_dir_setting_shares_a_cache(tmp_path, pool):
    shared = tmp_path / "shared"
    # The second names it relative to its manifest, as a checkout beside it would.
    first, second = _ir_checkout(tmp_path / "a", shared), _ir_checkout(tmp_path / "b" / "c", "../../shared")
    assert build(first, pool).finished.backend_jobs == 9
    again = build(second, pool)
    assert again.finished.ok and again.finished.backend_jobs == 0 and set(again.states.values()) == {"reused"}
    assert outputs(second) == outputs(first)
    assert any((shared / "obj").rglob("*")) and not (second / ".thinwatch" / "cache").exists()


def test_builds_writing_and_pruning_one_cache_at_once_lose_nothing(tmp_path, pool):
    """Two checkouts, a cache bounded to nothing (so every build prunes all
    it can), each edited and built at the same time as the other, again and
    again: every build succeeds, and each ends as a clean build of it would."""
    shared = tmp_path / "shared"
    checkouts = [_ir_checkout(tmp_path / name, shared, "max_size_mb = 0\nmax_age_days = 0\n") for name in "ab"]
    for round in range(4):
        for i, ws in enumerate(checkouts):
            geom = ws / "core/geom.ll"
            old = "%d = add i32 %ax, %ay" if round == 0 else f"%d = add i32 %ax, {round + i * 10 - 1}"
            edit(geom, old, f"%d = add i32 %ax, {round + i * 10}")
        procs = [subprocess.Popen([sys.executable, "-m", "thinwatch.engine.cli", "build", "--json", "-j", "1", str(ws)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for ws in checkouts]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, (round, err.decode(), out.decode()[-2000:])
    for ws in checkouts:
        assert outputs(ws) == clean_outputs(ws, pool, ws.parent / "clean")


def test_a_cache_in_use_by_another_build_is_not_pruned(tmp_path):
    root = tmp_path / "cache"
    using, pruning = Cache(root), Cache(root)
    using.open()
    using.put("obj", "aa" * 32, b"an object another build will read")
    pruning.open()
    pruning.put("obj", "bb" * 32, b"this build's own")
    assert pruning.prune(keep={("obj", "bb" * 32)}, max_bytes=0, max_age=0) == 0
    pruning.close()
    assert using.get("obj", "aa" * 32) == b"an object another build will read"
    using.close()
    alone = Cache(root)
    alone.open()
    assert alone.prune(keep=set(), max_bytes=0, max_age=0) == 2        # alone, it prunes
    alone.close()


def test_the_backend_llvm_is_named_by_content_and_remembered_for_that_very_file(tmp_path):
    """Keys name the libLLVM by version and digest, never its path; the
    digest is kept in the build directory for the file it was taken of."""
    codegen = native_llvm.choose("auto", ROOT)
    if not codegen.library:
        pytest.skip("no Rust toolchain libLLVM of llvmlite's major version")
    assert codegen.library not in codegen.identity and " sha256:" in codegen.identity
    fresh = tmp_path / "fresh.json"
    assert native_llvm.choose("auto", ROOT, fresh).identity == codegen.identity
    assert orjson.loads(fresh.read_bytes())["identity"] == codegen.identity
    this_file, another = f"{codegen.library}\0{codegen.stamp}", f"{codegen.library}\0another stamp"
    for name, file, expected in (("kept", this_file, "as kept"), ("stale", another, codegen.identity)):
        memo = tmp_path / f"{name}.json"
        memo.write_bytes(orjson.dumps({"file": file, "identity": "as kept"}))
        assert native_llvm.choose("auto", ROOT, memo).identity == expected
