"""The `coopol` command lists the federation commands; domain packages never import federation."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

COOPOL_PACKAGE = Path(__file__).resolve().parents[2] / "coopol"


def test_coopol_help_lists_allies_and_worker():
    result = subprocess.run([sys.executable, "-c", "import sys; from coopol.cli import main; sys.exit(main())",
                             "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    commands = result.stdout.split("Commands:")[1]
    assert "allies" in commands and "worker" in commands and "init" in commands


@pytest.mark.parametrize("package", ["core", "accounts", "ideas", "moderation"])
def test_domain_packages_do_not_import_federation(package):
    offenders = []
    for source in sorted((COOPOL_PACKAGE / package).rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{source.name}: {name}" for name in names if name.startswith("coopol.federation")]
    assert offenders == []
