"""Hostile inputs: what a workspace gives thinwatch (sources, settings) is
checked where it comes in, and a program a system linker would reject is
never reported ok."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from conftest import build, run_exe, thinwatch
from thinwatch.engine.errors import ConfigError
from thinwatch.engine.frontends import open_project
from test_engine_core import reference_build

PRINT_VALUE = r"""declare i32 @printf(ptr, ...)
declare i32 @value()
@fmt = private constant [8 x i8] c"v = %d\0A\00"
define i32 @main() {
  %v = call i32 @value()
  %r = call i32 (ptr, ...) @printf(ptr @fmt, i32 %v)
  ret i32 0
}
"""

# Two modules m::a and m::b (linked in that order) each defining `value`.
RESOLUTION = {
    "two strong definitions": ("define i32 @value() {\n  ret i32 1\n}\n",
                               "define i32 @value() {\n  ret i32 2\n}\n"),
    "strong beats an earlier weak one": ("define weak i32 @value() {\n  ret i32 1\n}\n",
                                         "define i32 @value() {\n  ret i32 2\n}\n"),
    "the first weak one prevails": ("define weak i32 @value() {\n  ret i32 1\n}\n",
                                    "define weak i32 @value() {\n  ret i32 2\n}\n"),
    "available_externally is no definition": ("define available_externally i32 @value() {\n  ret i32 1\n}\n",
                                              "define i32 @value() {\n  ret i32 2\n}\n"),
    # The linker keeps the first group named `value` and discards the second
    # one whole, strong definition and all.
    "the first comdat group is kept": (
        "$value = comdat any\ndefine weak i32 @value() comdat {\n  ret i32 1\n}\n",
        "$value = comdat any\ndefine i32 @value() comdat {\n  ret i32 2\n}\n"),
    "a strong variable beats a common one": (
        "@n = common global i32 0, align 4\n"
        "define i32 @value() {\n  %v = load i32, ptr @n\n  ret i32 %v\n}\n",
        "@n = global i32 7, align 4\n"),
}


def ir_workspace(root: Path, modules: dict[str, str], crates: str = 'app = "app"\nm = "m"\n') -> Path:
    for rel, text in modules.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "thinwatch.toml").write_text(f'[build]\noutput = "prog"\n\n[crates]\n{crates}')
    return root


@pytest.mark.parametrize("naming", ["path", "search"])
def test_a_library_rewritten_where_it_lies_is_linked_again(naming, tmp_path, pool):
    """`libs` may name an archive by path or as `-L DIR -lNAME`: a new
    archive under the same name makes a new executable."""
    vendor = tmp_path / "vendor"
    vendor.mkdir()

    def archive(value: int) -> None:
        (vendor / "value.c").write_text(f"int value(void) {{ return {value}; }}\n")
        subprocess.run(["cc", "-c", "-fPIC", "value.c", "-o", "value.o"], cwd=vendor, check=True)
        (vendor / "libvalue.a").unlink(missing_ok=True)
        subprocess.run(["ar", "crs", "libvalue.a", "value.o"], cwd=vendor, check=True)
    archive(1)
    ws = ir_workspace(tmp_path / "ws", {"app/main.ll": PRINT_VALUE}, crates='app = "app"\n')
    libs = [str(vendor / "libvalue.a")] if naming == "path" else [f"-L{vendor}", "-lvalue"]
    manifest = ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text().replace('output = "prog"\n', f"output = \"prog\"\nlibs = {orjson.dumps(libs).decode()}\n"))
    assert build(ws, pool).finished.ok and run_exe(ws / ".thinwatch/out/prog") == "v = 1\n"
    archive(2)
    assert build(ws, pool).finished.ok and run_exe(ws / ".thinwatch/out/prog") == "v = 2\n"


@pytest.mark.parametrize("scenario", sorted(RESOLUTION))
def test_symbol_resolution_is_the_system_linkers(scenario, tmp_path, pool):
    a, b = RESOLUTION[scenario]
    ws = ir_workspace(tmp_path / "ws", {"app/main.ll": PRINT_VALUE, "m/a.ll": a, "m/b.ll": b})
    (tmp_path / "ref").mkdir()
    try:
        expected = run_exe(reference_build(ws, tmp_path / "ref"))
    except subprocess.CalledProcessError:
        expected = None                  # cc refuses the separately compiled modules
    out = build(ws, pool)
    if expected is None:
        assert not out.finished.ok
        assert not (ws / ".thinwatch/out/prog").exists()
    else:
        assert out.finished.ok, [d.message for d in out.diagnostics]
        assert run_exe(ws / ".thinwatch/out/prog") == expected


def duplicate_errors(out) -> dict[str, str]:
    return {d.module: d.message for d in out.diagnostics if "multiple definition" in d.message}


def test_a_duplicate_definition_fails_keeps_the_last_program_and_clears_when_fixed(ir_ws, pool):
    assert build(ir_ws, pool).finished.ok
    exe = ir_ws / ".thinwatch/out/sample"
    good = run_exe(exe)
    dup = ir_ws / "app" / "dup.ll"
    dup.write_text("define i32 @sum_of_squares(i32 %a, i32 %b) {\n  ret i32 999\n}\n")
    out = build(ir_ws, pool)
    assert not out.finished.ok
    message = "multiple definition of 'sum_of_squares': in app::dup and core::math"
    assert duplicate_errors(out) == {"app::dup": message, "core::math": message}
    assert {d.file for d in out.diagnostics if d.module} == {"app/dup.ll", "core/math.ll"}
    assert out.states["app::dup"] == out.states["core::math"] == "failed"
    assert run_exe(exe) == good
    dup.unlink()
    out = build(ir_ws, pool)
    assert out.finished.ok and not out.diagnostics
    assert run_exe(exe) == good


def test_two_crates_in_one_directory_define_everything_twice(ir_ws, pool):
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text().replace('app = "app"', 'app = "app"\nalso = "core"'))
    out = build(ir_ws, pool)
    assert not out.finished.ok
    errors = duplicate_errors(out)
    assert errors["also::math"] == errors["core::math"]
    assert "multiple definition of 'sum_of_squares': in also::math and core::math" in errors["core::math"].splitlines()


def test_two_rust_crates_exporting_one_symbol_fail_as_with_cargo(tmp_path):
    ws = tmp_path / "ws"
    members = {"a": "", "b": "", "app": 'a = { path = "../a" }\nb = { path = "../b" }\n'}
    ws.mkdir()
    (ws / "Cargo.toml").write_text('[workspace]\nmembers = ["a", "b", "app"]\nresolver = "2"\n')
    for name, deps in members.items():
        (ws / name / "src").mkdir(parents=True)
        (ws / name / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.1.0"\n'
                                              f'edition = "2021"\n\n[dependencies]\n{deps}')
    for name, answer in (("a", 42), ("b", 999)):
        (ws / name / "src" / "lib.rs").write_text(
            f'#[no_mangle]\npub extern "C" fn answer() -> i32 {{ {answer} }}\n'
            f'#[inline(never)]\npub fn name() -> &\'static str {{ "{name}" }}\n')
    (ws / "app" / "src" / "main.rs").write_text(
        'fn main() { println!("{} {} {}", a::answer(), a::name(), b::name()); }\n')
    res = thinwatch("build", "--once", "--json", "-j", "2", str(ws))
    assert res.returncode == 1, res.stdout + res.stderr
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    errors = [e for e in events if e["reason"] == "diagnostic" and "multiple definition of 'answer'" in e["message"]]
    assert {e["module"].split("::")[0] for e in errors} == {"a", "b"}
    assert all(" and " in e["message"] for e in errors)
    assert not (ws / ".thinwatch/out/app").exists()


SAMPLE_MANIFEST = '[build]\n{build}\n[cache]\n{cache}\n[crates]\ncore = "core"\napp = "app"\n'

IR_SETTINGS = [
    ("build", 'libs = [3]', "build.libs[0] must be a string (it is an integer)"),
    ("build", 'entry = [3, {a = 1}]', "build.entry[0] must be a string (it is an integer)"),
    ("build", 'entry = ["main", {a = 1}]', "build.entry[1] must be a string (it is a table)"),
    ("build", 'output = "a\\u0000b"', "build.output must not contain a NUL character"),
    ("build", 'run = ["x\\u0000"]', "build.run[0] must not contain a NUL character"),
    ("build", 'opt_level = true', "build.opt_level must be an integer from 0 to 3 (it is a boolean)"),
    ("build", 'opt_level = 2.0', "build.opt_level must be an integer from 0 to 3 (it is 2.0)"),
    ("build", 'llvm = 1', "build.llvm must be a string (it is an integer)"),
    ("build", 'libs = "-lm"', "build.libs must be an array of strings (it is a string)"),
    ("build", 'executor = "gpu://x"', 'build.executor must be "local" or "dask://HOST:PORT" (it is \'gpu://x\')'),
    ("build", 'executor = "dask://h"', 'build.executor must be "local" or "dask://HOST:PORT" (it is \'dask://h\')'),
    ("cache", 'dir = 3', "cache.dir must be a string (it is an integer)"),
    ("cache", 'max_size_mb = -5', "cache.max_size_mb must be an integer of at least 0 (it is -5)"),
    ("cache", 'max_size_mb = true', "cache.max_size_mb must be an integer of at least 0 (it is a boolean)"),
    ("cache", 'max_age_days = -1.5', "cache.max_age_days must be a number of at least 0 (it is -1.5)"),
    ("cache", 'max_age_days = nan', "cache.max_age_days must be a number of at least 0 (it is nan)"),
    ("cache", 'max_age_days = 1979-05-27', "cache.max_age_days must be a number of at least 0 (it is a date or time)"),
]


@pytest.mark.parametrize("table,line,message", IR_SETTINGS, ids=[line for _, line, _ in IR_SETTINGS])
def test_ir_settings_of_the_wrong_type_name_file_key_and_type(ir_ws, table, line, message):
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(SAMPLE_MANIFEST.format(build=line if table == "build" else "",
                                               cache=line if table == "cache" else ""))
    with pytest.raises(ConfigError) as e:
        open_project(ir_ws)
    assert str(e.value) == f"{manifest}: {message}"


CARGO_SETTINGS = [
    ('opt_level = true', "opt_level must be an integer from 0 to 3 (it is a boolean)"),
    ('opt_level = "3"', "opt_level must be an integer from 0 to 3 (it is a string)"),
    ('llvm = ["auto"]', "llvm must be a string (it is an array)"),
    ('keep_codegen_units = 1', "keep_codegen_units must be true or false (it is an integer)"),
    ('cache_max_size_mb = -5', "cache_max_size_mb must be an integer of at least 0 (it is -5)"),
    ('cache_max_size_mb = "big"', "cache_max_size_mb must be an integer of at least 0 (it is a string)"),
    ('cache_max_age_days = false', "cache_max_age_days must be a number of at least 0 (it is a boolean)"),
    ('cache_dir = false', "cache_dir must be a string (it is a boolean)"),
    ('executor = ["dask://h:1"]', "executor must be a string (it is an array)"),
]


@pytest.mark.parametrize("line,message", CARGO_SETTINGS, ids=[line for line, _ in CARGO_SETTINGS])
def test_cargo_settings_of_the_wrong_type_name_file_key_and_type(tmp_path, line, message):
    manifest = tmp_path / "Cargo.toml"
    manifest.write_text(f'[workspace]\nmembers = []\n\n[workspace.metadata.thinwatch]\n{line}\n')
    with pytest.raises(ConfigError) as e:
        open_project(tmp_path)
    assert str(e.value) == f"{manifest}: workspace.metadata.thinwatch.{message}"


def test_a_metadata_key_that_is_no_table_is_a_configuration_error(tmp_path):
    manifest = tmp_path / "Cargo.toml"
    manifest.write_text('[package]\nname = "x"\nversion = "0.1.0"\nmetadata = 3\n')
    with pytest.raises(ConfigError) as e:
        open_project(tmp_path)
    assert str(e.value) == f"{manifest}: package.metadata must be a table (it is an integer)"


def test_a_wrong_setting_exits_2_with_a_diagnostic_naming_the_file(ir_ws):
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(SAMPLE_MANIFEST.format(build="opt_level = true", cache=""))
    res = thinwatch("build", "--once", "--json", str(ir_ws))
    assert res.returncode == 2, res.stdout + res.stderr
    diag = next(orjson.loads(line) for line in res.stdout.splitlines() if '"diagnostic"' in line)
    assert diag["file"] == str(manifest)
    assert diag["message"] == "build.opt_level must be an integer from 0 to 3 (it is a boolean)"


def test_a_manifest_syntax_error_gives_file_line_and_column_in_json(ir_ws):
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text('[build]\noutput = "x"\nopt_level = = 2\n\n[crates]\ncore = "core"\n')
    res = thinwatch("build", "--once", "--json", str(ir_ws))
    assert res.returncode == 2, res.stdout + res.stderr
    diag = next(orjson.loads(line) for line in res.stdout.splitlines() if '"diagnostic"' in line)
    assert (diag["file"], diag["line"], diag["col"]) == (str(manifest), 3, 13)


def test_invalid_utf8_in_a_source_names_its_line_and_column(ir_ws, pool):
    (ir_ws / "core" / "bad.ll").write_bytes(b"; fine\n; caf\xc3\xa9 \xff here\n")
    out = build(ir_ws, pool)
    diag = next(d for d in out.diagnostics if d.module == "core::bad")
    assert (diag.file, diag.line, diag.col) == ("core/bad.ll", 2, 8)
    assert diag.message == "not UTF-8 text: byte 0xFF at line 2, column 8"
