"""The output pane: what the programs of the latest build printed (its test
binaries, the manifest's `run` command), each after a line with its exit
code. Apart from the log, so a program that prints a lot cannot push the
build and link lines out of view. Hidden until a program has run."""

from __future__ import annotations

from ..model import Model
from .model_log import ModelLog

STYLES = ("build", "error", "program")


class OutputPanel(ModelLog):
    PREFIX = "output-panel"
    COMPONENT_CLASSES = {f"output-panel--{s}" for s in STYLES}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.version = 0

    def source(self, model: Model):
        return model.output

    def sync(self, model: Model) -> None:
        """Written again whole when a program has finished: a new build's
        programs replace the last build's."""
        self.model = model
        if model.output_version == self.version:
            return
        self.version = model.output_version
        self.border_title = f"output of build {model.output_generation}"
        self.display = True
        self.rewrite()
