"""One build: emission -> thin link -> backends -> final link, as events.

The scheduler decides what runs; the tasks themselves (emit, backend) are pure
functions in worker processes, and the verifying trace is the record of the
last build (`record.py`): a module's cached object is reused only when the
digest of its key components names it in the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson

from . import backend, emit, keys, llvm_env, record
from .cache import Cache, atomic_write
from .errors import ConfigError, TaskFailed, WorkerCrashed
from .events import (FINAL_STATES, BuildFinished, BuildStarted, Diagnostic, Event, LinkFinished,
                     ModuleState, TaskFinished)
from .fragment import digest
from .link import LinkFailed, find_cc, link
from .pool import TaskPool
from .summary import ModuleSummary
from .thinlink import ModulePlan, thin_link
from .workspace import MANIFEST, ModuleSource, Unit, load, printable

EMIT_FORMAT = 2
PRELINK_OPT = 2
IN_FLIGHT_PER_JOB = 8
RACY_SECONDS = 2.0     # a file changed this close to when we read it may change again unseen


@dataclass
class Emitted:
    source: ModuleSource
    key: str
    own: str                     # sha256 of the pre-link bitcode
    summary: ModuleSummary


@dataclass
class Seen:
    """What a source file looked like when it was last read, and what it gave."""
    stamp: tuple
    emitted: Emitted


@dataclass
class Memory:
    """What a long-running session remembers between builds, so that a no-op
    build reads, hashes and writes nothing it already knows."""
    sources: dict[Path, Seen] = field(default_factory=dict)
    records: dict[Path, tuple[tuple, record.Record]] = field(default_factory=dict)


def _file_stamp(path: Path) -> tuple:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


class Build:
    """The state of one build generation."""

    def __init__(self, ws, pool: TaskPool, sink: Callable[[Event], None], generation: int,
                 memory: Memory | None = None):
        self.ws = ws
        # Stat-first no-op detection, kept by the session across builds. A
        # stamp is trusted only if the file was last modified well before it
        # was read ("racily clean" files are hashed again), so an edit within
        # the file system's timestamp granularity is never missed.
        self.memory = memory or Memory()
        self.seen = self.memory.sources
        self._fragments: dict[str, dict] = {}
        self.pool = pool
        self.sink = sink
        self.gen = generation
        self.cache = Cache(ws.build_dir / "cache")
        self.triple = ws.target or llvm_env.host_triple()
        self.emit_opts = {"triple": self.triple, "datalayout": llvm_env.datalayout(self.triple),
                          "prelink_opt": PRELINK_OPT}
        self.backend_opts = {"triple": self.triple, "opt_level": ws.opt_level, "reloc": "pic", "cpu": ""}
        self.failed: dict[str, str] = {}
        self.used: set[tuple[str, str]] = set()     # cache entries this build needs
        self.backend_seconds: dict[str, float] = {}
        # Per module: its emission, its plan and every emission of its unit, so
        # the front-ends can re-run a backend to show its optimised IR.
        self.inputs: dict[str, tuple[Emitted, ModulePlan, dict[str, Emitted]]] = {}
        self.final: dict[str, int] = {}
        self.backend_jobs = 0

    async def each(self, items, fn) -> list:
        """`fn(item)` for every item, with a bounded number in flight.

        The workers take `jobs` tasks at a time anyway; starting a thousand
        coroutines at once only fills one loop iteration with a thousand
        steps, which freezes a UI sharing the loop for a second or more.
        """
        slots = asyncio.Semaphore(IN_FLIGHT_PER_JOB * self.pool.jobs)

        async def one(item):
            async with slots:
                return await fn(item)
        return await asyncio.gather(*(one(i) for i in items))

    def state(self, src: ModuleSource, state: str, **kw) -> None:
        if state in FINAL_STATES:
            self.final[state] = self.final.get(state, 0) + 1
        self.sink(ModuleState(self.gen, src.id, src.crate, state, **kw))

    def fail(self, src: ModuleSource, message: str, line: int | None = None, col: int | None = None) -> None:
        self.failed[src.id] = message
        self.sink(Diagnostic(self.gen, "error", message, module=src.id,
                             file=_relative(src, self.ws.root), line=line, col=col))
        self.state(src, "failed", why=[message])

    def task_done(self, src: ModuleSource, phase: str, res) -> None:
        self.sink(TaskFinished(self.gen, src.id, phase, res.worker, res.start, res.end - res.start))

    # -- emission ------------------------------------------------------------
    def emission_key(self, src: ModuleSource, data: bytes) -> str:
        return digest({"format": EMIT_FORMAT, "llvm": llvm_env.VERSION, "id": src.id,
                       "bitcode": src.is_bitcode, "source": hashlib.sha256(data).hexdigest(),
                       "opts": self.emit_opts})

    def _lookup(self, src: ModuleSource, force: bool) -> tuple[bytes, str, Emitted | None, tuple, float]:
        """Read the source and look its emission up in the cache (in a thread)."""
        stamp, read_at = _file_stamp(src.path), time.time()
        data = src.path.read_bytes()
        key = self.emission_key(src, data)
        blob = None if force else self.cache.get("emit", key)
        if blob is None or not self.cache.has("bc", key) or not self.cache.has("frag", key):
            return data, key, None, stamp, read_at
        meta = orjson.loads(blob)
        return data, key, Emitted(src, key, meta["own"], ModuleSummary.from_dict(meta["summary"])), \
            stamp, read_at

    def _store(self, key: str, out: dict) -> str:
        own = hashlib.sha256(out["bitcode"]).hexdigest()
        self.cache.put("bc", key, out["bitcode"])
        self.cache.put("frag", key, orjson.dumps(out["fragments"]))
        self.cache.put("emit", key, orjson.dumps({"own": own, "summary": out["summary"]}))
        return own

    def _remember(self, src: ModuleSource, em: Emitted, stamp: tuple, read_at: float) -> None:
        if read_at - stamp[1] / 1e9 > RACY_SECONDS:
            self.seen[src.path] = Seen(stamp, em)
        else:
            self.seen.pop(src.path, None)

    def _unchanged(self, src: ModuleSource) -> Emitted | None:
        known = self.seen.get(src.path)
        if known is None or known.emitted.source != src:
            return None
        try:
            return known.emitted if _file_stamp(src.path) == known.stamp else None
        except OSError:
            return None

    async def emit(self, src: ModuleSource, force: bool = False) -> Emitted | None:
        if src.problem:
            self.fail(src, src.problem)
            return None
        known = None if force else self._unchanged(src)
        if known is not None:
            self.used.update({("emit", known.key), ("bc", known.key), ("frag", known.key)})
            return known
        try:
            data, key, hit, stamp, read_at = await asyncio.to_thread(self._lookup, src, force)
        except OSError as e:
            self.fail(src, f"cannot read: {e.strerror or e}")
            return None
        self.used.update({("emit", key), ("bc", key), ("frag", key)})
        if hit is not None:
            self._remember(src, hit, stamp, read_at)
            return hit
        self.state(src, "emitting")
        try:
            res = await self.pool.run(emit.emit, src.id, data, src.is_bitcode, self.emit_opts)
        except TaskFailed as e:
            self.fail(src, e.message, e.line, e.col)
            return None
        except WorkerCrashed as e:
            self.fail(src, str(e))
            return None
        except Exception as e:               # a bug of ours: fail this module, keep building
            self.fail(src, f"internal error while emitting: {e!r}")
            return None
        self.task_done(src, "emit", res)
        out = res.value
        try:
            own = await asyncio.to_thread(self._store, key, out)
        except OSError as e:
            self.fail(src, f"cannot write the cache: {e.strerror or e}")
            return None
        self._fragments[key] = out["fragments"]
        em = Emitted(src, key, own, ModuleSummary.from_dict(out["summary"]))
        self._remember(src, em, stamp, read_at)
        return em

    async def fragments(self, plan: ModulePlan, emitted: dict[str, Emitted]) -> list[dict] | None:
        """The fragments a plan imports, each checked against the hash its key used."""
        out = []
        for imp in plan.imports:
            em = emitted[imp.exporter]
            if em.key not in self._fragments:
                blob = await asyncio.to_thread(self.cache.get, "frag", em.key)
                if blob is None:               # damaged entry: emit again, deterministically
                    if await self.emit(em.source, force=True) is None:
                        return None
                else:
                    self._fragments[em.key] = orjson.loads(blob)
            frag = self._fragments.get(em.key, {}).get(imp.source_name)
            if frag is None or frag["hash"] != imp.hash:
                return None
            out.append(frag)
        return out

    async def bitcode(self, em: Emitted) -> bytes | None:
        data = await asyncio.to_thread(self.cache.get, "bc", em.key)
        if data is None:                      # damaged entry: emit again, deterministically
            again = await self.emit(em.source, force=True)
            data = again and await asyncio.to_thread(self.cache.get, "bc", again.key)
        return data

    # -- backends --------------------------------------------------------------
    async def backend(self, em: Emitted, plan: ModulePlan, comps: dict, digest_: str,
                      emitted: dict[str, Emitted], state: str) -> bytes | None:
        src = em.source
        self.state(src, "optimizing")
        bc = await self.bitcode(em)
        if bc is None:
            return None
        frags = await self.fragments(plan, emitted)
        if frags is None:
            self.fail(src, "an imported fragment is missing from the cache and could not be re-emitted")
            return None
        self.backend_jobs += 1
        try:
            res = await self.pool.run(backend.run_backend, src.id, bc, plan.backend_plan(),
                                      frags, self.backend_opts)
        except TaskFailed as e:
            self.fail(src, f"backend: {e.message}")
            return None
        except WorkerCrashed as e:
            self.fail(src, f"backend: {e}")
            return None
        except Exception as e:
            self.fail(src, f"internal error in the backend: {e!r}")
            return None
        self.task_done(src, "backend", res)
        self.backend_seconds[src.id] = res.end - res.start
        obj = res.value["object"]
        try:
            await asyncio.to_thread(self.cache.put, "obj", digest_, obj)
        except OSError as e:
            self.fail(src, f"cannot write the cache: {e.strerror or e}")
            return None
        return obj


def _relative(src: ModuleSource, root: Path) -> str:
    try:
        return printable(str(src.path.relative_to(root)))
    except ValueError:
        return src.display


def object_path(unit: Unit, mid: str) -> Path:
    return unit.state_dir / "objects" / (mid.replace("::", ".") + ".o")


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
        counts = {s: b.final.get(s, 0) for s in FINAL_STATES} if b else {}
        ev = BuildFinished(generation, ok, counts, round(time.monotonic() - t0, 4),
                           {k: round(v, 4) for k, v in phases.items()}, b.backend_jobs if b else 0,
                           outputs[0] if outputs else None, outputs=list(outputs))
        sink(ev)
        return ev

    try:
        project = open_project(root)
        b = Build(project, pool, sink, generation, memory)
        if on_build is not None:
            on_build(b)
    except (ConfigError, TaskFailed) as e:
        sink(Diagnostic(generation, "error", str(e), file=str(Path(root) / MANIFEST)))
        return finish(False)
    project.build_dir.mkdir(mode=0o700, exist_ok=True)
    t = time.monotonic()
    if hasattr(project, "prepare"):
        units = await project.prepare(sink, generation, tests)
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
            await asyncio.to_thread(b.cache.prune, b.used, project.cache_max_bytes, project.cache_max_age)
    except OSError as e:        # e.g. the disk is full: the last record and outputs stay as they were
        b.failed["<build dir>"] = str(e)
        sink(Diagnostic(generation, "error", f"cannot write the build directory: {e}"))
    return finish(not b.failed, b, outputs)


def _add(phases: dict, name: str, since: float) -> None:
    phases[name] = phases.get(name, 0.0) + time.monotonic() - since


async def build_unit(b: "Build", unit: Unit, phases: dict) -> str | None:
    """Build one link unit; returns its output path if it linked."""
    prev = record.load(unit.state_dir, b.memory.records)
    failed_before = set(b.failed)
    sources = unit.modules
    for src in sources:
        b.state(src, "pending")

    t = time.monotonic()
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
    b.inputs.update((mid, (em, plans[mid], linked)) for mid, em in emitted.items())

    t = time.monotonic()
    new_record = record.Record(modules={mid: m for mid, m in prev.modules.items() if mid in b.failed})

    async def finish_module(mid: str) -> None:
        em, plan = emitted[mid], plans[mid]
        comps = keys.components(mid, em.own, plan, b.backend_opts)
        d = keys.key_digest(comps)
        old = prev.modules.get(mid)
        path = object_path(unit, mid)
        b.used.add(("obj", d))
        if b.cache.has("obj", d):            # one stat: cheaper on the loop than a thread hop
            state, why = "reused", []
            # The materialized object is trusted only if it is the file this
            # digest's build left; an abandoned build may have replaced it.
            fresh = old is not None and old.digest == d and _stamp(path) == old.stamp
            obj = None if fresh else await asyncio.to_thread(b.cache.get, "obj", d)
            if not fresh and obj is None:      # entry failed verification: rebuild it
                state = "rebuilt" if old is None or old.own != em.own else "reimported"
        else:
            state, fresh, obj = ("rebuilt" if old is None or old.own != em.own else "reimported"), False, None
        if state != "reused":
            why = keys.explain(old.components if old else None, comps)
            obj = await b.backend(em, plan, comps, d, linked, state)
            if obj is None:
                return
        if not fresh:
            try:
                await asyncio.to_thread(_materialize, path, obj)
            except OSError as e:
                b.fail(em.source, f"cannot write {path.name}: {e.strerror or e}")
                return
        seconds = b.backend_seconds.get(mid, old.backend_seconds if old else 0.0)
        new_record.modules[mid] = record.ModuleRecord(comps, d, em.own, _stamp(path), round(seconds, 4))
        b.state(em.source, state, why=why if state != "reused" else [], backend_seconds=round(seconds, 4),
                imports=[[i.name, i.exporter, i.hash] for i in plan.imports],
                exported_to=plan.exported_to, promoted=plan.promote,
                internalized=plan.internalize, object_size=path.stat().st_size)

    # Longest first (by what each backend took last time, unknown first): two
    # workers finish a handful of jobs sooner when the big ones start early.
    def expected(mid: str) -> float:
        old = prev.modules.get(mid)
        return old.backend_seconds if old else float("inf")
    await b.each(sorted(emitted, key=lambda m: (-expected(m), m)), finish_module)
    _add(phases, "backend", t)

    current = {src.id for src in sources}
    for mid in sorted(set(prev.modules) - current):
        object_path(unit, mid).unlink(missing_ok=True)
        b.sink(ModuleState(b.gen, mid, mid.split("::")[0], "removed"))
        b.final["removed"] = b.final.get("removed", 0) + 1

    output = None
    new_record.link_inputs, new_record.exe_sha = prev.link_inputs, prev.exe_sha
    if set(b.failed) == failed_before:
        t = time.monotonic()
        output = await _link(unit, b, prev, new_record, sorted(emitted))
        _add(phases, "link", t)
    record.save(unit.state_dir, new_record, b.memory.records)
    return output


def _materialize(path: Path, obj: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, obj)


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


async def _link(unit: Unit, b: "Build", prev: record.Record, new: record.Record,
                modules: list[str]) -> str | None:
    """Link unless the inputs and the executable are what the last link left."""
    exe = unit.output
    inputs = digest({"objects": [[m, new.modules[m].digest] for m in modules],
                     "args": unit.key_args, "cc": find_cc()})
    skipped = inputs == prev.link_inputs and prev.exe_sha is not None and _sha(exe) == prev.exe_sha
    t = time.monotonic()
    if not skipped:
        try:
            await link(unit.link_args([object_path(unit, m) for m in modules]), exe)
        except LinkFailed as e:
            b.failed["<link>"] = str(e)
            b.sink(Diagnostic(b.gen, "error", f"link of {unit.name} failed:\n{e}"))
            return None
        new.exe_sha = _sha(exe)
    new.link_inputs = inputs
    b.sink(LinkFinished(b.gen, str(exe), skipped, round(time.monotonic() - t, 4)))
    return str(exe)
