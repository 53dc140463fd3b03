"""The log: build lines, diagnostics (file:line), link results, and one line
per program a build ran (its output goes to the output pane)."""

from __future__ import annotations

from ..model import Model
from .model_log import ModelLog

STYLES = ("build", "ok", "error", "warning", "link", "superseded")


class LogPanel(ModelLog):
    PREFIX = "log-panel"
    COMPONENT_CLASSES = {f"log-panel--{s}" for s in STYLES}

    def source(self, model: Model):
        return model.log

    def total(self, model: Model) -> int:
        return model.log_total
