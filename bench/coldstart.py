"""Lambda cold-start proxy: import time of ``app`` against its floor, in fresh interpreters.

The floor is what any Chalice + PynamoDB function must import (``chalice.app`` and
``pynamodb.models``). Runs alternate between the two in fresh interpreters (so caches and
machine load affect both alike) and the ratio of medians is reported. Target: <= 1.15.

Also the first use of the tables a registration writes: each PynamoDB table has a connection
(and botocore client) of its own, made on its first call; against its floor, the one boto3
DynamoDB client a bare route would make for the same calls. Target: <= 2.5 (the clients share
one botocore loader, so the service model is parsed once; before, each table parsed it again:
about 6 times the floor).

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
TABLES_TARGET = 2.5
_CLIENTS = ("import os, time; os.environ.update(AWS_ACCESS_KEY_ID='x', AWS_SECRET_ACCESS_KEY='x',"
            " AWS_DEFAULT_REGION='us-east-1', AWS_EC2_METADATA_DISABLED='true',"
            " ESO_STAGE='dev', ESO_TABLE_PREFIX='eso-bench-'); {imports}; "
            "t = time.perf_counter(); {make}; print((time.perf_counter() - t) * 1000)")
# The tables a registration writes (the member, its address claim, its consent events, its
# confirmation token, the network's rate limit), each table's client made as its first call does.
TABLES = ("from chalicelib.members.models import Member, EmailClaim, ConsentEvent, Token; "
          "from chalicelib.platform.ratelimit import RateLimit",
          "[m._get_connection().connection.client "
          "for m in (Member, EmailClaim, ConsentEvent, Token, RateLimit)]")
ONE_CLIENT = ("import boto3", "boto3.client('dynamodb')")


def _import_ms(imports: str) -> float:
    return _run_ms(_PROBE.format(imports=imports))


def _run_ms(probe: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT,
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
    clients = {TABLES: [], ONE_CLIENT: []}
    for _ in range(runs):
        for (imports, make), values in clients.items():
            values.append(_run_ms(_CLIENTS.format(imports=imports, make=make)))
    floor_ms = statistics.median(clients[ONE_CLIENT])
    median = statistics.median(clients[TABLES])
    rows.append({"operation": "first use of a registration's 5 tables", "median_ms": median,
                 "p95_ms": sorted(clients[TABLES])[int(0.95 * (runs - 1))],
                 "floor_ms": floor_ms, "ratio": median / floor_ms, "target": TABLES_TARGET,
                 "ok": median / floor_ms <= TABLES_TARGET})
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
