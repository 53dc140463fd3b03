"""A one-shot build's shortcut: a unit whose every input is as its last
one-shot build left it is not built again but replayed.

A new process knows nothing of the last build but its files, and finding
out the usual way that nothing changed reads and hashes every module's
bitcode, loads every summary, runs the thin link, plans every key and
labels every module: on bat (1,479 modules) most of a no-op build. So a
one-shot build leaves a trace (`replay.json` in the unit's state directory)
of everything those steps read:
- the engine's own code (its files by stamp), the emission and backend
  options (each LLVM by identity), and the unit as the front end gave it:
  its modules, preserved symbols, link line and output;
- every module's source by a stamp taken when its content was known
  (`files.vouches`): with the options, that is its emission's key;
- the record the build wrote (state.json, by stamp), and of it every
  module's object by key and stamp and the executable's link inputs;
- the executable by stamp, and what the build reported of each module.
A replay checks all of it, every object's stamp and its entry in the
cache, and the link's inputs (the toolchain included), then reports what
the usual path would: every module reused as before, the link skipped.
Anything else, and the unit is built as always. A build that leaves no
trace removes the last one.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from . import files, llvm_env, record
from .cache import place
from .events import ModuleStatus
from .fragment import digest
from .link import inputs_key
from .plan import Emitted
from .project import Unit

if TYPE_CHECKING:
    from .build import Build

FILE = "replay.json"
FORMAT = 1
ENGINE = Path(__file__).parent


@functools.cache
def _engine() -> list:
    """The engine's code: a changed thin link or key must not be replayed
    by the trace of the code before it. Taken once per process (checking a
    trace and leaving one both need it): the code it runs is what it loaded."""
    return sorted([str(path.relative_to(ENGINE)), files.stamp(path)] for path in ENGINE.rglob("*.py"))


def _name(path: Path) -> str:
    """A path as text JSON can carry, whatever its bytes."""
    return os.fsencode(path).decode("latin-1")


def _inputs(b: "Build", unit: Unit) -> str:
    return digest({"format": FORMAT, "engine": _engine(), "llvm": llvm_env.version(), "emit": b.emit_opts,
                   "backend": vars(b.backend_opts), "unit": [
                       unit.name, [[s.id, s.crate, _name(s.path), s.is_bitcode, s.origin, s.problem]
                                   for s in unit.modules],
                       sorted(unit.preserve), _name(unit.output), unit.key_args, unit.link_args([]),
                       unit.opt_level, unit.driver, unit.cpu]})


def forget(unit: Unit) -> None:
    (unit.state_dir / FILE).unlink(missing_ok=True)


def save(b: "Build", unit: Unit, emitted: dict[str, Emitted], rec: record.Record) -> None:
    """Leave the trace of a unit this build linked with every module good
    (`rec`, the record it wrote); none if some source's content cannot be
    vouched for by its stamp."""
    stamps = [_vouched(b, src, emitted[src.id]) if src.id in emitted else None for src in unit.modules]
    if None in stamps or rec.exe_sha is None or not set(emitted) <= set(b.reported) <= set(rec.modules):
        forget(unit)
        return
    try:
        trace = orjson.dumps({"inputs": _inputs(b, unit), "stamps": stamps, "link": rec.link_inputs,
                              "modules": {mid: [rec.modules[mid].digest, rec.modules[mid].stamp, b.reported[mid]]
                                          for mid in emitted},
                              "record": files.stamp(unit.state_dir / record.FILE),
                              "output": files.stamp(unit.output)})
    except TypeError:                  # a name JSON cannot carry: no shortcut for this unit
        forget(unit)
        return
    place(unit.state_dir / FILE, trace)


def _vouched(b: "Build", src, em: Emitted) -> list[int] | None:
    """A stamp of the source standing for the content this build read: the
    one taken as it read it (for `em`, or for a source `em` shadows by
    having its id), else, for a file written just before the build read it,
    a new one if the content is still `em`'s."""
    seen = b.seen.get(src.path)
    if seen is not None and (em.source != src or seen.emitted.key == em.key):
        return seen.stamp
    stamp, now = files.stamp(src.path), time.time()
    if em.source != src or not files.vouches(stamp, now):
        return None
    try:
        return stamp if b.emission_key(src, src.path.read_bytes()) == em.key else None
    except OSError:
        return None


def _check(b: "Build", unit: Unit) -> tuple[dict[str, dict], dict[str, str], str] | None:
    """If every input the trace names is as it was: what its build reported
    of each module, each module's backend key digest, and the link's inputs;
    else None. (The record the build wrote is known by its stamp: its
    digests and stamps are in the trace too: reading it took ~20 ms on bat.)"""
    try:
        trace = orjson.loads((unit.state_dir / FILE).read_bytes())
        stamps, modules = trace["stamps"], trace["modules"]
    except (OSError, orjson.JSONDecodeError, TypeError, KeyError):
        return None
    if trace.get("inputs") != _inputs(b, unit) or not isinstance(modules, dict) \
            or trace.get("record") != files.stamp(unit.state_dir / record.FILE) \
            or trace.get("output") != files.stamp(unit.output) or len(stamps) != len(unit.modules) \
            or set(modules) != {src.id for src in unit.modules}:
        return None
    if any(files.stamp(src.path) != stamp for src, stamp in zip(unit.modules, stamps)):
        return None
    for mid, (key, stamp, _) in modules.items():
        if files.stamp(unit.object_name(mid)) != stamp or not b.cache.has("obj", key):
            return None
    return ({mid: reported for mid, (_, _, reported) in modules.items()},
            {mid: key for mid, (key, _, _) in modules.items()}, trace.get("link"))


async def replay(b: "Build", unit: Unit) -> str | None:
    """Report the unit's last one-shot build again if its trace holds; its
    executable's path, or None when it has to be built."""
    report = b.report
    with report.phase("replay"):
        found = await asyncio.to_thread(_check, b, unit)
        if found is None:
            return None
        details, digests, link_inputs = found
        t = time.monotonic()
        if await asyncio.to_thread(inputs_key, digests, unit) != link_inputs:
            return None
    for src in unit.modules:
        b.state(src, ModuleStatus.PENDING)
    # Of sources sharing an id, the last one is the module, as in a build.
    for src in {src.id: src for src in unit.modules}.values():
        b.state(src, ModuleStatus.REUSED, why=[], **details[src.id])
    report.linked(str(unit.output), True, time.monotonic() - t, False)
    return str(unit.output)
