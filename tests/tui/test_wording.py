"""Wording: the status bar and the timeline count in words (one module, one
backend job, one task on one worker), and the help says what `c` deletes."""

from __future__ import annotations

import asyncio

from engine.events import BuildFinished, BuildStarted, ModuleState, ModuleStatus, TaskFinished
from tuihelp import visible_text
from tui.app import ThinwatchApp
from tui.widgets.status import StatusBar
from tui.widgets.timeline import render_lanes


def test_a_single_module_is_counted_in_the_singular():
    asyncio.run(_single_module())


async def _single_module():
    app = ThinwatchApp("/ws/one", start=False)
    async with app.run_test(size=(130, 36)) as pilot:
        app.feed([BuildStarted(1, [], "/ws/one"),
                  ModuleState(1, "core::math", "core", ModuleStatus.REBUILT, why=["new module"]),
                  TaskFinished(1, "core::math", "backend", 4101, 0.0, 0.1),
                  BuildFinished(1, True, {"rebuilt": 1}, 0.2, {}, 1, None)])
        app.flush()
        await pilot.pause()
        status = app.query_one(StatusBar).render().plain
        assert "· 1 backend job ·" in status and " 1 module " in status
        assert "1 task on 1 worker" in render_lanes(app.model.tasks, 60, {}).plain


def test_the_help_says_what_c_deletes():
    """`c` is `thinwatch clean`: the cache, and the objects, units, links and
    state beside it. The help said "clean the cache"."""
    asyncio.run(_help_on_c())


async def _help_on_c():
    app = ThinwatchApp("/ws/one", start=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = " ".join(" ".join(visible_text(s).split()) for s in app.screen.query("#help Static"))
        assert "clean the cache" not in help_text
        assert "delete the cache and the build state, as `thinwatch clean` does" in help_text
