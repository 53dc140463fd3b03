"""SVG snapshots of every screen at 80x24 and 160x45, in colour and with
NO_COLOR, fed from fixed synthetic events (no engine: no timings, PIDs or
paths that vary). Update with
`python3 -m pytest tests/tui/test_snapshots.py --snapshot-update`."""

from __future__ import annotations

import pytest

from synthetic import WS, chatty_run, failed_emission, two_builds
from tuihelp import show
from tui.app import ThinwatchApp

SIZES = {"80x24": (80, 24), "160x45": (160, 45)}


@pytest.fixture(params=SIZES)
def size(request):
    return SIZES[request.param]


@pytest.fixture(params=["colour", "no-colour"])
def app(request, monkeypatch) -> ThinwatchApp:
    """The app, made after NO_COLOR is set or unset (Textual reads it then)."""
    if request.param == "no-colour":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    return ThinwatchApp(WS, start=False)


async def two(pilot) -> None:
    await show(pilot, two_builds())


def test_main_screen(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=two)


def test_changed_only_by_state(snap_compare, app, size):
    async def before(pilot):
        await two(pilot)
        await pilot.press("f", "s")
        await pilot.pause()
    assert snap_compare(app, terminal_size=size, run_before=before)


def test_failed_build_with_program_output(snap_compare, app, size):
    async def before(pilot):
        await show(pilot, two_builds() + [chatty_run(2, 40)] + failed_emission(3))
    assert snap_compare(app, terminal_size=size, run_before=before)


def test_inspector(snap_compare, app, size):
    async def before(pilot):
        await two(pilot)
        table = pilot.app.table
        table.move_cursor(row=table.get_row_index("app::shapes"))
        await pilot.press("enter")
        await pilot.pause()
    assert snap_compare(app, terminal_size=size, run_before=before)


def test_help(snap_compare, app, size):
    async def before(pilot):
        await two(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
    assert snap_compare(app, terminal_size=size, run_before=before)
