"""1,000 modules: rows appear while the first build runs, and keys are
handled during it (the engine shares the app's loop; events are batched)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tuihelp import wait_for
from thinwatch.tui.app import ThinwatchApp

N = 1000


def generate(root: Path, n: int = N) -> Path:
    """One crate; module i defines f<i>, which calls f<i-1>; main calls the last."""
    crate = root / "chain"
    crate.mkdir(parents=True)
    (root / "thinwatch.toml").write_text(
        '[build]\noutput = "chain"\nentry = ["main"]\nopt_level = 1\nlibs = []\n\n[crates]\nchain = "chain"\n')
    for i in range(n):
        if i == 0:
            body = "  %y = add i32 %x, 1\n"
        else:
            body = f"  %c = call i32 @f{i - 1}(i32 %x)\n  %y = add i32 %c, {i}\n"
        decl = f"declare i32 @f{i - 1}(i32)\n\n" if i else ""
        (crate / f"m{i:04d}.ll").write_text(f"{decl}define i32 @f{i}(i32 %x) {{\nentry:\n{body}  ret i32 %y\n}}\n")
    (crate / "main.ll").write_text(
        f"declare i32 @f{n - 1}(i32)\n\ndefine i32 @main() {{\nentry:\n"
        f"  %r = call i32 @f{n - 1}(i32 0)\n  %m = and i32 %r, 0\n  ret i32 %m\n}}\n")
    return root


def test_thousand_modules_stay_responsive(tmp_path):
    ws = generate(tmp_path / "ws")
    app = ThinwatchApp(ws, jobs=2)
    asyncio.run(drive(app))


async def drive(app: ThinwatchApp) -> None:
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.table
        await wait_for(pilot, lambda: table.row_count > N // 2, 30, "rows while building")
        assert app.model.building, "the build finished before the UI showed its rows"
        await wait_for(pilot, lambda: table.row_count == N + 1, 30, "every module's row")

        # A key during the build is handled promptly while it still runs.
        # Latency is measured to the moment the action runs: Pilot's press()
        # itself waits for the app to go idle, which a building app never is.
        handled: list[float] = []
        toggle = app.action_changed_only

        def timed_toggle() -> None:
            handled.append(time.monotonic())
            toggle()
        app.action_changed_only = timed_toggle
        t = time.monotonic()
        await pilot.press("f")
        await wait_for(pilot, lambda: table.changed_only, 5, "the f key")
        latency = handled[0] - t
        assert latency < 1.0, f"f took {latency:.2f}s to be handled during the build"
        assert app.model.building
        await pilot.press("f")
        await wait_for(pilot, lambda: not table.changed_only, 5, "f again")
        await pilot.press("q")
        await pilot.pause()
