"""Processes under hostile conditions: the engine killed or hung up on, workers
aborting or wedged, bursts of edits. Every child ends with the engine, every
wait on a worker ends, superseded work stops."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from conftest import IGNORE, ROOT, SAMPLE_IR, Outcome
from engine.errors import WorkerCrashed
from engine.pool import TaskPool
from engine.reporter import Reporter
from engine.scheduler import run_build
from test_reliability import CRASH_MODULE
from test_watch import Watcher, _alive, _descendants


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _sleeping_run_program(ws: Path) -> None:
    manifest = ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text().replace('run = [".thinwatch/out/sample"]', 'run = ["sleep", "120"]'))


def _start_and_wait_for_program(ws: Path) -> tuple[subprocess.Popen, set[int]]:
    """`thinwatch watch --json` with its run program started; its descendants."""
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "watch", "--json", "-j", "2", str(ws)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in proc.stdout:
        ev = orjson.loads(line)
        if ev["reason"] == "build-finished":
            assert ev["ok"]
            break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = _descendants(proc.pid)
        if any(_cmdline(k).startswith(b"sleep\0") for k in kids):
            break
        time.sleep(0.05)
    workers = [k for k in kids if b"forkserver" in _cmdline(k)]
    assert len(workers) >= 3, "a fork server and its workers"       # else the test proves nothing
    assert any(_cmdline(k).startswith(b"sleep\0") for k in kids), "the run program"
    return proc, kids


def _reader_sees_eof(proc: subprocess.Popen, within: float) -> bool:
    """True if whoever reads the engine's stdout (`| cat`) sees it end."""
    done = threading.Event()
    threading.Thread(target=lambda: (proc.stdout.read(), done.set()), daemon=True).start()
    return done.wait(within)


def _all_gone(pids: set[int], within: float) -> set[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = {p for p in pids if _alive(p)}
        if not left:
            return left
        time.sleep(0.05)
    return left


def test_sigkill_of_the_engine_ends_every_process_it_started(ir_ws):
    _sleeping_run_program(ir_ws)
    proc, kids = _start_and_wait_for_program(ir_ws)
    try:
        proc.kill()
        proc.wait()
        assert _reader_sees_eof(proc, 5), "a child still holds the engine's stdout"
        left = _all_gone(kids, 5)
        assert not left, [_cmdline(p) for p in left]
    finally:
        for p in kids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_sighup_stops_the_engine_cleanly_with_its_children(ir_ws):
    _sleeping_run_program(ir_ws)
    proc, kids = _start_and_wait_for_program(ir_ws)
    try:
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=10) == 129           # 128 + SIGHUP, as a shell reports it
        assert _reader_sees_eof(proc, 5)
        left = _all_gone(kids, 5)
        assert not left, [_cmdline(p) for p in left]
        said = proc.stderr.read().decode()
        assert "Traceback" not in said and "leaked" not in said, said
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in kids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_a_wedged_worker_is_detected_and_replaced():
    """A task that sleeps using no CPU (a deadlocked LLVM looks the same)
    fails with WorkerCrashed instead of holding the build forever, and the
    pool goes on with a fresh worker."""
    pool = TaskPool(1)
    pool.stall = 1.0

    async def go():
        with pytest.raises(WorkerCrashed, match="stopped making progress"):
            await asyncio.wait_for(pool.run(signal.pause), 30)
        return (await asyncio.wait_for(pool.run(os.getpid), 30)).value

    try:
        assert asyncio.run(go()) > 0
    finally:
        pool.kill()


def _crashing_workspace(root: Path) -> Path:
    """Seven good modules of a crate and two whose backends abort LLVM."""
    shutil.copytree(SAMPLE_IR, root, ignore=IGNORE)
    for i in range(2):
        (root / "core" / f"crash{i}.ll").write_text(CRASH_MODULE.replace("crash_probe", f"crash_probe{i}"))
    return root


