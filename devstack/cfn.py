"""Reading the CloudFormation YAML of infra/ (short-form intrinsic tags included)."""
from __future__ import annotations

from pathlib import Path

import yaml

INFRA = Path(__file__).resolve().parent.parent / "infra"


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def merged_template(stage: str) -> dict:
    """infra/data.yaml and infra/api.yaml as one template, its Stage parameter set to ``stage``."""
    data = load(INFRA / "data.yaml")
    api = load(INFRA / "api.yaml")
    merged = dict(data)
    merged["Resources"] = {**data["Resources"], **api["Resources"]}
    merged["Parameters"]["Stage"]["Default"] = stage
    return merged
