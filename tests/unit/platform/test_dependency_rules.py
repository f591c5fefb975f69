"""The dependency rules (.importlinter) hold, and breaking one on purpose fails the check."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=project, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / ".importlinter", project / ".importlinter")
    return project


def test_the_dependency_rules_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("platform/settings.py", "from chalicelib import web", "Domain layers"),
    ("members/accounts.py", "from chalicelib.promotions import campaigns", "Domain layers"),
    ("promotions/campaigns.py", "from chalicelib.members.models import Member",
     "Only the members package"),
    ("members/sessions.py", "import boto3", "Only the platform imports boto3"),
    ("ads/catalogue.py", "import chalice", "Only the web layer"),
    ("members/passwords.py", "from chalicelib.members import accounts", "No import cycles"),
])
def test_an_import_that_breaks_a_rule_fails_the_check(copy_of_the_code, module, line, broken):
    path = copy_of_the_code / "chalicelib" / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{line}  # broken on purpose\n")
        result = lint_imports(copy_of_the_code)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert broken in result.stdout and "BROKEN" in result.stdout
