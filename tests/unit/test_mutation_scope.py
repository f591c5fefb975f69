"""The mutation-testing set-up ``make mutants`` reads: every listed equivalent mutant has its
mutated line and a reason, and names a module the scope mutates (a typo would list nothing)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("mutants_script", ROOT / "scripts" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_equivalent_mutant_is_in_scope_with_its_line_and_reason():
    script = _script()
    scope = script.read_scope()
    globs = script.patterns(scope)
    listed = script.read_equivalents()
    assert listed
    for name, (line, reason) in listed.items():
        assert script.in_scope(name, globs), name
        assert line and len(reason.split()) >= 5, name


def test_the_scope_names_files_that_exist():
    for path in _script().read_scope():
        assert (ROOT / path).is_file(), path
