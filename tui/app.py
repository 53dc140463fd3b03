"""The Textual front-end: the engine's Session runs on the app's event loop
in a worker; its events are buffered and folded into the model in batches
(every FLUSH seconds), so a thousand modules changing state cost one table
update per tick, not one per event. Everything else the app wants of the
engine (rebuild, pause, clean, a module's source or IR) is a Session method."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Iterable

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import var
from textual.widgets import DataTable, Footer, Input

from thinwatch.engine.events import Event
from thinwatch.engine.session_api import Session, exit_code

from .messages import EngineStopped, ShowImportedBody, ShowOptimizedIR
from .model import Model
from .screens.code import CodeScreen
from .screens.confirm import ConfirmScreen
from .screens.help import HelpScreen
from .screens.inspector import InspectorScreen
from .widgets.log_panel import LogPanel
from .widgets.module_table import SORTS, ModuleTable
from .widgets.output_panel import OutputPanel
from .widgets.status import StatusBar
from .widgets.timeline import Timeline

FLUSH = 0.1
MAIN_ONLY = {"search", "clear_search", "changed_only", "sort", "clean"}   # act on the module table


class ThinwatchApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "thinwatch"
    # In the order the footer shows them, the ones a newcomer needs first:
    # at 80 columns the footer cuts the rest.
    BINDINGS = [
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        # As in every watcher (and as the README says): Textual's default only
        # shows a toast on Ctrl-C.
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("r", "rebuild", "rebuild"),
        Binding("p", "pause", "pause"),
        Binding("slash", "search", "search", key_display="/"),
        Binding("f", "changed_only", "changed only"),
        Binding("s", "sort", "sort"),
        Binding("e", "edit", "edit"),
        Binding("c", "clean", "clean"),
        Binding("escape", "clear_search", "clear search", show=False),
    ]
    model_version = var(0)       # the model's version, once the views show it (screens watch it)

    def __init__(self, root: Path | str, jobs: int = 1, on_change: str = "restart", *, start: bool = True,
                 **session):
        """`session`: the Session's other arguments (`tests`, `run`,
        `test_args`, `options`), as the command line gives them."""
        super().__init__()
        self.root = Path(root).resolve()
        self.jobs = jobs
        self.on_change = on_change
        self.start_engine = start        # False: no engine; feed events with `feed()` (tests)
        self.model = Model(str(self.root.resolve()))
        self.buffer: list[Event] = []
        # Made before Textual replaces sys.stderr: the pool's multiprocessing
        # resource tracker is spawned passing stderr's fd, and Textual's
        # capture object has none ("bad value(s) in fds_to_keep").
        self.session: Session | None = Session(self.root, jobs, self.sink, on_change, **session) if start else None
        self.engine_error: BaseException | None = None

    # -- layout ----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(self.model, id="status")
        yield ModuleTable(id="modules")
        with Horizontal(id="bottom"):
            yield LogPanel(id="log")
            yield OutputPanel(id="output")
            yield Timeline(self.model, id="timeline")
        yield Input(placeholder="search modules (enter: keep, esc: clear)", id="search")
        yield Footer(compact=True, show_command_palette=False)   # ctrl+p still opens it

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """The table's keys do nothing (and leave the footer) over another screen."""
        if action in MAIN_ONLY and len(self.screen_stack) > 1:
            return False
        return True

    @property
    def table(self) -> ModuleTable:
        return self.query_one(ModuleTable)

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.query_one("#output").display = False      # until a program has run
        self.query_one("#log").border_title = "log"
        self.query_one("#timeline").border_title = "timeline"     # short: a longer title is cut at 80 columns
        self.table.focus()
        self.set_interval(FLUSH, self.flush)
        if self.start_engine:
            self.run_engine()

    # -- engine ----------------------------------------------------------------
    def sink(self, ev: Event) -> None:
        """The Session's sink: called on this loop; just buffer."""
        self.buffer.append(ev)

    def feed(self, events: Iterable[Event]) -> None:
        self.buffer.extend(events)

    @work(exclusive=True, group="engine", exit_on_error=False)
    async def run_engine(self) -> None:
        error = None
        try:
            await self.session.run()
        except Exception as e:        # an engine bug: show it, keep the UI up
            error = e
            raise
        finally:
            self.session.close(kill=True)
            self.post_message(EngineStopped(error))

    def on_engine_stopped(self, msg: EngineStopped) -> None:
        if msg.error is not None:
            self.engine_error = msg.error
            self.notify(f"engine stopped: {msg.error!r}", severity="error", timeout=30)

    def flush(self) -> None:
        """Fold the buffered events into the model and update the widgets."""
        if not self.buffer:
            return
        events, self.buffer = self.buffer, []
        dirty = self.model.apply(events)
        self.refresh_views(dirty)

    def refresh_views(self, dirty: set[str] | None = None) -> None:
        with self.batch_update():
            self.table.sync(self.model, dirty)
            self.query_one(LogPanel).sync(self.model)
            self.query_one(OutputPanel).sync(self.model)
            self.query_one(StatusBar).refresh()
            self.query_one(Timeline).refresh()
        self.table.border_title = self.table_title()
        self.model_version = self.model.version

    def table_title(self) -> str:
        t = self.table
        parts = [f"modules ({len(t.shown)}/{len(self.model.rows)})", f"sort: crate, {t.sort_mode}"]
        if t.changed_only:
            parts.append("changed only")
        if t.search:
            parts.append(f"search: {t.search}")
        return " · ".join(parts)

    # -- actions -----------------------------------------------------------------
    async def action_quit(self) -> None:
        await self.stop_engine()
        self.exit(self.exit_code())

    async def stop_engine(self) -> None:
        for worker in self.workers:
            if worker.group == "engine":
                worker.cancel()
                try:
                    await worker.wait()
                except Exception:
                    pass

    def exit_code(self) -> int:
        if self.engine_error is not None:
            return 1
        return exit_code(self.session.last) if self.session is not None and self.session.last else 0

    def action_rebuild(self) -> None:
        if self.session is not None:
            self.session.rebuild()
            self.notify("rebuild requested", timeout=2)

    def action_pause(self) -> None:
        if self.session is None:
            return
        if self.session.paused:
            self.session.resume()
        else:
            self.session.pause()
        self.flush()            # the session's Paused/Resumed event, shown now

    def action_changed_only(self) -> None:
        self.table.changed_only = not self.table.changed_only
        self.refresh_views(None)

    def action_sort(self) -> None:
        t = self.table
        t.sort_mode = SORTS[(SORTS.index(t.sort_mode) + 1) % len(SORTS)]
        self.refresh_views(None)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.table.search
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            t = self.table
            t.search = event.value.strip()
            # The engine knows the demangled names each module defines and imports.
            t.found = dict.fromkeys(self.session.find(t.search)) if self.session is not None else {}
            self.refresh_views(None)
            # The module that best matches (the one defining a matching function) is selected.
            best = next((mid for mid in t.found if mid in t.shown), None)
            if best is not None:
                t.move_cursor(row=t.get_row_index(best), animate=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            event.input.display = False
            self.table.focus()

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = False
        if self.table.search:
            box.value = ""
            self.table.search, self.table.found = "", {}
            self.refresh_views(None)
        self.table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, ModuleTable):
            self.inspect(event.row_key.value)

    def action_inspect(self) -> None:
        if self.table.current is not None:
            self.inspect(self.table.current)

    def inspect(self, module: str) -> None:
        self.push_screen(InspectorScreen(self.model, module))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def selected_function(self) -> tuple[str | None, str]:
        """(module, function) `e` opens: in the inspector the import under
        the cursor (in the module it comes from), else the module itself;
        on the table, the function the search names, if any."""
        if isinstance(self.screen, InspectorScreen):
            chosen = self.screen.selected_import()
            return (chosen[1], chosen[0]) if chosen else (self.screen.module, "")
        return self.table.current, self.table.search

    def action_edit(self) -> None:
        module, function = self.selected_function()
        if module is None or self.session is None:
            self.notify("no source file for this module", severity="warning")
            return
        try:
            path, line = self.session.source(module, function)
        except LookupError as e:
            self.notify(str(e), severity="warning")
            return
        self.open_in_editor(path, line)

    def open_in_editor(self, path: Path, line: int | None = None) -> None:
        editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        # `+LINE FILE`: what vi, vim, nano, emacs and most terminal editors take.
        at = [f"+{line}"] if line else []
        try:
            with self.suspend():
                subprocess.run([*editor, *at, str(path)])
        except Exception as e:      # SuspendNotSupported (headless, web), editor missing
            self.notify(f"cannot open an editor: {e}", severity="error")
        self.refresh()

    def on_show_optimized_ir(self, msg: ShowOptimizedIR) -> None:
        self._show_code(f"{self.model.name_of(msg.module)}: optimised IR",
                        lambda session: session.optimized_ir(msg.module))

    def on_show_imported_body(self, msg: ShowImportedBody) -> None:
        # Named as the why names it: demangled, else qualified by its module.
        row = self.model.rows.get(msg.module)
        what = (row.names.get(msg.function) if row else None) or f"{msg.exporter}::{msg.function}"
        self._show_code(f"{self.model.name_of(msg.module)}: imported {what}",
                        lambda session: session.imported_body(msg.module, msg.function))

    def _show_code(self, title: str, ask) -> None:
        """A code view of what `ask(session)` answers."""
        if self.session is None:
            self.notify("no engine in this session", severity="warning")
            return
        session = self.session
        self.push_screen(CodeScreen(title, lambda: ask(session)))

    def action_clean(self) -> None:
        self.push_screen(ConfirmScreen("Delete the cache and build state (as `thinwatch clean`) "
                                       "and rebuild everything?"), self.clean)

    def clean(self, yes: bool | None) -> None:
        if yes and self.session is not None:
            self.run_clean()

    @work(exclusive=True, group="clean")
    async def run_clean(self) -> None:
        await self.session.clean()
        self.notify("cache and build state deleted; rebuilding", timeout=3)


def run_app(root: Path | str, jobs: int, on_change: str = "restart", **session) -> int:
    code = ThinwatchApp(root, jobs, on_change, **session).run()
    return 1 if code is None else code
