"""Helpers for the Textual app tests: real workspaces, waiting on the model."""

from __future__ import annotations

import asyncio
import time

from textual.pilot import Pilot


def built(app, generation: int):
    """A condition: the app's model has finished build `generation` (or a later one)."""
    m = app.model
    return lambda: m.last is not None and m.last.generation >= generation and not m.building


async def wait_for(pilot: Pilot, cond, timeout: float = 30.0, what: str = "condition") -> None:
    """Let the app run until `cond()` holds (polling between pauses)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot: Pilot, seconds: float) -> None:
    """Run the app for a while (e.g. to show nothing happens)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await pilot.pause(0.05)
    await asyncio.sleep(0)


async def show(pilot: Pilot, events) -> None:
    """Fold `events` into the app's model and let the views draw them."""
    pilot.app.feed(events)
    pilot.app.flush()
    await pilot.pause()


def visible_text(widget) -> str:
    """What `widget` shows on screen now, line by line."""
    return "\n".join("".join(seg.text for seg in widget.render_line(y)) for y in range(widget.size.height))
