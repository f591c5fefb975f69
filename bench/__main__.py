"""``make bench``: run every benchmark of bench/ and print one table."""
from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["bench.coldstart", "bench.members", "bench.ads", "bench.partners", "bench.fanout",
              "bench.stats", "bench.keyload", "bench.load"]
COLUMNS = ["operation", "dynamodb_calls", "ses_calls", "items_read", "median_ms", "p95_ms",
           "ratio", "target", "ok"]


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ok" if value else "OVER"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def print_table(rows: list) -> None:
    table = [[_cell(row.get(column)) for column in COLUMNS] for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in table)) for i, column in enumerate(COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    print("  ".join("-" * w for w in widths))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def main() -> int:
    import contextlib
    import io
    import os

    os.environ.setdefault("ESO_LOG_LEVEL", "WARNING")
    rows = []
    for name in BENCHMARKS:
        print(f"running {name} …", file=sys.stderr, flush=True)
        # The app's request logs and metrics go to stdout: keep them out of the table.
        with contextlib.redirect_stdout(io.StringIO()):
            result = importlib.import_module(name).measure()
        rows.extend(result if isinstance(result, list) else [result])
    print_table(rows)
    return 0 if all(row.get("ok") is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
