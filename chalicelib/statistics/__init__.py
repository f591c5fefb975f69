"""Aggregate statistics: daily counters and the distinct-visitor sketch, without identifiers.

Its modules (``counters``, ``visits``, ``suppression``) load on first use.
"""
from chalicelib.platform.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {})
