"""The tests' own definitions of "a build", "its outputs" and "the engine's
processes" (tests/), so the fuzzer and the tests can never disagree on what
is compared."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from conftest import IGNORE, SAMPLE_IR, build, outputs  # noqa: E402
from test_rust import SAMPLE_RUST, incremental_state_aside, objects  # noqa: E402
from test_watch import _alive as alive, _descendants as descendants  # noqa: E402

__all__ = ["IGNORE", "ROOT", "SAMPLE_IR", "SAMPLE_RUST", "alive", "build", "descendants", "incremental_state_aside",
           "objects", "outputs"]
