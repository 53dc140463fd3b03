"""The inspector's import list has the focus when it opens (arrows and `b`
work without Tab); `esc` goes back and `q` quits on every screen."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable

from synthetic import IMPORTS, WS, two_builds
from tuihelp import show
from tui.app import ThinwatchApp
from tui.messages import ShowImportedBody
from tui.screens.code import CodeScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.inspector import InspectorScreen


class Recording(ThinwatchApp):
    """Keeps the imported bodies asked for (there is no engine to show them)."""

    def __init__(self):
        super().__init__(WS, start=False)
        self.asked: list[tuple[str, str]] = []

    def on_show_imported_body(self, msg: ShowImportedBody) -> None:
        self.asked.append((msg.function, msg.exporter))


def test_the_inspectors_import_list_takes_arrows_and_b_at_once():
    async def drive():
        app = Recording()
        async with app.run_test(size=(160, 45)) as pilot:
            await show(pilot, two_builds())
            app.table.move_cursor(row=app.table.get_row_index("app::main"))
            await pilot.press("enter")
            await pilot.pause()
            imports = app.screen.query_one("#ins-imports", DataTable)
            assert app.focused is imports
            await pilot.press("down", "b")
            await pilot.pause()
            name, exporter, _ = IMPORTS["app::main"][1]
            assert app.asked == [(name, exporter)]
    asyncio.run(drive())


async def code(pilot) -> None:
    async def text() -> str:
        return "define i32 @f() {\n  ret i32 0\n}\n"
    pilot.app.push_screen(CodeScreen("app::main: optimised IR", text))


SCREENS = {
    "inspector": (InspectorScreen, lambda pilot: pilot.press("enter")),
    "help": (HelpScreen, lambda pilot: pilot.press("question_mark")),
    "clean": (ConfirmScreen, lambda pilot: pilot.press("c")),
    "code": (CodeScreen, code),
}


async def open_screen(pilot, name: str) -> None:
    kind, opener = SCREENS[name]
    await show(pilot, two_builds())
    await opener(pilot)
    await pilot.pause()
    assert isinstance(pilot.app.screen, kind)


@pytest.mark.parametrize("name", SCREENS)
def test_esc_goes_back(name):
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_screen(pilot, name)
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.screen_stack) == 1
    asyncio.run(drive())


@pytest.mark.parametrize("name", SCREENS)
def test_q_quits(name):
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_screen(pilot, name)
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running
    asyncio.run(drive())
