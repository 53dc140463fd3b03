"""Real programs of the corpus (tests/corpus/registry, on Debian's vendored
registry crates), built by what users compare thinwatch with, side by side
and interleaved, each tool on its own copy of the workspace:

- `thinwatch watch` (an edit timed from the save to `build-finished`) and
  `thinwatch build` (a new process per edit);
- `cargo build --release` with the release profile's `lto` set to "thin",
  "fat" and false (CARGO_PROFILE_RELEASE_LTO: what a user's Cargo.toml sets);
- `cargo build`: the dev profile, incremental, what users fall back to;
- "cargo alone": thinwatch's own cargo command (bench/anchors.py's
  `CargoAlone`) without thinwatch around it, the floor of thinwatch's
  times: its executable is the shim's placeholder, so it has no output.

Every tool builds the program alone (`--bin`). Each copy's first build is its
tool's cold build, with its peak memory sampled in it (bench/peak.py): one
cold build per tool keeps a run short, and the sampling's CPU cost falls on
every tool alike. After every build, each tool's executable runs with the
program's arguments, and all must print the same.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .anchors import (REPO, CargoAlone, Result, ThinwatchWatch, cargo_env, run_build_command, run_exe,
                      startup_seconds, thinwatch_once)
from .peak import PeakMemory
from .stats import fmt, log, median, ratio

CORPUS = REPO / "tests" / "corpus"
COMMENT = "// thinwatch bench: rev {}"      # appended to the edited file, so a comment edit is in place


@dataclass(frozen=True)
class Knob:
    """An edit that makes a fresh value every time: the first match of a
    regular expression in a file below the workspace, rewritten."""
    file: str
    pattern: str
    new: Callable[[int], str]         # the match's new text, different for every edit serial


@dataclass(frozen=True)
class RealProgram:
    workspace: str                    # a directory of tests/corpus/
    binary: str
    args: tuple[str, ...]             # run from the workspace's root
    top: Knob                         # in the binary's own crate; the comment edits go to its file too
    library: Knob | None = None       # in a library crate of the workspace the binary uses


# bat is the corpus's largest program (429 modules, 68 crates), the only
# one with a library crate of the workspace (bat's own `bat` library, which
# its binary uses); simplegrep the next (185 modules, 35 crates), rayonsum
# (89 modules, 13 crates). The libraries of those two are all registry
# crates (read-only): they have no library edit to make.
PROGRAMS = {p.binary: p for p in (
    RealProgram("bat", "bat",
                # Nothing read from the user's config, cache, pager or terminal.
                ("--no-config", "--no-custom-assets", "--paging=never", "--color=always", "--theme=ansi",
                 "--decorations=always", "--style=header-filename,header-filesize,numbers,grid",
                 "--terminal-width=80", "bat/build.rs"),
                Knob("bat/src/bin/bat/input.rs", r'Some\("File[^"]*"', lambda n: f'Some("File (rev {n})"'),
                Knob("bat/src/printer.rs", r'"Size[^:"]*: \{\}"', lambda n: f'"Size (rev {n}): {{}}"')),
    RealProgram("registry", "simplegrep", ("fo+", "simplegrep/input/list.txt", "simplegrep/input/poem.txt"),
                Knob("simplegrep/src/main.rs", r'"Usage: simplegrep[^<]*<', lambda n: f'"Usage: simplegrep (rev {n}) <')),
    RealProgram("registry", "rayonsum", (),
                Knob("rayonsum/src/main.rs", r"\(i \* i \+ 7 \* i\) % \d+", lambda n: f"(i * i + 7 * i) % {1009 + n}")),
)}
QUICK = ("bat", "simplegrep")        # the "simplegrep and the largest one"
TOOLS = ("thinwatch watch", "thinwatch build", "release thin LTO", "release fat LTO", "release no LTO",
         "dev incremental", "cargo alone")
# "nothing changed": the build command run again (watch mode: a forced
# rebuild, its `r`), unlike a no-op save, whose new mtime makes cargo
# recompile the crate.
SCENARIOS = ("top crate", "workspace library", "comment only", "no-op save", "nothing changed")
WATCH, BUILD, THIN, FAT, NO_LTO, DEV, ALONE = TOOLS


def scenarios(program: RealProgram) -> tuple[str, ...]:
    return tuple(s for s in SCENARIOS if s != "workspace library" or program.library)


def prepare(root: Path, program: RealProgram) -> Path:
    """A copy of the workspace, with cargo's registry config above it as in
    tests/corpus; returns the workspace. A corpus workspace's symbolic links
    into Debian's registry (bat's sources) are copied as the files they
    name, so the copy's sources can be edited."""
    shutil.copytree(CORPUS / ".cargo", root / ".cargo")
    ws = root / program.workspace
    shutil.copytree(CORPUS / program.workspace, ws, ignore=shutil.ignore_patterns("target", ".thinwatch"))
    with open(ws / program.top.file, "a") as f:
        f.write(COMMENT.format(0) + "\n")
    return ws


