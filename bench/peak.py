"""Peak memory of a build: the largest sum, over a process and all its
descendants alive at one moment, of their proportional set size (PSS: a page
shared by n processes counts 1/n in each, so the LLVM library every worker
maps is counted once, not once per worker).

Sampling costs CPU (each sample reads every process's smaps_rollup), so
the generated workspace's benchmark measures memory in builds it does not
time; the real programs' cold builds are timed with it on, for every tool
alike (bench/real.py), which makes them all seconds slower than unsampled.
"""

from __future__ import annotations

import os
import threading


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name (in parentheses) may contain spaces: fields after it are fixed.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(root: int) -> int:
    tree, total, stack = _children(), 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kib(pid)
        stack.extend(tree.get(pid, ()))
    return total


class PeakMemory:
    """`with PeakMemory(pid) as peak: ...` then `peak.kib`."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.kib = max(self.kib, tree_pss_kib(self.pid))
            self._done.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
