"""Early backends: ThinLTO work started while cargo is still compiling.

cargo builds crates in dependency order and reports each rlib as soon as it
is written, while the crates that depend on it still compile, mostly on one
core. When a library crate was recompiled, its new codegen units replace
that crate's in the last thin link of every unit that uses it, and the
backend jobs this changes start at once, on the workers cargo leaves idle.

That is a guess about the final link (that the other crates' bitcode and the
preserve set stay as they were), and nothing trusts it. A guess can be
wrong (an edited generic or inline function changes the crates above too),
so a build starts at most `JOBS_PER_WORKER` early jobs per worker: what it
wastes is bounded by that margin, whatever the workspace's size. An early job is an
ordinary backend job: it writes its object to the cache under its complete
key. When cargo is done the build computes every key from what cargo
actually produced; a key an early job produced (or is producing) takes that
object, and every other key runs as usual. A wrong guess costs idle-core
time, never a stale object.

Once a guess's objects exist, the executable is linked from them too, under
`early/links/`. The build moves it into place only if the inputs key of the
link it would run (`link.inputs_key`: every object by key digest, the rest
of the line with the natives by content, the driver) is the early link's.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from . import keys, record
from .build import Build, Emitted
from .cache import place
from .errors import ConfigError
from .link import LinkFailed, inputs_key, link as link_executable
from .linkshim import ar_members, keep_members
from .thinlink import ModulePlan, thin_link
from .workspace import ModuleSource, Unit


JOBS_PER_WORKER = 4


@dataclass
class LastLink:
    """A unit's last thin link, what early jobs start from; once it linked,
    also the unit, what an early link starts from."""
    preserve: set[str]
    emitted: dict[str, Emitted]
    unit: Unit | None = None


class Early:
    def __init__(self, b: Build, links: dict[str, LastLink], early_dir: Path):
        self.b = b                       # a Build whose events go nowhere
        self.links = links
        # Per unit, its last link with every crate cargo has rebuilt so far swapped in.
        self.guesses = {name: dict(link.emitted) for name, link in links.items()}
        self.members_dir = early_dir
        self.links_dir = early_dir / "links"
        self.jobs: dict[str, asyncio.Task] = {}       # backend key digest -> early job
        self.seconds: dict[str, float] = {}           # digest -> its backend time, once compiled
        self._starts: list[asyncio.Task] = []
        self._links: dict[str, tuple[str, asyncio.Task]] = {}   # unit -> (inputs key, its early link)

    @property
    def job_count(self) -> int:
        return self.b.backend_jobs

    def artifact(self, rlib: Path) -> None:
        """cargo wrote this library: start the backends it changes."""
        self._starts.append(asyncio.create_task(self._start(rlib)))

    async def result(self, digest: str) -> float | None:
        """The backend time of an early job of this build that compiled
        `digest` (after waiting for it), or None."""
        job = self.jobs.get(digest)
        if job is not None:
            try:
                await asyncio.shield(job)
            except Exception:
                return None
        return self.seconds.get(digest)

    async def take_link(self, name: str, inputs: str, exe: Path, dest: Path) -> bool:
        """Move the unit's early link of executable `exe` to `dest` if it
        linked exactly `inputs` (waiting for it); False if there is no such link."""
        key, task = self._links.get(name, ("", None))
        if task is None or key != inputs:
            return False
        await asyncio.wait([task])
        if task.cancelled() or task.exception() is not None or not task.result():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.links_dir / name / exe.name, dest)
        return True

    def cancel(self) -> None:
        for task in [*self._starts, *self.jobs.values(), *(task for _, task in self._links.values())]:
            task.cancel()

    async def _start(self, rlib: Path) -> None:
        members = await asyncio.to_thread(self._extract, rlib)
        if not members:
            return
        instance = members[0].origin
        try:
            new = [em for em in await self.b.each(members, self.b.emit) if em is not None]
            await self.b.ready()
        except ConfigError:
            return
        if len(new) != len(members):
            return
        for name, link in self.links.items():
            guess = self.guesses[name]
            # By crate instance, not name: a package's binary has its library's.
            before = {mid: em.key for mid, em in guess.items() if em.source.origin == instance}
            if not before or before == {em.source.id: em.key for em in new}:
                continue          # not in this link, or its bitcode is what the guess has
            linked = {mid: em for mid, em in guess.items() if em.source.origin != instance}
            linked.update((em.source.id, em) for em in new)
            self.guesses[name] = linked
            plans = thin_link({mid: em.summary for mid, em in linked.items()}, link.preserve)
            digests = {}
            for mid, em in linked.items():
                comps = keys.components(mid, em.own, plans[mid], self.b.backend_opts)
                digests[mid] = digest = keys.key_digest(comps)
                if (digest not in self.jobs and len(self.jobs) < JOBS_PER_WORKER * self.b.pool.jobs
                        and not self.b.cache.has("obj", digest)):
                    self.jobs[digest] = asyncio.create_task(self._backend(em, plans[mid], comps, digest, linked))
            if link.unit is not None:
                _, superseded = self._links.pop(name, ("", None))
                if superseded is not None:
                    superseded.cancel()
                self._links[name] = (inputs_key(digests, link.unit),
                                     asyncio.create_task(self._link(name, link, digests)))

    async def _link(self, name: str, link: LastLink, digests: dict[str, str]) -> bool:
        """Link the guess into `links/<unit>/` once its objects exist."""
        await asyncio.gather(*(self.jobs[d] for d in set(digests.values()) if d in self.jobs),
                             return_exceptions=True)
        unit = link.unit
        objects = await asyncio.to_thread(self._objects, name, unit, digests)
        if objects is None:
            return False
        try:
            await link_executable(unit.link_args(objects), self.links_dir / name / unit.output.name, unit.driver)
        except LinkFailed:
            return False
        return True

    def _objects(self, name: str, unit: Unit, digests: dict[str, str]) -> list[Path] | None:
        """Each module's object as a file, in the order the build links them:
        the last build's where its record vouches for the same object, else
        one from the cache."""
        last = record.load(unit.state_dir, self.b.memory.records).modules
        out = []
        for mid in sorted(digests):
            path = unit.object(mid)
            if mid not in last or not last[mid].left(digests[mid], path):
                data = self.b.cache.get("obj", digests[mid])
                if data is None:
                    return None
                path = self.links_dir / name / "objects" / path.name
                place(path, data)
            out.append(path)
        return out

    async def _backend(self, em: Emitted, plan: ModulePlan, comps: dict, digest: str,
                       linked: dict[str, Emitted]) -> None:
        if await self.b.backend(em, plan, comps, digest, linked, "early") is not None:
            self.seconds[digest] = self.b.backend_seconds[em.source.id]

    def _extract(self, rlib: Path) -> list[ModuleSource]:
        """The rlib's bitcode members, as files of their own (none if that
        fails: early work is only ever an optimisation)."""
        try:
            return self._write_members(rlib.read_bytes())
        except OSError:
            return []

    def _write_members(self, data: bytes) -> list[ModuleSource]:
        self.members_dir.mkdir(parents=True, exist_ok=True)
        out = [ModuleSource(mid, crate, Path(path), True, origin=instance)
               for mid, crate, path, instance in keep_members(self.members_dir, ar_members(data))]
        names = {src.path.name for src in out}
        for old in self.members_dir.iterdir():       # the crate's units of earlier builds
            if out and old.name not in names and old.suffix == ".bc" and old.name.split(".")[0] == out[0].crate:
                old.unlink(missing_ok=True)
        return out
