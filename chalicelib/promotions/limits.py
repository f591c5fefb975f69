"""Sizes a promotion's content may have (imported by the web schemas: no heavy imports here)."""

MAX_SUBJECT = 150
MAX_TEXT = 20_000
MAX_HTML = 100_000
