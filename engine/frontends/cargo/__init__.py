"""The Cargo front end: cargo and rustc compile, thinwatch does the LTO.

- `project`: runs cargo and turns what it reports into link units;
- `linkshim`: the `-C linker` that captures each executable's link, and the
  rlib reading it needs (bitcode members, native members);
- `config`, `cfg_expr`: the user's cargo configuration, applied as cargo does;
- `artifacts`: what cargo's JSON messages say was built, and what is refused;
- `harness`: `thinwatch test`, the test harnesses and doc-tests;
- `rust_source`: which source file a codegen unit's functions come from.
"""

from .project import CargoProject

__all__ = ["CargoProject"]
