"""The rebuilder: one build generation's per-module steps against the cache.

It carries out what the plan step (`plan.py`) decided: an emission is read
from the cache when its key (the source's content) is there, and a module's
object is placed from the cache when its job is a reuse; the pure tasks
(emit, backend) run on the executor only when they are not. Which modules
go in which order, and the thin link between the two steps, are the
scheduler's; every event goes through the build's reporter.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from . import backend, emission, emit, files, llvm_env, names, record
from .backend import BackendOptions
from .cache import Cache, place
from .errors import ConfigError, TaskFailed, WorkerCrashed
from .events import ModuleStatus
from .executor import Executor, TaskResult
from .fragment import Fragment
from .native_llvm import Codegen
from .plan import Emitted, Job, ThinLinks
from .reporter import Reporter
from .summary import IMPORT_INSTR_LIMIT, ModuleSummary
from .thinlink import ModulePlan
from .project import ModuleSource, Project, printable

if TYPE_CHECKING:
    from .early import Early, LastLink

PRELINK_OPT = 2


def emit_options(target: str | None, build_dir: Path | None = None) -> dict:
    """What every emission reads besides its source. It may load llvmlite's
    LLVM (`llvm_env.facts`): the scheduler asks for it in a thread while the
    front end runs."""
    triple = target or llvm_env.facts(build_dir).host_triple
    try:
        layout = llvm_env.datalayout(triple)
    except TaskFailed as e:
        raise ConfigError(e.message) from None
    return {"triple": triple, "datalayout": layout, "prelink_opt": PRELINK_OPT, "import_limit": IMPORT_INSTR_LIMIT}


@dataclass
class Seen:
    """What a source file looked like when it was last read, and what it gave."""
    stamp: list[int]
    emitted: Emitted


@dataclass
class Memory:
    """What a long-running session remembers between builds, so that a no-op
    build reads, hashes and writes nothing it already knows."""
    sources: dict[Path, Seen] = field(default_factory=dict)
    records: dict[Path, tuple[list[int] | None, record.Record]] = field(default_factory=dict)
    links: dict[str, "LastLink"] = field(default_factory=dict)     # per unit, for early backends
    built: dict[str, int] = field(default_factory=dict)     # backend key digest -> the build that compiled it
    labels: dict[str, str] = field(default_factory=dict)    # emission key -> its module's label
    # Emission key -> its fragments by name, read from the cache or emitted:
    # an edit's backends import from dozens of unchanged modules, and reading
    # their fragments again was ~0.1 s before the first backend on bat.
    fragments: dict[str, dict[str, Fragment]] = field(default_factory=dict)
    thin_links: ThinLinks = field(default_factory=ThinLinks)

    def keep_fragments(self) -> None:
        """Forget the fragments no unit's last link has."""
        live = {em.key for link in self.links.values() for em in link.emitted.values()}
        for key in self.fragments.keys() - live:
            del self.fragments[key]


