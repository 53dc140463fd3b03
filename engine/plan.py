"""The plan step: what every module of a link unit needs this build, decided
from values alone.

(a unit's emissions, its previous record, what the cache holds, what early
work is compiling) -> the thin link's plan for each module, and one `Job`
per module: its key components and digest, and its state, `reused` when the
cache holds the object its key names, else what running its backend makes
it. Nothing else in the engine decides reuse: the rebuilder carries jobs out
and the early work of a Cargo build plans its guesses here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Collection, Iterable, Mapping

from . import keys
from .backend import BackendOptions
from .events import ModuleStatus
from .record import Record
from .summary import ModuleSummary
from .thinlink import ModulePlan, Trace, thin_link
from .project import ModuleSource


@dataclass
class Emitted:
    """A module's emission: its pre-link bitcode (by hash) and summary."""
    source: ModuleSource
    key: str                     # the emission's cache key
    own: str                     # sha256 of the pre-link bitcode
    summary: ModuleSummary


@dataclass
class Job:
    module: str
    emitted: Emitted
    plan: ModulePlan
    components: dict
    digest: str
    state: ModuleStatus          # REUSED, or `ran` when the backend has to run
    ran: ModuleStatus            # what running it makes the module: REBUILT (own bitcode) or REIMPORTED
    why: list[str]
    early: bool                  # an early job of this build compiles it

    @property
    def reused(self) -> bool:
        return self.state == ModuleStatus.REUSED


@dataclass
class UnitPlan:
    plans: dict[str, ModulePlan]                 # every linked module's, from the thin link
    jobs: dict[str, Job] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)    # module -> why it cannot be linked


def plan_unit(linked: Mapping[str, Emitted], preserve: Collection[str], modules: Collection[str],
              prev: Record, options: BackendOptions, cached: Callable[[str], bool],
              thin_links: ThinLinks, early: Collection[str] = (),
              built: Mapping[str, int] | None = None) -> UnitPlan:
    """Plan the backends of `modules` (some of `linked`, whose summaries the
    thin link reads, through the session's `thin_links`). `cached(digest)`
    says whether the cache holds an object; `early` are digests early work of this build compiles; `built`
    names the build of this session that compiled a digest, to say which
    one a reused older object came from."""
    plans = thin_links.link(linked, preserve)
    out = UnitPlan(plans)
    for mid in sorted(modules):
        if plans[mid].errors:            # fails the build as the linker would
            out.errors[mid] = "\n".join(plans[mid].errors)
            continue
        em = linked[mid]
        comps = keys.components(mid, em.own, plans[mid], options)
        digest = keys.key_digest(comps)
        old = prev.modules.get(mid)
        ran = ModuleStatus.REBUILT if old is None or old.own != em.own else ModuleStatus.REIMPORTED
        # An object an early job of this build compiles is this build's work.
        if digest not in early and cached(digest):
            state, why = ModuleStatus.REUSED, _reused_why(old and old.digest, digest, built or {})
        else:
            state, why = ran, keys.explain(old.components if old else None, comps)
        out.jobs[mid] = Job(mid, em, plans[mid], comps, digest, state, ran, why, digest in early)
    return out


def longest_first(modules: Iterable[str], prev: Record, emitted: Mapping[str, Emitted]) -> list[str]:
    """Backends in the order two workers finish a handful of them soonest:
    the longest first, by what each took last time (unknown ones first, the
    most instructions first)."""
    def cost(mid: str) -> tuple[float, int, str]:
        old = prev.modules.get(mid)
        size = sum(f.insts for f in emitted[mid].summary.functions.values())
        return (-old.backend_seconds if old else float("-inf"), -size, mid)
    return sorted(modules, key=cost)


class ThinLinks:
    """A session's last thin links, by their inputs: each module's emission
    key (which fixes its summary) and the preserve set, all the thin link
    reads. Early work plans its guess of the link; when the guess comes true
    the build plans the same inputs again, and takes the plans (read-only)
    from here. Any other link starts from the last one's trace
    (thinlink.Trace)."""
    KEPT = 8

    def __init__(self) -> None:
        self._plans: dict[tuple, dict[str, ModulePlan]] = {}
        self._last: Trace | None = None

    def link(self, linked: Mapping[str, Emitted], preserve: Collection[str]) -> dict[str, ModulePlan]:
        key = (tuple(sorted((mid, em.key) for mid, em in linked.items())), frozenset(preserve))
        plans = self._plans.pop(key, None)
        if plans is None:
            plans, self._last = thin_link({mid: em.summary for mid, em in linked.items()}, set(preserve),
                                          {mid: em.key for mid, em in linked.items()}, self._last)
        self._plans[key] = plans
        while len(self._plans) > self.KEPT:
            del self._plans[next(iter(self._plans))]
        return plans


def _reused_why(last: str | None, digest: str, built: Mapping[str, int]) -> list[str]:
    """Nothing to say when the object is the last build's; else that an
    older object's key came back (an edit reverted, a module restored)."""
    if last == digest:
        return []
    return [f"key equals build {built[digest]}'s" if digest in built else "key equals an earlier build's"]
