"""Backends and emissions on a real Dask cluster: a scheduler and two
workers on 127.0.0.1, started here and stopped at the end (no cluster need
run beforehand). Objects equal the local pool's; lost workers, aborting
tasks, an unreachable scheduler, superseded builds and Ctrl-C behave as a
user can trust."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

distributed = pytest.importorskip("distributed")

from bench.cluster import free_port, local_cluster                        # noqa: E402
from conftest import ROOT, SAMPLE_IR, IGNORE, Outcome, build, outputs      # noqa: E402
from thinwatch.engine import emit, native_llvm                                      # noqa: E402
from thinwatch.engine.build import emit_options                                     # noqa: E402
from thinwatch.engine.dask_executor import DaskExecutor                             # noqa: E402
from thinwatch.engine.errors import TaskFailed                                      # noqa: E402
from thinwatch.engine.events import TaskFinished                                    # noqa: E402
from thinwatch.engine.reporter import Reporter                                      # noqa: E402
from thinwatch.engine.scheduler import run_build                                    # noqa: E402
from test_reliability import CRASH_MODULE                                 # noqa: E402
from test_watch import big_workspace                                      # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers on loopback, with this
    checkout's engine importable (bench/cluster.py). A task is given up after
    killing two workers, not four: the abort test stays fast."""
    with local_cluster(2, tmp_path_factory.mktemp("dask"),
                       {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}) as address:
        with distributed.Client(f"tcp://{address}", set_as_default=False) as observer:
            yield address, observer


def _our_tasks(observer) -> list[str]:
    return observer.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks
                                                             if str(k).startswith("thinwatch-")])


def _none_left(observer, within: float = 10.0) -> list[str]:
    deadline = time.monotonic() + within
    while (left := _our_tasks(observer)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _dask_build(ws: Path, address: str, on_event=None) -> Outcome:
    out = Outcome()

    def sink(ev) -> None:
        out.events.append(ev)
        if on_event is not None:
            on_event(ev)

    async def go():
        executor = DaskExecutor(address)
        try:
            await run_build(ws, executor, Reporter(sink, 1))
        finally:
            executor.close()
    asyncio.run(go())
    return out


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=IGNORE)
    return dest


def test_objects_and_executable_equal_the_local_pools(cluster, pool, tmp_path):
    address, _ = cluster
    local, remote = _copy(SAMPLE_IR, tmp_path / "local"), _copy(SAMPLE_IR, tmp_path / "remote")
    assert build(local, pool).finished.ok
    out = _dask_build(remote, address)
    assert out.finished.ok, [d.message for d in out.diagnostics]
    assert outputs(remote) == outputs(local)
    workers = {ev.worker for ev in out.events if isinstance(ev, TaskFinished)}
    assert workers and all(isinstance(w, str) and w.startswith(socket.gethostname() + ":") for w in workers)
    assert out.finished.executor == f"Dask cluster at {address} (2 workers)"


def test_cargo_objects_and_executable_equal_the_local_pools(cluster, pool, tmp_path):
    address, _ = cluster
    from test_rust import SAMPLE_RUST, objects
    local, remote = _copy(SAMPLE_RUST, tmp_path / "local"), _copy(SAMPLE_RUST, tmp_path / "remote")
    assert build(local, pool).finished.ok
    out = _dask_build(remote, address)
    assert out.finished.ok, [d.message for d in out.diagnostics]
    assert out.finished.backend_jobs > 0
    assert objects(remote) == objects(local)
    exe = Path(".thinwatch/out/app")
    assert (remote / exe).read_bytes() == (local / exe).read_bytes()


def test_a_worker_killed_mid_build_still_gives_a_correct_build(cluster, pool, tmp_path):
    address, observer = cluster
    ws = big_workspace(tmp_path / "big", modules=40)
    killed = []

    def kill_one(ev) -> None:
        if isinstance(ev, TaskFinished) and ev.phase == "backend" and not killed:
            pids = observer.run(os.getpid)       # the worker processes (their nannies start new ones)
            killed.append(next(iter(pids.values())))
            os.kill(killed[0], signal.SIGKILL)
    out = _dask_build(ws, address, kill_one)
    assert killed and out.finished.ok, [d.message for d in out.diagnostics]
    clean = _copy(ws, tmp_path / "clean")
    assert build(clean, pool).finished.ok
    assert outputs(ws) == outputs(clean)
    deadline = time.monotonic() + 60             # it really died, and its nanny replaced it
    while not _replaced(observer, killed[0]):
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.2)


