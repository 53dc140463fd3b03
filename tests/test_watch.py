"""Watch mode, driven as a user would: a real `thinwatch` process watching real
files in a temp dir, its `--json` stream read line by line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from conftest import ROOT, clean_outputs, edit, outputs, run_exe


class Watcher:
    def __init__(self, ws: Path, *extra: str, command: str = "watch", after: tuple[str, ...] = ()):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "thinwatch.engine.cli", command, "--json", "-j", "2", *extra, str(ws), *after],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            ev = orjson.loads(line)
            ev["_at"] = time.monotonic()
            self.events.put(ev)

    def next(self, reason: str, timeout: float = 60, **match) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                recent = [(e["reason"], e.get("generation"), e.get("trigger")) for e in self.seen[-6:]]
                raise AssertionError(f"no {reason} within {timeout}s; last events {recent}; "
                                     f"stderr: {b''.join(self.stderr).decode()[-2000:]}") from None
            self.seen.append(ev)
            if ev["reason"] == reason and all(ev.get(k) == v for k, v in match.items()):
                return ev

    def quiet(self, seconds: float) -> list[dict]:
        """Events arriving within `seconds` (none expected)."""
        got = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.events.get(timeout=0.05))
            except queue.Empty:
                pass
        return got

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("watcher did not stop on SIGINT: " + b"".join(self.stderr).decode())


@pytest.fixture
def watcher():
    made = []

    def start(ws: Path, *extra: str, **kw) -> Watcher:
        made.append(Watcher(ws, *extra, **kw))
        return made[-1]
    yield start
    for w in made:
        w.stop()


def test_save_starts_rebuild_quickly_and_names_file(ir_ws, watcher):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    time.sleep(0.2)
    saved = time.monotonic()
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    started = w.next("build-started", timeout=5)
    assert started["_at"] - saved < 0.3
    assert started["trigger"] == ["core/geom.ll"]
    done = w.next("build-finished")
    assert done["ok"] and done["counts"]["rebuilt"] == 1


def test_twenty_saves_give_one_build(ir_ws, watcher):
    w = watcher(ir_ws)
    w.next("build-finished")
    time.sleep(0.2)
    for i in range(20):
        (ir_ws / "core" / f"gen{i}.ll").write_text(f"define i32 @gen{i}() {{\n  ret i32 {i}\n}}\n")
    started = w.next("build-started", timeout=5)
    assert len(started["trigger"]) == 20
    w.next("build-finished")
    assert not [e for e in w.quiet(1.0) if e["reason"] == "build-started"]


def test_own_outputs_target_and_swap_files_trigger_nothing(ir_ws, watcher):
    w = watcher(ir_ws)
    w.next("build-finished")
    time.sleep(0.2)
    (ir_ws / ".thinwatch" / "scratch.ll").write_text("; ours\n")
    (ir_ws / "target").mkdir()
    (ir_ws / "target" / "x.ll").write_text("; cargo's\n")
    (ir_ws / "core" / ".geom.ll.swp").write_bytes(b"vim")
    (ir_ws / "core" / "geom.ll~").write_text("backup")
    (ir_ws / "core" / "4913").write_text("")
    assert not [e for e in w.quiet(1.0) if e["reason"] == "build-started"]


def big_workspace(root: Path, modules: int = 120) -> Path:
    """A workspace whose build takes a few seconds: many modules with loops."""
    (root / "m").mkdir(parents=True)
    (root / "thinwatch.toml").write_text('[build]\noutput = "big"\n[crates]\nm = "m"\n')
    for i in range(modules):
        body = "\n".join(f"  %a{k} = mul i32 %a{k - 1}, {k + 3}\n  %b{k} = xor i32 %a{k}, {i}" if k else
                         f"  %a0 = add i32 %x, {i}\n  %b0 = add i32 %a0, 1" for k in range(120))
        callee = f"  %c = call i32 @f{i - 1}(i32 %b119)\n  ret i32 %c" if i else "  ret i32 %b119"
        (root / "m" / f"mod{i}.ll").write_text(
            f"declare i32 @f{i - 1}(i32)\n" * bool(i) +
            f"define i32 @f{i}(i32 %x) {{\n{body}\n{callee}\n}}\n")
    (root / "m" / "main.ll").write_text(
        f"define i32 @main() {{\n  %r = call i32 @f{modules - 1}(i32 3)\n  %z = and i32 %r, 0\n  ret i32 %z\n}}\n"
        f"declare i32 @f{modules - 1}(i32)\n")
    return root


def test_edit_during_long_build_ends_equal_to_clean(tmp_path, watcher, pool):
    ws = big_workspace(tmp_path / "big")
    w = watcher(ws)
    first = w.next("build-started")
    w.next("task-finished", phase="emit")          # the build is under way
    edit(ws / "m/mod5.ll", "mul i32 %a9, 13", "mul i32 %a9, 14")
    abandoned = w.next("build-finished")
    assert abandoned["generation"] == first["generation"]
    assert abandoned["superseded"] and not abandoned["ok"]
    final = w.next("build-finished", timeout=120)
    assert final["ok"] and not final["superseded"] and final["generation"] > first["generation"]
    assert not [e for e in w.quiet(0.5) if e["reason"] == "build-started"]
    w.stop()
    assert outputs(ws) == clean_outputs(ws, pool, tmp_path)


def test_breaking_an_exporter_does_not_rerun_its_importers(ir_ws, watcher):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    geom = ir_ws / "core/geom.ll"
    good = geom.read_text()
    geom.write_text(good.replace("%d = add i32 %ax, %ay", "%d = add i32 %ax i32 %ay"))
    broken = w.next("build-finished")
    assert not broken["ok"] and broken["counts"]["failed"] == 1
    assert broken["backend_jobs"] == 0 and broken["counts"]["reused"] == 8   # importers keep their imports
    geom.write_text(good)
    fixed = w.next("build-finished")
    assert fixed["ok"] and fixed["backend_jobs"] == 0                        # back to the cached objects


def test_broken_then_fixed_keeps_last_good_executable(ir_ws, watcher):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    exe = ir_ws / ".thinwatch" / "out" / "sample"
    good = run_exe(exe)
    stats = ir_ws / "core/stats.ll"
    text = stats.read_text()
    stats.write_text(text.replace("xor i32", "xor i32 i32", 1))
    diag = w.next("diagnostic")
    assert diag["file"] == "core/stats.ll" and diag["line"]
    failed = w.next("build-finished")
    assert not failed["ok"]
    assert run_exe(exe) == good
    stats.write_text(text)
    assert w.next("build-finished")["ok"]
    assert run_exe(exe) == good


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, stack = set(), [pid]
    while stack:
        for c in children.get(stack.pop(), []):
            out.add(c)
            stack.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigint_during_build_exits_130_without_orphans(tmp_path, watcher):
    ws = big_workspace(tmp_path / "big")
    w = watcher(ws)
    w.next("task-finished", phase="emit")
    kids = _descendants(w.proc.pid)
    assert kids, "workers should be running"
    sent = time.monotonic()
    w.proc.send_signal(signal.SIGINT)
    assert w.proc.wait(timeout=5) == 130
    assert time.monotonic() - sent < 2
    time.sleep(0.3)
    assert not [k for k in kids if _alive(k)]
    said = b"".join(w.stderr).decode()          # nothing left over to complain about either
    assert "Traceback" not in said and "leaked" not in said, said


def test_manifest_error_is_reported_and_watch_continues(ir_ws, watcher):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    manifest = ir_ws / "thinwatch.toml"
    good = manifest.read_text()
    manifest.write_text("[crates\n")
    diag = w.next("diagnostic")
    assert diag["file"].endswith("thinwatch.toml") and diag["line"] == 1     # the diagnostic names the place
    assert not w.next("build-finished")["ok"]
    manifest.write_text(good)
    assert w.next("build-finished")["ok"]


def test_run_command_output_after_each_good_build(ir_ws, watcher):
    w = watcher(ir_ws)
    ran = w.next("program-finished")
    assert ran["kind"] == "run" and ran["exit_code"] == 0 and "manhattan = 7" in ran["output"]
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    ran = w.next("program-finished")
    assert "manhattan = -1" in ran["output"]


def test_save_without_change_is_a_noop_and_a_real_change_after_it_builds(ir_ws, watcher):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    geom = ir_ws / "core/geom.ll"
    time.sleep(0.3)
    geom.write_text(geom.read_text())                       # editor save, same bytes
    state = w.next("module-state")
    assert state["why"] == ["contents unchanged"]
    done = w.next("build-finished")
    assert done["ok"] and done["backend_jobs"] == 0 and done["counts"]["reused"] == 9
    edit(geom, "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    done = w.next("build-finished")
    assert done["counts"]["rebuilt"] == 1 and done["counts"]["reimported"] == 2


def test_sigusr1_forces_a_rebuild_that_checks_everything(ir_ws, watcher):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    for _ in range(2):                                      # the second one is no shortcut either
        w.proc.send_signal(signal.SIGUSR1)                  # what `r` is in the TUI
        assert w.next("build-started")["trigger"] == ["(rebuild requested)"]
        done = w.next("build-finished")
        assert done["ok"] and done["counts"]["reused"] == 9 and done["backend_jobs"] == 0
        assert "thinlink" in done["phases"]                # it was a build, not the no-op shortcut


def test_renaming_modules_and_crates_while_watching(ir_ws, watcher, pool, tmp_path):
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    (ir_ws / "core/stats.ll").rename(ir_ws / "core/statistics.ll")
    done = w.next("build-finished")
    states = {e["module"]: e["state"] for e in w.seen if e["reason"] == "module-state"
              and e["generation"] == done["generation"]}
    assert done["ok"] and states["core::stats"] == "removed" and states["core::statistics"] == "rebuilt"
    # Same bytes under a new id: its promoted @counter gets a new name, so
    # nothing of the old object may be reused.
    (ir_ws / "core/counter.ll").rename(ir_ws / "core/tally.ll")
    done = w.next("build-finished")
    assert done["ok"], [e for e in w.seen if e["reason"] == "diagnostic"]
    assert "counter = 4" in run_exe(ir_ws / ".thinwatch/out/sample")
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text().replace('core = "core"', 'base = "core"'))
    done = w.next("build-finished")
    assert done["ok"] and done["counts"]["removed"] == 6 and done["counts"]["rebuilt"] == 6
    w.stop()
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_a_change_stops_a_long_running_program(ir_ws, watcher):
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text().replace('run = [".thinwatch/out/sample"]', 'run = ["sleep", "60"]'))
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    time.sleep(0.5)                                # the program is running now
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    assert w.next("build-finished", timeout=10)["ok"]


def test_a_streamed_programs_output_is_kept_bounded(tmp_path):
    """A program whose lines are handed over as they come (`thinwatch run`'s
    server) may print for hours: what its end event keeps is its last MiB."""
    import asyncio
    from thinwatch.engine.programs import KEPT_WHEN_STREAMED, run_program
    lines: list[str] = []
    printer = "import sys\nfor i in range(300_000): print(f'{i:020}')"
    done = asyncio.run(run_program([sys.executable, "-c", printer], tmp_path, "run", 1,
                                   on_line=lines.append, timeout=None))
    assert done.passed and len(lines) == 300_000           # every line was handed over
    assert len(done.output) <= KEPT_WHEN_STREAMED + (1 << 16)
    assert done.output.endswith(f"{299_999:020}\n")
