"""A fixed event stream (two builds of the sample workspace: a cold build,
then the edit of core::geom::point_manhattan), for deterministic snapshots
and model tests. Pids and times are made up and constant."""

from __future__ import annotations

from engine.events import (BuildFinished, BuildStarted, Diagnostic, LinkFinished, ModuleState,
                           ModuleStatus, ProgramFinished, TaskFinished)

WS = "/ws/sample"
MODULES = ["app::main", "app::pipeline", "app::shapes", "core::counter", "core::geom", "core::math",
           "core::report", "core::stats", "core::table"]
GEOM = ["point_init", "point_manhattan", "point_translate"]
IMPORTS = {
    "app::main": [["shapes_demo", "app::shapes", "dd37fbe98d37396896"], ["counter_bump", "core::counter", "932c94816a57371d2f"]]
    + [[f, "core::geom", f"{i}c0ffee{i}" * 3] for i, f in enumerate(GEOM)],
    "app::pipeline": [["counter_bump", "core::counter", "932c94816a57371d2f"], ["table_get", "core::table", "4bc4120f8d191f3a78"]],
    "app::shapes": [["counter_bump", "core::counter", "932c94816a57371d2f"]]
    + [[f, "core::geom", f"{i}c0ffee{i}" * 3] for i, f in enumerate(GEOM)],
}
EXPORTED = {
    "core::geom": [f"{m}: {f}" for m in ("app::main", "app::shapes") for f in GEOM],
    "core::counter": ["app::main: counter_bump", "app::pipeline: counter_bump", "app::shapes: counter_bump"],
    "core::table": ["app::pipeline: table_get"],
    "app::shapes": ["app::main: shapes_demo"],
}
PROMOTED = {"core::counter": ["counter"]}
SIZES = {m: 700 + 97 * i for i, m in enumerate(MODULES)}
PIDS = (4101, 4102)


def crate(m: str) -> str:
    return m.split("::")[0]


def final(gen: int, m: str, state: str, why: list[str]) -> ModuleState:
    return ModuleState(gen, m, crate(m), ModuleStatus(state), why=why, imports=IMPORTS.get(m, []),
                       exported_to=EXPORTED.get(m, []), promoted=PROMOTED.get(m, []),
                       internalized=["offset"] if m == "app::shapes" else [], object_size=SIZES[m])


def build(gen: int, t0: float, states: dict[str, tuple[str, list[str]]], trigger: list[str]) -> list:
    evs = [BuildStarted(gen, trigger, WS)] + [ModuleState(gen, m, crate(m), ModuleStatus.PENDING) for m in MODULES]
    clock = {pid: t0 for pid in PIDS}
    work = [m for m in MODULES if states[m][0] != "reused"]
    for i, m in enumerate(work):                  # emission of rebuilt modules
        if states[m][0] != "rebuilt":
            continue
        pid = PIDS[i % 2]
        evs += [ModuleState(gen, m, crate(m), ModuleStatus.EMITTING),
                TaskFinished(gen, m, "emit", pid, clock[pid], 0.010 + 0.002 * i)]
        clock[pid] += 0.012 + 0.002 * i
    for m in MODULES:
        if states[m][0] == "reused":
            evs.append(final(gen, m, "reused", []))
    for i, m in enumerate(work):
        pid = PIDS[i % 2]
        secs = 0.020 + 0.005 * (i % 4) + (0.050 if m == "app::main" else 0)
        evs += [ModuleState(gen, m, crate(m), ModuleStatus.OPTIMIZING),
                TaskFinished(gen, m, "backend", pid, clock[pid], secs),
                final(gen, m, *states[m])]
        clock[pid] += secs + 0.001
    return evs


def two_builds() -> list:
    cold = {m: ("rebuilt", ["new module"]) for m in MODULES}
    why = ["imported core::geom::point_manhattan changed"]
    edit = {m: ("reused", []) for m in MODULES}
    edit.update({"core::geom": ("rebuilt", ["own bitcode changed"]),
                 "app::main": ("reimported", why), "app::shapes": ("reimported", why)})
    return (build(1, 1000.0, cold, [])
            + [LinkFinished(1, f"{WS}/.thinwatch/out/sample", False, 0.031),
               BuildFinished(1, True, {"rebuilt": 9}, 0.412, {"emit": 0.2, "backend": 0.18}, 9,
                             f"{WS}/.thinwatch/out/sample")]
            + build(2, 2000.0, edit, ["core/geom.ll"])
            + [Diagnostic(2, "warning", "unused function @iabs", module="core::geom", file="core/geom.ll",
                          line=14, col=1),
               LinkFinished(2, f"{WS}/.thinwatch/out/sample", False, 0.029),
               BuildFinished(2, True, {"rebuilt": 1, "reimported": 2, "reused": 6}, 0.233,
                             {"emit": 0.05, "backend": 0.15}, 3, f"{WS}/.thinwatch/out/sample")])


def failed_emission(gen: int = 3) -> list:
    """A build in which core::geom fails to emit; every other module is reused."""
    msg = "expected instruction opcode"
    return ([BuildStarted(gen, ["core/geom.ll"], WS)]
            + [ModuleState(gen, m, crate(m), ModuleStatus.PENDING) for m in MODULES]
            + [Diagnostic(gen, "error", msg, module="core::geom", file="core/geom.ll", line=9, col=3),
               ModuleState(gen, "core::geom", "core", ModuleStatus.FAILED, why=[msg])]
            + [final(gen, m, "reused", []) for m in MODULES if m != "core::geom"]
            + [BuildFinished(gen, False, {"failed": 1, "reused": len(MODULES) - 1}, 0.120, {}, 0, None)])


def failed_before_modules(gen: int = 3) -> list:
    """A build that fails before any module is touched (as when cargo fails)."""
    return [BuildStarted(gen, ["core/geom.ll"], WS),
            Diagnostic(gen, "error", "could not compile `core`", file="core/geom.ll", line=9),
            BuildFinished(gen, False, {}, 0.050, {}, 0, None)]


def chatty_run(gen: int = 2, lines: int = 5000) -> ProgramFinished:
    """The manifest's `run` command printing `lines` lines after build `gen`."""
    return ProgramFinished(gen, "run", "sample", 0, "".join(f"step {i}: ok\n" for i in range(lines)))
