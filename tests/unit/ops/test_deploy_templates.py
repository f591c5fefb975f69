"""infra/ and the PynamoDB models must not drift; the stage template must package and lint."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.ops.tables import ALL_MODELS
from devstack import cfn, package
from devstack.servers import ROOT


def _tables():
    template = cfn.load(cfn.INFRA / "data.yaml")
    tables = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            suffix = props["TableName"]["Fn::Sub"].split("${Stage}-", 1)[1]
            tables[suffix] = props
    return tables


def _model_shape(model):
    schema = model._get_schema()
    ttl = [name for name, attr in model.get_attributes().items()
           if type(attr).__name__ == "TTLAttribute"]
    return {
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in schema["key_schema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"])
                             for a in schema["attribute_definitions"]),
        "indexes": sorted(
            (i["index_name"], tuple(sorted((k["AttributeName"], k["KeyType"]) for k in i["key_schema"])),
             i["projection"]["ProjectionType"]) for i in schema["global_secondary_indexes"]),
        "ttl": ttl[0] if ttl else None,
    }


def _infra_shape(props):
    ttl = props.get("TimeToLiveSpecification")
    return {
        "keys": sorted((k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]),
        "attributes": sorted((a["AttributeName"], a["AttributeType"])
                             for a in props["AttributeDefinitions"]),
        "indexes": sorted(
            (i["IndexName"], tuple(sorted((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"])),
             i["Projection"]["ProjectionType"]) for i in props.get("GlobalSecondaryIndexes", [])),
        "ttl": ttl["AttributeName"] if ttl and ttl.get("Enabled") else None,
    }


def test_every_model_has_exactly_one_table_in_infra():
    assert sorted(_tables()) == sorted(m.Meta.table_suffix for m in ALL_MODELS)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_model_and_infra_table_agree(model):
    assert _model_shape(model) == _infra_shape(_tables()[model.Meta.table_suffix])


def test_the_drift_check_notices_a_difference():
    props = json.loads(json.dumps(_tables()["sessions"]))
    props["GlobalSecondaryIndexes"][0]["Projection"]["ProjectionType"] = "KEYS_ONLY"
    del props["TimeToLiveSpecification"]
    from chalicelib.members.models import Session
    assert _model_shape(Session) != _infra_shape(props)


def test_tables_holding_people_consent_and_money_are_protected():
    tables = _tables()
    template = cfn.load(cfn.INFRA / "data.yaml")["Resources"]
    for suffix in ("members", "email-claims", "consent-events", "partner-transactions",
                   "partners", "partner-contacts"):
        props = tables[suffix]
        assert props["DeletionProtectionEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    for name, resource in template.items():
        if resource["Type"] == "AWS::DynamoDB::Table" and "DeletionProtectionEnabled" in resource["Properties"]:
            assert resource.get("DeletionPolicy") == "Retain", name  # a stack delete keeps data
    assert all(p["SSESpecification"]["SSEEnabled"] for p in tables.values())
    for resource in template.values():
        if resource["Type"] == "AWS::SQS::Queue":
            assert resource["Properties"]["SqsManagedSseEnabled"] is True


def test_ses_sends_through_the_stage_configuration_set_and_its_events_reach_the_topic():
    # The deploy drill cannot show these (its AWS simulator has no SES in CloudFormation).
    resources = cfn.load(cfn.INFRA / "data.yaml")["Resources"]
    config_set = resources["ConfigurationSet"]["Properties"]
    assert config_set["Name"] == {"Fn::Sub": "eso-${Stage}"}
    assert config_set["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    assert config_set["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    events = resources["ConfigurationSetEvents"]["Properties"]
    assert events["ConfigurationSetName"] == {"Ref": "ConfigurationSet"}
    destination = events["EventDestination"]
    assert destination["Enabled"] is True
    assert sorted(destination["MatchingEventTypes"]) == ["bounce", "complaint", "delivery", "send"]
    assert destination["SnsDestination"] == {"TopicARN": {"Ref": "SesEventsTopic"}}
    (statement,) = resources["SesEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_stage_template_packages_offline_and_passes_cfn_lint(tmp_path):
    assert package.WHEELHOUSE.is_dir(), "run `python -m devstack wheelhouse` (make test does)"
    out = package.package("prod", out=tmp_path / "prod")
    template = json.loads((out / "sam.json").read_text())
    resources = template["Resources"]
    assert resources["MembersTable"]["Properties"]["TableName"] == {"Fn::Sub": "eso-${Stage}-members"}
    assert template["Parameters"]["Stage"]["Default"] == "prod"
    assert resources["NotFoundResponse"]["Properties"]["StatusCode"] == "404"
    # Merged into Chalice's own resources: the functions' names, their queue and topic first.
    assert resources["SendWorker"]["Properties"]["FunctionName"] == {
        "Fn::Sub": "eso-${Stage}-send_worker"}
    assert resources["SendWorker"]["Type"] == "AWS::Serverless::Function"
    assert resources["SendWorker"]["DependsOn"] == ["SendQueue"]
    assert resources["SesEvents"]["DependsOn"] == ["SesEventsTopic"]
    assert "Default" not in template["Parameters"]["AlarmEmail"]
    assert resources["Dashboard"]["Type"] == "AWS::CloudWatch::Dashboard"
    assert sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in resources.values()) >= 28
    assert access_logs_leaking_urls(template) == []
    for role, policy_file in (("ApiHandlerRole", "policy-prod.json"),
                              ("SendWorkerRole", "policy-prod-send-worker.json"),
                              ("SesEventsRole", "policy-prod-ses-events.json")):
        document = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]
        assert document == json.loads((ROOT / ".chalice" / policy_file).read_text()), role
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(out / "sam.json")],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


# What an access log line may hold: method, route template, status, ids and timings. The raw
# path and query string may hold verification or unsubscribe tokens; the caller's address and
# agent are personal data the product's own log leaves out too.
_LEAKING_VARIABLES = ("$context.path", "$context.requestOverride", "$input.",
                      "$context.identity.sourceIp", "$context.identity.userAgent", "$request.")


def access_logs_leaking_urls(template: dict) -> list:
    """API Gateway stages whose access-log format would write a URL or a caller's identity."""
    found = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties") or {}
        setting = props.get("AccessLogSetting") or props.get("AccessLogSettings") or {}
        fmt = json.dumps(setting.get("Format", ""))
        found += [f"{name}: {v}" for v in _LEAKING_VARIABLES if v in fmt]
    return found