class Build:
    """The state of one build generation."""

    def __init__(self, ws: Project, executor: Executor, report: Reporter,
                 codegen: "asyncio.Future[Codegen | ConfigError]",
                 emit_opts: "asyncio.Future[dict | ConfigError]", memory: Memory | None = None):
        self.ws = ws
        # Stat-first no-op detection, kept by the session across builds. A
        # stamp is trusted only if the file was last modified well before it
        # was read ("racily clean" files are hashed again), so an edit within
        # the file system's timestamp granularity is never missed.
        self.memory = memory or Memory()
        self.seen = self.memory.sources
        self._fragments = self.memory.fragments
        self._looked_up: dict[Path, tuple] = {}     # cache hits `look_up` found, for `emit`
        self.executor = executor
        self.report = report
        self.cache = Cache(ws.cache_root, named=ws.cache_dir is not None)
        self._emit_opts = emit_opts
        self.emit_opts: dict = {}           # known once `emission_ready` returned
        self._codegen = codegen
        self.codegen: Codegen | None = None  # known once `reader_ready` returned
        self.backend_opts: BackendOptions | None = None     # known once `ready` returned
        self.failed: dict[str, str] = {}
        self.used: set[tuple[str, str]] = set()     # cache entries this build needs
        self.backend_seconds: dict[str, float] = {}
        # Per module: its emission, its plan and every emission of its unit, so
        # the front-ends can re-run a backend to show its optimised IR.
        self.inputs: dict[str, tuple[Emitted, ModulePlan, dict[str, Emitted]]] = {}
        self.backend_jobs = 0
        self.early: "Early | None" = None
        self.outputs: list[str] = []        # what it linked, for a build that finds nothing changed
        # A build the process ends after (`thinwatch build`) replays a unit
        # its trace finds unchanged, and leaves a trace (replay.py).
        self.one_shot = False
        self.reported: dict[str, dict] = {}     # module -> what its final state said besides why

    async def emission_ready(self) -> None:
        """Wait until the emission options are known (the target, from LLVM)."""
        if not self.emit_opts:
            opts = await asyncio.shield(self._emit_opts)
            if isinstance(opts, ConfigError):
                raise opts
            self.emit_opts = opts

    async def reader_ready(self) -> None:
        """Wait until the backend's LLVM, which reads bitcode, is known.
        Finding it can run `rustc` (~0.05-0.15 s), so it is looked up while
        the front end runs."""
        if self.codegen is None:
            await self.emission_ready()
            codegen = await asyncio.shield(self._codegen)
            if isinstance(codegen, ConfigError):
                raise codegen
            self.codegen = codegen

    async def ready(self) -> None:
        """Wait until the backend's options are known: once the front end
        has said what its profile asks for (the level, the CPU)."""
        if self.backend_opts is None:
            await self.reader_ready()
            codegen = self.codegen
            self.backend_opts = BackendOptions(self.emit_opts["triple"], self.ws.opt_level, self.ws.cpu,
                                               codegen.library, codegen.stamp, codegen.identity,
                                               codegen.pipeline)

    @property
    def all_backend_jobs(self) -> int:
        """Backend jobs this build ran, early ones included (used or not)."""
        return self.backend_jobs + (self.early.job_count if self.early else 0)

    def state(self, src: ModuleSource, state: ModuleStatus, **kw) -> None:
        self.report.module(src.id, src.crate, state, **kw)

    def fail(self, src: ModuleSource, message: str, line: int | None = None, col: int | None = None) -> None:
        self.failed[src.id] = message
        self.report.diagnostic("error", message, module=src.id, file=_relative(src, self.ws.root),
                               line=line, col=col)
        self.state(src, ModuleStatus.FAILED, why=[message])

    def label(self, em: Emitted) -> str:
        """What people call the module, from what it defines: worked out
        once per emission (~50 µs a Rust module, every build otherwise)."""
        label = self.memory.labels.get(em.key)
        if label is None:
            label = self.memory.labels[em.key] = self.ws.label(em.source.id, em.summary.functions)
        return label

    def task_done(self, src: ModuleSource, phase: str, res: TaskResult) -> None:
        self.report.task(src.id, phase, res)

    # -- emission ------------------------------------------------------------
    def reader(self, src: ModuleSource) -> tuple[str, str, str] | None:
        """The release LLVM that reads a bitcode source: the backends' (for
        bitcode, known once `reader_ready` returned); None: llvmlite's."""
        return self.bitcode_reader if src.is_bitcode else None

    @property
    def bitcode_reader(self) -> tuple[str, str, str] | None:
        if not self.codegen.library:
            return None
        return self.codegen.library, self.codegen.stamp, self.codegen.identity

    def emission_key(self, src: ModuleSource, data: bytes) -> str:
        return emission.key(src.id, src.is_bitcode, data, self.reader(src), self.emit_opts)

    def _lookup(self, src: ModuleSource, force: bool) -> tuple[bytes, str, Emitted | None, list[int] | None, float]:
        """Read the source and look its emission up in the cache (in a thread)."""
        stamp, read_at = files.stamp(src.path), time.time()
        data = src.path.read_bytes()
        key = self.emission_key(src, data)
        blob = None if force else self.cache.get("emit", key)
        if blob is None or not emission.cached(self.cache, key):
            return data, key, None, stamp, read_at
        meta = orjson.loads(blob)
        return data, key, Emitted(src, key, meta["own"], ModuleSummary.from_dict(meta["summary"])), \
            stamp, read_at

    def look_up(self, sources: list[ModuleSource]) -> None:
        """Look up at once (in one thread) the emissions of the sources the
        session has no live record of, all of them in a new process: a thread
        hop per module was most of a 10,000-module summary load. Only hits are
        kept; `emit` reads a miss again itself."""
        for src in sources:
            if src.problem or self._unchanged(src) is not None:
                continue
            try:
                _, key, hit, stamp, read_at = self._lookup(src, False)
            except OSError:
                continue                       # `emit` meets the error itself
            if hit is not None:
                self._looked_up[src.path] = (b"", key, hit, stamp, read_at)

    def _remember(self, src: ModuleSource, em: Emitted, stamp: list[int] | None, read_at: float) -> None:
        if files.vouches(stamp, read_at):
            self.seen[src.path] = Seen(stamp, em)
        else:
            self.seen.pop(src.path, None)

    def _unchanged(self, src: ModuleSource) -> Emitted | None:
        known = self.seen.get(src.path)
        if known is None or known.emitted.source != src:
            return None
        return known.emitted if files.stamp(src.path) == known.stamp else None

    async def emit(self, src: ModuleSource, force: bool = False) -> Emitted | None:
        if src.problem:
            self.fail(src, src.problem)
            return None
        known = None if force else self._unchanged(src)
        if known is not None:
            self.used.update((kind, known.key) for kind in emission.KINDS)
            return known
        await (self.reader_ready() if src.is_bitcode else self.emission_ready())     # (see `reader`)
        found = None if force else self._looked_up.pop(src.path, None)
        try:
            data, key, hit, stamp, read_at = found or await asyncio.to_thread(self._lookup, src, force)
        except OSError as e:
            self.fail(src, f"cannot read: {e.strerror or e}")
            return None
        self.used.update((kind, key) for kind in emission.KINDS)
        if hit is not None:
            self._remember(src, hit, stamp, read_at)
            return hit
        self.state(src, ModuleStatus.EMITTING)
        try:
            res = await self.executor.run(emit.emit, src.id, data, src.is_bitcode, self.emit_opts, self.reader(src))
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
            own = await asyncio.to_thread(emission.store, self.cache, key, out, data)
        except OSError as e:
            self.fail(src, f"cannot write the cache: {e.strerror or e}")
            return None
        self._fragments[key] = out["fragments"]
        em = Emitted(src, key, own, out["summary"])
        self._remember(src, em, stamp, read_at)
        return em

    async def fragments(self, plan: ModulePlan, emitted: dict[str, Emitted]) -> list[Fragment] | None:
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
                    self._fragments[em.key] = {name: Fragment(**f) for name, f in orjson.loads(blob).items()}
            frag = self._fragments.get(em.key, {}).get(imp.source_name)
            if frag is None or frag.hash != imp.hash:
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
    async def carry_out(self, job: Job, path: Path, old: record.ModuleRecord | None,
                        linked: dict[str, Emitted]) -> record.ModuleRecord | None:
        """Make `path` the object `job` plans, and say what it took; the
        module's record, or None if it failed."""
        em = job.emitted
        early_seconds = None if job.reused or self.early is None else await self.early.result(job.digest)
        fresh, obj = False, None
        if job.reused or early_seconds is not None:
            fresh = old is not None and old.left(job.digest, path)
            obj = None if fresh else await asyncio.to_thread(self.cache.get, "obj", job.digest)
        state, why = job.state, job.why
        if not (fresh or obj is not None):
            if job.reused:               # the entry failed verification: compile it again
                state, why = job.ran, ["its cached object failed verification"]
            obj = await self.backend(job, linked)
            if obj is None:
                return None
        elif early_seconds is not None:
            self.backend_seconds[job.module] = early_seconds
        if not fresh:
            try:
                await asyncio.to_thread(place, path, obj)
            except OSError as e:
                self.fail(em.source, f"cannot write {path.name}: {e.strerror or e}")
                return None
        seconds = round(self.backend_seconds.get(job.module, old.backend_seconds if old else 0.0), 4)
        plan = job.plan
        details = dict(backend_seconds=seconds, imports=[[i.name, i.exporter, i.hash] for i in plan.imports],
                       exported_to=plan.exported_to, promoted=plan.promote, internalized=plan.internalize,
                       object_size=path.stat().st_size, label=self.label(em), names=names.mentioned(plan))
        self.state(em.source, state, why=why, **details)
        self.reported[job.module] = details
        return record.ModuleRecord(job.components, job.digest, em.own, files.stamp(path), seconds)

    async def backend(self, job: Job, linked: dict[str, Emitted]) -> bytes | None:
        """Run the job's backend and put its object in the cache."""
        src = job.emitted.source
        self.state(src, ModuleStatus.OPTIMIZING)
        bc = await self.bitcode(job.emitted)
        if bc is None:
            return None
        frags = await self.fragments(job.plan, linked)
        if frags is None:
            self.fail(src, "an imported fragment is missing from the cache and could not be re-emitted")
            return None
        self.backend_jobs += 1
        try:
            res = await self.executor.run(backend.run_backend, src.id, bc, job.plan.backend_plan(),
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
            await asyncio.to_thread(self.cache.put, "obj", job.digest, obj)
        except OSError as e:
            self.fail(src, f"cannot write the cache: {e.strerror or e}")
            return None
        self.memory.built[job.digest] = self.report.generation
        return obj


def _relative(src: ModuleSource, root: Path) -> str:
    try:
        return printable(str(src.path.relative_to(root)))
    except ValueError:
        return src.display
