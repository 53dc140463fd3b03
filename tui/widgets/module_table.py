"""The module table: one row per module, keyed by module id, kept in sync
with the model cell by cell (never cleared and refilled)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from thinwatch.engine.events import ModuleStatus

from .. import format as fmt
from ..model import Model, ModuleRow

# key, label, fixed width (None: grows with the names added)
COLUMNS = (("crate", "crate", None), ("module", "module", None), ("state", "state", 12),
           ("emit", "emit", 8), ("backend", "backend", 8), ("imports", "imp", 4), ("exports", "exp", 4),
           ("size", "object", 9))
SORTS = ("name", "state", "backend", "size")


class Name(str):
    """The module column's cell: the name shown, carrying the module's id,
    which is all DataTable.sort hands its key of a row."""
    module: str

    def __new__(cls, row: ModuleRow) -> "Name":
        cell = super().__new__(cls, row.name)
        cell.module = row.module
        return cell


def cells(row: ModuleRow, styles: dict) -> tuple:
    return (row.crate, Name(row), Text(f"{row.symbol} {row.state}", style=styles.get(row.state, "")), fmt.seconds(row.emit_s), fmt.seconds(row.backend_s),
            str(len(row.imports)), str(len(row.exported_to)), fmt.size(row.object_size))


def sort_key(mode: str, row: ModuleRow):
    if mode == "state":
        within = (row.state.order, row.name, row.module)
    elif mode == "backend":
        within = (-(row.last_backend_s or 0.0), row.name, row.module)
    elif mode == "size":
        within = (-(row.object_size or 0), row.name, row.module)
    else:
        within = (row.name, row.module)
    return (row.crate, within)          # always grouped by crate



REBUILD_AFTER = 32      # more rows than this to hide at once: rebuild the table instead

class ModuleTable(DataTable):
    """Colours per state come from app.tcss (`.module-table--<state>`)."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {f"module-table--{s}" for s in ModuleStatus}
    BINDINGS = [
        Binding("enter", "select_cursor", "inspect"),
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    def __init__(self, **kw):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.shown: dict[str, tuple] = {}      # module id -> cells as displayed
        self.sort_mode = SORTS[0]
        self.changed_only = False
        self.search = ""
        # What the session's `find` answered for `search`, in its order (a
        # dict: ordered, and a quick test of membership for every row).
        self.found: dict[str, None] = {}

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def visible(self, row: ModuleRow) -> bool:
        if self.changed_only and not row.changed:
            return False
        if not self.search:
            return True
        text = self.search.lower()
        return row.module in self.found or text in row.name.lower() or text in row.module.lower()

    @property
    def current(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def sync(self, model: Model, dirty: set[str] | None = None) -> None:
        """Bring the rows in line with the model. `dirty`: the modules that
        changed (None: re-check all, after a filter or sort change)."""
        check = model.rows.keys() if dirty is None else dirty
        keep = self.current
        reorder = dirty is None
        if dirty is None:
            going = sum(1 for mid in self.shown if mid not in model.rows or not self.visible(model.rows[mid]))
            if going > REBUILD_AFTER:
                # DataTable.remove_row is linear in the table: hiding hundreds
                # of rows one by one took ~1 s at 1,000 modules; re-adding is
                # ~30 ms.
                self.clear()
                self.shown = {}
        styles = {s: self.get_component_rich_style(f"module-table--{s}") for s in ModuleStatus}
        for mid in check:
            row = model.rows.get(mid)
            want = row is not None and self.visible(row)
            old = self.shown.get(mid)
            if not want:
                if old is not None:
                    self.remove_row(mid)
                    del self.shown[mid]
                continue
            new = cells(row, styles)
            if old is None:
                self.add_row(*new, key=mid)
                reorder = True
            else:
                for (key, _, _), a, b in zip(COLUMNS, old, new):
                    if a != b:
                        self.update_cell(mid, key, b)
                        if key in ("state", "backend", "size") and self.sort_mode != "name":
                            reorder = True
            self.shown[mid] = new
        if reorder and self.shown:
            rows = model.rows
            self.sort("module", key=lambda name: sort_key(self.sort_mode, rows[name.module]))
            if keep in self.shown:
                self.move_cursor(row=self.get_row_index(keep), animate=False)
