"""A read-only view of IR text: a module's optimised IR, or the fragment it
imported for one function. The text is produced by a coroutine (a backend
re-run takes a moment), shown as soon as it arrives."""

from __future__ import annotations

from typing import Awaitable, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from engine.session_api import plural


class CodeScreen(Screen):
    # priority: the TextArea would otherwise take escape for itself. `q`
    # is left to the app: it quits, as on every screen.
    BINDINGS = [Binding("escape", "app.pop_screen", "back", priority=True)]

    def __init__(self, title: str, produce: Callable[[], Awaitable[str]]):
        super().__init__()
        self.heading = title
        self.produce = produce

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.heading}[/b]  (loading…)", id="code-title")
        yield TextArea("", read_only=True, show_line_numbers=True, id="code")
        yield Footer(compact=True, show_command_palette=False)   # as on the main screen: room at 80 columns

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        try:
            text = await self.produce()
        except (LookupError, Exception) as e:      # shown, never raised into the app
            self.query_one("#code-title", Static).update(f"[b]{self.heading}[/b]  [red]{e}[/red]")
            return
        self.query_one("#code-title", Static).update(f"[b]{self.heading}[/b]  ({plural(text.count(chr(10)), 'line')})")
        self.query_one("#code", TextArea).load_text(text)
