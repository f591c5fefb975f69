"""The CloudFormation of infra/ as `chalice package --merge-template` takes it."""
from __future__ import annotations

from chalicelib.ops.infra import INFRA, load

__all__ = ["INFRA", "MERGED_FILES", "load", "merged_template"]

# What `chalice package --merge-template` merges into Chalice's own template, in this order:
# the data stack, the monitoring stack, the gateway responses of Chalice's REST API, the
# names (and log groups) of Chalice's functions, and CloudFront with the assets bucket.
MERGED_FILES = ("data.yaml", "monitoring.yaml", "api.yaml", "functions.yaml", "assets.yaml")


def merged_template(stage: str) -> dict:
    """infra/*.yaml as one template, its Stage parameter set to ``stage``."""
    merged: dict = {"Description": "eSO: the app, its data and its monitoring"}
    for name in MERGED_FILES:
        template = load(INFRA / name)
        for key, value in template.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged.setdefault(key, value)
    merged["Parameters"]["Stage"]["Default"] = stage
    return merged
