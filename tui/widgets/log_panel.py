"""The log: build lines, diagnostics (file:line), link results and the output
of the built program when the manifest has a `run` command."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from ..model import Model

STYLES = ("build", "ok", "error", "warning", "link", "superseded", "program")


class LogPanel(RichLog):
    """Appends only the lines it has not shown yet (the model keeps a count)."""

    COMPONENT_CLASSES = {f"log-panel--{s}" for s in STYLES}

    def __init__(self, **kw):
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=2000, **kw)
        self.seen = 0

    def sync(self, model: Model) -> None:
        new = model.log_total - self.seen
        if new <= 0:
            return
        lines = list(model.log)[-min(new, len(model.log)):]
        for line in lines:
            self.write(Text(line.text, style=self.get_component_rich_style(f"log-panel--{line.style}")))
        self.seen = model.log_total
