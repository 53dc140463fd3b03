"""`?`: every key, in one place."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.events import FINAL_STATES, LIVE_STATES, ModuleStatus

KEYS = (
    ("q", "quit (stops the engine and its workers)"),
    ("r", "rebuild now"),
    ("p", "pause / resume watching (edits while paused build on resume)"),
    ("/", "search modules by name (enter keeps the filter, esc clears it)"),
    ("enter", "inspect the module under the cursor; in the inspector, show an import's body"),
    ("o", "in the inspector: the module's optimised IR (its backend re-run)"),
    ("b", "in the inspector: the imported body under the cursor"),
    ("esc", "back / clear the search"),
    ("f", "toggle changed-only (hide reused modules)"),
    ("s", "cycle the sort within each crate: name, state, backend time, size"),
    ("e", "open the module's source in $EDITOR"),
    ("c", "clean the cache (asks first), then rebuild"),
    ("↑ ↓ j k", "move"),
    ("?", "this help"),
)
MEANING = {
    ModuleStatus.REBUILT: "own bitcode changed (or new): emission + backend",
    ModuleStatus.REIMPORTED: "own bitcode unchanged, backend key changed: backend only",
    ModuleStatus.REUSED: "backend key unchanged: cached object",
    ModuleStatus.FAILED: "see the log and the inspector",
    ModuleStatus.REMOVED: "its source is gone",
}
# The live states share a symbol: one line for them.
STATES = (*((s.symbol, s, MEANING[s]) for s in FINAL_STATES),
          (LIVE_STATES[0].symbol, " / ".join(LIVE_STATES), "in progress"))


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,q", "app.pop_screen", "close")]

    def compose(self) -> ComposeResult:
        keys = "\n".join(f"  [b]{k:<9}[/b] {what}" for k, what in KEYS)
        states = "\n".join(f"  {sym} [b]{name}[/b]: {what}" for sym, name, what in STATES)
        with Vertical(id="help"):
            yield Static("[b]thinwatch keys[/b]\n\n" + keys + "\n\n[b]module states[/b]\n\n" + states
                         + "\n\n[dim]esc or ? to close[/dim]")
