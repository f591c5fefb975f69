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


def _import_ms(imports: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE.format(imports=imports)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def measure(runs: int = 40) -> dict:
    _import_ms(APP)  # compile bytecode once, as a deployed package ships it
    floor, app = [], []
    for _ in range(runs):
        floor.append(_import_ms(FLOOR))
        app.append(_import_ms(APP))
    floor_ms, app_ms = statistics.median(floor), statistics.median(app)
    return {"operation": "cold start (import app)", "median_ms": app_ms,
            "p95_ms": sorted(app)[int(0.95 * (runs - 1))], "floor_ms": floor_ms,
            "ratio": app_ms / floor_ms, "target": TARGET, "ok": app_ms / floor_ms <= TARGET}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    result = measure(parser.parse_args().runs)
    print(f"import app: median {result['median_ms']:.1f} ms, floor {result['floor_ms']:.1f} ms, "
          f"ratio {result['ratio']:.3f} (target <= {TARGET}) "
          f"{'OK' if result['ok'] else 'OVER TARGET'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