def apply_edit(ws: Path, program: RealProgram, scenario: str, serial: int) -> None:
    if scenario == "nothing changed":
        return
    knob = program.library if scenario == "workspace library" else program.top
    path = ws / knob.file
    text = path.read_text()
    if scenario in ("top crate", "workspace library"):
        new, n = re.subn(knob.pattern, lambda _: knob.new(serial), text, count=1)
    elif scenario == "comment only":
        new, n = re.subn(re.escape(COMMENT).replace(r"\{\}", r"\d+"), COMMENT.format(serial), text, count=1)
    else:
        new, n = text, 1
    assert n == 1, (path, scenario)
    path.write_text(new)


class Tool:
    def __init__(self, ws: Path, program: RealProgram, exe: Path):
        self.ws, self.program, self.exe = ws, program, exe

    def output(self) -> str:
        return run_exe(self.exe, self.program.args, self.ws)

    def change(self, scenario: str, serial: int) -> None:
        apply_edit(self.ws, self.program, scenario, serial)

    def cold(self) -> Result:
        """The copy's first build, its peak memory sampled."""
        result = self.build(memory=True)
        result.extra["exe_bytes"] = self.size()
        return result

    def size(self) -> int | None:
        """The executable's bytes, as the build left it (none for cargo alone)."""
        return self.exe.stat().st_size if self.exe.is_file() else None

    def edit(self, scenario: str, serial: int) -> Result:
        """The change, then the tool's build command, timed."""
        self.change(scenario, serial)
        return self.build()

    def stop(self) -> None:
        pass


class CargoProfile(Tool):
    """`cargo build [--release] --bin B`; `lto` None is the dev profile."""

    def __init__(self, ws: Path, program: RealProgram, jobs: int, lto: str | None):
        super().__init__(ws, program, ws / "target" / ("debug" if lto is None else "release") / program.binary)
        self.env = cargo_env()
        if lto is not None:
            self.env["CARGO_PROFILE_RELEASE_LTO"] = lto
        self.cmd = ["cargo", "build", *(() if lto is None else ("--release",)), "--bin", program.binary,
                    "-j", str(jobs)]

    def build(self, memory: bool = False) -> Result:
        seconds, p, peak = run_build_command(self.cmd, self.ws, self.env, memory)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(self.cmd)} failed (the corpus's crates are Debian packages: "
                               f"PACKAGES in tests/test_corpus.py):\n{p.stderr.decode()[-3000:]}")
        return Result(seconds, None, self.output(), extra={"peak_kib": peak})


class ThinwatchCargo(Tool):
    """thinwatch's cargo command alone (`--bin B`): no executable to run."""

    def __init__(self, ws: Path, program: RealProgram, jobs: int):
        super().__init__(ws, program, ws)
        self.alone = CargoAlone(ws, ("--bin", program.binary, "-j", str(jobs)))

    def build(self, memory: bool = False) -> Result:
        return Result(self.alone.build().seconds, None, extra={"peak_kib": None})


class ThinwatchBuild(Tool):
    """`thinwatch build --bin B`, a new process for every build."""

    def __init__(self, ws: Path, program: RealProgram, jobs: int):
        super().__init__(ws, program, ws / ".thinwatch" / "out" / program.binary)
        self.jobs = jobs

    def build(self, memory: bool = False) -> Result:
        seconds, ev, peak = thinwatch_once(self.ws, self.jobs, memory, ("--bin", self.program.binary))
        return Result(seconds, ev["backend_jobs"], self.output(),
                      extra={"peak_kib": peak, "modules": sum(ev["counts"].values()), "phases": ev["phases"]})