def _stress(tmp_path: Path, builds: int) -> None:
    ws = _crashing_workspace(tmp_path / "ws")
    pool = TaskPool(2)

    async def one() -> Outcome:
        out = Outcome()
        await asyncio.wait_for(run_build(ws, pool, Reporter(out.events.append, 1)), 60)
        return out

    try:
        for n in range(builds):
            # Without its objects every backend runs again, beside the aborting ones.
            shutil.rmtree(ws / ".thinwatch" / "cache" / "obj", ignore_errors=True)
            out = asyncio.run(one())
            assert not out.finished.ok and out.only("failed") == {"core::crash0", "core::crash1"}, (n, out.states)
            assert all("worker process died" in d.message for d in out.diagnostics if d.module), n
    finally:
        pool.kill()


@pytest.mark.timeout(120)
def test_aborting_workers_never_hang_a_build(tmp_path):
    _stress(tmp_path, 20)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_aborting_workers_never_hang_a_build_in_hundreds(tmp_path):
    _stress(tmp_path, 300)


def _slow_module(tag: int, functions: int = 160) -> str:
    """A module whose emission takes about a second."""
    out = []
    for f in range(functions):
        body = "\n".join(f"  %a{k} = mul i32 %a{k - 1}, %x\n  %b{k} = xor i32 %a{k}, {k + f}" if k
                         else f"  %a0 = add i32 %x, {tag}" for k in range(200))
        out.append(f"define i32 @g{f}(i32 %x) {{\n{body}\n  ret i32 %b199\n}}\n")
    return "".join(out)


def _cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and every process under it, ended ones included
    (a parent's children times count those it reaped)."""
    ticks = 0
    for p in {pid} | _descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def test_a_burst_of_edits_costs_about_one_build(tmp_path):
    """Each edit supersedes the build of the one before while its emission
    runs. The superseded emissions must not run on to the end: the burst
    costs (in CPU time of the engine and its workers, which load does not
    change) about what one build of one edit costs, not one build per edit."""
    ws = tmp_path / "ws"
    (ws / "m").mkdir(parents=True)
    (ws / "thinwatch.toml").write_text('[build]\noutput = "slow"\n[crates]\nm = "m"\n')
    (ws / "m/main.ll").write_text("declare i32 @g0(i32)\ndefine i32 @main() {\n  %r = call i32 @g0(i32 3)\n"
                                  "  %z = and i32 %r, 0\n  ret i32 %z\n}\n")
    slow = ws / "m/slow.ll"
    slow.write_text(_slow_module(0))
    w = Watcher(ws)

    def settled() -> dict:
        while (done := w.next("build-finished", timeout=120)).get("superseded"):
            pass
        assert done["ok"]
        return done

    try:
        settled()
        time.sleep(0.5)
        before = _cpu_seconds(w.proc.pid)
        slow.write_text(_slow_module(1))
        settled()
        one = _cpu_seconds(w.proc.pid) - before

        edits = 4
        before = _cpu_seconds(w.proc.pid)
        for tag in range(2, 2 + edits):
            slow.write_text(_slow_module(tag))
            if tag < 1 + edits:
                w.next("module-state", timeout=60, module="m::slow", state="emitting")
        settled()
        burst = _cpu_seconds(w.proc.pid) - before
    finally:
        w.stop()
    superseded = [e for e in w.seen if e["reason"] == "build-finished" and e.get("superseded")]
    assert len(superseded) >= edits - 1, "every edit but the last superseded a running build"
    assert burst < 2 * one, f"a burst of {edits} edits took {burst:.2f} s of CPU, one edit {one:.2f} s"


def test_lost_workers_leave_no_descriptor_open_in_the_engine():
    """Found by the watch-mode soak: every worker killed under the engine
    kept its pipe and process handle open there, for as long as it ran."""
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def kill_ten_workers() -> tuple[int, int]:
        pool = TaskPool(2)
        try:
            await pool.run(os.getpid)
            before = open_fds()
            for _ in range(10):
                os.kill((await pool.run(os.getpid)).value, signal.SIGKILL)
                await asyncio.sleep(0.05)
                await pool.run(os.getpid)               # on a fresh worker, the lost one buried
            await asyncio.sleep(0.5)
            return before, open_fds()
        finally:
            pool.close()
    before, after = asyncio.run(kill_ten_workers())
    assert after <= before + 2, (before, after)
