"""The status bar. Line 1: the watch state, what runs after a good build
(`running app`, `testing`, `app stopped by a change`), where tasks run (the
local pool, a Dask cluster) and the workspace. Line 2, the
counts line: which build it is about, how it ended, its modules per state.
Each line is cut at the edge, never wrapped (app.tcss), so the counts line
stays in view at 80 columns whatever the workspace's path."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from thinwatch.engine.events import FINAL_STATES, LIVE_STATES
from thinwatch.engine.session_api import plural

from .. import format as fmt
from ..model import Model

WATCH = ("watching", "building", "paused", "failed")


class StatusBar(Widget):
    # The watch badge has classes of its own: "failed" is both a watch state
    # (a background) and a module state (a foreground), and one class for
    # both painted the failed count in its own colour on that colour.
    COMPONENT_CLASSES = {f"status--{s}" for s in (*FINAL_STATES, "dim", "title", "program")} | {f"status--badge-{s}" for s in WATCH}

    def __init__(self, model: Model, **kw):
        super().__init__(**kw)
        self.model = model

    def _s(self, name: str):
        return self.get_component_rich_style(f"status--{name}")

    def render(self) -> Text:
        return Text("\n").join([self.header(), self.counts_line()])

    def header(self) -> Text:
        m = self.model
        t = Text()
        t.append("thinwatch ", style=self._s("title"))
        t.append(f" {m.watch_state} ", style=self._s(f"badge-{m.watch_state}"))
        if m.program:
            t.append(f"  {m.program}", style=self._s("program"))
        t.append(f"  {plural(len(m.rows), 'module')} · ")
        if m.executor:
            t.append(f"tasks on {m.executor} · ")
        t.append(m.workspace, style=self._s("dim"))      # last: the part cut when narrow
        return t

    def counts_line(self) -> Text:
        m, last = self.model, self.model.last
        if not m.building and last is None:
            return Text("waiting for the first build", style=self._s("dim"))
        t = Text()
        if m.building:
            t.append(f"build {m.generation} · ")
            empty = "starting"
        elif last.ok:
            t.append(f"build {last.generation} · ok in {fmt.seconds(last.seconds)} · ")
            empty = "nothing to do"
        else:
            t.append(f"✗ build {last.generation} failed in {fmt.seconds(last.seconds)}", style=self._s("failed"))
            t.append(" · ")
            empty = "no module built (see the log)"
        counts = m.counts()
        active = sum(counts.get(s, 0) for s in LIVE_STATES)
        parts = [(f"{LIVE_STATES[0].symbol} {active} in progress", "")] if active else []
        parts += [(f"{s.symbol} {counts[s]} {s}", self._s(s)) for s in FINAL_STATES if counts.get(s)]
        for said, style in parts or [(empty, self._s("dim"))]:
            t.append(said, style=style)
            t.append(" ")
        if m.building:
            return t
        t.append(f"· {plural(last.backend_jobs, 'backend job')}", style=self._s("dim"))
        if not last.ok:
            if m.last_ok is not None:
                t.append(f" · last good: build {m.last_ok}", style=self._s("dim"))
        else:
            t.append(f" · saved {fmt.seconds(m.saved_seconds())} of backend time", style=self._s("dim"))
        return t