class ThinwatchSession(Tool):
    """`thinwatch watch --bin B`: started by the cold build, then kept running."""

    def __init__(self, ws: Path, program: RealProgram, jobs: int, log_file: Path):
        super().__init__(ws, program, ws / ".thinwatch" / "out" / program.binary)
        self.jobs, self.log_file, self.tw = jobs, log_file, None

    def _checked(self, ev: dict, events: list[dict]) -> None:
        if not ev["ok"]:
            raise RuntimeError(f"thinwatch watch failed: {[e for e in events if e['reason'] == 'diagnostic'][-5:]}")

    def cold(self) -> Result:
        self.tw = ThinwatchWatch(self.ws, self.jobs, self.log_file, ["--bin", self.program.binary])
        with PeakMemory(self.tw.proc.pid) as peak:
            t, ev, events = self.tw.wait_build()
        self._checked(ev, events)
        self.tw.quiet()
        return Result(t - self.tw.t_start, ev["backend_jobs"], self.output(),
                      extra={"peak_kib": peak.kib, "exe_bytes": self.size()})

    def change(self, scenario: str, serial: int) -> None:
        if scenario == "nothing changed":
            self.tw.force_rebuild()
        else:
            super().change(scenario, serial)

    def edit(self, scenario: str, serial: int) -> Result:
        seconds, ev, events, after = self.tw.timed_edit(lambda: self.change(scenario, serial))
        self._checked(ev, events)
        return Result(seconds, ev["backend_jobs"], self.output(),
                      extra={"phases": ev["phases"], "counts": ev["counts"], "spurious_events": len(after)})

    def stop(self) -> None:
        if self.tw:
            self.tw.stop()


def tools_for(work: Path, program: RealProgram, jobs: int) -> dict[str, Tool]:
    ws = {t: prepare(work / t.replace(" ", "-"), program) for t in TOOLS}
    return {WATCH: ThinwatchSession(ws[WATCH], program, jobs, work / "thinwatch-stderr.log"),
            BUILD: ThinwatchBuild(ws[BUILD], program, jobs),
            THIN: CargoProfile(ws[THIN], program, jobs, "thin"),
            FAT: CargoProfile(ws[FAT], program, jobs, "fat"),
            NO_LTO: CargoProfile(ws[NO_LTO], program, jobs, "false"),
            DEV: CargoProfile(ws[DEV], program, jobs, None),
            ALONE: ThinwatchCargo(ws[ALONE], program, jobs)}


def program_bench(work: Path, program: RealProgram, reps: int, jobs: int) -> dict:
    tools = tools_for(work, program, jobs)
    cold: dict[str, dict] = {}
    results = {s: {t: [] for t in TOOLS} for s in scenarios(program)}
    mismatches = []
    startup: list[float] = []          # beside the no-op builds: target 4's floor

    def agree(what: str, rep: int, outputs: dict[str, str]) -> None:
        outputs = {t: out for t, out in outputs.items() if t != ALONE}
        if len(set(outputs.values())) != 1:
            mismatches.append({"scenario": what, "rep": rep, "outputs": outputs})
            log(f"OUTPUT MISMATCH: {outputs}")

    try:
        for t, tool in tools.items():
            cold[t] = asdict(tool.cold())
            log(f"{program.binary} cold {t:16} {cold[t]['seconds']:7.2f}s")
        agree("cold", 0, {t: r["output"] for t, r in cold.items()})
        serial = 0
        for rep in range(reps):
            for s in scenarios(program):
                serial += 1
                outputs = {}
                for t, tool in tools.items():
                    r = tool.edit(s, serial)
                    results[s][t].append(asdict(r))
                    outputs[t] = r.output
                    log(f"{program.binary} rep {rep} {s:17} {t:16} {r.seconds:7.2f}s jobs={r.backend_jobs}")
                agree(s, rep, outputs)
                if s == "nothing changed":
                    startup.append(startup_seconds())
    finally:
        for tool in tools.values():
            tool.stop()
    return {"program": program.binary, "modules": cold[BUILD]["extra"]["modules"], "cold": cold,
            "scenarios": results, "mismatches": mismatches, "startup": startup}


def real_bench(work: Path, names: list[str], reps: int, jobs: int) -> list[dict]:
    return [program_bench(work / f"real-{n}", PROGRAMS[n], reps, jobs) for n in names]


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def report_real(runs: list[dict], reps: int) -> list[str]:
    out = [f"### Real programs ({reps} repetition{'' if reps == 1 else 's'}, interleaved, medians)\n",
           "Each tool on its own copy of the program's workspace of tests/corpus, building the program alone "
           "(`--bin`). "
           "Cold: each copy's first build, peak memory (PSS of the build's process tree) sampled in it. "
           "Backend jobs: thinwatch's (watch / build); cargo's are inside rustc and not counted. "
           "Nothing changed: the build command again, no file touched (watch mode: a forced rebuild).\n"]
    for r in runs:
        out += report_program(r)
    return out


