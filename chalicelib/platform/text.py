"""What counts as text: valid Unicode without control characters where they have no place.

Checked at the edge (JSON bodies and forms) before anything is hashed, stored or rendered, and
again by services that keep text, so nothing stored can make a page or an e-mail fail:
a lone surrogate cannot be encoded as UTF-8, and NULs or other control characters in a name,
an address or a token only ever serve to confuse whoever reads them later.
"""
from __future__ import annotations

import re

from chalicelib.platform.errors import ValidationError

# Lone surrogates (never valid in UTF-8). Everywhere: C0 and C1 controls and DEL (multi-line
# fields may hold tab, line feed and carriage return), the byte-order mark and Unicode's
# noncharacters. In single-line fields (names, addresses, subjects) also line and paragraph
# separators and the bidirectional overrides and isolates that can make a name read as
# something else.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NONCHARACTER = r"\ufeff\ufdd0-\ufdef\ufffe\uffff"
_SINGLE_LINE_BAD = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069" + _NONCHARACTER + "]")
_MULTI_LINE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _NONCHARACTER + "]")


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why ``value`` is not acceptable text (None when it is)."""
    if _SURROGATE.search(value):
        return "is not valid Unicode text"
    if (_MULTI_LINE_BAD if multiline else _SINGLE_LINE_BAD).search(value) or any(
            (ord(c) & 0xFFFE) == 0xFFFE for c in value if ord(c) > 0xFFFF):
        return "holds control characters"
    return None


def check_text(value: str, field: str, multiline: bool = False) -> str:
    """``value`` unchanged, or a 400 ``invalid_text`` naming ``field``."""
    problem = text_problem(value, multiline)
    if problem:
        raise ValidationError(f"The {field.replace('_', ' ')} {problem}. Correct it and try "
                              "again.", code="invalid_text", field=field)
    return value
