"""Property: after any sequence of edits, the incremental outputs are
byte-identical to a clean build of the same sources."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import IGNORE, SAMPLE_IR, build, clean_outputs, outputs

# Each edit is (file, old, new): applied when `old` occurs, in either direction,
# so a sequence can toggle the same spot back and forth.
EDITS = [
    ("core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay"),
    ("core/math.ll", "%r = mul i32 %x, %x", "%r = mul i32 %x, 3"),
    ("core/math.ll", "define internal i32 @square", "define i32 @square"),
    ("core/table.ll", "i32 2, i32 3, i32 5", "i32 2, i32 4, i32 5"),
    ("core/counter.ll", "@counter = internal global i32 0", "@counter = internal global i32 7"),
    ("core/report.ll", 'c"%s = %d\\0A\\00"', 'c"%s : %d\\0A\\00"'),
    ("core/math.ll", "define linkonce_odr i32 @clamp", "define weak_odr i32 @clamp"),
    ("app/pipeline.ll", "i32 0, i32 100)", "i32 0, i32 60)"),
    ("core/stats.ll", "xor i32", "and i32"),
    ("core/geom.ll", "; geom.c:6", "define i32 @geom_extra(i32 %a) {\n  ret i32 %a\n}\n; geom.c:6"),
    ("core/math.ll", "; Private helper.", "; Private helper (edited comment)."),
]


def apply(ws: Path, index: int) -> None:
    file, a, b = EDITS[index]
    path = ws / file
    text = path.read_text()
    if b in text:                     # b first: an insertion's b contains its a
        path.write_text(text.replace(b, a, 1))
    else:
        path.write_text(text.replace(a, b, 1))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, len(EDITS) - 1), min_size=1, max_size=4))
def test_random_edit_sequences_match_clean_builds(pool, steps):
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(SAMPLE_IR, ws, ignore=IGNORE)
        assert build(ws, pool).finished.ok
        for index in steps:
            apply(ws, index)
            assert build(ws, pool).finished.ok
            assert outputs(ws) == clean_outputs(ws, pool, Path(tmp)), (steps, index)
