"""The watch-mode soak: one `thinwatch watch --json -j 2` on a copy of the
IR sample receives the IR fuzzer's random edits at random intervals (some
mid-build, some in bursts), a few SIGKILLs of its workers and, for a while,
a full disk (a soft RLIMIT_FSIZE of 2,000 bytes on the engine and its
processes: writes fail with EFBIG as on a full disk, nothing is mounted).
Once it settles it must hold:

1. the last build, if good, left every object and the executable
   byte-identical to a clean build's (empty cache) of the final sources;
   if it failed, so does the clean build;
2. no stale result was reported current (`stale`);
3. the engine's RSS is within 1.5x its RSS after the first build, and its
   open descriptors within 1.5x (or 8 more than) theirs;
4. after SIGINT no process of the engine is left.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from thinwatch.engine.pool import TaskPool

from .helpers import alive, build, outputs
from .session import propose
from .target_ir import IRTarget
from .tree import Tree, apply_changes, invert, read_tree, write_tree
from .watched import Watched

EXE = "sample"
FULL_DISK = 2000            # bytes a file may hold while the disk is "full"
QUIET = 3.0                 # seconds without an event: settled
# How late the reader thread may stamp an event it was sent: an edit that
# completed less than this before a `build-started` arrived may have
# completed after the build read its sources.
LAG = 0.05


@dataclass
class Figures:
    edits: int = 0
    builds: int = 0
    superseded: int = 0
    failed: int = 0                 # finished not ok, not superseded
    disk_full_errors: int = 0       # "File too large" diagnostics
    checked: int = 0                # good builds whose executable was compared
    unknown: int = 0                # good builds whose executable a later build had replaced already
    kills: int = 0
    rss_kb: tuple[int, int] = (0, 0)     # after the first build, after the soak
    fds: tuple[int, int] = (0, 0)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.edits} edits, {self.builds} builds ({self.superseded} superseded, {self.failed} failed, "
                f"{self.checked} good ones checked, {self.unknown} not checkable), {self.kills} worker kills, "
                f"{self.disk_full_errors} full-disk errors, RSS {self.rss_kb[0] // 1024} -> "
                f"{self.rss_kb[1] // 1024} MB, fds {self.fds[0]} -> {self.fds[1]}, {self.seconds:.0f} s, "
                f"{len(self.problems)} problems")


class CleanBuilds:
    """Clean builds (empty cache, in-process) of source snapshots, once each."""

    def __init__(self, target: IRTarget, initial: Tree, work: Path, pool: TaskPool):
        self.target, self.initial, self.work, self.pool = target, initial, work, pool
        self._done: dict[frozenset, dict[str, str] | None] = {}

    def outputs(self, tree: Tree) -> dict[str, str] | None:
        """Digests of every object and the executable, None if it fails."""
        key = frozenset(tree.items())
        if key not in self._done:
            ws = self.work / "clean"
            shutil.rmtree(ws, ignore_errors=True)
            self.target.create(ws)
            write_tree(ws, self.initial, tree)
            self._done[key] = outputs(ws) if build(ws, self.pool).finished.ok else None
        return self._done[key]


class Soak:
    def __init__(self, seed: int, edits: int, work: Path, log=print):
        self.seed, self.k, self.work, self.log = seed, edits, work, log
        self.rng = random.Random(seed)                  # the edits: the same for a seed
        self.pace = random.Random(f"{seed}-pace")       # timing and kills
        self.target = IRTarget("sample")
        self.ws = work / "ws"
        self.events: list[dict] = []
        self.trees: list[Tree] = []
        self.written: list[tuple[float, float]] = []   # (began, completed) of each edit; edit 0 is the start
        self.fig = Figures()

    # --- driving -------------------------------------------------------

    def _pump(self, seconds: float, until: str | None = None) -> None:
        """Collect events for `seconds`, or until one with reason `until`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ev = self.w.next(left)
            if ev is None:
                return
            self.events.append(ev)
            if ev["reason"] == until:
                return

    def _settle(self, limit: float = 300) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            ev = self.w.next(QUIET)
            if ev is not None:
                self.events.append(ev)
                continue
            started = sum(e["reason"] == "build-started" for e in self.events)
            if started == sum(e["reason"] == "build-finished" for e in self.events):
                return
        raise RuntimeError(f"the watch did not settle within {limit} s")

    def _write(self, tree: Tree, edit: dict, history: list[dict]) -> Tree:
        after = apply_changes(tree, edit["changes"])
        began = time.monotonic()
        write_tree(self.ws, tree, after)
        self.written.append((began, time.monotonic()))
        self.trees.append(after)
        history.append(edit)
        return after

    def _kill_a_worker(self) -> None:
        if workers := self.w.workers():
            try:
                os.kill(self.pace.choice(workers), signal.SIGKILL)
                self.fig.kills += 1
            except ProcessLookupError:
                pass

    def _drive(self, tree: Tree) -> Tree:
        when = range(1, max(2, self.k - 5))            # none near the end: the last build should be good
        kills = set(self.pace.sample(when, min(max(2, self.k // 50), len(when))))
        full_from, full_to = int(self.k * 0.4), int(self.k * 0.5)
        history: list[dict] = []
        burst = 0
        for i in range(1, self.k + 1):
            if burst:
                burst -= 1
                self._pump(self.pace.uniform(0, 0.02))
            elif (r := self.pace.random()) < 0.15:
                burst = self.pace.randint(1, 4)
            elif r < 0.5:                               # mid-build
                self._pump(2.0, until="build-started")
                self._pump(self.pace.uniform(0, 0.3))
            else:
                self._pump(self.pace.uniform(0.05, 1.0))
            if i in kills:
                self._kill_a_worker()
            if i == full_from:
                self.w.limit_file_size(FULL_DISK)
            if i == full_to:
                self.w.limit_file_size(self.fsize)
            tree = self._write(tree, propose(self.target, tree, self.rng, i, history), history)
            if i % 25 == 0:
                self.log(f"edit {i}/{self.k}: {sum(e['reason'] == 'build-started' for e in self.events)} builds")
        # A deliberate break still in is fixed, so the last build can be good.
        while broken := [e for e in history if e["kind"] == "break" and apply_changes(tree, invert(e["changes"]))]:
            tree = self._write(tree, {"kind": "revert break", "changes": invert(broken[-1]["changes"])}, history)
        return tree

    # --- checking ------------------------------------------------------

    def _last_before(self, t: float, which: int) -> int:
        """The last edit whose write began (0) or completed (1) before t."""
        return max(i for i, w in enumerate(self.written) if w[which] < t)

    def stale(self, clean: CleanBuilds) -> list[str]:
        """Good builds whose executable matches no source state they could
        have read.

        A build's executable is hashed as its `build-finished` arrives (when
        no later event was waiting: see `Watched._read`). The build read its
        sources between its `build-started` and its `build-finished`, so
        what it read is at least every edit completed before its start and
        at most every edit begun before its end: edits `a` (the last one
        completed `LAG` before its `build-started` arrived, the engine
        having sent it a little earlier) to `b` (the last one begun before
        its `build-finished` arrived). Its executable must be byte-identical
        to a clean build's of one of the trees a..b: a mismatch with all of
        them is a stale result reported current. The check assumes only that
        events are stamped within LAG of being sent (the engine flushes each
        line, a thread blocked on the pipe stamps it). One more way to match
        none: reading a multi-file edit halfway; the watch sees the rest of
        it arrive and supersedes the build, unless the build ended within
        its debounce (30 ms) of reading, so a mismatch names both times."""
        starts = {e["generation"]: e for e in self.events if e["reason"] == "build-started"}
        found = []
        for f in self.events:
            if f["reason"] != "build-finished" or not f["ok"] or f["superseded"]:
                continue
            if f["_exe"] is None:
                self.fig.unknown += 1
                continue
            self.fig.checked += 1
            a = self._last_before(starts[f["generation"]]["_at"] - LAG, 1)
            b = self._last_before(f["_at"], 0)
            got = [(clean.outputs(self.trees[i]) or {}).get(EXE) for i in range(b, a - 1, -1)]
            if f["_exe"] not in got:
                start = starts[f["generation"]]["_at"]
                found.append(f"build {f['generation']} reported ok with an executable ({f['_exe'][:12]}) no "
                             f"clean build of edits {a}..{b} gives ({', '.join(str(g)[:12] for g in got)}); "
                             f"edit {a} completed {start - self.written[a][1]:.3f} s before its start arrived, "
                             f"it took {f['_at'] - start:.3f} s")
        return found

    def _final(self, clean: CleanBuilds) -> list[str]:
        last = [e for e in self.events if e["reason"] == "build-finished"][-1]
        want = clean.outputs(self.trees[-1])
        if last["superseded"]:
            return ["the last build was superseded, yet nothing followed"]
        if not last["ok"]:
            return ["the last build failed, a clean build succeeds"] if want is not None else []
        if want is None:
            return ["the last build succeeded, a clean build of the same sources fails"]
        got = outputs(self.ws)
        return [f"{n}: incremental {str(got.get(n))[:12]}, clean {str(want.get(n))[:12]}"
                for n in sorted(got.keys() | want.keys()) if got.get(n) != want.get(n)]

    # --- the whole run -------------------------------------------------

    def run(self) -> Figures:
        t0 = time.monotonic()
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.target.create(self.ws)
        initial = read_tree(self.ws, self.target.suffixes)
        self.trees, self.written = [initial], [(float("-inf"), float("-inf"))]
        self.w = Watched(self.ws, self.ws / ".thinwatch" / "out" / EXE)
        try:
            self._pump(120, until="build-finished")
            self._settle()
            self.fsize = self.w.file_size_limits().pop()
            first = (self.w.rss_kb(), self.w.fds())
            tree = self._drive(initial)
            self._settle()
            self.fig.rss_kb, self.fig.fds = (first[0], self.w.rss_kb()), (first[1], self.w.fds())
            limits = self.w.file_size_limits()
            kids = self.w.descendants()
        finally:
            code = self.w.stop()
        time.sleep(0.5)
        fig, problems = self.fig, self.fig.problems
        if code != 130:
            problems.append(f"SIGINT: exit code {code}, not 130")
        if left := sorted(k for k in kids if alive(k)):
            problems.append(f"processes left after the engine stopped: {left}")
        if limits != {self.fsize}:
            problems.append(f"file size limits not all restored: {limits}")
        if b"Traceback" in (err := b"".join(self.w.stderr)):
            problems.append("a traceback on stderr: " + err.decode()[-1500:])
        fig.edits = len(self.trees) - 1
        fig.builds = sum(e["reason"] == "build-started" for e in self.events)
        done = [e for e in self.events if e["reason"] == "build-finished"]
        fig.superseded = sum(e["superseded"] for e in done)
        fig.failed = sum(not e["ok"] and not e["superseded"] for e in done)
        fig.disk_full_errors = sum(e["reason"] == "diagnostic" and "File too large" in e.get("message", "")
                                   for e in self.events)
        if fig.rss_kb[1] > 1.5 * fig.rss_kb[0]:
            problems.append(f"RSS grew from {fig.rss_kb[0]} to {fig.rss_kb[1]} kB")
        if fig.fds[1] > max(1.5 * fig.fds[0], fig.fds[0] + 8):
            problems.append(f"open descriptors grew from {fig.fds[0]} to {fig.fds[1]}")
        pool = TaskPool(2)
        try:
            clean = CleanBuilds(self.target, initial, self.work, pool)
            problems += self._final(clean)
            problems += self.stale(clean)
        finally:
            pool.close()
        fig.seconds = time.monotonic() - t0
        return fig
