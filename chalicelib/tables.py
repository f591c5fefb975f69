"""Table lifecycle for the local stack and tests (on AWS, infra/data.yaml creates them)."""
from __future__ import annotations

from chalicelib.models import ALL_MODELS


def create_missing(progress=lambda message: None) -> list:
    """Create every table that does not exist yet; returns the names created."""
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            progress(f"creating table {model.Meta.table_name}")
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
    return created

