"""`thinwatch` command line, headless: `python -m thinwatch.engine.cli` (what
the tests run) never opens a terminal UI. The `thinwatch` command
(thinwatch/__main__.py, above both engine and tui) passes `run`/`main` the UI to open when one is wanted.

Exit codes: 0 ok, 1 build failed, 2 usage or configuration error; stopped
by a signal, 128 + its number as a shell reports it: 129 SIGHUP, 130 SIGINT,
143 SIGTERM, and 141 stdout closed by its reader (as for SIGPIPE).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing.util
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Protocol, Sequence

from .clean import clean as clean_build_dir
from .errors import ConfigError
from .frontends.cargo.run import program
from .frontends.cargo.select import Selection
from .lock import WorkspaceLock
from .frontends import kind
from .frontends.cargo import CargoProject
from .frontends.ir import MANIFEST
from .project import BUILD_DIR
from .report import Printer
from .session_api import Session, exit_code
from .settings import executor_setting


class TerminalUI(Protocol):
    """Opens the terminal UI on a workspace and gives its exit code. It takes
    what the headless path gives its `Session`, so `run`, `test --watch` and
    cargo's flags mean the same in both front ends."""

    def __call__(self, root: Path, jobs: int, on_change: str, *, tests: bool, options: Selection,
                 run: list[str] | None, test_args: Sequence[str], executor: str | None,
                 cache_dir: Path | None) -> int: ...


COMMANDS = ("build", "watch", "test", "run", "clean")
INTERRUPTED = 128 + signal.SIGINT
# Each stops a build cleanly, as Ctrl-C does: a closed terminal (SIGHUP) too.
STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
READER_GONE = 141


class _Version(argparse.Action):
    """`--version`: the installed distribution's version, looked up only when
    asked for (a lookup reads the installed metadata from disk)."""

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0, help="print thinwatch's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib import metadata     # ~10 ms of every start otherwise
        try:
            said = metadata.version("thinwatch")
        except metadata.PackageNotFoundError:      # run from a checkout nobody installed
            said = "(not installed: python3 -m pip install -e .)"
        print(f"thinwatch {said}")
        parser.exit(0)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="thinwatch", usage="thinwatch [COMMAND] [WORKSPACE] [options] [-- ARGS]",
        description="Incremental ThinLTO in watch mode. Commands: "
                    "watch (default): build, then rebuild on every change; build: build once and exit; "
                    "test: build a Cargo workspace's test binaries through thinwatch and run them "
                    "(--watch: again after every change); "
                    "run: watch a Cargo workspace and (re)start its program after every good build; "
                    "clean: delete the cache and build state (keeps the executables and cargo's target/). "
                    "ARGS after `--` go to the program (run) or to every test harness (test).")
    # One list, not two optional positionals: argparse would fill the
    # command's slot with a workspace (`thinwatch DIR`), so which word is
    # the command is decided after parsing, by `_command`.
    p.add_argument("words", nargs="*", metavar="[COMMAND] [WORKSPACE]",
                   help=f"command ({', '.join(COMMANDS)}; default watch) and workspace directory (default .)")
    p.add_argument("--once", action="store_true", help="build once and exit (same as `build`)")
    p.add_argument("--no-tui", action="store_true", help="headless: print lines instead of the terminal UI")
    p.add_argument("--json", action="store_true", help="headless, one JSON object per event on stdout")
    p.add_argument("--on-change", choices=("restart", "finish"), default="restart",
                   help="a change during a build: abandon it and start again (default), or finish it first")
    p.add_argument("--wait", action="store_true",
                   help="if another thinwatch is using the workspace, wait for it instead of failing")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--watch", action="store_true", help="test: run the tests again after every change")
    p.add_argument("--executor", metavar="WHERE", type=_executor,
                   help='where tasks run: "local" (worker processes, the default) or a Dask cluster, '
                        '"dask://HOST:PORT"; overrides the workspace\'s `executor` setting')
    p.add_argument("--cache-dir", metavar="DIR", type=lambda d: Path(d).expanduser().resolve(),
                   help="the cache, which checkouts may share (default: the workspace's .thinwatch/cache)")
    p.add_argument("--version", action=_Version)
    cargo = p.add_argument_group("cargo's selection flags (Cargo workspaces), passed to every cargo thinwatch runs")
    cargo.add_argument("-p", "--package", action="append", default=[], metavar="SPEC")
    cargo.add_argument("--bin", action="append", default=[], metavar="NAME")
    cargo.add_argument("--example", action="append", default=[], metavar="NAME")
    cargo.add_argument("-F", "--features", action="append", default=[], metavar="FEATURES")
    cargo.add_argument("--all-features", action="store_true")
    cargo.add_argument("--no-default-features", action="store_true")
    cargo.add_argument("--profile", default="release", metavar="NAME", help="default: release")
    cargo.add_argument("--target-dir", metavar="DIR", help="refused: thinwatch keeps its own in .thinwatch/target")
    return p


