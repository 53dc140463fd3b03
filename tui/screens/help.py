"""`?`: every key, in one place."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from thinwatch.engine.events import FINAL_STATES, LIVE_STATES

KEYS = (
    ("q", "quit, from any screen (stops the engine and its workers)"),
    ("r", "rebuild now"),
    ("p", "pause / resume watching (edits while paused build on resume)"),
    ("/", "search modules by name (enter keeps the filter, esc clears it)"),
    ("enter", "inspect the module under the cursor; in the inspector, show an import's body"),
    ("o", "in the inspector: the module's optimised IR (its backend re-run)"),
    ("b", "in the inspector: the imported body under the cursor"),
    ("esc", "back, from any screen; on the main screen, clear the search"),
    ("f", "toggle changed-only (hide reused modules)"),
    ("s", "cycle the sort within each crate: name, state, backend time, size"),
    ("e", "open the module's source in $EDITOR"),
    # Said as what it does: `thinwatch clean` deletes more than the cache.
    ("c", "delete the cache and the build state, as `thinwatch clean` does (asks first; "
          "executables stay), then rebuild everything"),
    ("↑ ↓ j k", "move"),
    ("?", "this help"),
)
# The live states share a symbol: one line for them.
STATES = (*((s.symbol, s, s.meaning) for s in FINAL_STATES),
          (LIVE_STATES[0].symbol, "in progress", " / ".join(LIVE_STATES)))


def grid(rows) -> Table:
    """Two columns, so a long line wraps under its own text, not under the key."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    for row in rows:
        table.add_row(*row)
    return table


class HelpScreen(ModalScreen):
    # A modal screen keeps the app's keys from reaching the app: `q` quits
    # here too, as on every screen.
    BINDINGS = [Binding("escape,question_mark", "app.pop_screen", "close"), Binding("q", "app.quit", "quit")]

    def compose(self) -> ComposeResult:
        # Scrolls: at 80x24 the keys and states are taller than the screen.
        with VerticalScroll(id="help"):
            yield Static("[b]thinwatch keys[/b]")
            yield Static(grid((Text(k, style="bold"), what) for k, what in KEYS))
            yield Static("[b]module states[/b]")
            yield Static(grid((Text(f"{sym} {name}", style="bold"), what) for sym, name, what in STATES))
            yield Static("[dim]esc or ? to close, q to quit[/dim]")
