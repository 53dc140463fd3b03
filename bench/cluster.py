"""Cold builds on a local Dask cluster beside the local pool, measured in
one run, interleaved: `python3 -m bench.cluster`. Prints the per-task
overhead (a trivial task's round trip through each executor) and the ratio
of the cold builds, as Markdown; writes the raw numbers as JSON.

The cluster is what tests/test_dask.py starts too: a scheduler and
single-threaded workers (llvmlite serialises threads) on 127.0.0.1 only,
with this checkout's engine importable, stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import orjson

from .anchors import REPO, thinwatch_once
from .generate import IRSpec, generate_ir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_cluster(workers: int, logs: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A scheduler and `workers` workers on loopback; yields its HOST:PORT
    once every worker has joined. `dask scheduler` and `dask worker` are
    run as this interpreter's modules, in process groups of their own; their
    logs and the workers' scratch space go in `logs`, not in $TMPDIR."""
    from distributed import Client
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "DASK_TEMPORARY_DIRECTORY": str(logs / "scratch"), **(env or {})}
    address = f"127.0.0.1:{port}"
    logs.mkdir(parents=True, exist_ok=True)
    commands = [["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                ["distributed.cli.dask_worker", f"tcp://{address}", "--nworkers", str(workers), "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard"]]
    procs = []
    try:
        for command in commands:
            with open(logs / command[0].rsplit("_", 1)[1], "w") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", *command], env=env, cwd=REPO,
                                              stdout=subprocess.DEVNULL, stderr=log, start_new_session=True))
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(f"tcp://{address}", timeout=2, set_as_default=False) as client:
                    client.wait_for_workers(workers, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
        yield address
    finally:
        for proc in reversed(procs):         # workers first, then the scheduler
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def round_trip(executor, tasks: int) -> float:
    """Median seconds of a trivial task (`len` of a few bytes), one at a
    time: what an executor adds to every task, the task itself being ~0."""
    async def go() -> list[float]:
        await executor.run(len, b"warm")
        times = []
        for _ in range(tasks):
            t = time.perf_counter()
            await executor.run(len, b"task")
            times.append(time.perf_counter() - t)
        return times
    return statistics.median(asyncio.run(go()))


def cold(ws: Path, jobs: int, executor: str | None) -> tuple[float, dict]:
    shutil.rmtree(ws / ".thinwatch", ignore_errors=True)
    extra = ["--executor", executor] if executor else []
    return thinwatch_once(ws, jobs, extra=extra)[:2]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m bench.cluster", description=__doc__.split("\n\n")[0])
    p.add_argument("--modules", type=int, default=200, help="IR library modules of the generated workspace")
    p.add_argument("-j", "--jobs", type=int, default=2, help="local worker processes, and Dask workers")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--json", type=Path, default=Path("bench-cluster.json"))
    a = p.parse_args(argv)
    from thinwatch.engine.dask_executor import DaskExecutor
    from thinwatch.engine.pool import TaskPool
    work = Path(tempfile.mkdtemp(prefix="thinwatch-bench-cluster-"))
    try:
        ws = work / "ws"
        generate_ir(ws, IRSpec(modules=a.modules))
        with local_cluster(a.jobs, work / "logs") as address:
            pool, dask = TaskPool(a.jobs), DaskExecutor(address)
            try:
                trips = {"local": round_trip(pool, 200), "dask": round_trip(dask, 200)}
            finally:
                pool.close()
                dask.close()
            runs: dict[str, list[float]] = {"local": [], "dask": []}
            jobs = {}
            for rep in range(a.reps):
                for name, executor in (("local", None), ("dask", f"dask://{address}")):
                    seconds, done = cold(ws, a.jobs, executor)
                    runs[name].append(seconds)
                    jobs[name] = done["backend_jobs"]
                    print(f"cold {name} rep {rep}: {seconds:.2f}s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    a.json.write_bytes(orjson.dumps({"modules": a.modules, "jobs": a.jobs, "round_trip": trips, "cold": runs,
                                     "backend_jobs": jobs}, option=orjson.OPT_INDENT_2))
    print(f"| IR workspace, {a.modules} modules (+ aggregators), {a.jobs} workers | local pool | "
          f"Dask on 127.0.0.1 | ratio |\n|---|---|---|---|\n"
          f"| per-task round trip (median of 200) | {trips['local'] * 1e3:.2f} ms | {trips['dask'] * 1e3:.2f} ms | "
          f"{trips['dask'] / trips['local']:.1f}x |\n"
          f"| cold build, `thinwatch build` (median of {a.reps}; {jobs['local']} backend jobs) | "
          f"{med['local']:.2f} s | {med['dask']:.2f} s | {med['dask'] / med['local']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
