"""The CloudFormation of infra/ as `chalice package --merge-template` takes it."""
from __future__ import annotations

from chalicelib.ops.infra import INFRA, load

__all__ = ["INFRA", "MERGED_FILES", "load", "merged_template"]

# What `chalice package --merge-template` merges into Chalice's own template, in this order:
# the data stack, the monitoring stack, the gateway responses of Chalice's REST API, the
# names (and log groups) of Chalice's functions, and CloudFront with the assets bucket.
MERGED_FILES = ("data.yaml", "monitoring.yaml", "api.yaml", "functions.yaml", "assets.yaml")


def _merge(into: dict, other: dict) -> None:
    """``other`` into ``into``, mappings merged key by key (as `chalice package` merges), so
    two files may add to one resource (functions.yaml names the API function, assets.yaml
    adds to its environment)."""
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into.setdefault(key, value)


def merged_template(stage: str) -> dict:
    """infra/*.yaml as one template, its Stage parameter set to ``stage``."""
    merged: dict = {"Description": "eSO: the app, its data and its monitoring"}
    for name in MERGED_FILES:
        _merge(merged, load(INFRA / name))
    merged["Parameters"]["Stage"]["Default"] = stage
    return merged
