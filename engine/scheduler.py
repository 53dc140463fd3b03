"""One build: emission -> plan (thin link, keys) -> backends -> final link.

The scheduler decides what runs and in which order; the plan step
(`plan.py`) decides, for every module, whether its object is reused; the
rebuilder (`build.py`) carries out each module's steps against the cache;
the tasks themselves (emit, backend) are pure functions on the executor;
the verifying trace is the record of the last build (`record.py`); and the
build's `Reporter` makes every event. The front end (`frontends`) turns a
workspace into link units.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Callable

from . import files, record, replay
from .ahead import Ahead
from .build import Build, Memory, emit_options
from .builddir import open_build_dir
from .cache import Cache
from .early import Early, LastLink
from .errors import ConfigError
from .events import BuildFinished, ModuleStatus
from .executor import Executor, each
from .frontends import open_project
from .link import LinkFailed, inputs_key, link
from .native_llvm import choose
from .plan import longest_first, plan_unit
from .reporter import Reporter
from .project import Unit


async def _in_thread(fn, *args):
    """fn(*args) in a thread, with a configuration error as its value: the
    build meets it where it needs the answer."""
    try:
        return await asyncio.to_thread(fn, *args)
    except ConfigError as e:
        return e


async def run_build(root: Path, executor: Executor, report: Reporter, trigger: list[str] | None = None,
                    tests: bool = False, on_build: Callable[[Build], None] | None = None,
                    memory: Memory | None = None, unchanged: Build | None = None, options=None,
                    cache_dir: Path | None = None, one_shot: bool = False) -> BuildFinished:
    """Build the workspace at `root`, with the front end's `options`.
    `unchanged` is the last build, when every input is known to be as it
    left them: nothing is read or run. `cache_dir` overrides the workspace's.
    `one_shot`: no build follows in this process (replay.py)."""
    report.started(trigger or [], str(root))
    if unchanged is not None:
        for em in sorted((em for em, _, _ in unchanged.inputs.values()), key=lambda em: em.source.id):
            report.module(em.source.id, em.source.crate, ModuleStatus.REUSED, why=["contents unchanged"],
                          label=unchanged.label(em))
        return report.finished(True, outputs=unchanged.outputs)
    try:
        project = open_project(root, options)
        if cache_dir is not None:
            project.cache_dir = cache_dir
        open_build_dir(project.build_dir)
        # Both may load an LLVM (~0.05-0.15 s) the build dir has no memo of: they run while cargo does.
        emit_opts = asyncio.ensure_future(_in_thread(emit_options, project.target, project.build_dir))
        codegen = asyncio.ensure_future(_in_thread(choose, project.llvm, project.root, project.build_dir))
        b = Build(project, executor, report, codegen, emit_opts, memory)
        b.one_shot = one_shot
        try:
            await _open(b.cache)
        except OSError as e:
            raise ConfigError(f"cannot use {b.cache.root} as the cache: {e.strerror or e}") from None
        if on_build is not None:
            on_build(b)
    except ConfigError as e:
        report.diagnostic("error", e.message, file=e.file, line=e.line, col=e.col)
        return report.finished(False, counted=False)
    ahead = None
    if memory is not None and memory.links:
        # Early jobs guess the level the last links asked for.
        project.follow_profile([link.unit for link in memory.links.values() if link.unit is not None])
        b.early = Early(Build(project, executor, report.speculative(), codegen, emit_opts, memory),
                        memory.links)
    else:
        ahead = Ahead(b)                # nothing to guess from: emit ahead of need instead
    try:
        return await _build(project, b, tests, ahead)
    finally:
        if b.early is not None:
            b.early.cancel()
        try:
            if ahead is not None:
                await ahead.close()
        finally:
            # Even when the build is cancelled again while the process ends:
            # a lock left open (exclusive after a prune) would stop every
            # later build at its `open`, and the session with it.
            b.cache.close()


async def _open(cache: Cache) -> None:
    """Take the cache's shared lock off the loop: it waits while another
    build prunes the cache, and a UI shares the loop. A build abandoned
    meanwhile leaves the thread to finish, and closes what it opened."""
    opening = asyncio.ensure_future(asyncio.to_thread(cache.open))
    try:
        await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(lambda _: cache.close())
        raise


async def _build(project, b: Build, tests: bool, ahead: Ahead | None) -> BuildFinished:
    """`ahead` is there exactly when `b.early` is not."""
    report = b.report

    def finish(ok: bool, counted: bool = True) -> BuildFinished:
        return report.finished(ok, counted=counted, backend_jobs=b.all_backend_jobs, outputs=b.outputs,
                               early_jobs=b.early.job_count if b.early else 0,
                               backend_llvm=b.codegen.label if b.codegen else "", executor=b.executor.where)

    with report.phase("frontend"):
        units = await project.prepare(report, tests, b.early.start if b.early else ahead.start)
    if ahead is not None:
        ahead.stop()
    if units is None:
        return finish(False)
    try:
        for unit in units:
            out = await build_unit(b, unit)
            if out is not None:
                b.outputs.append(out)
        if not b.failed and b.cache.written:
            pruning = asyncio.ensure_future(
                asyncio.to_thread(b.cache.prune, b.used, project.cache_max_bytes, project.cache_max_age))
            try:
                await asyncio.shield(pruning)
            except asyncio.CancelledError:
                # The thread prunes on under the cache's lock, which closing
                # the cache would drop: a build starting now could lose entries.
                await asyncio.wait([pruning])
                raise
            except OSError as e:     # housekeeping: the build's outputs and record are in place
                report.diagnostic("warning", f"cannot prune the cache: {e}")
    except ConfigError as e:    # the backend LLVM setting names no usable LLVM
        report.diagnostic("error", str(e))
        return finish(False, counted=False)
    except OSError as e:        # e.g. the disk is full: the last record and outputs stay as they were
        b.failed["<build dir>"] = str(e)
        report.diagnostic("error", f"cannot write the build directory: {e}")
    return finish(not b.failed)


async def build_unit(b: Build, unit: Unit) -> str | None:
    """Build one link unit; returns its output path if it linked."""
    report = b.report
    await b.emission_ready()             # a bad target fails the build before any module
    if b.one_shot:
        await b.ready()
        if (out := await replay.replay(b, unit)) is not None:
            return out
    prev = record.load(unit.state_dir, b.memory.records)
    failed_before = set(b.failed)
    sources = unit.modules
    for src in sources:
        b.state(src, ModuleStatus.PENDING)

    with report.phase("emit"):
        if b.early is not None:
            await b.early.settled()
        if any(src.is_bitcode for src in sources):
            await b.reader_ready()          # the LLVM that reads bitcode is in its emission key
        await asyncio.to_thread(b.look_up, sources)
        results = await each(b.executor, sources, b.emit)
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

    await b.ready()
    with report.phase("thinlink"):
        planned = plan_unit(linked, unit.preserve, emitted, prev, b.backend_opts,
                            lambda digest: b.cache.has("obj", digest), b.memory.thin_links,
                            early=b.early.jobs if b.early else (), built=b.memory.built)
    for mid, why in planned.errors.items():      # fails the build as the linker would; nothing is linked
        b.fail(emitted[mid].source, why)
    if not any(src.id in b.failed for src in sources):
        b.memory.links[unit.name] = LastLink(set(unit.preserve), linked)
        b.memory.keep_fragments()
    b.inputs.update((mid, (em, planned.plans[mid], linked)) for mid, em in emitted.items())
    b.used.update(("obj", job.digest) for job in planned.jobs.values())

    new_record = record.Record(modules={mid: m for mid, m in prev.modules.items() if mid in b.failed})

    async def carry_out(mid: str) -> None:
        done = await b.carry_out(planned.jobs[mid], unit.object(mid), prev.modules.get(mid), linked)
        if done is not None:
            new_record.modules[mid] = done

    with report.phase("backend"):
        await each(b.executor, longest_first((mid for mid in planned.jobs if mid not in b.failed), prev, emitted),
                   carry_out)

    current = {src.id for src in sources}
    for mid in sorted(set(prev.modules) - current):
        unit.object(mid).unlink(missing_ok=True)
        report.module(mid, mid.split("::")[0], ModuleStatus.REMOVED)

    output, staged = None, None
    new_record.link_inputs, new_record.exe_sha = prev.link_inputs, prev.exe_sha
    if set(b.failed) == failed_before:
        with report.phase("link"):
            output, staged = await _link(unit, b, prev, new_record, sorted(emitted))
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
    if b.one_shot and output is not None and not any(src.id in b.failed for src in sources):
        await asyncio.to_thread(replay.save, b, unit, emitted, new_record)
    else:
        replay.forget(unit)
    last = b.memory.links.get(unit.name)
    if output is not None and last is not None:
        last.unit = unit
    return output


async def _link(unit: Unit, b: Build, prev: record.Record, new: record.Record,
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
            b.report.diagnostic("error", f"link of {unit.name} failed:\n{e}")
            return None, None
    if staged is not None:
        new.exe_sha = files.digest(staged)
    new.link_inputs = inputs
    b.report.linked(str(exe), skipped, time.monotonic() - t, early)
    return str(exe), staged
