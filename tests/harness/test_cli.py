"""The CLI entry: help, version, lazy imports and the error convention."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from harness.cli import cli, main
from harnesskit.errors import HarnessError

HARNESS = [sys.executable, "-m", "harness"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARNESS, *args], capture_output=True, text=True, timeout=120)


def test_help_lists_command_groups_without_importing_torch() -> None:
    code = ("import sys; from harness.cli import main\n"
            "try:\n main(['--help'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules, 'torch imported by --help'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Commands:" in proc.stdout
    assert "config" in proc.stdout


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("harness, version ")


def test_unknown_config_key_is_one_line_exit_2() -> None:
    proc = run("config", "show", "--set", "nosuch.key=1")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "unknown config key 'nosuch.key'" in lines[0]
    assert "model.n_layer" in lines[0]  # the valid keys are listed
    assert "Traceback" not in proc.stderr


def test_debug_shows_traceback() -> None:
    proc = run("--debug", "config", "show", "--set", "nosuch.key=1")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_unknown_command_suggests_close_match() -> None:
    proc = run("confg")
    assert proc.returncode == 2
    assert "did you mean config" in proc.stderr


def test_click_usage_error_is_exit_2_one_line() -> None:
    proc = run("config", "show", "--arch", "rnn")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1


def test_main_converts_harness_error(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def boom(*_a, **_k):
        raise HarnessError("file x.txt not found", hint="check the path")

    monkeypatch.setattr(cli, "main", boom)
    with pytest.raises(SystemExit) as info:
        main(["anything"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "harness: error: file x.txt not found; check the path\n"


def test_config_show_applies_overrides() -> None:
    result = CliRunner().invoke(cli, ["config", "show", "--preset", "small", "--arch", "bert",
                                      "--set", "model.n_layer=3", "--json"])
    assert result.exit_code == 0, result.output
    assert '"n_layer": 3' in result.output
    assert '"arch": "bert"' in result.output
