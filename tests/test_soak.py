"""The watch-mode soak (fuzz/soak.py): a short slice in the default run, the
long one (slow)."""

from __future__ import annotations

import pytest

from fuzz.soak import Soak


def soak(tmp_path, seed: int, edits: int):
    fig = Soak(seed, edits, tmp_path / "soak").run()
    print(fig.summary())
    assert not fig.problems, "\n".join(fig.problems)
    assert fig.kills and fig.checked and fig.builds > fig.superseded
    return fig


def test_soak_slice(tmp_path):
    soak(tmp_path, seed=2, edits=20)


@pytest.mark.slow
def test_soak_long(tmp_path):
    soak(tmp_path, seed=1, edits=300)
