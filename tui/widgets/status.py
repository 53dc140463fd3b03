"""The status bar: workspace, watch state, last build, counts, time saved."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.events import FINAL_STATES, LIVE_STATES
from engine.session_api import plural

from .. import format as fmt
from ..model import Model

WATCH = ("watching", "building", "paused", "failed")


class StatusBar(Widget):
    COMPONENT_CLASSES = {f"status--{s}" for s in (*FINAL_STATES, *WATCH, "dim", "title")}

    def __init__(self, model: Model, **kw):
        super().__init__(**kw)
        self.model = model

    def _s(self, name: str):
        return self.get_component_rich_style(f"status--{name}")

    def render(self) -> Text:
        m = self.model
        t = Text()
        t.append("thinwatch ", style=self._s("title"))
        t.append(m.workspace, style=self._s("dim"))
        t.append("  ")
        state = m.watch_state
        t.append(f" {state} ", style=self._s(state))
        if m.building:
            t.append(f"  build {m.generation}")
        if m.last is not None:
            ok = "ok" if m.last.ok else "FAILED"
            t.append(f"  last: build {m.last.generation} {ok} in {fmt.seconds(m.last.seconds)}")
            t.append(f" ({plural(m.last.backend_jobs, 'backend job')})", style=self._s("dim"))
        t.append("\n")
        counts = m.counts()
        for s in FINAL_STATES:
            t.append(f"{s.symbol} {counts.get(s, 0)} {s}", style=self._s(s))
            t.append("  ")
        active = sum(counts.get(s, 0) for s in LIVE_STATES)
        if active:
            t.append(f"{LIVE_STATES[0].symbol} {active} in progress  ")
        t.append(plural(len(m.rows), "module"), style=self._s("dim"))
        t.append(f"   saved {fmt.seconds(m.saved_seconds())} of backend time vs a full rebuild")
        return t
