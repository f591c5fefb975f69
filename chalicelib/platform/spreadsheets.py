"""CSV that spreadsheets open safely: a cell that would start a formula is written as text."""
from __future__ import annotations

import re

# Leading characters a spreadsheet reads as the start of a formula (or of a hidden one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (prefixed with ``'``); a plain
    number, negative ones included, stays a number."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
