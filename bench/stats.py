"""Progress lines, medians and table cells, shared by the benchmarks'
reports (bench/run.py, bench/real.py)."""

from __future__ import annotations

import statistics
import sys


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, unit="s", nd=2):
    return "n/a" if x is None else f"{x:.{nd}f}{unit}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b
