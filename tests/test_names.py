"""Names people read (engine/names.py): demangling of Rust (legacy and v0)
and C++ symbols, search, the why texts using them, and Rust codegen units'
labels (engine/frontends/cargo/rust_source.py).
The symbols are real ones, from rustc 1.95 and g++."""

from __future__ import annotations

from pathlib import Path

import pytest

from thinwatch.engine import keys, names
from thinwatch.engine.frontends.cargo import rust_source

NORM = "_ZN8geometry4norm17h43cf930d29b75cf0E"
NORMALIZE = "_ZN8geometry9normalize17h0123456789abcdefE"
AREA = "_ZN8geometry7polygon4area17h0123456789abcdefE"
PERIMETER = "_ZN8geometry7polygon9perimeter17h0123456789abcdefE"
POINT_NEW = "_ZN8geometry5Point3new17h0123456789abcdefE"
VEC_DEBUG = "_ZN65_$LT$alloc..vec..Vec$LT$T$C$A$GT$$u20$as$u20$core..fmt..Debug$GT$3fmt17h7b809af5e0db5656E"
DEALLOCATE = "_ZN5alloc7raw_vec20RawVecInner$LT$A$GT$10deallocate17h33e6f9cf1e89cfd0E"
V0_DROP = ("_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc3vec3Vec"
           "NtNtBL_6string6StringEECsjrHSEGnQ3l9_3std")


@pytest.mark.parametrize("symbol, readable", [
    (NORM, "geometry::norm"),                                           # legacy Rust, hash hidden
    (NORM + ".llvm.1a2b3c4d5e6f", "geometry::norm"),                    # promoted by thinwatch
    (VEC_DEBUG, "<alloc::vec::Vec<T,A> as core::fmt::Debug>::fmt"),     # legacy escapes
    (V0_DROP, "core::ptr::drop_in_place::<alloc::vec::Vec<alloc::string::String>>"),   # v0
    ("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc", "__rustc::__rust_alloc"),
    ("_ZNSt6vectorIiSaIiEE9push_backERKi", "std::vector<int, std::allocator<int>>::push_back(int const&)"),
    ("_Z3fooi", "foo(int)"),                                            # C++
    ("main", "main"),                                                   # not mangled: itself
    ("point_manhattan.llvm.1a2b3c4d5e6f", "point_manhattan.llvm.1a2b3c4d5e6f"),
])
def test_demangle(symbol, readable):
    assert names.demangle(symbol) == readable


def test_readable_maps_only_what_demangling_changes():
    assert names.readable([NORM, "main", V0_DROP]) == {
        NORM: "geometry::norm", V0_DROP: "core::ptr::drop_in_place::<alloc::vec::Vec<alloc::string::String>>"}


def test_demangle_text_demangles_the_symbols_a_linker_quotes():
    said = f"undefined reference to `{NORM}'; first defined here: {V0_DROP}."
    assert names.demangle_text(said) == ("undefined reference to `geometry::norm'; first defined here: "
                                         "core::ptr::drop_in_place::<alloc::vec::Vec<alloc::string::String>>.")


def test_label_names_the_module_paths_a_unit_holds():
    # Most functions first; root functions by name, a type's by the type.
    held = [AREA, PERIMETER, NORM, POINT_NEW, VEC_DEBUG]
    assert rust_source.label("geometry", held) == "geometry · polygon, norm (+1)"
    assert rust_source.label("geometry", [AREA]) == "geometry · polygon"


def test_label_of_a_unit_of_other_crates_generics_names_them():
    assert rust_source.label("stats", [DEALLOCATE, VEC_DEBUG]) == "stats · fmt, RawVecInner::deallocate"


def test_label_of_a_unit_without_functions_is_empty():
    assert rust_source.label("stats", []) == ""


def test_pick_prefers_a_whole_name():
    assert names.pick([NORMALIZE, NORM, AREA], "norm") == NORM
    assert names.pick([NORMALIZE, NORM, AREA], "normal") == NORMALIZE
    assert names.pick([NORMALIZE, NORM, AREA], AREA) == AREA
    assert names.pick([AREA], "norm") is None


def test_finder_ranks_definers_then_labels_then_importers():
    finder = names.Finder({
        "app::aaa": ("app · main", ["_ZN3app4main17h0123456789abcdefE"], [NORM]),
        "geometry::zzz": ("geometry · norm", [NORM, POINT_NEW], []),
        "geometry::mmm": ("geometry · polygon", [AREA], []),
        "core::normal": ("core::normal", ["f"], []),
    })
    assert finder.find("NORM") == ["geometry::zzz", "core::normal", "app::aaa"]
    assert finder.find("polygon") == ["geometry::mmm"]
    assert finder.find("") == []


def test_why_names_an_imported_function_demangled():
    old = {"own": "a", "format": 3, "llvm": "x", "module": "m", "options": {},
           "imports": [[NORM, "geometry::9iuzmw7xzjrrhuxxtt1m1saal", "h1"],
                       ["point_manhattan", "core::geom", "h1"]],
           "promote": [], "internalize": [], "resolution": []}
    new = dict(old, imports=[[NORM, "geometry::9iuzmw7xzjrrhuxxtt1m1saal", "h2"],
                             ["point_manhattan", "core::geom", "h2"]],
               internalize=[POINT_NEW])
    assert keys.explain(old, new) == ["imported geometry::norm changed",
                                      "imported core::geom::point_manhattan changed",
                                      "internalize +geometry::Point::new"]


def test_line_of_finds_a_functions_definition(tmp_path: Path):
    src = tmp_path / "lib.rs"
    src.write_text("/// Calls fn norm.\npub fn normalize() {}\n\npub fn norm(p: Point) -> f64 {\n    0.0\n}\n")
    assert rust_source.line_of(src, "norm") == 4
    assert rust_source.line_of(src, "area") is None
