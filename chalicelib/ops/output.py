"""What the operator CLI prints: readable lines, or with --json exactly one JSON object."""
from __future__ import annotations

import json
import unicodedata
from typing import Optional, Sequence

import click


class Output:
    """Prints either readable lines or, with --json, exactly one JSON object."""

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def result(self, data: dict, text: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, default=str, sort_keys=True))
        else:
            click.echo(text)

    def progress(self, message: str) -> None:
        if not self.as_json:
            click.echo(message, err=True)


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (East Asian) characters count two,
    combining marks none."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` columns, ending in "…" when cut."""
    if width(text) <= limit:
        return text
    out, used = "", 0
    for c in text:
        if used + width(c) > limit - 1:
            break
        out += c
        used += width(c)
    return out.rstrip() + "…"


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    text = str(value)
    return " ".join(text.split())  # one line per row, whatever the value holds


def table(headers: Sequence[str], rows: Sequence[Sequence], *, right: Sequence[str] = (),
          limits: Optional[dict] = None, empty: str = "nothing to list") -> str:
    """Rows under a header, each column padded to its widest cell (numbers, named in ``right``,
    to the right); free-text columns cut to their ``limits`` (columns) with "…" — ``--json``
    has every value in full. The last column is not padded."""
    if not rows:
        return empty
    limits = limits or {}
    cells = [list(headers)] + [
        [shorten(_cell(value), limits[name]) if name in limits else _cell(value)
         for name, value in zip(headers, row)] for row in rows]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list) -> str:
        parts = []
        for i, (name, value) in enumerate(zip(headers, row)):
            pad = " " * (widths[i] - width(value))
            last = i == len(headers) - 1
            parts.append(pad + value if name in right else value + ("" if last else pad))
        return "  ".join(parts).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])
