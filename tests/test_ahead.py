"""Emission ahead of need (engine/ahead.py): the process a cold build hands
cargo's rlibs to writes exactly the cache entries the build would write for
them, so the build may take them as its own, and it ends when told."""

from __future__ import annotations

import asyncio
import shutil
import time
from functools import partial
from types import SimpleNamespace

from conftest import IGNORE, ROOT
from thinwatch.engine import emission, emit
from thinwatch.engine.ahead import Ahead
from thinwatch.engine.cache import Cache
from thinwatch.engine.frontends.cargo.project import early_modules
from thinwatch.engine.reporter import Reporter
from thinwatch.engine.scheduler import run_build


def _entries(root) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*") if path.is_file() and path.name != ".lock"}


def test_entries_emitted_ahead_are_the_ones_the_build_writes(tmp_path, pool):
    ws = tmp_path / "rs"
    shutil.copytree(ROOT / "sample_crates" / "rust", ws, ignore=IGNORE)
    builds = []
    asyncio.run(run_build(ws, pool, Reporter(lambda event: None, 1), on_build=builds.append))
    b = builds[0]
    rlibs = sorted(path for path in (ws / ".thinwatch").rglob("release/deps/*.rlib"))
    assert {path.name.split("-")[0] for path in rlibs} == {"libgeometry", "libstats"}
    reader = b.bitcode_reader
    assert reader is not None                # the release LLVM reads rustc's bitcode, as in a build

    async def reference(cache: Cache) -> set[str]:
        """Each member emitted as the build emits it: by the pool, then stored."""
        keys = set()
        for rlib in rlibs:
            for src in early_modules(rlib, tmp_path / "members" / rlib.stem):
                data = src.path.read_bytes()
                key = emission.key(src.id, True, data, reader, b.emit_opts)
                res = await pool.run(emit.emit, src.id, data, True, b.emit_opts, reader)
                emission.store(cache, key, res.value, data)
                keys.add(key)
        return keys

    async def ahead(cache: Cache, keys: set[str]) -> None:
        async def known() -> None:
            pass
        work = Ahead(SimpleNamespace(reader_ready=known, cache=cache, emit_opts=b.emit_opts, bitcode_reader=reader))
        for rlib in rlibs:
            work.start(partial(early_modules, rlib, tmp_path / "ahead-members" / rlib.stem))
        deadline = time.monotonic() + 120
        while not all(emission.cached(cache, key) for key in keys):
            assert time.monotonic() < deadline, "the process emitted nothing"
            await asyncio.sleep(0.05)
        work.stop()
        await asyncio.wait_for(asyncio.shield(work._feeding), 30)       # it ends when told
        await work.close()

    ref, ahead_cache = Cache(tmp_path / "ref"), Cache(tmp_path / "ahead")
    keys = asyncio.run(reference(ref))
    assert len(keys) >= 4
    asyncio.run(ahead(ahead_cache, keys))
    written, expected = _entries(ahead_cache.root), _entries(ref.root)
    assert len(expected) == 3 * len(keys)
    assert written.keys() == expected.keys() and written == expected

