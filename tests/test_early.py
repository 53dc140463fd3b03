"""Early work's tasks under cancellation. A newer guess cancels the early
link of the one before; the jobs that link waited for are shared with the
newer guess and with the build, which must get their objects, not a
cancellation (one reached the build as if a change had superseded it, and a
watch session then waited for a change that never came)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from thinwatch.engine.early import Early


def early_work(tmp_path) -> Early:
    # Only the build directory is read before a link's jobs are done.
    return Early(SimpleNamespace(ws=SimpleNamespace(build_dir=tmp_path)), {})


def test_a_superseded_early_link_leaves_its_jobs_running(tmp_path):
    async def scenario():
        early = early_work(tmp_path)
        job = asyncio.create_task(asyncio.sleep(0.2))       # a backend still compiling
        early.jobs["digest"] = job
        link = asyncio.create_task(early._link("app", None, {"app::main": "digest"}))
        await asyncio.sleep(0.01)                           # the link waits for the job
        link.cancel()                                       # a newer guess supersedes it
        await asyncio.wait([link])
        assert not job.cancelled()
        assert await early.result("digest") is None         # finished; it compiled nothing here
        assert job.done() and not job.cancelled()
    asyncio.run(scenario())


def test_a_cancelled_early_job_is_no_result_not_a_cancellation(tmp_path):
    async def scenario():
        early = early_work(tmp_path)
        early.jobs["digest"] = job = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        job.cancel()
        assert await early.result("digest") is None
    asyncio.run(scenario())
