"""Watch mode: build, then rebuild after every change, until stopped.

One `Session` owns the worker pool and the build loop, and is all a front end
(the TUI, the headless printer) uses of the engine: its events come down the
sink; commands (`rebuild()`, `pause()`/`resume()`, `clean()`, `stop()`) and
queries (`source()`, `find()`, `optimized_ir()`, `imported_body()`) are its
methods. A change during a build abandons it (the default,
`on_change="restart"`) or lets it finish first (`"finish"`). An abandoned
build's events keep their generation number and it ends with a
`BuildFinished(superseded=True)`, so no consumer takes them for the current
state; cache entries it finished stay valid.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Sequence

from . import files, inspect, names
from .build import Memory
from .clean import clean
from .events import REBUILD, BuildFinished, Event, Paused, ProgramEnded, ProgramOutput, ProgramStarted, Resumed
from .frontends import kind
from .lock import WorkspaceLock
from .executors import open_executor, setting_of
from .programs import run_program
from .project import BUILD_DIR
from .reporter import Reporter
from .scheduler import run_build

DEBOUNCE_MS = 30
# A batch of changes is handed over once a step passes with no new one: the
# step is most of the latency from a save to its build.
STEP_MS = 5


class Session:
    def __init__(self, root: Path, jobs: int, sink: Callable[[Event], None], on_change: str = "restart",
                 tests: bool = False, wait: bool = False, options=None,
                 run: list[str] | None = None, test_args: Sequence[str] = (), executor: str | None = None,
                 cache_dir: Path | None = None):
        """`tests`: build the test harnesses (`cargo test --no-run`) and, when
        watching, run them with `test_args` after each good build; `run`: the
        program watch mode runs after each good build, instead of the
        manifest's; `options`: the front end's (Cargo: its selection flags,
        frontends/cargo/select.py); `executor`, `cache_dir`: the command
        line's, over the manifest's (its executor is read once, here)."""
        self.root = Path(root).resolve()
        self.tests = tests
        self.options = options
        self.run_argv = run
        self.test_args = list(test_args)
        front_end = kind(self.root)
        self.lock = WorkspaceLock(self.root / BUILD_DIR, wait=wait)
        self.sink = sink
        self.on_change = on_change
        self.cache_dir = cache_dir
        try:
            self.pool = open_executor(setting_of(self.root, options) if executor is None else executor, jobs)
        except BaseException:
            self.lock.release()
            raise
        self.generation = 0
        self.paused = False
        self.last: BuildFinished | None = None
        self.last_build = None           # the scheduler's Build of `last`, for inspection
        self.memory = Memory()           # stat-first no-op detection across builds
        self._wake = asyncio.Event()
        self._pending: set[str] = set()     # changed paths not built yet
        self._requested = False            # a rebuild was asked for: check everything
        self._stop = asyncio.Event()
        self._build: asyncio.Task | None = None
        self._abandoned = False          # the running build was cancelled by us: it ends superseded
        self._program: asyncio.Task | None = None
        self._rules = front_end.WATCH
        self._filter = None                  # the watcher's WorkspaceFilter, once watching
        # Content digests of the watched files as the last build started: a
        # save that leaves every triggering file as it was is a no-op.
        self.contents: dict[str, str | None] = {}
        self._racy = False
        self._finder: tuple | None = None       # (the build it indexes, its names.Finder)

    # -- controls ---------------------------------------------------------
    def rebuild(self) -> None:
        self._requested = True
        if self._program is not None and not self.paused:     # as a change does: the rebuild's program replaces it
            self._program.cancel()
        self._wake.set()

    def pause(self) -> None:
        if not self.paused:
            self.paused = True
            self.sink(Paused(self.generation))

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self.sink(Resumed(self.generation))
        if self._pending or self._requested:
            self._wake.set()

    async def clean(self) -> None:
        """What `thinwatch clean` does, then a rebuild of everything. The
        running build is abandoned and waited for first, so nothing it
        still places lands in the emptied directories."""
        build = self._build
        self.cancel_build()
        if build is not None:
            await asyncio.wait([build])
        await asyncio.to_thread(clean, self.root / BUILD_DIR)
        self.memory = Memory()            # what it remembers names deleted records and links
        self.rebuild()

    def cancel_build(self) -> None:
        """Abandon the running build (it ends superseded); the next change or
        `rebuild()` starts a new one."""
        if self._build is not None and not self._build.done():
            self._abandoned = True
            self._build.cancel()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # -- queries about the last build --------------------------------------
    def source(self, module: str, function: str = "") -> tuple[Path, int | None]:
        """The file to edit for `module`, and the line of its function that
        `function` names (a raw symbol, or text of its demangled name) where
        known: that function's file, else the module's. LookupError says
        why there is none."""
        build = self.last_build
        if build is None:
            raise LookupError("no source: nothing has been built yet")
        inputs = build.inputs.get(module)
        functions = list(inputs[0].summary.functions) if inputs else []
        chosen = names.pick(functions, function) if function else None
        try:
            if chosen:
                path = build.ws.source_of(module, [chosen])
                return path, build.ws.line_of(path, chosen)
        except LookupError:       # another crate's generic: the module's file will do
            pass
        return build.ws.source_of(module, functions), None

    def find(self, text: str) -> list[str]:
        """The modules of the last build that `text` names (names.Finder)."""
        build = self.last_build
        if build is None:
            return []
        if self._finder is None or self._finder[0] is not build:
            modules = {mid: (build.label(em), list(em.summary.functions),
                             [i.name for i in plan.imports])
                       for mid, (em, plan, _) in build.inputs.items()}
            self._finder = (build, names.Finder(modules))
        return self._finder[1].find(text)

    async def optimized_ir(self, module: str) -> str:
        return await inspect.optimized_ir(self.last_build, self.pool, module)

    async def imported_body(self, module: str, function: str) -> str:
        return await inspect.imported_body(self.last_build, module, function)

    async def test(self) -> bool:
        """Run the last good build's test programs (`tests` builds them) with
        the session's test arguments; True if all passed."""
        return await self.last_build.ws.run_tests(self.sink, self.generation, self.test_args)

    # -- loop ---------------------------------------------------------------
    async def _watch(self) -> None:
        import watchfiles
        async for changes in watchfiles.awatch(self.root, watch_filter=self._filter,
                                               debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=self._stop):
            paths = {str(Path(p).relative_to(self.root)) for _, p in changes}
            self._pending.update(paths)
            if self._build is not None and not self._build.done():
                self._racy = True        # the running build may have read either version
            if self._build is not None and not self._build.done() and self.on_change == "restart" \
                    and not self.paused and not paths <= self._filter.rules.written_by_tool:
                self.cancel_build()
            if self._program is not None and not self._program.done() and not self.paused:
                self._program.cancel()
            self._wake.set()

    async def _run_program(self) -> None:
        """Watch mode runs the program (`thinwatch run`'s, else the manifest's
        `run` command), or the tests, after each good build; a change while
        it runs stops it (like a build), so a long-running program never
        holds up the next build. `ProgramStarted` and `ProgramEnded` tell a
        front end what runs, and whether a change stopped it."""
        if not (self.last_build is not None and self.last is not None and self.last.ok
                and self.last.generation == self.generation):
            return
        run = self.run_argv or self.last_build.ws.run
        gen = self.generation
        if self.tests:
            work, started = self.test(), ProgramStarted(gen, "test", "the tests", "tests")
        elif run:
            work, started = self._run(run), ProgramStarted(gen, "run", " ".join(run), Path(run[0]).name)
        else:
            return
        self.sink(started)
        self._program = asyncio.create_task(work)
        stopped = False
        try:
            await self._program
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise
            stopped = True
        except Exception as e:       # never lets the program take the watch loop down
            Reporter(self.sink, gen).diagnostic("error", f"running {started.program}: {e!r}")
        self.sink(ProgramEnded(gen, started.kind, started.program, stopped))

    async def _run(self, run: list[str]) -> None:
        """Run the program until it ends or the next change, its output
        shown line by line as it comes."""
        gen, label = self.generation, " ".join(run)
        self.sink(await run_program(run, self.root, "run", gen, timeout=None,
                                    on_line=lambda line: self.sink(ProgramOutput(gen, "run", label, line))))

    async def build_once(self, trigger: list[str], unchanged: bool = False, one_shot: bool = False) -> None:
        """Build once; `unchanged`: every input is as the last build left it;
        `one_shot`: the session ends after it (it may replay the last one)."""
        self.generation += 1
        report = Reporter(self.sink, self.generation)
        building = []
        self._racy = False
        self._abandoned = False
        self._build = asyncio.create_task(run_build(self.root, self.pool, report, trigger,
                                                 tests=self.tests, on_build=building.append, memory=self.memory,
                                                 unchanged=self.last_build if unchanged else None,
                                                 options=self.options, cache_dir=self.cache_dir,
                                                 one_shot=one_shot))
        try:
            self.last = await self._build
            if not unchanged:
                self.last_build = building[0] if building else None
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():     # we are being stopped, not superseded
                raise
            if self._abandoned:
                report.superseded()
            else:      # a cancellation nobody asked for: a bug of ours, not a change to wait for
                report.diagnostic("error", "internal error: the build was cancelled from within")
                self.last = report.finished(False, counted=False)
        except Exception as e:       # a bug of ours: report it as this build's failure, keep watching
            report.diagnostic("error", f"internal error: {e!r}")
            self.last = report.finished(False, counted=False)

    async def _contents_unchanged(self, trigger: list[str]) -> bool:
        """Record the triggering files' contents; True if none differs from
        what the last build, complete and current, consumed."""
        if any(self._filter.is_dir(str(self.root / p)) for p in trigger):
            # What a directory held is not one digest: take every file's anew.
            from .watcher import snapshot
            self.contents = await asyncio.to_thread(snapshot, self.root, self._filter)
            return False
        current = await asyncio.to_thread(lambda: {p: files.digest(self.root / p) for p in trigger})
        same = (not self._racy and self.last is not None and self.last.ok and self.last.generation == self.generation
                and self.last_build is not None
                and all(p in self.contents and self.contents[p] == d for p, d in current.items()))
        self.contents.update(current)
        return same

    async def run(self) -> BuildFinished | None:
        from .watcher import WorkspaceFilter, snapshot
        self._filter = WorkspaceFilter(self.root, self._rules)
        watcher = asyncio.create_task(self._watch())
        try:
            self.contents = await asyncio.to_thread(snapshot, self.root, self._filter)
            await self.build_once([])
            self.pool.warm()              # a first build with no task (nothing changed) left it cold
            await self._run_program()
            while not self._stop.is_set():
                await self._wake.wait()
                self._wake.clear()
                if self._stop.is_set():
                    break
                if self.paused or not (self._pending or self._requested):
                    continue
                trigger, self._pending = sorted(self._pending), set()
                requested, self._requested = self._requested, False
                if await self._contents_unchanged(trigger) and not requested:
                    await self.build_once(trigger, unchanged=True)
                else:
                    await self.build_once(trigger + [REBUILD] if requested else trigger)
                await self._run_program()
        finally:
            self._stop.set()                 # lets watchfiles' thread return promptly
            watcher.cancel()
            if self._build is not None and not self._build.done():
                self._build.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        return self.last

    def close(self, kill: bool = False) -> None:
        try:
            self.pool.kill() if kill else self.pool.close()
        finally:
            self.lock.release()
