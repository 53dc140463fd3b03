"""The log: build lines, diagnostics (file:line), link results, and one line
per program a build ran (its output goes to the output pane)."""

from __future__ import annotations

from ..model import Model
from .model_log import ModelLog

STYLES = ("build", "ok", "error", "warning", "link", "superseded")


class LogPanel(ModelLog):
    """Appends only the lines it has not shown yet (the model keeps a count)."""

    PREFIX = "log-panel"
    COMPONENT_CLASSES = {f"log-panel--{s}" for s in STYLES}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = 0

    def source(self, model: Model):
        return model.log

    def rewrite(self) -> None:
        super().rewrite()
        self.seen = self.model.log_total        # every line is shown now

    def sync(self, model: Model) -> None:
        self.model = model
        new = model.log_total - self.seen
        if new <= 0:
            return
        self.put(list(model.log)[-min(new, len(model.log)):])
        self.seen = model.log_total
