"""Early backends: ThinLTO work started while the front end is still running.

A front end may hand over a crate's modules before it is done: cargo
builds crates in dependency order and reports each rlib as soon as it is
written, while the crates that depend on it still compile, mostly on one
core (`frontends/cargo` reads the rlib's members and calls `start`). The
new modules replace that crate instance's in the last thin link of every
unit that uses it, and the backend jobs this changes start at once, on the
workers the front end leaves idle.

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
from typing import Callable

from . import record
from .build import Build
from .cache import place
from .errors import ConfigError
from .executor import each
from .link import LinkFailed, inputs_key, link as link_executable
from .plan import Emitted, Job, longest_first, plan_unit
from .project import ModuleSource, Unit


JOBS_PER_WORKER = 4


@dataclass
class LastLink:
    """A unit's last thin link, what early jobs start from; once it linked,
    also the unit, what an early link starts from."""
    preserve: set[str]
    emitted: dict[str, Emitted]
    unit: Unit | None = None


class Early:
    def __init__(self, b: Build, links: dict[str, LastLink]):
        self.b = b                       # a Build reporting only its tasks
        self.links = links
        # Per unit, its last link with every crate rebuilt so far swapped in.
        self.guesses = {name: dict(link.emitted) for name, link in links.items()}
        self.links_dir = b.ws.build_dir / "early" / "links"
        self.jobs: dict[str, asyncio.Task] = {}       # backend key digest -> early job
        self.seconds: dict[str, float] = {}           # digest -> its backend time, once compiled
        self._starts: list[asyncio.Task] = []
        self._links: dict[str, tuple[str, asyncio.Task]] = {}   # unit -> (inputs key, its early link)

    @property
    def job_count(self) -> int:
        return self.b.backend_jobs

    def start(self, modules: Callable[[], list[ModuleSource]]) -> None:
        """The front end has a crate's new modules (`modules()` reads them,
        in a thread; all of one crate instance, or none if they cannot be
        had): start the backends they change."""
        self._starts.append(asyncio.create_task(self._start(modules)))

    async def settled(self) -> None:
        """Wait until every crate handed over so far has its early jobs
        started: the build then emits and compiles none of them a second
        time (the executable's own crate is handed over only a moment
        before cargo exits)."""
        if self._starts:
            await asyncio.wait(self._starts)

    async def result(self, digest: str) -> float | None:
        """The backend time of an early job of this build that compiled
        `digest` (after waiting for it), or None."""
        job = self.jobs.get(digest)
        if job is not None:
            # asyncio.wait, not the job itself: the build's cancellation must
            # not cancel a job other links share, nor the job's its caller.
            await asyncio.wait([job])
            if job.cancelled() or job.exception() is not None:
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

    async def _start(self, modules: Callable[[], list[ModuleSource]]) -> None:
        members = await asyncio.to_thread(modules)
        if not members:
            return
        instance = members[0].origin
        try:
            new = [em for em in await each(self.b.executor, members, self.b.emit) if em is not None]
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
            planned = plan_unit(linked, link.preserve, linked, record.Record(), self.b.backend_opts,
                                lambda digest: self.b.cache.has("obj", digest), self.b.memory.thin_links,
                                early=self.jobs)
            last = record.load(link.unit.state_dir, self.b.memory.records) if link.unit else record.Record()
            to_run = [mid for mid, job in planned.jobs.items() if not (job.reused or job.early)]
            for mid in longest_first(to_run, last, linked):
                if len(self.jobs) < JOBS_PER_WORKER * self.b.executor.jobs:
                    job = planned.jobs[mid]
                    self.jobs[job.digest] = asyncio.create_task(self._backend(job, linked))
            if link.unit is not None and not planned.errors:
                _, superseded = self._links.pop(name, ("", None))
                if superseded is not None:
                    superseded.cancel()
                digests = {mid: job.digest for mid, job in planned.jobs.items()}
                self._links[name] = (inputs_key(digests, link.unit),
                                     asyncio.create_task(self._link(name, link, digests)))

    async def _link(self, name: str, link: LastLink, digests: dict[str, str]) -> bool:
        """Link the guess into `links/<unit>/` once its objects exist."""
        # Not gather: a link superseded by a newer guess is cancelled, and
        # gather would cancel the jobs with it, which the newer guess and the
        # build itself wait for.
        jobs = [self.jobs[d] for d in set(digests.values()) if d in self.jobs]
        if jobs:
            await asyncio.wait(jobs)
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

    async def _backend(self, job: Job, linked: dict[str, Emitted]) -> None:
        if await self.b.backend(job, linked) is not None:
            self.seconds[job.digest] = self.b.backend_seconds[job.module]
