"""``make bench``: run every benchmark of bench/, print one table and write it to
build/bench.json (one object per row: name, figures, target, ok) so runs can be compared.
``python -m bench cost`` runs only the benchmarks named."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

BENCHMARKS = ["bench.coldstart", "bench.members", "bench.ads", "bench.partners", "bench.fanout",
              "bench.stats", "bench.keyload", "bench.load", "bench.cost"]
OUTPUT = Path(__file__).resolve().parent.parent / "build" / "bench.json"
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


def as_json(rows: list) -> list:
    """The table as data: one object per row, its figures apart from name, target and verdict."""
    return [{"name": row["operation"],
             "figures": {k: v for k, v in row.items() if k not in ("operation", "target", "ok")
                         and v is not None},
             "target": row.get("target"), "ok": row.get("ok")} for row in rows]


def write_json(rows: list, path: Path = OUTPUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(rows), indent=2, default=str) + "\n")
    return path


def _measure(name: str) -> list:
    import contextlib
    import io

    # The app's request logs and metrics go to stdout: keep them out of the table.
    with contextlib.redirect_stdout(io.StringIO()):
        result = importlib.import_module(name).measure()
    return result if isinstance(result, list) else [result]


def _measure_apart(name: str) -> list:
    """``name``'s rows, measured in a fresh interpreter: a benchmark run after others in one
    process would inherit their per-container state (caches, held counts, botocore clients
    and their hooks) and measure another container than the one it describes."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        into = Path(folder) / "rows.json"
        done = subprocess.run([sys.executable, "-m", "bench", "--one", name, str(into)],
                              check=False)
        if done.returncode != 0 or not into.exists():
            raise SystemExit(f"{name} failed (exit {done.returncode})")
        return json.loads(into.read_text())


def main(argv: list | None = None) -> int:
    import os

    argv = argv if argv is not None else sys.argv[1:]
    if argv[:1] == ["--one"]:  # a child of the run below: one benchmark, rows into a file
        Path(argv[2]).write_text(json.dumps(_measure(argv[1]), default=str))
        return 0
    only = [f"bench.{name}" for name in argv]
    unknown = [name for name in only if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: "
              f"{', '.join(b.split('.', 1)[1] for b in BENCHMARKS)}", file=sys.stderr)
        return 2
    os.environ.setdefault("ESO_LOG_LEVEL", "WARNING")
    rows = []
    for name in only or BENCHMARKS:
        print(f"running {name} …", file=sys.stderr, flush=True)
        rows.extend(_measure_apart(name))
    print_table(rows)
    print(f"written to {write_json(rows).relative_to(Path.cwd()) if OUTPUT.is_relative_to(Path.cwd()) else OUTPUT}")
    return 0 if all(row.get("ok") is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
