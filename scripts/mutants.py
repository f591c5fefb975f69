"""``make mutants``: mutation testing of the modules that keep the privacy policy's promises.

Runs mutmut (configured in ``setup.cfg``: which files, which tests) from a clean ``mutants/``
directory, then prints the score and every surviving mutant with its change. Mutants listed in
``tests/mutants-equivalent.txt`` (each with its reason) are not counted; a listed mutant that
no longer exists, no longer changes that line, or is now killed is reported as stale.

Exit status: 0 when every mutant ran and no unlisted survivor or stale entry remains, 1 otherwise.
"""
from __future__ import annotations

import argparse
import configparser
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tests" / "mutants-equivalent.txt"
MUTMUT = Path(sys.executable).parent / "mutmut"
# mutmut's exit-code verdicts (mutmut.stats.status_by_exit_code), grouped for the score.
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout"}
SURVIVED = {0: "survived", 5: "no tests", 33: "no tests"}


def read_scope() -> dict:
    """File → function names mutated there (``None``: every function), from setup.cfg."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    files = [f for f in config.get("mutmut", "only_mutate").split() if f]
    functions = {}
    for line in config.get("mutants", "functions", fallback="").splitlines():
        if line.strip():
            path, _, names = line.partition(":")
            functions[path.strip()] = names.split()
    return {f: functions.get(f) for f in files}


def module_of(path: str) -> str:
    return path[:-len(".py")].replace("/", ".")


def patterns(scope: dict) -> list:
    """mutmut's mutant-name globs for the scope."""
    globs = []
    for path, names in scope.items():
        if names is None:
            globs.append(f"{module_of(path)}.*")
        else:
            globs += [f"{module_of(path)}.x_{name}__mutmut_*" for name in names]
    return globs


