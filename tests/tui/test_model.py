"""The pure model: folding events, stale generations, superseded builds."""

from __future__ import annotations

from synthetic import MODULES, two_builds
from thinwatch.engine.events import REBUILD, BuildFinished, BuildStarted, ModuleState, ModuleStatus, TaskFinished
from thinwatch.tui.model import Model


def test_two_builds_fold_to_the_last_states():
    m = Model()
    dirty = m.apply(two_builds())
    assert dirty == set(MODULES)
    states = {mid: r.state for mid, r in m.rows.items()}
    assert states["core::geom"] == "rebuilt"
    assert states["app::main"] == states["app::shapes"] == "reimported"
    assert states["core::math"] == "reused"
    assert m.counts() == {"rebuilt": 1, "reimported": 2, "reused": 6}
    assert m.last.generation == 2 and m.watch_state == "watching"
    shapes = m.rows["app::shapes"]
    assert list(shapes.history) == [(1, "rebuilt"), (2, "reimported")]
    assert "point_manhattan" in m.why_text(shapes)
    # backend time saved: last known backend seconds of the 6 reused modules
    reused = [r for r in m.rows.values() if r.state == "reused"]
    assert m.saved_seconds() == sum(r.last_backend_s for r in reused) > 0
    assert {r.module for r in m.rows.values() if r.changed} == {"core::geom", "app::main", "app::shapes"}
    assert {t.worker for t in m.tasks} == {"1", "2"} and all(t.phase for t in m.tasks)


def test_stale_generation_never_overwrites_current_state():
    m = Model()
    m.apply(two_builds())
    late = [ModuleState(1, "core::math", "core", ModuleStatus.FAILED, why=["late"]),
            TaskFinished(1, "core::math", "backend", 1, 0.0, 99.0),
            BuildFinished(1, False, {}, 9.0, {}, 0, None)]
    m.apply(late)
    assert m.rows["core::math"].state == "reused"
    assert m.rows["core::math"].backend_s is None
    assert m.last.generation == 2 and m.last.ok


def test_superseded_build_keeps_the_last_good_build():
    m = Model()
    m.apply(two_builds())
    m.apply([BuildStarted(3, ["core/math.ll"], "/ws"), ModuleState(3, "core::math", "core", ModuleStatus.EMITTING)])
    assert m.watch_state == "building" and m.tasks == []
    m.apply([BuildFinished(3, False, {}, 0.1, {}, 0, None, superseded=True)])
    assert m.watch_state == "watching" and m.last.generation == 2
    assert "superseded" in m.log[-1].text
    # the abandoned build's late events are dropped once build 4 starts
    m.apply([BuildStarted(4, ["core/math.ll"], "/ws"), ModuleState(3, "core::math", "core", ModuleStatus.REBUILT)])
    assert m.rows["core::math"].state == "emitting"


def test_paused_and_failed_watch_states():
    m = Model()
    m.apply([BuildStarted(1, [], "/ws"), BuildFinished(1, False, {"failed": 1}, 0.1, {}, 0, None)])
    assert m.watch_state == "failed"
    m.paused = True
    assert m.watch_state == "paused"


def test_the_backend_llvm_is_logged_when_first_known_and_when_it_changes():
    m = Model()

    def finished(gen: int, llvm: str) -> list:
        return [BuildStarted(gen, [], "/ws"), BuildFinished(gen, True, {}, 0.1, {}, 0, None, backend_llvm=llvm)]
    m.apply(finished(1, "LLVM 22.1.2, /lib/a.so") + finished(2, "LLVM 22.1.2, /lib/a.so")
            + finished(3, "") + finished(4, "llvmlite 0.50.0 / LLVM 22.1.0 (assertions on)"))
    said = [line.text for line in m.log if "backends compiled by" in line.text]
    assert said == ["backends compiled by LLVM 22.1.2, /lib/a.so",
                    "backends compiled by llvmlite 0.50.0 / LLVM 22.1.0 (assertions on)"]


def test_where_tasks_run_is_logged_when_first_known_and_when_it_changes():
    m = Model()
    m.apply([ev for gen, where in enumerate(["2 local worker processes", "2 local worker processes", "",
                                              "Dask cluster at 10.0.0.1:8786 (8 workers)"], 1)
             for ev in (BuildStarted(gen, [], "/ws"), BuildFinished(gen, True, {}, 0.1, {}, 0, None, executor=where))])
    assert [line.text for line in m.log if "tasks run on" in line.text] == [
        "tasks run on 2 local worker processes", "tasks run on Dask cluster at 10.0.0.1:8786 (8 workers)"]


def test_the_log_counts_in_words_and_names_a_requested_rebuild_once():
    m = Model()
    m.apply([BuildStarted(1, [REBUILD], "/ws"), BuildFinished(1, True, {"rebuilt": 1}, 0.1, {}, 1, None),
             BuildStarted(2, ["app/main.ll", REBUILD], "/ws"), BuildFinished(2, True, {"rebuilt": 2}, 0.1, {}, 2, None)])
    assert [line.text for line in m.log] == [
        "build 1 started (rebuild requested)", "build 1 ok in 0.10s: 1 rebuilt (1 backend job)",
        "build 2 started (app/main.ll, rebuild requested)", "build 2 ok in 0.10s: 2 rebuilt (2 backend jobs)"]
