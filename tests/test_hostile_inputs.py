"""Hostile inputs: what a workspace gives thinwatch (sources, settings) is
checked where it comes in, and a program a system linker would reject is
never reported ok."""

from __future__ import annotations

from conftest import build


def test_invalid_utf8_in_a_source_names_its_line_and_column(ir_ws, pool):
    (ir_ws / "core" / "bad.ll").write_bytes(b"; fine\n; caf\xc3\xa9 \xff here\n")
    out = build(ir_ws, pool)
    diag = next(d for d in out.diagnostics if d.module == "core::bad")
    assert (diag.file, diag.line, diag.col) == ("core/bad.ll", 2, 8)
    assert diag.message == "not UTF-8 text: byte 0xFF at line 2, column 8"
