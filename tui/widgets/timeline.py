"""Which task ran when, per worker process, in the current (or last) build."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.session_api import plural

from ..model import Model, Task

LABEL = 9       # "  12345 │"


def lanes(tasks: list[Task]) -> dict[int, list[Task]]:
    out: dict[int, list[Task]] = {}
    for t in sorted(tasks, key=lambda t: t.start):
        out.setdefault(t.worker, []).append(t)
    return dict(sorted(out.items()))


def render_lanes(tasks: list[Task], width: int, styles: dict[str, str]) -> Text:
    text = Text()
    if not tasks:
        return Text("no tasks ran in this build", style=styles.get("dim", ""))
    t0 = min(t.start for t in tasks)
    span = max(t.start + t.seconds for t in tasks) - t0 or 1e-9
    bar = max(10, width - LABEL - 1)
    for worker, ts in lanes(tasks).items():
        owner: list[Task | None] = [None] * bar
        wide: set[int] = set()            # tasks wide enough to show where they start
        for t in ts:
            a = int((t.start - t0) / span * bar)
            b = max(a + 1, int((t.start + t.seconds - t0) / span * bar))
            if b - a >= 3:
                wide.add(id(t))
            for i in range(a, min(b, bar)):
                owner[i] = t
        line = Text(f"{worker:>7} │")
        prev = None
        for i, t in enumerate(owner):
            if t is None:
                line.append(" ")
                prev = None
                continue
            start = t is not prev and id(t) in wide
            ch = "▏" if start and i else ("█" if t.phase == "backend" else "▒")
            line.append(ch, style=styles.get(t.phase, ""))
            prev = t
        text.append_text(line)
        text.append("\n")
    text.append(f"{'':>7} └ {span:.2f}s  ▒ emit  █ backend  {plural(len(tasks), 'task')} on {plural(len(lanes(tasks)), 'worker')}",
                 style=styles.get("dim", ""))
    return text


class Timeline(Widget):
    COMPONENT_CLASSES = {"timeline--emit", "timeline--backend", "timeline--dim"}

    def __init__(self, model: Model, **kw):
        super().__init__(**kw)
        self.model = model

    def render(self) -> Text:
        styles = {k: self.get_component_rich_style(f"timeline--{k}") for k in ("emit", "backend", "dim")}
        return render_lanes(self.model.tasks, self.size.width, styles)
