"""`python3 -m bench [--quick] [--reps N]`: see bench/run.py and docs/benchmarks.md."""

import sys

from .run import main

sys.exit(main())
