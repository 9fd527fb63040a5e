"""ruff and mypy hold for the Python tools and their tests, with the settings in models/tools/pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "models" / "tools"
CHECKED = ["src", "../../test/python"]


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The tools run from models/tools so they read its pyproject.toml.
    return subprocess.run([sys.executable, "-m", module, *args], cwd=TOOLS, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing() -> None:
    result = run_tool("ruff", "check", "--no-fix", *CHECKED)
    assert result.returncode == 0, f"ruff check (from {TOOLS}) reports:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing() -> None:
    result = run_tool("mypy", *CHECKED)
    assert result.returncode == 0, f"mypy (from {TOOLS}) reports:\n{result.stdout}{result.stderr}"
