"""Checks run by tools over files other tests do not execute: workflows and SQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed: run `make setup` (it comes from requirements-dev.txt)"
    return found


def test_workflows_pass_actionlint():
    result = subprocess.run([_tool("actionlint")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"actionlint found problems in .github/workflows:\n{result.stdout}{result.stderr}"


def test_sql_passes_sqlfluff_snowflake_dialect():
    result = subprocess.run([_tool("sqlfluff"), "lint", "sql/"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"sqlfluff (snowflake dialect) found problems in sql/:\n{result.stdout}"
