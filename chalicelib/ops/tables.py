"""Table lifecycle for the local stack and tests (on AWS, infra/data.yaml creates them).

Every table of the product, from the models of the packages that own them.
"""
from __future__ import annotations

from chalicelib.ads.models import MODELS as ADS
from chalicelib.members.models import MODELS as MEMBERS
from chalicelib.operators.models import MODELS as OPERATORS
from chalicelib.partners.models import MODELS as PARTNERS
from chalicelib.platform.ratelimit import MODELS as PLATFORM
from chalicelib.promotions.models import MODELS as PROMOTIONS
from chalicelib.statistics.models import MODELS as STATISTICS

ALL_MODELS = (*MEMBERS, *PLATFORM, *STATISTICS, *PROMOTIONS, *ADS, *PARTNERS, *OPERATORS)


def create_missing(progress=lambda message: None) -> list:
    """Create every table that does not exist yet; returns the names created."""
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            progress(f"creating table {model.Meta.table_name}")
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
    return created
