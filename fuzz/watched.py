"""A `thinwatch watch --json` process seen from outside, as the soak needs
it: its events, the executable each good build left, its workers, its
memory, open files and file size limit."""

from __future__ import annotations

import hashlib
import os
import queue
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson

from .helpers import ROOT, alive, descendants


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Watched:
    def __init__(self, ws: Path, exe: Path):
        self.exe = exe
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "thinwatch.engine.cli", "watch", "--json", "-j", "2", str(ws)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events: queue.Queue = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def _read(self) -> None:
        """Unbuffered, so that "nothing more has been written" can be known:
        each good build's executable is hashed as its `build-finished`
        arrives, and the hash is its own only if no later event was waiting
        by then (a later build replaces the executable only after its
        `build-started`, which the engine flushes first). Otherwise the
        event's `_exe` is None: not known."""
        fd, pending = self.proc.stdout.fileno(), b""
        while chunk := os.read(fd, 1 << 16):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for i, line in enumerate(lines):
                ev = orjson.loads(line)
                ev["_at"] = time.monotonic()
                if ev["reason"] == "build-finished" and ev["ok"]:
                    digest = _digest(self.exe)
                    last = i == len(lines) - 1 and not pending and not select.select([fd], [], [], 0)[0]
                    ev["_exe"] = digest if last else None
                self.events.put(ev)
        self.events.put(None)

    def next(self, timeout: float) -> dict | None:
        """The next event, or None after `timeout` seconds without one."""
        try:
            ev = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        if ev is None:
            raise RuntimeError("the watch ended: " + b"".join(self.stderr).decode()[-2000:])
        return ev

    def descendants(self) -> set[int]:
        return descendants(self.proc.pid)

    def fork_server(self) -> int | None:
        return next((p for p in self.descendants()
                     if b"forkserver" in _cmdline(p) and self._parent(p) == self.proc.pid), None)

    @staticmethod
    def _parent(pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            return -1

    def workers(self) -> list[int]:
        """What does the work: pool workers, and the programs they and the
        engine run. Not the fork server (the engine cannot replace it) nor
        multiprocessing's resource tracker."""
        server = self.fork_server()
        return sorted(p for p in self.descendants()
                      if p != server and b"resource_tracker" not in _cmdline(p) and alive(p))

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def limit_file_size(self, soft: int) -> None:
        """Set the soft RLIMIT_FSIZE (`resource.RLIM_INFINITY` for none; a
        small one is a full disk as writes see it: EFBIG) of the engine and
        every descendant, the fork server first so that no worker forked
        meanwhile escapes. The hard limit is left as it is, so the soft one
        can be put back without privileges."""
        server = self.fork_server()
        for pid in [self.proc.pid, *([server] if server else []), *sorted(self.descendants())]:
            try:
                hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
            except (ProcessLookupError, PermissionError):
                pass              # gone meanwhile

    def file_size_limits(self) -> set[int]:
        out = set()
        for pid in [self.proc.pid, *self.descendants()]:
            try:
                out.add(resource.prlimit(pid, resource.RLIMIT_FSIZE)[0])
            except (ProcessLookupError, PermissionError):
                pass
        return out

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9
