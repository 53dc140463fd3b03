"""One build: emission -> thin link -> backends -> final link, as events.

The scheduler decides what runs and in which order; the per-module steps and
their cache decisions are the rebuilder's (`build.py`), the tasks themselves
(emit, backend) are pure functions in worker processes, and the verifying
trace is the record of the last build (`record.py`): a module's cached
object is reused only when the digest of its key components names it in the
cache.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Callable

from . import files, keys, names, record
from .build import Build, Memory, emit_options
from .builddir import open_build_dir
from .early import Early, LastLink
from .cache import place
from .errors import ConfigError
from .events import (FINAL_STATES, BuildFinished, BuildStarted, Diagnostic, Event, LinkFinished, ModuleState,
                     ModuleStatus)
from .link import LinkFailed, inputs_key, link
from .native_llvm import choose
from .pool import TaskPool
from .thinlink import thin_link
from .workspace import MANIFEST, Unit, load


async def _in_thread(fn, *args):
    """fn(*args) in a thread, with a configuration error as its value: the
    build meets it where it needs the answer."""
    try:
        return await asyncio.to_thread(fn, *args)
    except ConfigError as e:
        return e


def open_project(root: Path):
    """The IR workspace or Cargo workspace at `root`."""
    from . import cargo
    root = Path(root)
    if not (root / MANIFEST).exists() and (root / "Cargo.toml").exists():
        return cargo.CargoProject.open(root)
    return load(root)


async def run_build(root: Path, pool: TaskPool, sink: Callable[[Event], None], generation: int,
                    trigger: list[str] | None = None, tests: bool = False,
                    on_build: Callable[["Build"], None] | None = None,
                    memory: Memory | None = None) -> BuildFinished:
    t0 = time.monotonic()
    phases: dict[str, float] = {}
    sink(BuildStarted(generation, trigger or [], str(root)))

    def finish(ok: bool, b: "Build | None" = None, outputs: list[str] = ()) -> BuildFinished:
        counts = {s.value: b.final.get(s, 0) for s in FINAL_STATES} if b else {}
        ev = BuildFinished(generation, ok, counts, round(time.monotonic() - t0, 4),
                           {k: round(v, 4) for k, v in phases.items()}, b.all_backend_jobs if b else 0,
                           outputs[0] if outputs else None, outputs=list(outputs),
                           early_jobs=b.early.job_count if b and b.early else 0,
                           backend_llvm=b.codegen.label if b and b.codegen else "")
        sink(ev)
        return ev

    try:
        project = open_project(root)
        open_build_dir(project.build_dir)
        # Both load an LLVM (~0.05-0.15 s): they run while cargo does.
        emit_opts = asyncio.ensure_future(_in_thread(emit_options, project.target))
        codegen = asyncio.ensure_future(_in_thread(choose, project.llvm, project.root))
        b = Build(project, pool, sink, generation, codegen, emit_opts, memory)
        if on_build is not None:
            on_build(b)
    except ConfigError as e:
        sink(Diagnostic(generation, "error", e.message, file=e.file, line=e.line, col=e.col))
        return finish(False)
    if memory is not None and memory.links:
        # Early jobs guess the level the last links asked for.
        project.follow_profile([link.unit for link in memory.links.values() if link.unit is not None])
        b.early = Early(Build(project, pool, lambda _: None, generation, codegen, emit_opts, memory), memory.links,
                        project.build_dir / "early")
    try:
        return await _build(project, b, tests, phases, finish)
    finally:
        if b.early is not None:
            b.early.cancel()


async def _build(project, b: Build, tests: bool, phases: dict, finish) -> BuildFinished:
    t = time.monotonic()
    if hasattr(project, "prepare"):
        units = await project.prepare(b.sink, b.gen, tests, b.early.artifact if b.early else None)
        phases["frontend"] = time.monotonic() - t
        if units is None:
            return finish(False, b)
    else:
        units = project.units()
    outputs = []
    try:
        for unit in units:
            out = await build_unit(b, unit, phases)
            if out is not None:
                outputs.append(out)
        if not b.failed and b.cache.written:
            try:
                await asyncio.to_thread(b.cache.prune, b.used, project.cache_max_bytes, project.cache_max_age)
            except OSError as e:     # housekeeping: the build's outputs and record are in place
                b.sink(Diagnostic(b.gen, "warning", f"cannot prune the cache: {e}"))
    except ConfigError as e:    # the backend LLVM setting names no usable LLVM
        b.sink(Diagnostic(b.gen, "error", str(e)))
        return finish(False)
    except OSError as e:        # e.g. the disk is full: the last record and outputs stay as they were
        b.failed["<build dir>"] = str(e)
        b.sink(Diagnostic(b.gen, "error", f"cannot write the build directory: {e}"))
    return finish(not b.failed, b, outputs)


def _add(phases: dict, name: str, since: float) -> None:
    phases[name] = phases.get(name, 0.0) + time.monotonic() - since


async def build_unit(b: "Build", unit: Unit, phases: dict) -> str | None:
    """Build one link unit; returns its output path if it linked."""
    await b.emission_ready()             # a bad target fails the build before any module
    prev = record.load(unit.state_dir, b.memory.records)
    failed_before = set(b.failed)
    sources = unit.modules
    for src in sources:
        b.state(src, ModuleStatus.PENDING)

    t = time.monotonic()
    await asyncio.to_thread(b.look_up, sources)
    results = await b.each(sources, b.emit)
    emitted = {em.source.id: em for em in results if em is not None}
    # A module that fails to emit keeps its last good emission for the thin
    # link (when this session has it), so its importers keep their imports
    # instead of re-running now and again when it is fixed. Their objects
    # are keyed by what they import, as always; nothing is linked while a
    # module is failed.
    linked = dict(emitted)
    for src in sources:
        known = b.seen.get(src.path)
        if src.id in b.failed and src.id not in linked and known and known.emitted.source == src:
            linked[src.id] = known.emitted
    _add(phases, "emit", t)

    t = time.monotonic()
    plans = thin_link({mid: em.summary for mid, em in linked.items()}, unit.preserve)
    _add(phases, "thinlink", t)
    for mid, em in emitted.items():
        if plans[mid].errors:            # fails the build as the linker would; nothing is linked
            b.fail(em.source, "\n".join(plans[mid].errors))
    if not any(src.id in b.failed for src in sources):
        b.memory.links[unit.name] = LastLink(set(unit.preserve), linked)
    b.inputs.update((mid, (em, plans[mid], linked)) for mid, em in emitted.items())

    await b.ready()
    t = time.monotonic()
    new_record = record.Record(modules={mid: m for mid, m in prev.modules.items() if mid in b.failed})

    async def finish_module(mid: str) -> None:
        em, plan = emitted[mid], plans[mid]
        comps = keys.components(mid, em.own, plan, b.backend_opts)
        d = keys.key_digest(comps)
        old = prev.modules.get(mid)
        path = unit.object(mid)
        b.used.add(("obj", d))
        early_seconds = await b.early.result(d) if b.early else None
        fresh, obj = False, None
        if b.cache.has("obj", d):            # one stat: cheaper on the loop than a thread hop
            fresh = old is not None and old.left(d, path)
            obj = None if fresh else await asyncio.to_thread(b.cache.get, "obj", d)
        cached = fresh or obj is not None    # False also when the entry failed verification
        changed = ModuleStatus.REBUILT if old is None or old.own != em.own else ModuleStatus.REIMPORTED
        # An object an early job of this build compiled is this build's work.
        state = ModuleStatus.REUSED if cached and early_seconds is None else changed
        why = keys.explain(old.components if old else None, comps) if state != ModuleStatus.REUSED else []
        if not cached:
            obj = await b.backend(em, plan, comps, d, linked, state)
            if obj is None:
                return
        elif early_seconds is not None:
            b.backend_seconds[mid] = early_seconds
        if not fresh:
            try:
                await asyncio.to_thread(place, path, obj)
            except OSError as e:
                b.fail(em.source, f"cannot write {path.name}: {e.strerror or e}")
                return
        seconds = b.backend_seconds.get(mid, old.backend_seconds if old else 0.0)
        new_record.modules[mid] = record.ModuleRecord(comps, d, em.own, files.stamp(path), round(seconds, 4))
        b.state(em.source, state, why=why, backend_seconds=round(seconds, 4),
                imports=[[i.name, i.exporter, i.hash] for i in plan.imports],
                exported_to=plan.exported_to, promoted=plan.promote,
                internalized=plan.internalize, object_size=path.stat().st_size,
                label=b.ws.label(mid, em.summary.functions), names=names.mentioned(plan))

    # Longest first (by what each backend took last time; unknown ones first,
    # the most instructions first): two workers finish a handful of jobs
    # sooner when the big ones start early.
    def longest_first(mid: str) -> tuple[float, int, str]:
        old = prev.modules.get(mid)
        size = sum(f.insts for f in emitted[mid].summary.functions.values())
        return (-old.backend_seconds if old else float("-inf"), -size, mid)
    await b.each(sorted((mid for mid in emitted if mid not in b.failed), key=longest_first), finish_module)
    _add(phases, "backend", t)

    current = {src.id for src in sources}
    for mid in sorted(set(prev.modules) - current):
        unit.object(mid).unlink(missing_ok=True)
        b.sink(ModuleState(b.gen, mid, mid.split("::")[0], ModuleStatus.REMOVED))
        b.final[ModuleStatus.REMOVED] = b.final.get(ModuleStatus.REMOVED, 0) + 1

    output, staged = None, None
    new_record.link_inputs, new_record.exe_sha = prev.link_inputs, prev.exe_sha
    if set(b.failed) == failed_before:
        t = time.monotonic()
        output, staged = await _link(unit, b, prev, new_record, sorted(emitted))
        _add(phases, "link", t)
    # The executable and the record that vouches for it change together: a
    # record that cannot be written leaves the last executable in place.
    try:
        record.save(unit.state_dir, new_record, b.memory.records)
    except OSError:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is not None:
        os.replace(staged, unit.output)
    last = b.memory.links.get(unit.name)
    if output is not None and last is not None:
        last.unit = unit
    return output


async def _link(unit: Unit, b: "Build", prev: record.Record, new: record.Record,
                modules: list[str]) -> tuple[str | None, Path | None]:
    """Link unless the inputs and the executable are what the last link left:
    (the executable's path, or None if the link failed; the new executable,
    staged beside it until its record is written, or None if skipped)."""
    exe = unit.output
    inputs = inputs_key({m: new.modules[m].digest for m in modules}, unit)
    skipped = inputs == prev.link_inputs and prev.exe_sha is not None and files.digest(exe) == prev.exe_sha
    staged = None if skipped else exe.with_name(f".{exe.name}.tmp")
    t = time.monotonic()
    early = (staged is not None and b.early is not None
             and await b.early.take_link(unit.name, inputs, exe, staged))
    if staged is not None and not early:
        try:
            await link(unit.link_args([unit.object(m) for m in modules]), staged, unit.driver)
        except LinkFailed as e:
            b.failed["<link>"] = str(e)
            b.sink(Diagnostic(b.gen, "error", f"link of {unit.name} failed:\n{e}"))
            return None, None
    if staged is not None:
        new.exe_sha = files.digest(staged)
    new.link_inputs = inputs
    b.sink(LinkFinished(b.gen, str(exe), skipped, round(time.monotonic() - t, 4), early=early))
    return str(exe), staged
