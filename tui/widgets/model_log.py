"""A RichLog of the model's log lines that wraps them at its own width.
RichLog wraps a line once, when written, and at least 78 columns wide: in a
narrower pane the ends of lines were cut. So lines wrap at the pane's width,
and all are written again when that width changes (a pane appearing beside
it, a resized terminal). Otherwise it appends only the lines it has not
shown yet (the model counts the lines it ever added)."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.events import Resize
from textual.widgets import RichLog

from ..model import LOG_LINES, LogLine, Model


class ModelLog(RichLog):
    PREFIX = ""          # component classes are `<PREFIX>--<style>`

    def __init__(self, **kw):
        super().__init__(wrap=True, markup=False, highlight=False, min_width=1, max_lines=LOG_LINES, **kw)
        self.model: Model | None = None
        self.width_written = 0
        self.seen = 0

    def source(self, model: Model) -> Iterable[LogLine]:
        raise NotImplementedError

    def total(self, model: Model) -> int:
        """How many lines `source` has ever held."""
        raise NotImplementedError

    def sync(self, model: Model) -> None:
        self.model = model
        new = self.total(model) - self.seen
        if new <= 0:
            return
        lines = list(self.source(model))
        self.put(lines[-min(new, len(lines)):])
        self.seen = self.total(model)

    def put(self, lines: Iterable[LogLine]) -> None:
        for line in lines:
            self.write(Text(line.text, style=self.get_component_rich_style(f"{self.PREFIX}--{line.style}")))
        self.width_written = self.scrollable_content_region.width

    def rewrite(self) -> None:
        self.clear()
        self.put(self.source(self.model))
        self.seen = self.total(self.model)        # every line is shown now

    def on_resize(self, event: Resize) -> None:
        if self.model is not None and self.scrollable_content_region.width != self.width_written:
            self.rewrite()
