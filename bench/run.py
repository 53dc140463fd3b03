"""The benchmark: edit scenarios on a generated Cargo workspace, measured for
thinwatch (watch mode) and both anchors in one run, interleaved; cold builds;
real programs of the corpus against cargo's own profiles (bench/real.py);
the IR scaling table. Prints Markdown (the tables of docs/benchmarks.md) and
writes the raw numbers as JSON.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import orjson

from .anchors import CargoAlone, CargoAnchor, Result, ThinwatchWatch, run_exe, sha, thinwatch_once, write_bytecode
from .generate import CargoSpec, Edit, IRSpec, generate_cargo, generate_ir
from .real import PROGRAMS, QUICK, real_bench, report_real
from .stats import fmt, log, median, ratio

SCENARIOS = ("no-op save", "comment only", "imported leaf", "private helper", "medium function", "add function")
TOOLS = ("thinwatch", "rust-lld", "rustc-incremental")
ALONE = "cargo alone"       # thinwatch's cargo command without thinwatch: the frontend's floor
FEWER_JOBS = ("private helper", "medium function")    # strictly fewer backend jobs than rust-lld
HALF_LLD = ("private helper", "medium function")      # <= 0.5x rust-lld wall time


# ---------------------------------------------------------------------------
# Cargo scenarios
# ---------------------------------------------------------------------------

def cargo_bench(work: Path, spec: CargoSpec, reps: int, jobs: int, cold_reps: int) -> dict:
    copies = {t: work / f"cargo-{t.replace(' ', '-')}" for t in (*TOOLS, ALONE)}
    targets = {}
    for t, d in copies.items():
        targets = generate_cargo(d, spec)
    edits = {t: Edit(copies[t], targets, "rust") for t in copies}

    # -- cold builds, interleaved ------------------------------------------------
    cold: dict[str, list[float]] = {t: [] for t in TOOLS}
    cold_jobs: dict[str, int | None] = {}
    cold_tw_phases = []
    cold_peak_kib: dict[str, int | None] = {}

    def cold_build(t: str, memory: bool) -> tuple[float, int | None]:
        d = work / f"cold-{t}"
        shutil.rmtree(d, ignore_errors=True)
        generate_cargo(d, spec)
        try:
            if t == "thinwatch":
                s, ev, peak = thinwatch_once(d, jobs, memory)
                cold_jobs[t] = ev["backend_jobs"]
                if not memory:
                    cold_tw_phases.append(ev["phases"])
                return s, peak
            r = CargoAnchor(t, d, jobs).build(memory)
            cold_jobs[t] = r.backend_jobs
            return r.seconds, r.extra["peak_kib"]
        finally:
            shutil.rmtree(d, ignore_errors=True)

    for rep in range(cold_reps):
        for t in TOOLS:
            s, _ = cold_build(t, memory=False)
            cold[t].append(s)
            log(f"cold {t} rep {rep}: {s:.2f}s")
    for t in TOOLS:           # sampling costs CPU: memory comes from a build that is not timed
        _, cold_peak_kib[t] = cold_build(t, memory=True)
        log(f"cold {t} peak memory: {cold_peak_kib[t] / 1024:.0f} MiB")

    # -- warm up every copy ------------------------------------------------------------
    anchors = {t: CargoAnchor(t, copies[t], jobs) for t in TOOLS[1:]}
    anchors[ALONE] = CargoAlone(copies[ALONE])
    for a in anchors.values():
        a.build()
    tw = ThinwatchWatch(copies["thinwatch"], jobs, log=work / "thinwatch-stderr.log")
    results: dict[str, dict[str, list[dict]]] = {s: {t: [] for t in (*TOOLS, ALONE)} for s in SCENARIOS}
    mismatches = []
    try:
        _, first, events = tw.wait_build()
        if not first["ok"]:
            raise RuntimeError(f"thinwatch initial build failed: {events[-10:]}")
        tw.quiet()
        n_modules = sum(first["counts"].values())
        tw_exe = Path(first["output"])
        serial = 0
        for rep in range(reps):
            for scenario in SCENARIOS:
                serial += 1
                outputs = {}
                for t in TOOLS:
                    if t == "thinwatch":
                        old = sha(tw_exe)
                        seconds, ev, evs, spurious = tw.timed_edit(lambda: edits[t].apply(scenario, serial))
                        if not ev["ok"]:
                            raise RuntimeError(f"thinwatch build failed: {[e for e in evs if e['reason'] == 'diagnostic']}")
                        r = Result(seconds, ev["backend_jobs"], run_exe(tw_exe), sha(tw_exe) != old,
                                   {"phases": ev["phases"], "counts": ev["counts"], "engine_seconds": ev["seconds"],
                                    "spurious_events": len(spurious),
                                    "states": {e["module"]: e["state"] for e in evs
                                               if e["reason"] == "module-state" and e["state"] in ("rebuilt", "reimported")}})
                    else:
                        edits[t].apply(scenario, serial)
                        r = anchors[t].build()
                    outputs[t] = r.output
                    results[scenario][t].append(asdict(r))
                    log(f"rep {rep} {scenario:16} {t:18} {r.seconds:7.3f}s jobs={r.backend_jobs} out={r.output[-16:]}")
                if len(set(outputs.values())) != 1:
                    mismatches.append({"scenario": scenario, "rep": rep, "outputs": outputs})
                    log(f"OUTPUT MISMATCH: {outputs}")
                edits[ALONE].apply(scenario, serial)
                r = anchors[ALONE].build()
                results[scenario][ALONE].append(asdict(r))
                log(f"rep {rep} {scenario:16} {ALONE:18} {r.seconds:7.3f}s")
        hwm = tw.hwm_kib()
    finally:
        tw.stop()
    return {"spec": asdict(spec), "targets": {k: asdict(v) for k, v in targets.items()},
            "modules": n_modules, "cold": cold, "cold_jobs": cold_jobs, "cold_thinwatch_phases": cold_tw_phases,
            "cold_peak_kib": cold_peak_kib,
            "scenarios": results, "mismatches": mismatches, "engine_hwm_kib": hwm}


# ---------------------------------------------------------------------------
# IR scaling
# ---------------------------------------------------------------------------

def ir_bench(work: Path, n: int, jobs: int, reps: int) -> dict:
    d = work / f"ir-{n}"
    shutil.rmtree(d, ignore_errors=True)
    targets = generate_ir(d, IRSpec(modules=n))
    edit = Edit(d, targets, "ir")
    tw = ThinwatchWatch(d, jobs, log=work / f"ir-{n}-stderr.log")
    out = {"modules": n}
    try:
        t1, cold, _ = tw.wait_build(timeout=7200)
        if not cold["ok"]:
            raise RuntimeError(f"IR cold build of {n} modules failed")
        out.update(cold_seconds=t1 - tw.t_start, cold_engine_seconds=cold["seconds"], cold_phases=cold["phases"],
                   units=sum(cold["counts"].values()), output=run_exe(Path(cold["output"])))
        tw.quiet()
        noop, forced, edit_runs = [], [], []
        for rep in range(reps):
            t0 = time.monotonic()
            edit.apply("no-op save", 0)
            t1, ev, _ = tw.wait_build()
            tw.quiet()
            noop.append({"seconds": t1 - t0, "phases": ev["phases"], "jobs": ev["backend_jobs"]})
            t0 = time.monotonic()
            tw.force_rebuild()              # every module checked, nothing to do
            t1, ev, _ = tw.wait_build()
            tw.quiet()
            forced.append({"seconds": t1 - t0, "phases": ev["phases"], "jobs": ev["backend_jobs"]})
            t0 = time.monotonic()
            edit.apply("medium function", 10_000 + rep)
            t1, ev, _ = tw.wait_build()
            tw.quiet()
            edit_runs.append({"seconds": t1 - t0, "phases": ev["phases"], "jobs": ev["backend_jobs"]})
        out["noop"] = noop
        out["forced"] = forced
        out["edit"] = edit_runs
        out["engine_hwm_kib"] = tw.hwm_kib()
    finally:
        tw.stop()
    seconds, ev, _ = thinwatch_once(d, jobs)       # a new process: nothing in memory
    out["fresh_noop"] = {"seconds": seconds, "engine_seconds": ev["seconds"], "phases": ev["phases"],
                         "jobs": ev["backend_jobs"]}
    shutil.rmtree(d / ".thinwatch", ignore_errors=True)
    return out


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def report(data: dict) -> str:
    env = data["env"]
    out = [f"Machine: {env['cpus']} CPUs, {env['platform']}; {env['rustc']}; -j {data['jobs']}; "
           f"{data['reps']} repetitions (interleaved), medians.\n"]
    if data.get("cargo"):
        out += report_cargo(data)
    if data.get("real"):
        out += report_real(data["real"], data["real_reps"])
    out += report_ir(data)
    return "\n".join(out)


def report_cargo(data: dict) -> list[str]:
    c = data["cargo"]
    out = []
    out.append(f"Cargo workspace: {c['spec']['crates']} library crates × {c['spec']['modules']} modules + `app` "
               f"(seed {c['spec']['seed']}): {c['modules']} bitcode modules in thinwatch's ThinLTO link; "
               f"edits in `{c['targets']['imported leaf']['file']}` "
               f"(the leaf `{c['targets']['imported leaf']['marker'].split('::')[-1]}` is called from "
               f"{len(c['targets']['imported leaf']['importers'])} modules).\n")
    out.append("| scenario | thinwatch | rust-lld | rustc-incr | tw/lld | tw/rustc | backend jobs tw / lld / rustc |")
    out.append("|---|---:|---:|---:|---:|---:|---|")
    med = {}
    for s in SCENARIOS:
        rs = c["scenarios"][s]
        m = {t: median(r["seconds"] for r in rs.get(t, [])) for t in (*TOOLS, ALONE)}
        j = {t: median(r["backend_jobs"] for r in rs[t]) for t in TOOLS}
        med[s] = (m, j)
        js = " / ".join("n/a" if j[t] is None else f"{j[t]:g}" for t in TOOLS)
        out.append(f"| {s} | {fmt(m['thinwatch'])} | {fmt(m['rust-lld'])} | {fmt(m['rustc-incremental'])} | "
                   f"{fmt(ratio(m['thinwatch'], m['rust-lld']), 'x')} | "
                   f"{fmt(ratio(m['thinwatch'], m['rustc-incremental']), 'x')} | {js} |")
    cm = {t: median(c["cold"][t]) for t in TOOLS}
    out.append(f"| cold build | {fmt(cm['thinwatch'])} | {fmt(cm['rust-lld'])} | {fmt(cm['rustc-incremental'])} | "
               f"{fmt(ratio(cm['thinwatch'], cm['rust-lld']), 'x')} | "
               f"{fmt(ratio(cm['thinwatch'], cm['rustc-incremental']), 'x')} | "
               + " / ".join(str(c["cold_jobs"].get(t)) for t in TOOLS) + " |")
    peaks = c.get("cold_peak_kib", {})
    if peaks:
        mib = {t: peaks[t] / 1024 if peaks.get(t) else None for t in TOOLS}
        out.append(f"| peak memory, cold build | {fmt(mib['thinwatch'], ' MiB', nd=0)} | "
                   f"{fmt(mib['rust-lld'], ' MiB', nd=0)} | {fmt(mib['rustc-incremental'], ' MiB', nd=0)} | "
                   f"{fmt(ratio(mib['thinwatch'], mib['rust-lld']), 'x')} | "
                   f"{fmt(ratio(mib['thinwatch'], mib['rustc-incremental']), 'x')} | |")
    out.append("")
    out.append("Peak memory: a separate, untimed cold build per tool; the largest sum of PSS (a shared page "
               "counts once) over the build's whole process tree (engine, workers, cargo, rustc, the linker), "
               f"sampled every 20 ms. The engine of the watch session above peaked at "
               f"{fmt((c.get('engine_hwm_kib') or 0) / 1024, ' MiB', nd=0)} RSS.")
    out.append("")
    out.append("thinwatch phase medians (seconds, from `build-finished.phases`; the rest of the edit-to-executable "
               "time is the watcher's debounce, process start-up of nothing (the engine is running) and event I/O):\n")
    out.append("| scenario | edit→exe | engine | frontend (cargo) | emit | thinlink | backend | link |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in SCENARIOS:
        rs = c["scenarios"][s]["thinwatch"]
        ph = lambda k: median(r["extra"]["phases"].get(k) for r in rs)
        out.append(f"| {s} | {fmt(median(r['seconds'] for r in rs))} | "
                   f"{fmt(median(r['extra']['engine_seconds'] for r in rs))} | {fmt(ph('frontend'))} | "
                   f"{fmt(ph('emit'))} | {fmt(ph('thinlink'), nd=3)} | {fmt(ph('backend'))} | {fmt(ph('link'))} |")
    out.append("")
    out.append("The frontend's floor: thinwatch's cargo command alone (its flags and shim, no thinwatch around "
               "it), on its own copy, the same edits in the same rounds. No ThinLTO after cargo can make an edit "
               "faster than this; where it is above 0.7x rustc-incremental's whole rebuild, that target is out of "
               "reach while cargo is the frontend:\n")
    out.append("| scenario | cargo alone | thinwatch | rustc-incr | thinwatch − cargo alone | cargo alone / rustc-incr |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for s in SCENARIOS:
        m = med[s][0]
        gap = None if m[ALONE] is None or m["thinwatch"] is None else m["thinwatch"] - m[ALONE]
        out.append(f"| {s} | {fmt(m[ALONE])} | {fmt(m['thinwatch'])} | {fmt(m['rustc-incremental'])} | "
                   f"{fmt(gap, nd=3)} | {fmt(ratio(m[ALONE], m['rustc-incremental']), 'x')} |")
    out.append("")
    if c["mismatches"]:
        out.append(f"**Output mismatches between tools: {len(c['mismatches'])}** (see the JSON).\n")
    else:
        out.append("All three executables printed the same checksum after every edit.\n")

    # targets
    out.append("### Targets\n")
    out.append("| target | measured | result |")
    out.append("|---|---|---|")

    def row(name, measured, ok):
        out.append(f"| {name} | {measured} | {'PASS' if ok else 'FAIL'} |")

    for s in SCENARIOS:
        m, j = med[s]
        jt, jl = j["thinwatch"], j["rust-lld"]
        worst = max(r["backend_jobs"] - l["backend_jobs"]
                    for r, l in zip(c["scenarios"][s]["thinwatch"], c["scenarios"][s]["rust-lld"]))
        strict = s in FEWER_JOBS
        ok = (jt < jl) if strict else worst <= 0
        row(f"backend jobs, {s}: {'<' if strict else '≤'} rust-lld's",
            f"{jt:g} vs {jl:g} (worst rep: {worst:+d})", ok)
    for s in SCENARIOS:
        m, _ = med[s]
        r1 = ratio(m["thinwatch"], m["rust-lld"])
        lim = 0.5 if s in HALF_LLD else 1.0
        row(f"edit→exe, {s}: ≤ {lim}x rust-lld", fmt(r1, "x"), r1 is not None and r1 <= lim)
        r2 = ratio(m["thinwatch"], m["rustc-incremental"])
        floor = ratio(m[ALONE], m["rustc-incremental"])
        row(f"edit→exe, {s}: ≤ 0.7x rustc-incremental",
            fmt(r2, "x") + ("" if floor is None else f" (cargo alone: {fmt(floor, 'x')})"), r2 is not None and r2 <= 0.7)
    rc = ratio(cm["thinwatch"], cm["rust-lld"])
    row(f"cold build ≤ 1.3x rust-lld ThinLTO (-j {data['jobs']})", fmt(rc, "x"), rc is not None and rc <= 1.3)
    out.append("")
    return out


def report_ir(data: dict) -> list[str]:
    out = []
    if data.get("ir"):
        out.append("### IR workspaces: scaling\n")
        out.append("No-op save: a file rewritten with the same bytes (the watcher compares contents). "
                   "Forced rebuild: nothing changed, every module checked (`r`, or SIGUSR1 to a headless "
                   "watch). New process: `thinwatch build --once` with nothing changed, its summary load "
                   "being the emit phase. Backend jobs: those of the medium-function edit.\n")
        out.append("| modules | cold build | thin link | no-op save | forced rebuild | new process (summary load) "
                   "| medium-function edit | backend jobs | engine peak RSS |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in data["ir"]:
            fresh = r.get("fresh_noop", {})
            out.append(f"| {r['modules']:,} ({r['units']:,} with aggregators) | {fmt(r['cold_seconds'])} | "
                       f"{fmt(median(x['phases'].get('thinlink') for x in r['forced']), nd=3)} | "
                       f"{fmt(median(x['seconds'] for x in r['noop']))} | "
                       f"{fmt(median(x['seconds'] for x in r['forced']))} | "
                       f"{fmt(fresh.get('seconds'))} ({fmt(fresh.get('phases', {}).get('emit'))}) | "
                       f"{fmt(median(x['seconds'] for x in r['edit']))} | "
                       f"{median(x['jobs'] for x in r['edit']):g} | "
                       f"{(r['engine_hwm_kib'] or 0) / 1024:.0f} MiB |")
        out.append("")
        out += ir_targets(data["ir"])
        out.append("Cold phases (engine seconds): " + "; ".join(
            f"{r['modules']:,}: " + ", ".join(f"{k} {v:.2f}" for k, v in r["cold_phases"].items()) for r in data["ir"]))
        out.append("")
    return out


def ir_targets(runs: list[dict]) -> list[str]:
    out = ["| target | measured | result |", "|---|---|---|"]
    limits = {1_000: [("no-op rebuild", 0.5), ("thin link", 1.0)], 10_000: [("no-op rebuild", 5.0)]}
    for r in runs:
        for what, limit in limits.get(r["modules"], []):
            if what == "thin link":
                got = median(x["phases"].get("thinlink") for x in r["forced"])
            else:                      # the forced rebuild: the no-op that does all the checking
                got = median(x["seconds"] for x in r["forced"])
            out.append(f"| IR {r['modules']:,} modules, {what} < {limit:g} s | {fmt(got)} | "
                       f"{'PASS' if got is not None and got < limit else 'FAIL'} |")
        if r["modules"] == 10_000:
            mib = (r["engine_hwm_kib"] or 0) / 1024
            out.append(f"| IR 10,000 modules, engine memory < 1 GiB | {mib:.0f} MiB | "
                       f"{'PASS' if r['engine_hwm_kib'] and mib < 1024 else 'FAIL'} |")
    return out + [""] if len(out) > 2 else []


def environment() -> dict:
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "rustc": rustc, "python": sys.version.split()[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m bench", description="thinwatch against rust-lld ThinLTO and rustc "
                                "incremental ThinLTO, and on real programs against cargo's release (thin, fat, "
                                "no LTO) and dev profiles; prints Markdown tables, writes JSON.")
    p.add_argument("--quick", action="store_true", help="small subset: 3 reps, 1 cold rep, 1 rep on the real programs, IR at 100 and 1,000 modules")
    p.add_argument("--reps", type=int, default=None, help="repetitions per edit scenario (default 5, quick 3)")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--ir", default=None, help="comma-separated IR sizes (default 100,1000,10000; quick 100,1000)")
    p.add_argument("--no-cargo", action="store_true")
    p.add_argument("--real", default=None,
                   help=f"comma-separated real programs of tests/corpus (default {','.join(PROGRAMS)}; "
                        f"quick {','.join(QUICK)})")
    p.add_argument("--no-real", action="store_true")
    p.add_argument("--real-reps", type=int, default=None,
                   help="repetitions per edit on the real programs (default 3, quick 1: a round of bat's edits "
                        "took 16 min on a loaded machine)")
    p.add_argument("--crates", type=int, default=CargoSpec.crates)
    p.add_argument("--modules", type=int, default=CargoSpec.modules)
    p.add_argument("--seed", type=int, default=CargoSpec.seed)
    p.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temporary one, removed)")
    p.add_argument("--json", type=Path, default=Path("bench-results.json"), help="raw results file")
    a = p.parse_args(argv)
    reps = a.reps or (3 if a.quick else 5)
    default_ir = "100,1000" if a.quick else "100,1000,10000"
    sizes = [int(x) for x in (default_ir if a.ir is None else a.ir).split(",") if x]
    work = a.work or Path(tempfile.mkdtemp(prefix="thinwatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    real_reps = a.real_reps or (1 if a.quick else 3)
    data = {"env": environment(), "jobs": a.jobs, "reps": reps, "quick": a.quick, "real_reps": real_reps}
    write_bytecode()
    try:
        if not a.no_cargo:
            data["cargo"] = cargo_bench(work, CargoSpec(crates=a.crates, modules=a.modules, seed=a.seed),
                                        reps, a.jobs, 1 if a.quick else 3)
        if not a.no_real:
            names = (",".join(QUICK if a.quick else PROGRAMS) if a.real is None else a.real).split(",")
            data["real"] = real_bench(work, [x for x in names if x], real_reps, a.jobs)
            a.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        data["ir"] = []
        for n in sizes:
            log(f"IR {n} modules …")
            data["ir"].append(ir_bench(work, n, a.jobs, 1 if n >= 10_000 else min(reps, 3)))
            a.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    finally:
        a.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(report(data))
    return 0