def report_program(r: dict) -> list[str]:
    p = PROGRAMS[r["program"]]
    sc = r["scenarios"]
    edits = scenarios(p)
    med = {s: {t: median(x["seconds"] for x in sc[s][t]) for t in TOOLS} for s in edits}
    med["cold"] = {t: r["cold"][t]["seconds"] for t in TOOLS}
    mib = {t: (r["cold"][t]["extra"]["peak_kib"] or 0) / 1024 or None for t in TOOLS}
    jobs = {s: " / ".join(fmt(median(x["backend_jobs"] for x in sc[s][t]), "", 0) for t in (WATCH, BUILD))
            for s in edits}
    jobs["cold"] = " / ".join(str(r["cold"][t]["backend_jobs"]) for t in (WATCH, BUILD))
    library = (f"; workspace library: `{p.library.pattern}` in `{p.library.file}`" if p.library else
               ". No workspace library crate to edit: its libraries are all registry crates")
    out = [f"**`{p.binary}`** (tests/corpus/{p.workspace}): {r['modules']} modules in thinwatch's link. "
           f"Edits, a fresh value every time: top crate: `{p.top.pattern}` in `{p.top.file}`, where the comment "
           f"edits go too{library}.\n",
           "| scenario | " + " | ".join(TOOLS) + " | backend jobs |", "|---|" + "---:|" * len(TOOLS) + "---|"]
    for s in (*edits, "cold"):
        out.append(f"| {s} | " + " | ".join(fmt(med[s][t]) for t in TOOLS) + f" | {jobs[s]} |")
    out.append("| peak memory, cold | " + " | ".join(fmt(mib[t], " MiB", 0) for t in TOOLS) + " | |")
    size = {t: r["cold"][t]["extra"].get("exe_bytes") for t in TOOLS}
    out.append("| executable size | " + " | ".join(fmt(size[t] and size[t] / 1e6, " MB", 2) for t in TOOLS) + " | |")
    out += ["", "thinwatch watch ÷ each tool:\n",
            "| scenario | " + " | ".join(TOOLS[1:]) + " |", "|---|" + "---:|" * (len(TOOLS) - 1)]
    for s in (*edits, "cold"):
        out.append(f"| {s} | " + " | ".join(fmt(ratio(med[s][WATCH], med[s][t]), "x") for t in TOOLS[1:]) + " |")
    out.append("")
    out.append(f"**Output mismatches between tools: {len(r['mismatches'])}** (see the JSON).\n" if r["mismatches"]
               else "Every tool's executable printed the same, after the cold build and after every edit.\n")

    targets = [(f"{s} edit→exe (watch) ≤ {limit}x {t}", ratio(med[s][WATCH], med[s][t]), limit)
               for s in edits if s in ("top crate", "workspace library")
               for t, limit in ((THIN, 0.1), (NO_LTO, 0.5), (DEV, 1.0))]
    targets += [(f"its floor: thinwatch's cargo alone ÷ dev incremental ({s})", ratio(med[s][ALONE], med[s][DEV]), None)
                for s in edits if s in ("top crate", "workspace library")]
    targets += [
        ("cold `thinwatch build` ≤ 1.0x release thin LTO", ratio(med["cold"][BUILD], med["cold"][THIN]), 1.0),
        ("peak memory, cold `thinwatch build` ≤ 1.3x release thin LTO", ratio(mib[BUILD], mib[THIN]), 1.3),
    ]
    out += ["| target | measured | result |", "|---|---|---|"]
    for name, got, limit in targets:
        out.append(f"| {p.binary}: {name} | {fmt(got, 'x')} | {verdict(got, limit)} |")
    noop = med["nothing changed"][BUILD]
    out.append(f"| {p.binary}: nothing changed, `thinwatch build` (new process) ≤ 0.3 s | {fmt(noop)} | "
               f"{verdict(noop, 0.3)} |")
    if r.get("startup"):
        start, alone = median(r["startup"]), med["nothing changed"][ALONE]
        out.append(f"| {p.binary}: its floor: a new process importing thinwatch ({fmt(start)}) and thinwatch's "
                   f"cargo alone, nothing changed ({fmt(alone)}) | {fmt(start + alone)} | floor |")
    out.append("")
    return out


def verdict(got, limit) -> str:
    """PASS or FAIL against `limit`; a measurement without one ("floor") is
    shown for what it explains."""
    return "n/a" if got is None else "floor" if limit is None else "PASS" if got <= limit else "FAIL"
