"""`thinwatch` command line.

Exit codes: 0 ok, 1 build failed, 2 usage or configuration error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from .pool import TaskPool
from .report import Printer
from .scheduler import run_build


COMMANDS = ("build", "watch")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="thinwatch", description="Incremental ThinLTO in watch mode.")
    p.add_argument("command", nargs="?", choices=COMMANDS, default="watch",
                   help="build: build once and exit; watch (default): build, then rebuild on every change")
    p.add_argument("workspace", nargs="?", default=".", help="workspace directory (default: .)")
    p.add_argument("--once", action="store_true", help="build once and exit")
    p.add_argument("--no-tui", action="store_true", help="headless: print lines instead of the terminal UI")
    p.add_argument("--json", action="store_true", help="headless, one JSON object per event on stdout")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    return p


async def _build_once(root: Path, jobs: int, printer: Printer) -> int:
    pool = TaskPool(jobs)
    try:
        result = await run_build(root, pool, printer, 1)
    finally:
        pool.close()
    if not result.counts and not result.ok:
        return 2
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS:
        argv.insert(0, "watch")          # `thinwatch DIR` means `thinwatch watch DIR`
    args = parser().parse_intermixed_args(argv)
    if args.jobs < 1:
        parser().error("-j must be at least 1")
    root = Path(args.workspace)
    if not root.is_dir():
        print(f"thinwatch: {root} is not a directory", file=sys.stderr)
        return 2
    printer = Printer(json=args.json)
    try:
        return asyncio.run(_build_once(root, args.jobs, printer))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
