"""Differential edit fuzzer: random, seeded edit sequences on real workspaces,
each step's incremental build compared byte for byte with a clean build of
the same sources (DESIGN.md §2). `python3 -m fuzz --help`."""
