"""Timeline rows are named by worker number in order of first appearance (or
by host), never by PID; early backend jobs (run while cargo compiled) are
drawn apart and counted in the module's backend time."""

from __future__ import annotations

import asyncio

from engine.events import BuildFinished, BuildStarted, ModuleState, ModuleStatus, TaskFinished
from synthetic import PIDS, WS, two_builds
from tuihelp import show, visible_text
from tui.app import ThinwatchApp
from tui.widgets.timeline import Timeline


def timeline_after(*batches) -> tuple[ThinwatchApp, list[str]]:
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            said = []
            for events in batches:
                await show(pilot, events)
                said.append(visible_text(app.query_one(Timeline)))
            return app, said
    return asyncio.run(drive())


def build(gen: int, tasks: list[TaskFinished]) -> list:
    return ([BuildStarted(gen, [], WS), ModuleState(gen, "core::math", "core", ModuleStatus.PENDING)] + tasks
            + [ModuleState(gen, "core::math", "core", ModuleStatus.REBUILT, why=["new module"]),
               BuildFinished(gen, True, {"rebuilt": 1}, 0.3, {}, len(tasks), None)])


def test_rows_are_named_by_worker_number_not_pid():
    _, [shown] = timeline_after(two_builds())
    rows = [line.split("│")[0].strip() for line in shown.splitlines() if "│" in line]
    assert rows == ["1", "2"]
    assert not any(str(pid) in shown for pid in PIDS)


def test_a_worker_keeps_its_number_and_a_new_one_takes_the_next():
    _, [first, second] = timeline_after(
        build(1, [TaskFinished(1, "core::math", "backend", 4102, 0.0, 0.1),
                  TaskFinished(1, "core::math", "backend", 4101, 0.0, 0.1)]),
        build(2, [TaskFinished(2, "core::math", "backend", 4101, 0.0, 0.1),
                  TaskFinished(2, "core::math", "backend", 5000, 0.0, 0.1)]))
    assert [line.split("│")[0].strip() for line in second.splitlines() if "│" in line] == ["2", "3"]


def test_a_host_names_its_row():
    _, [shown] = timeline_after(build(1, [TaskFinished(1, "core::math", "backend", "builder-a", 0.0, 0.1)]))
    assert shown.splitlines()[0].startswith("builder-a │")


def test_early_backend_jobs_are_drawn_apart():
    app, [shown] = timeline_after(build(1, [
        TaskFinished(1, "core::math", "backend", 4101, 0.0, 0.1, early=True),
        TaskFinished(1, "core::geom", "backend", 4101, 0.1, 0.1)]))
    assert "▓" in shown and "▓ early backend" in shown and "█ backend" in shown
    assert app.model.rows["core::math"].backend_s == 0.1


def test_early_backend_jobs_have_a_colour_of_their_own():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)):
            timeline = app.query_one(Timeline)
            early, backend = (timeline.get_component_rich_style(f"timeline--{k}") for k in ("early", "backend"))
            assert early.color != backend.color
    asyncio.run(drive())
