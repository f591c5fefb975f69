"""infra/monitoring.yaml covers what eSO runs: every function, table and queue has its alarm,
SES's reputation is watched below its review thresholds, every alarm mails the stage's topic,
and the dashboard shows every metric the app emits. The names the operator commands use agree
with the templates."""
import json
import re

import pytest

from chalicelib.ops import infra
from chalicelib.ops.tables import ALL_MODELS
from devstack import cfn
from devstack.servers import ROOT

TEMPLATE = cfn.load(cfn.INFRA / "monitoring.yaml")
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())


def _alarms(template=TEMPLATE) -> dict:
    return {name: r["Properties"] for name, r in template["Resources"].items()
            if r["Type"] == "AWS::CloudWatch::Alarm"}


def _watched(alarm: dict) -> list:
    """(namespace, metric, {dimension: value}) of each metric an alarm reads."""
    if "Metrics" in alarm:
        found = []
        for query in alarm["Metrics"]:
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                found.append((metric["Namespace"], metric["MetricName"],
                              {d["Name"]: _sub(d["Value"]) for d in metric["Dimensions"]}))
        return found
    return [(alarm["Namespace"], alarm["MetricName"],
             {d["Name"]: _sub(d["Value"]) for d in alarm.get("Dimensions", [])})]


def _sub(value) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else value


def _function_names() -> list:
    """What `chalice deploy` names the functions: the app, and app-stage-name for each event
    handler (infra/functions.yaml gives the packaged template the same names)."""
    from app import app

    return ["eso-${Stage}"] + [f"eso-${{Stage}}-{source.name}" for source in app.event_sources]


def test_the_packaged_template_names_the_functions_as_chalice_deploy_does():
    resources = cfn.load(cfn.INFRA / "functions.yaml")["Resources"]
    names = {_sub(r["Properties"]["FunctionName"]) for r in resources.values()
             if "FunctionName" in r["Properties"]}
    assert names == set(_function_names())
    # Every function's log group is named after the function itself (retention applies to it).
    groups = {r["Properties"]["LogGroupName"]["Fn::Sub"] for name, r in resources.items()
              if name.endswith("LogGroup")}
    assert groups == {f"/aws/lambda/${{{name}}}" for name, r in resources.items()
                      if "FunctionName" in r["Properties"]}


def test_log_retention_covers_every_function_by_its_deployed_name():
    from chalicelib.ops.stage_commands import log_retention

    for stage, days in (("dev", 30), ("prod", 90)):
        groups = log_retention(stage)
        wanted = {"/aws/lambda/" + n.replace("${Stage}", stage) for n in _function_names()}
        assert groups == {group: days for group in wanted}


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_errors_and_a_throttles_alarm(metric):
    watched = {dims.get("FunctionName") for alarm in _alarms().values()
               for namespace, name, dims in _watched(alarm)
               if (namespace, name) == ("AWS/Lambda", metric)}
    assert watched == set(_function_names())


def _table_coverage(template) -> dict:
    covered: dict = {}
    for alarm in _alarms(template).values():
        for namespace, name, dims in _watched(alarm):
            if namespace == "AWS/DynamoDB":
                covered.setdefault(dims["TableName"], set()).add(name)
    return covered


def test_every_table_has_a_throttling_alarm_on_reads_and_writes():
    covered = _table_coverage(TEMPLATE)
    assert set(covered) == {f"eso-${{Stage}}-{m.Meta.table_suffix}" for m in ALL_MODELS}
    assert all(c == {"ReadThrottleEvents", "WriteThrottleEvents"} for c in covered.values())


def test_the_table_coverage_check_notices_a_table_without_alarm():
    template = json.loads(json.dumps(TEMPLATE))
    del template["Resources"]["MembersThrottleAlarm"]
    assert "eso-${Stage}-members" not in _table_coverage(template)


def test_the_dead_letter_queue_alarms_on_its_first_message():
    data = cfn.load(cfn.INFRA / "data.yaml")["Resources"]
    dead_letter_queue = data["SendDeadLetterQueue"]["Properties"]["QueueName"]
    (alarm,) = [a for a in _alarms().values()
                if _watched(a)[0][2].get("QueueName") == dead_letter_queue]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_api_alarm_watches_the_5xx_rate_of_each_stages_api():
    (alarm,) = [a for a in _alarms().values() if _watched(a)[0][0] == "AWS/ApiGateway"]
    assert (alarm["MetricName"], alarm["Statistic"]) == ("5XXError", "Average")  # a rate
    dims = _watched(alarm)[0][2]
    assert dims["ApiName"] == CONFIG["app_name"]
    assert {s.get("api_gateway_stage") for n, s in CONFIG["stages"].items()
            if n != "local"} == {dims["Stage"]}


@pytest.mark.parametrize("metric, threshold", [("Reputation.BounceRate", 0.02),
                                               ("Reputation.ComplaintRate", 0.0005)])
def test_ses_reputation_alarms_fire_well_below_the_review_thresholds(metric, threshold):
    (alarm,) = [a for a in _alarms().values() if a.get("MetricName") == metric]
    assert alarm["Namespace"] == "AWS/SES"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanOrEqualToThreshold", threshold)


def test_every_alarm_mails_the_stage_topic_both_ways_and_is_named_for_the_stage():
    topic = TEMPLATE["Resources"]["AlarmTopic"]["Properties"]
    assert _sub(topic["TopicName"]) == infra.ALARM_TOPIC.format(stage="${Stage}")
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert "Default" not in TEMPLATE["Parameters"]["AlarmEmail"]  # each stage names its own
    for name, alarm in _alarms().items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] == alarm["OKActions"], name
        assert _sub(alarm["AlarmName"]).startswith(infra.ALARM_PREFIX.format(stage="${Stage}"))
        assert alarm.get("TreatMissingData") == "notBreaching", name


def _emitted_metrics() -> set:
    found = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        source = path.read_text()
        for call in re.findall(r"observability\.count\(([^)]*)\)", source):
            found.update(re.findall(r'"([A-Z]\w+)"', call))  # metric names are CamelCase
    return found


def test_the_dashboard_shows_every_metric_the_app_emits_for_its_stage():
    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(body.replace("${Stage}", "prod").replace("${AWS::Region}", "eu-west-1"))
    shown = set()
    for widget in dashboard["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if metric[0] == "eSO":
                assert dict(zip(metric[2::2], metric[3::2])) == {"service": "eso",
                                                                 "stage": "prod"}
                shown.add(metric[1])
    emitted = _emitted_metrics()
    assert {"Registrations", "Bounces", "Complaints", "CounterWritesLost"} <= emitted
    assert emitted <= shown, f"not on the dashboard: {emitted - shown}"


def test_the_operator_commands_use_the_names_the_templates_give():
    data = cfn.load(cfn.INFRA / "data.yaml")["Resources"]
    assert data["SendQueue"]["Properties"]["QueueName"] == infra.SEND_QUEUE
    assert infra.gateway_responses()[0]["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"
    assert all("RestApiId" not in r for r in infra.gateway_responses())


def test_the_monitoring_stack_deploys_inline_on_the_chalice_deploy_path():
    # `aws cloudformation deploy` takes at most 51,200 bytes without --s3-bucket.
    assert len((cfn.INFRA / "monitoring.yaml").read_bytes()) < 51_200
    assert len((cfn.INFRA / "data.yaml").read_bytes()) < 51_200
