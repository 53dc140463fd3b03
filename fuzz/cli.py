"""python3 -m fuzz ir|rust --seed N --steps K [--workspace W]: run, and on a mismatch shrink
it and write the minimal sequence out as a regression input.
python3 -m fuzz soak --seed N --edits K: the watch-mode soak (fuzz/soak.py)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import orjson

from thinwatch.engine.pool import TaskPool

from . import regressions
from .session import Runner
from .shrink import ddmin


def target_for(kind: str, workspace: str = "sample", cargo_every: int = 5):
    if kind == "ir":
        from .target_ir import IRTarget
        return IRTarget(workspace)
    from .target_rust import RustTarget
    return RustTarget(cargo_every, workspace)


def shrink(runner: Runner, edits: list[dict], log) -> tuple[list[dict], list[str]]:
    """The minimal failing sequence and its differences."""
    tries = 0

    def failing_prefix(seq: list[dict]) -> int | None:
        nonlocal tries
        tries += 1
        res = runner.replay(seq)
        log(f"  shrink try {tries}: {len(seq)} edits -> {'fails' if res.mismatch else 'passes'}")
        return res.steps if res.mismatch else None

    minimal = ddmin(edits, failing_prefix)
    return minimal, runner.replay(minimal).mismatch


def soak(seed: int, edits: int, log) -> int:
    from .soak import Soak
    with tempfile.TemporaryDirectory(prefix="thinwatch-soak-") as tmp:
        fig = Soak(seed, edits, Path(tmp), log).run()
    log(f"soak seed {seed}: {fig.summary()}")
    for problem in fig.problems:
        log("PROBLEM " + problem)
    return 1 if fig.problems else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m fuzz", description=__doc__)
    p.add_argument("kind", choices=("ir", "rust", "soak"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--edits", type=int, default=300, help="soak: edits made under one watch")
    p.add_argument("--workspace", default="sample",
                   help='IR: "sample" or "generated:<modules>"; Rust: "sample", "generated" (bench.generate) '
                   'or "corpus" (tests/corpus/registry/roundtrip on Debian\'s registry crates)')
    p.add_argument("--cargo-every", type=int, default=5, help="Rust: compare with cargo's program every N steps")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-shrink", action="store_true")
    p.add_argument("--save", default="", help="regression name (default <kind>-<workspace>-seed<N>)")
    a = p.parse_args(argv)

    def log(line: str) -> None:
        print(line, flush=True)

    if a.kind == "soak":
        return soak(a.seed, a.edits, log)
    target = target_for(a.kind, a.workspace, a.cargo_every)
    pool = TaskPool(a.jobs)
    try:
        with tempfile.TemporaryDirectory(prefix="thinwatch-fuzz-") as tmp:
            runner = Runner(target, pool, Path(tmp), log)
            res = runner.run(a.seed, a.steps)
            log(f"{a.kind} {target.workspace} seed {a.seed}: {res.steps} steps, {res.failed_builds} failed builds, "
                f"{1 if res.mismatch else 0} mismatches, {res.seconds / max(res.steps, 1):.2f} s/step")
            if not res.mismatch:
                return 0
            edits, mismatch = (res.edits, res.mismatch) if a.no_shrink else shrink(runner, res.edits, log)
            name = a.save or f"{a.kind}-{target.workspace.replace(':', '')}-seed{a.seed}"
            path = regressions.save(name, target, a.seed, edits, mismatch)
            log(f"minimal sequence ({len(edits)} edits), written to {path}:")
            for e in edits:
                log("  " + orjson.dumps(e).decode())
            log("differences:\n  " + "\n  ".join(mismatch))
            return 1
    finally:
        pool.close()


if __name__ == "__main__":
    sys.exit(main())