def _executor(value: str) -> str:
    try:
        return executor_setting(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


async def _headless(args, root: Path) -> int:
    me = asyncio.current_task()
    # Whoever reads the lines is gone: stop as on an interrupt; nobody is told.
    printer = Printer(json=args.json, on_closed=me.cancel)
    session = Session(root, args.jobs, printer, on_change=args.on_change, tests=args.command == "test",
                      wait=args.wait, options=args.selection, run=args.run, test_args=args.rest,
                      executor=args.executor, cache_dir=args.cache_dir)
    loop = asyncio.get_running_loop()
    stopped_by = []

    def stop(sig: int) -> None:
        stopped_by.append(sig)
        me.cancel()
    for sig in STOPPING:
        loop.add_signal_handler(sig, stop, sig)
    loop.add_signal_handler(signal.SIGUSR1, session.rebuild)     # what `r` is in the TUI
    interrupted = False
    try:
        if args.command == "test" and not args.watch:
            await session.build_once([], one_shot=True)
            if session.last is not None and session.last.ok:
                return 0 if await session.test() else 1
        elif args.once or args.command == "build":
            await session.build_once([], one_shot=True)
        else:        # watch, run, test --watch
            await session.run()
    except asyncio.CancelledError:
        interrupted = True
    finally:
        session.close(kill=interrupted)
    if printer.closed:
        return READER_GONE
    if stopped_by:
        return 128 + stopped_by[0]
    return INTERRUPTED if interrupted else exit_code(session.last)


def main(argv: list[str] | None = None, terminal: TerminalUI | None = None) -> int:
    """The `thinwatch` command: runs it, then ends the process (does not return)."""
    code = run(argv, terminal)
    # os._exit below skips the interpreter's exit handlers, among them
    # multiprocessing's removal of its temporary directory (the forkserver's
    # socket, $TMPDIR/pymp-*/listener-*): one more left behind by every run.
    shutil.rmtree(multiprocessing.util.get_temp_dir(), ignore_errors=True)
    # Ended without tearing the heap down object by object (every module's
    # summary, LLVM's globals): that takes tens of milliseconds on a small
    # workspace, and the OS takes the memory back at once. Every file the
    # engine writes is closed by now; only stdio may still hold bytes.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):      # a closed pipe or stream has nothing left to say
            pass
    os._exit(code)


def run(argv: list[str] | None = None, terminal: TerminalUI | None = None) -> int:
    """The command's exit code (the process goes on). A watch (`watch`,
    `run`, `test --watch`) on a terminal opens `terminal`, if given; without
    it the watch is headless."""
    # The engine keeps every module's summary alive (millions of objects at
    # 10,000 modules), and with CPython's default thresholds each full
    # collection scans them all again: 1.6 s of a 5.7 s no-op build at that
    # size. At these thresholds (mypy runs with the same) it is 0.2 s.
    gc.set_threshold(200_000, 30, 30)
    argv = sys.argv[1:] if argv is None else argv
    # What follows `--` is the program's or the harnesses', never thinwatch's.
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser().parse_intermixed_args(argv[:cut])
    args.rest = argv[cut + 1:]
    args.command, args.workspace = _command(args.words)
    if args.jobs < 1:
        parser().error("-j must be at least 1")
    root = Path(args.workspace)
    if not root.is_dir():
        print(f"thinwatch: {root} is not a directory", file=sys.stderr)
        return 2
    try:
        _cargo_only(args, root)
        if args.command == "clean":
            return clean(root, args.wait)
        return _run(args, root, terminal)
    except ConfigError as e:
        print(f"thinwatch: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:          # before the loop's own handler was installed
        return INTERRUPTED


def _command(words: list[str]) -> tuple[str, str]:
    """The command and workspace the positional words name: `thinwatch DIR`
    means `thinwatch watch DIR`."""
    command = words[0] if words and words[0] in COMMANDS else None
    rest = words[1:] if command else words
    if len(rest) == 2 and command is None:
        # `thinwatch biuld DIR`: a misspelt command, not a workspace
        parser().error(f"unknown command {rest[0]!r} (choose from {', '.join(COMMANDS)})")
    if len(rest) > 1:
        parser().error(f"unrecognized arguments: {' '.join(rest[1:])}")
    return command or "watch", rest[0] if rest else "."


def _cargo_only(args, root: Path) -> None:
    """Check what only a Cargo workspace can do, and work out `thinwatch
    run`'s program: `args.selection`, `args.run`. A ConfigError says why not."""
    args.selection = Selection.of(args)
    args.run = None
    wanted = [what for what, asked in (
        (f"`thinwatch {args.command}`", args.command in ("test", "run")),
        ("cargo's selection flags", not args.selection.default),
        ("arguments after `--`", bool(args.rest))) if asked]
    if args.rest and args.command not in ("test", "run"):
        raise ConfigError(f"arguments after `--` go to `thinwatch run`'s program or `thinwatch test`'s "
                          f"harnesses, not to `thinwatch {args.command}`")
    if args.watch and args.command != "test":
        raise ConfigError("--watch is for `thinwatch test` (the other commands say whether they watch)")
    if not wanted:
        return
    if kind(root) is not CargoProject:
        raise ConfigError(f"{root} is an LLVM IR workspace ({MANIFEST}), not a Cargo workspace: only a Cargo "
                          f"workspace takes {wanted[0]} (an IR workspace's watch runs its `run` setting)")
    if args.command == "run":
        exe, args.selection = program(root, args.selection)
        args.run = [str(exe), *args.rest]


def clean(root: Path, wait: bool) -> int:
    kind(root)                        # a directory that is no workspace is left as it was
    build_dir = root.resolve() / BUILD_DIR
    if not os.path.lexists(build_dir):
        print(f"thinwatch: nothing to clean in {root.resolve()}: it has no {BUILD_DIR}")
        return 0
    lock = WorkspaceLock(build_dir, wait=wait)
    try:
        clean_build_dir(build_dir)
    finally:
        lock.release()
    print(f"thinwatch: removed the cache and build state in {build_dir}")
    return 0


def _run(args, root: Path, terminal: TerminalUI | None) -> int:
    watching = not args.once and (args.command in ("watch", "run") or (args.command == "test" and args.watch))
    if watching and terminal is not None and not (args.no_tui or args.json) and sys.stdout.isatty():
        return terminal(root, args.jobs, args.on_change, tests=args.command == "test", options=args.selection,
                        run=args.run, test_args=args.rest, executor=args.executor, cache_dir=args.cache_dir,
                        wait=args.wait)
    return asyncio.run(_headless(args, root))


if __name__ == "__main__":
    sys.exit(main())
