"""Which task ran when, one row per worker, in the current (or last) build.
Rows are named by worker number (or host), never by PID; a backend job that
started early, while cargo still ran, is drawn apart from the others."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.session_api import plural

from ..model import Model, Task

GLYPHS = {"emit": "▒", "backend": "█", "early": "▓"}
LEGEND = {"emit": "emit", "backend": "backend", "early": "early backend"}


def kind(t: Task) -> str:
    return "early" if t.early else t.phase


def lanes(tasks: list[Task]) -> dict[str, list[Task]]:
    """Tasks per worker name, workers in the order they first appeared."""
    out: dict[str, list[Task]] = {}
    for t in sorted(tasks, key=lambda t: (t.lane, t.start)):
        out.setdefault(t.worker, []).append(t)
    return out


def render_lanes(tasks: list[Task], width: int, styles: dict[str, str]) -> Text:
    if not tasks:
        return Text("no tasks ran in this build", style=styles.get("dim", ""))
    rows = lanes(tasks)
    label = max(len(name) for name in rows)
    t0 = min(t.start for t in tasks)
    span = max(t.start + t.seconds for t in tasks) - t0 or 1e-9
    bar = max(10, width - label - 2)
    text = Text()
    for worker, ts in rows.items():
        owner: list[Task | None] = [None] * bar
        wide: set[int] = set()            # tasks wide enough to show where they start
        for t in ts:
            a = int((t.start - t0) / span * bar)
            b = max(a + 1, int((t.start + t.seconds - t0) / span * bar))
            if b - a >= 3:
                wide.add(id(t))
            for i in range(a, min(b, bar)):
                owner[i] = t
        line = Text(f"{worker:>{label}} │")
        prev = None
        for i, t in enumerate(owner):
            if t is None:
                line.append(" ")
                prev = None
                continue
            start = t is not prev and id(t) in wide
            line.append("▏" if start and i else GLYPHS[kind(t)], style=styles.get(kind(t), ""))
            prev = t
        text.append_text(line)
        text.append("\n")
    shown = [k for k in GLYPHS if any(kind(t) == k for t in tasks)]
    dim = styles.get("dim", "")
    text.append(f"{'':>{label}} └ {span:.2f}s · {plural(len(tasks), 'task')} on {plural(len(rows), 'worker')}\n",
                style=dim)
    text.append(f"{'':>{label}}   " + "  ".join(f"{GLYPHS[k]} {LEGEND[k]}" for k in shown), style=dim)
    return text


class Timeline(Widget):
    COMPONENT_CLASSES = {f"timeline--{k}" for k in (*GLYPHS, "dim")}

    def __init__(self, model: Model, **kw):
        super().__init__(**kw)
        self.model = model

    def render(self) -> Text:
        styles = {k: self.get_component_rich_style(f"timeline--{k}") for k in (*GLYPHS, "dim")}
        return render_lanes(self.model.tasks, self.size.width, styles)
