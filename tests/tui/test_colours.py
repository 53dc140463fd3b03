"""Every state reads: no text in the colour of its own background (the
`failed` count was red on red), and `rebuilt` and `reimported` differ in
colour in every theme (they were the same orange in textual-dark)."""

from __future__ import annotations

import asyncio

from rich.style import Style
from textual.color import Color

from synthetic import WS, failed_emission, two_builds
from tuihelp import show
from tui.app import ThinwatchApp
from tui.widgets.status import StatusBar

THEMES = ("textual-dark", "textual-light")


def brightness(c) -> float:
    return Color.from_rich_color(c).brightness


def test_status_bar_text_stands_out_from_its_background():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await show(pilot, two_builds() + failed_emission())
            for theme in THEMES:
                app.theme = theme
                await pilot.pause()
                text = app.query_one(StatusBar).render()
                assert "✗ 1 failed" in text.plain and "failed" in app.model.watch_state
                for span in text.spans:
                    style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
                    if style.color is None or style.bgcolor is None:
                        continue
                    said = text.plain[span.start:span.end]
                    gap = abs(brightness(style.color) - brightness(style.bgcolor))
                    assert gap > 0.25, f"{said!r} in {theme}: {style}"
    asyncio.run(drive())


def test_rebuilt_and_reimported_differ_in_colour():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            for theme in THEMES:
                app.theme = theme
                await pilot.pause()
                for widget, prefix in ((app.table, "module-table"), (app.query_one(StatusBar), "status")):
                    rebuilt, reimported = (widget.get_component_rich_style(f"{prefix}--{s}").color
                                           for s in ("rebuilt", "reimported"))
                    assert rebuilt != reimported, f"{prefix} in {theme}"
    asyncio.run(drive())
