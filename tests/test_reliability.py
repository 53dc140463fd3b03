"""Faults, bad input and concurrent use: each loses nothing and is reported."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from conftest import ROOT, build, clean_outputs, edit, outputs, run_exe, thinwatch
from thinwatch.engine import record
from test_watch import Watcher, _descendants, big_workspace

CRASH_MODULE = """; Reading a register that does not exist is a fatal error in LLVM's
; code generator: the process running the backend exits.
declare i64 @llvm.read_register.i64(metadata)
@llvm.used = appending global [1 x ptr] [ptr @crash_probe], section "llvm.metadata"
define i64 @crash_probe() {
  %r = call i64 @llvm.read_register.i64(metadata !0)
  ret i64 %r
}
!0 = !{!"not_a_register"}
"""


def json_build(ws: Path, *extra: str, **kw) -> tuple[int, list[dict]]:
    res = thinwatch("build", "--once", "--json", "-j", "2", *extra, str(ws), **kw)
    return res.returncode, [orjson.loads(line) for line in res.stdout.splitlines()]


def final_states(events: list[dict]) -> dict[str, str]:
    return {e["module"]: e["state"] for e in events if e["reason"] == "module-state"}


def test_llvm_fatal_error_fails_only_its_module_and_watch_goes_on(ir_ws):
    w = Watcher(ir_ws)
    try:
        assert w.next("build-finished")["ok"]
        good = run_exe(ir_ws / ".thinwatch/out/sample")
        crash = ir_ws / "core" / "crash.ll"
        crash.write_text(CRASH_MODULE)
        diag = w.next("diagnostic")
        assert diag["module"] == "core::crash" and "worker process died" in diag["message"]
        assert 'invalid register "not_a_register"' in diag["message"]     # LLVM's own words
        done = w.next("build-finished")
        assert not done["ok"] and done["counts"]["failed"] == 1
        assert run_exe(ir_ws / ".thinwatch/out/sample") == good
        crash.unlink()
        done = w.next("build-finished")
        assert done["ok"]
    finally:
        w.stop()


def test_worker_killed_mid_build_is_retried_and_result_is_clean(tmp_path, pool):
    ws = big_workspace(tmp_path / "big")
    w = Watcher(ws)
    try:
        w.next("task-finished", phase="emit")
        victims = [p for p in _descendants(w.proc.pid) if b"forkserver" not in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert victims
        os.kill(max(victims), signal.SIGKILL)
        done = w.next("build-finished", timeout=120)
        assert done["ok"], [e for e in w.seen if e["reason"] == "diagnostic"]
    finally:
        w.stop()
    assert outputs(ws) == clean_outputs(ws, pool, tmp_path)


def test_sigkill_at_twenty_points_then_build_equals_clean(tmp_path, pool):
    ws = big_workspace(tmp_path / "big", modules=60)
    delays = [0.05 + 0.08 * i for i in range(20)]           # spread over emission, backend, writes, link
    for i, delay in enumerate(delays):
        edit(ws / f"m/mod{i % 7}.ll", f"add i32 %x, {i % 7}", f"add i32 %x, {100 + i}")
        proc = subprocess.Popen([sys.executable, "-m", "thinwatch.engine.cli", "build", "--once", "--json", "-j", "2",
                                 str(ws)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)                  # the app and its workers, at once
        proc.wait()
        edit(ws / f"m/mod{i % 7}.ll", f"add i32 %x, {100 + i}", f"add i32 %x, {i % 7}")
    code, _ = json_build(ws)
    assert code == 0
    assert outputs(ws) == clean_outputs(ws, pool, tmp_path)


def test_corrupted_cache_entries_are_discarded_and_rebuilt(ir_ws, pool, tmp_path):
    assert build(ir_ws, pool).finished.ok
    cache = ir_ws / ".thinwatch" / "cache"
    for i, entry in enumerate(sorted(p for p in cache.rglob("*") if p.is_file() and p.name != ".lock")):
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2] if i % 2 else data[:-1] + bytes([data[-1] ^ 1]))
    shutil.rmtree(ir_ws / ".thinwatch" / "objects")
    again = build(ir_ws, pool)
    assert again.finished.ok
    assert again.finished.backend_jobs == 9            # no damaged object was used
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_a_reader_that_goes_away_stops_the_build_quietly(ir_ws):
    """`thinwatch build --json | head -1`: once nobody reads stdout, the build
    stops as on an interrupt, without a traceback, and says so in its exit
    status (141, as a shell reports SIGPIPE). The next build is whole."""
    proc = subprocess.Popen([sys.executable, "-m", "thinwatch.engine.cli", "build", "--once", "--json", "-j", "2", str(ir_ws)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert orjson.loads(proc.stdout.readline())["reason"] == "build-started"
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    assert b"Traceback" not in proc.stderr.read()
    code, events = json_build(ir_ws)
    assert code == 0 and events[-1]["ok"]


def test_a_failed_link_names_the_symbol_and_keeps_the_last_executable(ir_ws):
    """The linker's own message reaches the user, naming the module whose
    object needs the symbol (its id, for a `.ll` without `source_filename`);
    the last good executable stays; the fixed source links again."""
    assert json_build(ir_ws)[0] == 0
    exe = ir_ws / ".thinwatch/out/sample"
    good_exe = exe.read_bytes()
    shapes = ir_ws / "app/shapes.ll"
    good = shapes.read_text()
    assert "source_filename" not in good
    shapes.write_text(good.replace("call i32 @point_manhattan(ptr %out)", "call i32 @point_gone(ptr %out)")
                      .replace("declare i32 @point_manhattan(ptr)", "declare i32 @point_manhattan(ptr)\n"
                                                                    "declare i32 @point_gone(ptr)"))
    code, events = json_build(ir_ws)
    assert code == 1 and not events[-1]["ok"]
    said = "\n".join(e["message"] for e in events if e["reason"] == "diagnostic")
    assert "undefined reference to `point_gone'" in said and "app::shapes" in said and "<string>" not in said, said
    assert exe.read_bytes() == good_exe
    shapes.write_text(good)
    code, events = json_build(ir_ws)
    assert code == 0 and events[-1]["ok"] and exe.read_bytes() == good_exe


def test_second_process_is_refused_or_waits(ir_ws):
    w = Watcher(ir_ws)
    try:
        w.next("build-finished")
        res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
        assert res.returncode == 2
        assert f"pid {w.proc.pid}" in res.stderr and "--wait" in res.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "thinwatch.engine.cli", "build", "--once", "--no-tui", "--wait",
                                    str(ir_ws)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert waiting.poll() is None                     # blocked behind the watcher
    finally:
        w.stop()
    assert waiting.wait(timeout=60) == 0


BAD_INPUTS = {
    "empty bitcode": ("core/empty.bc", b"", "invalid bitcode"),
    "binary garbage": ("core/garbage.ll", bytes(range(256)) * 4, "not UTF-8"),
    "garbage bitcode": ("core/garbage.bc", b"BC\xc0\xde" + os.urandom(64), "invalid bitcode"),
    "other triple": ("core/arm.ll", b'target triple = "aarch64-unknown-linux-gnu"\ndefine void @arm_f() {\n  ret void\n}\n',
                     "targets 'aarch64-unknown-linux-gnu'"),
    "other data layout": ("core/dl.ll", b'target datalayout = "E-m:e-i64:64-n32:64"\ndefine void @dl_f() {\n  ret void\n}\n',
                          "data layout"),
    "fails verification": ("core/unverified.ll",
                           b"define i32 @unverified(i32 %x) {\n  %a = add i32 %b, 1\n  %b = add i32 %x, 1\n  ret i32 %a\n}\n",
                           "does not verify"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_alone_and_loses_nothing(ir_ws, case, tmp_path, pool):
    assert build(ir_ws, pool).finished.ok
    exe = ir_ws / ".thinwatch/out/sample"
    good_exe, good_state = exe.read_bytes(), (ir_ws / ".thinwatch/state.json").read_bytes()
    rel, data, message = BAD_INPUTS[case]
    (ir_ws / rel).write_bytes(data)
    code, events = json_build(ir_ws)
    assert code == 1
    diags = [e for e in events if e["reason"] == "diagnostic"]
    assert len(diags) == 1 and diags[0]["file"] == rel and message in diags[0]["message"]
    states = final_states(events)
    assert list(states.values()).count("failed") == 1
    assert exe.read_bytes() == good_exe
    assert (ir_ws / ".thinwatch/state.json").read_bytes() == good_state   # the trace is unharmed
    (ir_ws / rel).unlink()
    assert json_build(ir_ws)[0] == 0
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_symlink_out_of_workspace_unreadable_and_undecodable_names(ir_ws, tmp_path):
    outside = tmp_path / "outside.ll"
    outside.write_text("define void @outside() {\n  ret void\n}\n")
    (ir_ws / "core" / "escape.ll").symlink_to(outside)
    (ir_ws / "core" / "gone.ll").symlink_to(ir_ws / "core" / "missing-target.ll")
    Path(os.fsdecode(os.fsencode(ir_ws / "app") + b"/bad\xff.ll")).write_text("; undecodable name\n")
    code, events = json_build(ir_ws)
    assert code == 1
    by_file = {e["file"]: e["message"] for e in events if e["reason"] == "diagnostic"}
    assert "outside the workspace" in by_file["core/escape.ll"]
    assert "cannot read" in by_file["core/gone.ll"]
    assert "not valid UTF-8" in by_file["app/bad\\xff.ll"]


def test_huge_module_builds(ir_ws, pool):
    lines = ["define i32 @huge(i32 %x) {", "  %v0 = add i32 %x, 1"]
    lines += [f"  %v{i} = mul i32 %v{i - 1}, {i | 1}" for i in range(1, 20000)]
    lines += ["  ret i32 %v19999", "}"]
    (ir_ws / "core" / "huge.ll").write_text("\n".join(lines) + "\n")
    out = build(ir_ws, pool)
    assert out.finished.ok and out.states["core::huge"] == "rebuilt"


def test_manifest_that_escapes_is_refused(ir_ws):
    manifest = ir_ws / "thinwatch.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('core = "core"', '"../evil" = "core"'))
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert res.returncode == 2 and "crate name" in res.stdout
    manifest.write_text(text.replace('core = "core"', 'core = "../.."'))
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert res.returncode == 2 and "outside the workspace" in res.stdout


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))


def test_disk_full_while_writing_cache(ir_ws, pool, tmp_path):
    assert build(ir_ws, pool).finished.ok
    exe = ir_ws / ".thinwatch/out/sample"
    good = exe.read_bytes()
    edit(ir_ws / "core/stats.ll", "xor i32", "or i32")
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    res = subprocess.run([sys.executable, "-m", "thinwatch.engine.cli", "build", "--once", "--json", str(ir_ws)],
                         cwd=ROOT, capture_output=True, text=True, preexec_fn=_limit_file_size, timeout=120)
    assert res.returncode == 1
    messages = [orjson.loads(line)["message"] for line in res.stdout.splitlines()
                if orjson.loads(line)["reason"] == "diagnostic"]
    assert messages and all("File too large" in m for m in messages)
    assert exe.read_bytes() == good
    assert build(ir_ws, pool).finished.ok
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_bounded_cache_keeps_what_the_build_needs(ir_ws, pool):
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text() + "\n[cache]\nmax_size_mb = 0\nmax_age_days = 0\n")
    assert build(ir_ws, pool).finished.ok
    for op in ("sub", "mul", "add"):
        text = (ir_ws / "core/geom.ll").read_text()
        (ir_ws / "core/geom.ll").write_text(text.replace("%d = add i32 %ax, %ay", f"%d = {op} i32 %ax, %ay")
                                            .replace("%d = sub i32 %ax, %ay", f"%d = {op} i32 %ax, %ay")
                                            .replace("%d = mul i32 %ax, %ay", f"%d = {op} i32 %ax, %ay"))
        assert build(ir_ws, pool).finished.ok
    entries = [p for p in (ir_ws / ".thinwatch/cache").rglob("*") if p.is_file() and p.name != ".lock"]
    assert len(entries) == 9 * 4                 # emit + frag + bc + obj of the current build, nothing else
    again = build(ir_ws, pool)
    assert set(again.states.values()) == {"reused"}


def test_clean_command(ir_ws, pool):
    assert build(ir_ws, pool).finished.ok
    res = thinwatch("clean", str(ir_ws))
    assert res.returncode == 0
    assert not (ir_ws / ".thinwatch/cache").exists() and not (ir_ws / ".thinwatch/state.json").exists()
    assert (ir_ws / ".thinwatch/out/sample").exists()
    again = build(ir_ws, pool)
    assert again.finished.ok and again.finished.backend_jobs == 9


def test_cache_is_private_and_never_executable(ir_ws, pool):
    assert build(ir_ws, pool).finished.ok
    build_dir = ir_ws / ".thinwatch"
    assert stat.S_IMODE(build_dir.stat().st_mode) == 0o700
    for p in (build_dir / "cache").rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        if p.is_dir():
            assert mode & 0o077 == 0, p
        else:
            assert mode == 0o600, p


def test_a_unit_whose_every_module_failed_still_records_its_build(tmp_path):
    # Its objects directory was never made: the record must not fail on
    # that with a second, misleading "cannot write the build directory".
    state_dir = tmp_path / "units" / "app"
    rec = record.Record(link_inputs="none yet")
    record.save(state_dir, rec)
    assert record.load(state_dir) == rec


def test_a_record_that_cannot_be_written_leaves_the_last_executable(ir_ws, pool, tmp_path):
    """The executable and the record that vouches for it change together:
    a build that fails to write its record must not leave a new executable
    behind a report of failure."""
    assert build(ir_ws, pool).finished.ok
    exe = ir_ws / ".thinwatch/out/sample"
    good = exe.read_bytes()
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    state = ir_ws / ".thinwatch" / "state.json"
    state.unlink()
    state.mkdir()                     # the record's rename onto it fails, as on a full disk
    failed = build(ir_ws, pool)
    assert not failed.finished.ok and any("cannot write" in d.message for d in failed.diagnostics)
    assert exe.read_bytes() == good and not (exe.parent / ".sample.tmp").exists()
    state.rmdir()
    assert build(ir_ws, pool).finished.ok
    assert exe.read_bytes() != good
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_a_cache_that_cannot_be_pruned_leaves_a_good_build_good(ir_ws, pool, tmp_path):
    """Pruning is housekeeping after the outputs and record are in place:
    an entry that cannot be removed is said, and the build stays ok."""
    assert build(ir_ws, pool).finished.ok
    # The edited module's object: stale after the edit, so pruned (not any entry, which may stay in use).
    digest = orjson.loads((ir_ws / ".thinwatch/state.json").read_bytes())["modules"]["core::geom"]["digest"]
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text() + "\n[cache]\nmax_size_mb = 0\nmax_age_days = 0\n")
    pinned = ir_ws / ".thinwatch/cache/obj" / digest[:2] / digest
    subprocess.run(["chattr", "+i", str(pinned)], check=True)      # not even root may remove it
    try:
        out = build(ir_ws, pool)
    finally:
        subprocess.run(["chattr", "-i", str(pinned)], check=True)
    assert out.finished.ok
    assert [d.level for d in out.diagnostics] == ["warning"] and "cannot prune" in out.diagnostics[0].message
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)      # the edit's executable is in place
