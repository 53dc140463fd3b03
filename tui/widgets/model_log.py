"""A RichLog of the model's log lines that wraps them at its own width.
RichLog wraps a line once, when written, and at least 78 columns wide: in a
narrower pane the ends of lines were cut. So lines wrap at the pane's width,
and all are written again when that width changes (a pane appearing beside
it, a resized terminal)."""

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

    def source(self, model: Model) -> Iterable[LogLine]:
        raise NotImplementedError

    def put(self, lines: Iterable[LogLine]) -> None:
        for line in lines:
            self.write(Text(line.text, style=self.get_component_rich_style(f"{self.PREFIX}--{line.style}")))
        self.width_written = self.scrollable_content_region.width

    def rewrite(self) -> None:
        self.clear()
        self.put(self.source(self.model))

    def on_resize(self, event: Resize) -> None:
        if self.model is not None and self.scrollable_content_region.width != self.width_written:
            self.rewrite()
