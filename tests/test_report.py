"""The headless lines a person reads: counts in words, punctuation once."""

from __future__ import annotations

import io

from thinwatch.engine.events import REBUILD, BuildFinished, BuildStarted
from thinwatch.engine.report import Printer


def test_headless_lines_count_in_words_and_name_a_requested_rebuild_once():
    p = Printer(json=False, stream=io.StringIO())
    assert p.human(BuildStarted(3, [REBUILD], "/ws")) == "build 3 (rebuild requested)"
    assert p.human(BuildStarted(4, ["a.ll", "b.ll", "c.ll", "d.ll"], "/ws")) == "build 4 (a.ll, b.ll, c.ll …)"
    assert p.human(BuildStarted(5, [], "/ws")) == "build 5"
    one = BuildFinished(3, True, {"rebuilt": 1, "reused": 8}, 0.25, {}, 1, None)
    assert p.human(one) == "build 3 ok in 0.25s: 1 rebuilt, 8 reused (1 backend job)"
    two = BuildFinished(4, True, {"rebuilt": 2}, 0.5, {}, 2, None, early_jobs=1)
    assert p.human(two) == "build 4 ok in 0.50s: 2 rebuilt (2 backend jobs, 1 started early)"