def _replaced(observer, pid: int) -> bool:
    try:
        pids = observer.run(os.getpid, on_error="ignore")
    except OSError:                              # a worker going away as we ask
        return False
    return len(pids) == 2 and pid not in pids.values()


def test_a_task_that_aborts_llvm_fails_its_module_alone(cluster, tmp_path):
    address, observer = cluster
    ws = _copy(SAMPLE_IR, tmp_path / "ws")
    (ws / "core" / "crash.ll").write_text(CRASH_MODULE)
    out = _dask_build(ws, address)
    assert not out.finished.ok and out.only("failed") == {"core::crash"}
    assert out.finished.counts["rebuilt"] == 9
    [diag] = [d for d in out.diagnostics if d.module]
    assert "worker process died" in diag.message and "LLVM abort" in diag.message
    observer.wait_for_workers(2, timeout=60)


def test_an_unreachable_scheduler_is_a_clear_error_at_once(tmp_path):
    ws = _copy(SAMPLE_IR, tmp_path / "ws")
    t = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "thinwatch.engine.cli", "build", "--no-tui", "--executor",
                          f"dask://127.0.0.1:{free_port()}", str(ws)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and time.monotonic() - t < 10
    assert "cannot reach the Dask scheduler at 127.0.0.1:" in res.stderr and "Traceback" not in res.stderr


def test_a_superseded_build_leaves_no_task_on_the_cluster(cluster, tmp_path):
    address, observer = cluster
    ws = big_workspace(tmp_path / "big", modules=60)
    queued = []

    async def go():
        executor = DaskExecutor(address)
        started = asyncio.Event()

        def sink(ev) -> None:
            if isinstance(ev, TaskFinished) and ev.phase == "backend":
                started.set()
        building = asyncio.create_task(run_build(ws, executor, Reporter(sink, 1)))
        try:
            await asyncio.wait_for(started.wait(), 60)
            queued.extend(await asyncio.to_thread(_our_tasks, observer))
            building.cancel()
            await asyncio.gather(building, return_exceptions=True)
            return await asyncio.to_thread(_none_left, observer)     # still connected: only released
        finally:
            executor.close()
    assert asyncio.run(go()) == []
    assert queued, "the build had tasks on the cluster when it was superseded"


def test_ctrl_c_leaves_no_task_on_the_cluster(cluster, tmp_path):
    address, observer = cluster
    ws = big_workspace(tmp_path / "big", modules=60)
    proc = subprocess.Popen([sys.executable, "-m", "thinwatch.engine.cli", "build", "--json", "--executor", f"dask://{address}",
                             str(ws)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in proc.stdout:
        ev = orjson.loads(line)
        if ev["reason"] == "task-finished" and ev["phase"] == "backend":
            break
    assert _our_tasks(observer), "it had tasks on the cluster when interrupted"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 130, proc.stderr.read()
    assert _none_left(observer) == []


def test_a_worker_with_another_llvmlite_is_refused(cluster):
    address, _ = cluster

    async def go():
        executor = DaskExecutor(address)
        executor._llvmlite = "llvmlite 0.0.1 / LLVM 1.0.0"      # what another engine's keys would name
        try:
            await executor.run(emit.emit, "m::a", b"define void @f() {\n  ret void\n}\n", False,
                               emit_options(None))
        finally:
            executor.close()
    with pytest.raises(TaskFailed, match=r"refused by worker .*: it has llvmlite .* the build's keys name "
                                         r"llvmlite 0\.0\.1"):
        asyncio.run(go())


def test_a_native_llvm_other_than_the_keys_is_refused():
    """A worker whose libLLVM file is not the engine's (another machine's,
    or replaced) hashes it, and refuses it if it is not the one the key names."""
    codegen = native_llvm.choose("auto", ROOT)
    if not codegen.library:
        pytest.skip("no Rust toolchain libLLVM of llvmlite's major version")
    with pytest.raises(TaskFailed, match="refused: this worker's LLVM"):
        native_llvm.compile_text(codegen.library, "another machine's file", "LLVM 22.1.0 sha256:0", "",
                                 "x86_64-unknown-linux-gnu", "", 2, codegen.pipeline, False)
    assert codegen.library not in codegen.identity        # keys hold no path


def test_the_local_pool_never_imports_dask():
    code = ("import sys; from engine.executors import open_executor; from engine import cli, watch; "
            "open_executor('', 1).close(); "
            "assert not {'dask', 'distributed'} & set(sys.modules), 'dask imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
