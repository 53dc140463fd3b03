"""The counts line says which build it is about, and after a failed build it
shows that failure, not the last good build's numbers as if current."""

from __future__ import annotations

import asyncio
import dataclasses

from thinwatch.engine.events import BuildStarted, ModuleState, ModuleStatus
from synthetic import WS, failed_before_modules, failed_emission, two_builds
from tuihelp import show
from thinwatch.tui.app import ThinwatchApp
from thinwatch.tui.widgets.status import StatusBar


def counts_after(*batches) -> list[str]:
    """The counts line after each batch of events."""
    async def drive():
        app = ThinwatchApp(WS, start=False)
        said = []
        async with app.run_test(size=(160, 45)) as pilot:
            for events in batches:
                await show(pilot, events)
                said.append(app.query_one(StatusBar).render().plain.splitlines()[1])
        return said
    return asyncio.run(drive())


def test_a_good_build_is_named():
    [line] = counts_after(two_builds())
    assert line.startswith("build 2 · ok in 233 ms · ● 1 rebuilt ◐ 2 reimported ○ 6 reused · 3 backend jobs")


def test_a_build_failed_before_its_modules_shows_the_failure():
    _, line = counts_after(two_builds(), failed_before_modules())
    assert line.startswith("✗ build 3 failed in 50 ms · no module built (see the log)")
    assert "last good: build 2" in line
    assert "rebuilt" not in line and "reimported" not in line


def test_a_failed_module_is_counted():
    _, line = counts_after(two_builds(), failed_emission())
    assert line.startswith("✗ build 3 failed in 120 ms · ○ 8 reused ✗ 1 failed · 0 backend jobs")


def test_a_running_build_counts_only_its_own_modules():
    started = [BuildStarted(3, ["core/geom.ll"], WS), ModuleState(3, "core::geom", "core", ModuleStatus.PENDING),
               ModuleState(3, "core::math", "core", ModuleStatus.REUSED)]
    _, line = counts_after(two_builds(), started)
    assert line.startswith("build 3 · … 1 in progress ○ 1 reused")
    assert "rebuilt" not in line and "reimported" not in line


def test_the_status_line_says_where_tasks_run():
    """A build's executor (a Dask cluster, or the local pool) is on the first line."""
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            events = two_builds()
            events[-1] = dataclasses.replace(events[-1], executor="Dask cluster at tcp://10.0.0.5:8786 (4 workers)")
            await show(pilot, events)
            return app.query_one(StatusBar).render().plain.splitlines()[0]
    assert "tasks on Dask cluster at tcp://10.0.0.5:8786 (4 workers)" in asyncio.run(drive())
