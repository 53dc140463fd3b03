"""The three builders of a Cargo workspace, each in its own copy of it.

- `ThinwatchWatch`: `python3 -m thinwatch.engine.cli watch --json -j N WS` kept running;
  an edit is timed from the save to the `build-finished` event.
- `CargoAnchor("rust-lld")`: the same `-C linker-plugin-lto` bitcode ThinLTO'd
  by rustc's rust-lld (`cc -fuse-ld=lld` with rustc's gcc-ld), with
  `--thinlto-cache-dir`; backend jobs = new `llvmcache-*` entries.
- `CargoAnchor("rustc-incremental")`: rustc's own incremental local ThinLTO
  (`-C opt-level=2 -C codegen-units=16`, cargo's `-C incremental` dir);
  backend jobs = post-LTO objects (`<cgu>.o` work products) newly written in
  the incremental session directories (reused ones are hard links of the
  previous session's: same inode and mtime).

And a reference that is not a builder: `CargoAlone`, the cargo command
thinwatch runs (its flags, shim and environment) timed alone, without
thinwatch around it. It is the frontend's share of every thinwatch build: no
ThinLTO after it can make an edit faster than this.
"""

from __future__ import annotations

import compileall
import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .peak import PeakMemory

REPO = Path(__file__).resolve().parent.parent


def write_bytecode() -> None:
    """thinwatch's bytecode, written before anything is timed, as Python
    writes it on a program's first run. Where PYTHONDONTWRITEBYTECODE is set
    (the environment of these machines sets it) no run writes it, and every
    new process compiled its ~40 modules again: ~45 ms of each no-op build."""
    for package in ("thinwatch", "engine", "tui"):
        compileall.compile_dir(REPO / package, quiet=1)


@dataclass
class Result:
    seconds: float
    backend_jobs: int | None
    output: str = ""                 # what the executable printed
    exe_changed: bool | None = None
    extra: dict = field(default_factory=dict)


