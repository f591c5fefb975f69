"""Lambda cold-start proxy: import time of ``app`` against its floor, in fresh interpreters.

The floor is what any Chalice + PynamoDB function must import (``chalice.app`` and
``pynamodb.models``). Runs alternate between the two in fresh interpreters (so caches and
machine load affect both alike) and the ratio of medians is reported. Target: <= 1.15.

    python -m bench.coldstart [--runs 40]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.15
_PROBE = ("import time; t = time.perf_counter(); {imports}; "
          "print((time.perf_counter() - t) * 1000)")
FLOOR = "import chalice.app, pynamodb.models"
APP = "import app"
# What the first member request adds: the services it calls and their models (the domain
# packages themselves load nothing until a name of theirs is used).
APP_WITH_DATA = ("import app, chalicelib.members.registration, chalicelib.members.accounts, "
                 "chalicelib.web.member_pages")


def _import_ms(imports: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE.format(imports=imports)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def measure(runs: int = 40) -> list:
    _import_ms(APP_WITH_DATA)  # compile bytecode once, as a deployed package ships it
    samples = {FLOOR: [], APP: [], APP_WITH_DATA: []}
    for _ in range(runs):
        for imports, values in samples.items():
            values.append(_import_ms(imports))
    floor_ms = statistics.median(samples[FLOOR])
    rows = []
    for imports, label, target in ((APP, "cold start: import app", TARGET),
                                   (APP_WITH_DATA, "first member request: + services", None)):
        median = statistics.median(samples[imports])
        ratio = median / floor_ms
        rows.append({"operation": label, "median_ms": median,
                     "p95_ms": sorted(samples[imports])[int(0.95 * (runs - 1))],
                     "floor_ms": floor_ms, "ratio": ratio, "target": target,
                     "ok": ratio <= target if target else None})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    rows = measure(parser.parse_args().runs)
    for row in rows:
        verdict = "" if row["target"] is None else (
            f" (target <= {row['target']}) " + ("OK" if row["ok"] else "OVER TARGET"))
        print(f"{row['operation']}: median {row['median_ms']:.1f} ms, floor {row['floor_ms']:.1f} ms, "
              f"ratio {row['ratio']:.3f}{verdict}")
    return 0 if all(row["ok"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
