"""The output pane: what the programs of the latest build printed (its test
binaries, the manifest's `run` command, `thinwatch run`'s program), each
with a line saying how it ended; a program that runs until the next change
shows its lines as it prints them. Apart from the log, so a program that
prints a lot cannot push the build and link lines out of view. Hidden until
a program has printed."""

from __future__ import annotations

from ..model import Model
from .model_log import ModelLog

STYLES = ("build", "error", "program")


class OutputPanel(ModelLog):
    PREFIX = "output-panel"
    COMPONENT_CLASSES = {f"output-panel--{s}" for s in STYLES}

    def __init__(self, **kw):
        super().__init__(**kw)
        self.generation = 0

    def source(self, model: Model):
        return model.output

    def total(self, model: Model) -> int:
        return model.output_total

    def sync(self, model: Model) -> None:
        """Written again whole when a new build's programs replace the last's;
        else appended to."""
        self.model = model
        if model.output_generation != self.generation:
            self.generation = model.output_generation
            self.border_title = f"output of build {model.output_generation}"
            self.display = True
            self.rewrite()
            return
        super().sync(model)
