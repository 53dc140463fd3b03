"""Hostile inputs: what a workspace gives thinwatch (sources, settings) is
checked where it comes in, and a program a system linker would reject is
never reported ok."""

from __future__ import annotations

import orjson
import pytest

from conftest import build, thinwatch
from engine.errors import ConfigError
from engine.scheduler import open_project

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
