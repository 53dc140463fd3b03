"""Early backends: ThinLTO work started while cargo is still compiling.

cargo builds crates in dependency order and reports each rlib as soon as it
is written, while the crates that depend on it still compile, mostly on one
core. When a library crate was recompiled, its new codegen units replace
that crate's in the last thin link of every unit that uses it, and the
backend jobs this changes start at once, on the workers cargo leaves idle.

That is a guess about the final link (that the other crates' bitcode and the
preserve set stay as they were), and nothing trusts it. An early job is an
ordinary backend job: it writes its object to the cache under its complete
key. When cargo is done the build computes every key from what cargo
actually produced; a key an early job produced (or is producing) takes that
object, and every other key runs as usual. A wrong guess costs idle-core
time, never a stale object.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from . import keys
from .build import Build, Emitted
from .errors import ConfigError
from .linkshim import keep_members
from .thinlink import ModulePlan, thin_link
from .workspace import ModuleSource


@dataclass
class LastLink:
    """A unit's last thin link: what early jobs start from."""
    preserve: set[str]
    emitted: dict[str, Emitted]


class Early:
    def __init__(self, b: Build, links: dict[str, LastLink], members_dir: Path):
        self.b = b                       # a Build whose events go nowhere
        self.links = links
        self.members_dir = members_dir
        self.jobs: dict[str, asyncio.Task] = {}       # backend key digest -> early job
        self.seconds: dict[str, float] = {}           # digest -> its backend time, once compiled
        self._starts: list[asyncio.Task] = []

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

    def cancel(self) -> None:
        for task in [*self._starts, *self.jobs.values()]:
            task.cancel()

    async def _start(self, rlib: Path) -> None:
        members = await asyncio.to_thread(self._extract, rlib)
        if not members:
            return
        crate = members[0].crate
        new = [em for em in await self.b.each(members, self.b.emit) if em is not None]
        if len(new) != len(members):
            return
        try:
            await self.b.ready()
        except ConfigError:
            return
        for link in self.links.values():
            before = {mid: em.key for mid, em in link.emitted.items() if em.source.crate == crate}
            if not before or before == {em.source.id: em.key for em in new}:
                continue          # not in this link, or its bitcode is what the last link had
            linked = {mid: em for mid, em in link.emitted.items() if em.source.crate != crate}
            linked.update((em.source.id, em) for em in new)
            plans = thin_link({mid: em.summary for mid, em in linked.items()}, link.preserve)
            for mid, em in linked.items():
                comps = keys.components(mid, em.own, plans[mid], self.b.backend_opts)
                digest = keys.key_digest(comps)
                if digest not in self.jobs and not self.b.cache.has("obj", digest):
                    self.jobs[digest] = asyncio.create_task(self._backend(em, plans[mid], comps, digest, linked))

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
        out = [ModuleSource(mid, crate, Path(path), True)
               for mid, crate, path in keep_members(self.members_dir, data)]
        names = {src.path.name for src in out}
        for old in self.members_dir.iterdir():       # the crate's units of earlier builds
            if out and old.name not in names and old.suffix == ".bc" and old.name.split(".")[0] == out[0].crate:
                old.unlink(missing_ok=True)
        return out
