"""Demo data for the local stack, loaded by ``local seed``. Idempotent."""
from __future__ import annotations


def seed(progress=lambda message: None) -> dict:
    """Load each capability's demo data; returns what is there, by kind."""
    summary: dict = {}
    return summary
