"""Every module that runs as a program is a command of `python -m studio_tools`, and each
answers --help; an unknown command is named with the list of commands."""

from __future__ import annotations

import ast
import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from studio_tools.__main__ import COMMANDS, main

PACKAGE = Path(__file__).resolve().parents[2] / "models" / "tools" / "src" / "studio_tools"


def program_modules() -> set[str]:
    """Modules with a top-level `def main` (the package's own entry point aside)."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            found.add(".".join(parts))
    found.discard("studio_tools.__main__")
    return found


def test_every_program_module_is_a_command() -> None:
    registered = {module for module, _ in COMMANDS.values()}
    assert program_modules() - registered == set()
    assert registered - program_modules() == set()
    assert len(COMMANDS) == len(program_modules())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_answers_help(command: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in out.getvalue()


@pytest.mark.parametrize("module", ["studio_tools", "studio_tools.fixtures", "studio_tools.bench.reference"])
def test_documented_module_paths_still_run(module: str) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_the_package_lists_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    listing = capsys.readouterr().out
    for command in COMMANDS:
        assert f"  {command} " in listing


def test_an_unknown_command_is_named_with_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixture"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("unknown command 'fixture'")
    assert "  fixtures " in error
