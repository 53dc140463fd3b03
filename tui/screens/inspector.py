"""Enter on a module: what it imports, who imports from it, what was
promoted and internalized, why it is in its state, its recent history."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from .. import format as fmt
from ..messages import ShowImportedBody, ShowOptimizedIR
from ..model import Model, ModuleRow

HASH = 12


class InspectorScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("o", "optimized_ir", "optimised IR"),
        Binding("b", "imported_body", "imported body"),
        Binding("e", "app.edit", "edit source"),
        Binding("question_mark", "app.help", "help", key_display="?"),
    ]

    def __init__(self, model: Model, module: str):
        super().__init__()
        self.model = model
        self.module = module
        self.shown: tuple | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inspector"):
            yield Static(id="ins-title")
            yield Static(id="ins-why")
            yield Static(id="ins-times")
            yield Static("[b]imports[/b]", classes="ins-heading", id="ins-imports-heading")
            yield DataTable(id="ins-imports", cursor_type="row", zebra_stripes=True)
            yield Static(id="ins-exports")
            yield Static(id="ins-symbols")
            yield Static(id="ins-history")
        yield Footer(compact=True, show_command_palette=False)   # as on the main screen: room at 80 columns

    def on_mount(self) -> None:
        table = self.query_one("#ins-imports", DataTable)
        table.add_columns("function", "from module", "hash")
        # The app bumps `model_version` after folding each batch of events.
        self.watch(self.app, "model_version", lambda _: self.show())
        # The import list, not the scrolling page around it: arrows move
        # its cursor and `b` shows the import under it, without a Tab first.
        (table if table.display else self.query_one("#inspector")).focus()

    def action_optimized_ir(self) -> None:
        self.post_message(ShowOptimizedIR(self.module))

    def selected_import(self) -> tuple[str, str] | None:
        """(raw symbol, exporter) of the import under the cursor, if any."""
        row = self.row
        if row is None or not row.imports:
            return None
        table = self.query_one("#ins-imports", DataTable)
        name, exporter, _ = row.imports[min(table.cursor_row, len(row.imports) - 1)]
        return name, exporter

    def action_imported_body(self) -> None:
        """The body (and all it brought) of the import under the cursor."""
        chosen = self.selected_import()
        if chosen is None:
            self.notify("nothing imported to show", severity="warning")
            return
        self.post_message(ShowImportedBody(self.module, *chosen))

    def on_data_table_row_selected(self, _: DataTable.RowSelected) -> None:
        self.action_imported_body()

    @property
    def row(self) -> ModuleRow | None:
        return self.model.rows.get(self.module)

    def show(self) -> None:
        row = self.row
        if row is None:
            self.query_one("#ins-title", Static).update(f"{self.module}: not in this workspace")
            return
        stamp = (row.state, row.history[-1] if row.history else None, row.emit_s, row.backend_s, row.object_size)
        if stamp == self.shown:
            return
        self.shown = stamp
        q = self.query_one
        same = row.name == row.module
        q("#ins-title", Static).update(
            f"[b]{escape(row.name)}[/b]  {'' if same else escape(row.module) + '  '}crate {escape(row.crate)}   "
            f"[b]{row.symbol} {row.state}[/b]")
        q("#ins-why", Static).update(f"[b]why[/b]  {escape(self.model.why_text(row))}")
        q("#ins-times", Static).update(
            f"[b]times[/b]  emit {fmt.seconds(row.emit_s)}   backend {fmt.seconds(row.backend_s)}"
            f"   last known backend {fmt.seconds(row.last_backend_s)}   object {fmt.size(row.object_size)}")
        q("#ins-imports-heading", Static).update(f"[b]imports[/b] ({len(row.imports)})")
        table = q("#ins-imports", DataTable)
        table.clear()
        for name, exporter, h in row.imports:
            table.add_row(row.readable(name), self.model.name_of(exporter), h[:HASH])
        table.display = bool(row.imports)
        exports = "\n".join(f"  {escape(self.model.name_of(e))}" for e in row.exported_to) or "  (nothing)"
        q("#ins-exports", Static).update(f"[b]imported from it by[/b] ({len(row.exported_to)})\n{exports}")
        promoted = ", ".join(map(row.readable, row.promoted)) or "(none)"
        internal = ", ".join(map(row.readable, row.internalized)) or "(none)"
        q("#ins-symbols", Static).update(
            f"[b]promoted[/b]  {escape(promoted)}\n[b]internalized[/b]  {escape(internal)}")
        hist = "  ".join(f"{gen}→{state}" for gen, state in reversed(row.history)) or "(none yet)"
        q("#ins-history", Static).update(f"[b]history[/b] (build → state, newest first)\n  {hist}")
