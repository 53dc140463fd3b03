"""Benchmarks of thinwatch against its anchors (rust-lld ThinLTO with a cache
directory, rustc's incremental local ThinLTO). `python3 -m bench --help`.

- `generate.py`: synthetic Cargo and IR workspaces, and the edits applied to them.
- `anchors.py`: the three ways of building a Cargo workspace, each measured.
- `run.py`: scenarios, interleaving, medians, targets, the report.
"""