def test_the_access_log_check_notices_a_format_with_the_path():
    stage = {"Type": "AWS::ApiGateway::Stage", "Properties": {"AccessLogSetting": {
        "Format": '{"method":"$context.httpMethod","path":"$context.path"}'}}}
    assert access_logs_leaking_urls({"Resources": {"Stage": stage}}) == ["Stage: $context.path"]
    stage["Properties"]["AccessLogSetting"]["Format"] = (
        '{"method":"$context.httpMethod","route":"$context.resourcePath",'
        '"status":"$context.status"}')
    assert access_logs_leaking_urls({"Resources": {"Stage": stage}}) == []


def test_the_distribution_serves_the_static_files_only_and_the_pages_link_its_host():
    import copy

    from devstack.cfn import merged_template
    from devstack.drill_checks import assets_distribution_problems

    template = merged_template("prod")
    assert assets_distribution_problems(template) == []
    # functions.yaml and assets.yaml both add to the API function: neither is lost
    api = template["Resources"]["APIHandler"]["Properties"]
    assert api["FunctionName"] == {"Fn::Sub": "eso-${Stage}"}
    assert api["Environment"]["Variables"]["ESO_ASSETS_ORIGIN"] == {
        "Fn::Sub": "https://${SiteDistribution.DomainName}"}
    # The check notices pages routed through the distribution again, or no compression.
    config = template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]
    with_api = copy.deepcopy(template)
    with_api["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"]["Origins"].append(
        {"Id": "api", "DomainName": "x.execute-api.us-east-1.amazonaws.com",
         "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}})
    assert assets_distribution_problems(with_api)
    config["DefaultCacheBehavior"]["Compress"] = False
    assert assets_distribution_problems(template) == ["the static files are not compressed"]


def test_pages_are_compressed_by_api_gateway_on_the_aws_stages():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod"):
        assert config["stages"][stage]["minimum_compression_size"] == 1024, stage