def run_exe(path: Path, args: tuple[str, ...] = (), cwd: Path | None = None) -> str:
    try:
        p = subprocess.run([str(path), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except OSError as e:
        return f"<cannot run: {e}>"
    return p.stdout.strip() if p.returncode == 0 else f"<exit {p.returncode}: {p.stderr.strip()[-200:]}>"


def sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def vm_hwm_kib(pid: int) -> int | None:
    """Peak resident set size of a live process (VmHWM), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class ThinwatchWatch:
    """A running `thinwatch watch --json` on one workspace."""

    def __init__(self, ws: Path, jobs: int, log: Path | None = None, extra_args: list[str] = ()):
        import orjson
        self._orjson = orjson
        self.ws = Path(ws)
        self.events: queue.Queue = queue.Queue()
        self.t_start = time.monotonic()
        self.log = open(log, "wb") if log else None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "thinwatch.engine.cli", "watch", "--json", "-j", str(jobs), *extra_args, str(ws)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=self.log or subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            t = time.monotonic()
            try:
                ev = self._orjson.loads(line)
            except Exception:
                continue
            self.events.put((t, ev))
        self.events.put((time.monotonic(), None))

    def drain(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait()[1])
            except queue.Empty:
                return out

    def wait_build(self, timeout: float = 1800) -> tuple[float, dict, list[dict]]:
        """(monotonic time of its build-finished line, that event, all events of
        the build) for the next build that is not superseded."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                t, ev = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("thinwatch produced no build-finished in time") from None
            if ev is None:
                raise RuntimeError(f"thinwatch exited ({self.proc.wait()})")
            seen.append(ev)
            if ev.get("reason") == "build-finished" and not ev.get("superseded"):
                return t, ev, seen

    def timed_edit(self, apply) -> tuple[float, dict, list[dict], list[dict]]:
        """Run `apply()` (the edit) and time it to the build-finished line:
        (seconds, that event, the build's events, what came after it)."""
        self.drain()
        t0 = time.monotonic()
        apply()
        t1, ev, evs = self.wait_build()
        return t1 - t0, ev, evs, self.quiet()

    def force_rebuild(self) -> None:
        """Ask for a rebuild with nothing changed (SIGUSR1, the TUI's `r`)."""
        self.proc.send_signal(signal.SIGUSR1)

    def quiet(self, seconds: float = 0.4) -> list[dict]:
        """Wait until no event came for `seconds`; returns what came (a spurious
        second build would show here)."""
        got = []
        while True:
            try:
                got.append(self.events.get(timeout=seconds)[1])
            except queue.Empty:
                return got

    def hwm_kib(self) -> int | None:
        return vm_hwm_kib(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()


def run_build_command(cmd: list[str], cwd: Path, env: dict, memory: bool = False
                      ) -> tuple[float, subprocess.CompletedProcess, int | None]:
    """(wall seconds, the finished process, its tree's peak PSS in KiB if `memory`)."""
    t = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = PeakMemory(proc.pid) if memory else None
    if peak:
        with peak:
            out, err = proc.communicate()
    else:
        out, err = proc.communicate()
    seconds = time.monotonic() - t
    return seconds, subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak.kib if peak else None


def startup_seconds() -> float:
    """A new process that imports thinwatch's command and ends: what every
    new-process build pays before any build work (with cargo's own no-op,
    the floor of a new process's no-op build)."""
    seconds, p, _ = run_build_command([sys.executable, "-c", "import thinwatch.engine.cli"],
                                      REPO, {**os.environ, "PYTHONPATH": str(REPO)}, False)
    if p.returncode != 0:
        raise RuntimeError(f"importing thinwatch failed: {p.stderr.decode()[-2000:]}")
    return seconds


def thinwatch_once(ws: Path, jobs: int, memory: bool = False, extra: list[str] = ()) -> tuple[float, dict, int | None]:
    """Cold `thinwatch build --once` (process start included), with `extra`
    options: seconds, its build-finished event, peak memory if asked for."""
    import orjson
    seconds, p, peak = run_build_command(
        [sys.executable, "-m", "thinwatch.engine.cli", "build", "--once", "--json", "-j", str(jobs), *extra, str(ws)],
        REPO, {**os.environ, "PYTHONPATH": str(REPO)}, memory)
    last = {}
    for line in p.stdout.splitlines():
        ev = orjson.loads(line)
        if ev.get("reason") == "build-finished":
            last = ev
    if p.returncode != 0 or not last.get("ok"):
        raise RuntimeError(f"thinwatch cold build failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    return seconds, last, peak


def cargo_env() -> dict:
    """The environment without what would change how cargo builds: each
    tool sets its own flags, and builds in its own copy's target/."""
    return {k: v for k, v in os.environ.items()
            if k not in ("RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_ENCODED_RUSTFLAGS")
            and not k.startswith("CARGO_PROFILE_")}


def _file_ids(root: Path, suffix: str) -> set[tuple[int, int]]:
    ids = set()
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(suffix):
                try:
                    st = os.stat(os.path.join(dirpath, f))
                except OSError:
                    continue
                ids.add((st.st_ino, st.st_mtime_ns))
    return ids


class CargoAnchor:
    def __init__(self, kind: str, ws: Path, jobs: int):
        self.kind = kind
        self.ws = Path(ws)
        self.jobs = jobs
        self.cache = self.ws / "target" / "thinlto-cache"
        self.exe = self.ws / "target" / "release" / "app"
        self.incr = self.ws / "target" / "release" / "incremental"

    def env(self) -> dict:
        env = cargo_env()
        env["CARGO_INCREMENTAL"] = "1"
        if self.kind == "rust-lld":
            env["RUSTFLAGS"] = ("-C linker-plugin-lto"
                                f" -C link-arg=-Wl,--thinlto-cache-dir={self.cache}"
                                f" -C link-arg=-Wl,--thinlto-jobs={self.jobs}")
        else:
            env["RUSTFLAGS"] = "-C opt-level=2 -C codegen-units=16"
        return env

    def _jobs_marker(self):
        if self.kind == "rust-lld":
            return set(os.listdir(self.cache)) if self.cache.is_dir() else set()
        return _file_ids(self.incr, ".o")

    def build(self, memory: bool = False) -> Result:
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(exist_ok=True)
        before = self._jobs_marker()
        old = sha(self.exe)
        seconds, p, peak = run_build_command(["cargo", "build", "--release", "-j", str(self.jobs)], self.ws,
                                             self.env(), memory)
        if p.returncode != 0:
            raise RuntimeError(f"{self.kind}: cargo failed:\n{p.stderr.decode()[-3000:]}")
        after = self._jobs_marker()
        if self.kind == "rust-lld":
            jobs = len({f for f in after - before if f.startswith("llvmcache-")})
        else:
            jobs = len(after - before)
        return Result(seconds, jobs, run_exe(self.exe), sha(self.exe) != old, {"peak_kib": peak})


class CargoAlone:
    """thinwatch's cargo command (`CargoProject.cargo_env`), in its own copy
    of the workspace, timed as a command. Its executable is the shim's
    placeholder: there is nothing to run."""

    def __init__(self, ws: Path, args: tuple[str, ...] = ()):
        from thinwatch.engine.frontends.cargo import CargoProject
        self.ws = Path(ws)
        project = CargoProject.open(self.ws)
        project.build_dir.mkdir(parents=True, exist_ok=True)
        self.env = project.cargo_env()
        self.cmd = ["cargo", "build", "--release", *args, *project.overrides, "--message-format=json"]

    def build(self) -> Result:
        seconds, p, _ = run_build_command(self.cmd, self.ws, self.env)
        if p.returncode != 0:
            raise RuntimeError(f"cargo alone failed:\n{p.stderr.decode()[-3000:]}")
        return Result(seconds, None)