def in_scope(name: str, globs: list) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def run_mutmut(globs: list, children: int, log: Path, resume: bool = False) -> float:
    names = globs
    if resume:
        # mutmut runs again every mutant it is given by name, verdict or not: give it only
        # those without a verdict (a stopped run) and the survivors not listed as equivalent
        # (new tests may kill them).
        if not (ROOT / "mutants").is_dir():
            sys.exit("no earlier run to go on from (mutants/ is missing): run make mutants")
        listed = read_equivalents()
        names = sorted(name for name, (_, code) in verdicts(read_scope(), globs).items()
                       if code is None or (code in SURVIVED and name not in listed))
        print(f"{len(names)} mutants to run (no verdict yet, or survived and not listed as "
              "equivalent)", flush=True)
        if not names:
            return 0.0
    else:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    log.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    with open(log, "a" if resume else "w") as out:
        result = subprocess.run([str(MUTMUT), "run", "--max-children", str(children), *names],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        sys.exit(f"mutmut failed (exit {result.returncode}); its output is in {log}")
    return time.monotonic() - started


def verdicts(scope: dict, globs: list) -> dict:
    """Mutant name → (file, exit code) for every mutant in scope."""
    found = {}
    for path in scope:
        meta = ROOT / "mutants" / (path + ".meta")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if in_scope(name, globs):
                found[name] = (path, code)
    return found


def changed_lines(name: str, path: str) -> tuple:
    """The lines the mutant removes and adds (stripped), from mutmut's diff."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(name, path=path)
    removed = [line[1:].strip() for line in diff.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def read_equivalents() -> dict:
    """Mutant name → (its mutated line, the reason it changes nothing a person could see)."""
    listed = {}
    for number, line in enumerate(EQUIVALENTS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, rest = line.partition(" | ")
        code, sep2, reason = rest.rpartition(" | ")
        if not (sep and sep2 and reason.strip()):
            sys.exit(f"{EQUIVALENTS.name}:{number}: expected 'mutant | mutated line | reason'")
        listed[name.strip()] = (code.strip(), reason.strip())
    return listed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=2, help="parallel test processes")
    parser.add_argument("--report-only", action="store_true",
                        help="report on the last run's mutants/ without running mutmut again")
    parser.add_argument("--resume", action="store_true",
                        help="go on from the last run's mutants/ (stopped, or the tests changed): "
                             "runs the mutants without a verdict and the survivors again, and "
                             "keeps every other verdict (after a change to a mutated module, "
                             "run make mutants afresh)")
    parser.add_argument("--only", nargs="*", default=(),
                        help="only the files whose path contains one of these (a quick look)")
    args = parser.parse_args()
    os.chdir(ROOT)
    scope = {path: names for path, names in read_scope().items()
             if not args.only or any(part in path for part in args.only)}
    globs = patterns(scope)
    log = ROOT / "mutants" / "mutmut.log"
    elapsed = None if args.report_only else run_mutmut(globs, args.children, log, args.resume)
    found = verdicts(scope, globs)
    listed = read_equivalents()

    per_file: dict = {}
    survivors, equivalent, stale = [], [], []
    for name, (path, code) in sorted(found.items()):
        row = per_file.setdefault(path, {"total": 0, "killed": 0, "equivalent": 0, "survived": 0,
                                         "unchecked": 0})
        row["total"] += 1
        if code is None:  # a run that was stopped before it reached this mutant
            row["unchecked"] += 1
            continue
        if code in KILLED:
            row["killed"] += 1
            if name in listed:
                stale.append(f"{name}: listed as equivalent but now {KILLED[code]}")
            continue
        status = SURVIVED.get(code, f"exit {code}")
        removed, added = changed_lines(name, path)
        if name in listed:
            if listed[name][0] in added:
                row["equivalent"] += 1
                equivalent.append(name)
                continue
            stale.append(f"{name}: listed with `{listed[name][0]}`, but it now changes "
                         f"{added or removed}: look again")
        row["survived"] += 1
        survivors.append((name, status, removed, added))
    for name in sorted(n for n in set(listed) - set(found) if in_scope(n, globs)):
        stale.append(f"{name}: listed as equivalent but no such mutant exists any more")

    print(f"{'module':44} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'survived':>8} "
          f"{'not run':>7} {'score':>7}")
    totals = {"total": 0, "killed": 0, "equivalent": 0, "survived": 0, "unchecked": 0}
    for path, row in list(per_file.items()) + [("all", totals)]:
        if path != "all":
            for key in totals:
                totals[key] += row[key]
        print(f"{path:44} {row['total']:7} {row['killed']:7} {row['equivalent']:7} "
              f"{row['survived']:8} {row['unchecked']:7} {score(row):>7}")
    if totals["unchecked"]:
        print(f"\n{totals['unchecked']} mutants were not run (the run was stopped): "
              "the score is over the others.")
    print(f"\nMutation score: {totals['killed']} killed of "
          f"{totals['total'] - totals['unchecked'] - totals['equivalent']} "
          f"({score(totals)}; {totals['equivalent']} equivalent mutants listed in "
          f"{EQUIVALENTS.relative_to(ROOT)} not counted)"
          + (f", in {elapsed / 60:.1f} min" if elapsed else ""))
    if survivors:
        print(f"\n{len(survivors)} surviving mutants (kill each with a test, or list it with "
              f"its reason in {EQUIVALENTS.relative_to(ROOT)}):")
        for name, status, removed, added in survivors:
            print(f"  {name} ({status})")
            for line in removed:
                print(f"      - {line}")
            for line in added:
                print(f"      + {line}")
    if stale:
        print(f"\n{len(stale)} stale entries in {EQUIVALENTS.relative_to(ROOT)}:")
        for line in stale:
            print(f"  {line}")
    return 1 if survivors or stale or totals["unchecked"] else 0


def score(row: dict) -> str:
    counted = row["total"] - row["unchecked"] - row["equivalent"]
    return f"{100 * row['killed'] / counted:.1f}%" if counted else "-"


if __name__ == "__main__":
    sys.exit(main())
