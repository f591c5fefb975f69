"""Reading the CloudFormation of infra/ (short-form intrinsic tags included) and the names the
stack gives what it creates; the operator commands run from the repository, beside it."""
from __future__ import annotations

from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"

# Names given by infra/monitoring.yaml and infra/data.yaml (tests/unit/ops/test_monitoring.py
# reads them back from the templates).
ALARM_PREFIX = "eso-{stage}-"
ALARM_TOPIC = "eso-{stage}-alarms"
SEND_QUEUE = "eso-sends"


def load(path: Path) -> dict:
    """A CloudFormation YAML template as data: ``!Ref X`` → ``{"Ref": "X"}``, ``!Sub s`` →
    ``{"Fn::Sub": s}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def intrinsic(loader, tag_suffix, node):
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

    Loader.add_multi_constructor("!", intrinsic)
    return yaml.load(path.read_text(), Loader=Loader)


def gateway_responses(path: Path | None = None) -> list:
    """The properties of each GatewayResponse in infra/api.yaml (RestApiId left out)."""
    template = load(path or INFRA / "api.yaml")
    return [{k: v for k, v in resource["Properties"].items() if k != "RestApiId"}
            for resource in template["Resources"].values()
            if resource.get("Type") == "AWS::ApiGateway::GatewayResponse"]
