"""`python -m chalicelib.cli status`: a deployed stage's alarms, queues, alarm recipients and
SES account, read as the operator runs it — against an AWS simulator (moto in server mode) for
a deployed stage, and against the local stack for `--stage local`."""
import json
import subprocess
import sys

import boto3
import pytest

from devstack import drill
from devstack.servers import ROOT
from tests.integration.helpers import cli


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """A simulated account holding what the dev stage's stacks create, in a bad way: a message
    in the dead-letter queue, an alarm firing."""
    simulator = drill.AwsSimulator(
        log_path=tmp_path_factory.mktemp("sim") / "simulator.log").start()
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t",
                                    region_name="us-east-1")

    def client(service):
        return session.client(service, endpoint_url=simulator.endpoint)

    sqs, cloudwatch, sns = client("sqs"), client("cloudwatch"), client("sns")
    dynamodb = client("dynamodb")  # a promotion waiting for the quota, its counts in both layouts
    dynamodb.create_table(TableName="eso-dev-promotions", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "promotion_id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "promotion_id",
                                                 "AttributeType": "S"}])
    dynamodb.create_table(TableName="eso-dev-promotion-counts", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "promotion_id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "promotion_id",
                                                 "AttributeType": "S"}])
    dynamodb.put_item(TableName="eso-dev-promotion-counts", Item={
        "promotion_id": {"S": "p-big"}, "delivered": {"N": "1000"}})
    dynamodb.put_item(TableName="eso-dev-promotions", Item={
        "promotion_id": {"S": "p-big"}, "kind": {"S": "offer"}, "purpose": {"S": "offers"},
        "subject": {"S": "Big"}, "text": {"S": "x"}, "status": {"S": "paused"},
        "created_at": {"S": "2026-12-01T09:00:00.000000+0000"}, "delivered": {"N": "50000"},
        "skipped": {"N": "0"}, "failed": {"N": "0"}, "paused_reason": {"S": "daily_quota"},
        "resume_at": {"S": "2026-12-02T09:00:00.000000+0000"}})
    dead = sqs.create_queue(QueueName="eso-sends-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sqs.create_queue(QueueName="eso-sends", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})})
    for number in range(2):
        sqs.send_message(QueueUrl=dead, MessageBody=f"batch {number}")
    topic = sns.create_topic(Name="eso-dev-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@drill.example")
    for name in ("eso-dev-sends-dead-letters", "eso-dev-api-5xx-rate", "eso-prod-api-5xx-rate"):
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/ApiGateway", MetricName="5XXError", Statistic="Average",
            Period=300, EvaluationPeriods=1, Threshold=0.01, AlarmActions=[topic],
            ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch.set_alarm_state(AlarmName="eso-dev-api-5xx-rate", StateValue="ALARM",
                               StateReason="Threshold Crossed: 2 datapoints were >= 0.01")
    yield simulator
    simulator.stop()


def _status(aws, *args):
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--stage", "dev", "status",
                           *args], cwd=ROOT, env=drill.command_env(aws.endpoint),
                          capture_output=True, text=True, timeout=120)


def test_status_of_a_deployed_stage_shows_its_alarms_queues_and_problems(aws):
    result = _status(aws, "--json")
    assert result.returncode == 1, result.stderr  # problems found
    status = json.loads(result.stdout)
    assert status["stage"] == "dev"
    assert [(a["name"], a["state"]) for a in status["alarms"]] == [
        ("eso-dev-api-5xx-rate", "ALARM"), ("eso-dev-sends-dead-letters", "OK")]
    assert [(q["name"], q["visible"], q["dead_letter_queue"]) for q in status["queues"]] == [
        ("eso-sends", 0, "eso-sends-dlq"), ("eso-sends-dlq", 2, None)]
    assert status["alarm_recipients"] == [
        {"protocol": "email", "endpoint": "ops@drill.example", "confirmed": True}]
    problems = status["problems"]
    assert "alarm eso-dev-api-5xx-rate is in ALARM: Threshold Crossed: 2 datapoints were >= " \
           "0.01" in problems
    assert any(p.startswith("2 message(s) wait in the dead-letter queue eso-sends-dlq")
               for p in problems)
    assert "the sending domain dev.esmalloffice.example is not an SES identity of this " \
           "account: create it with DKIM and verify it (docs/operations.md)" in problems
    assert status["paused_promotions"] == [
        {"id": "p-big", "subject": "Big", "paused_reason": "daily_quota",
         "resume_at": "2026-12-02T09:00:00Z", "delivered": 51000}]
    # The simulator has no SES account: status says so and still shows everything else.
    assert set(status["unavailable"]) == {"ses_account"}
    assert any(p.startswith("could not read ses account: SES account") for p in problems)


def test_status_in_a_terminal_lists_the_same(aws):
    result = _status(aws)
    assert result.returncode == 1
    out = result.stdout
    assert "alarms: 2 (1 in ALARM, 0 without data yet, 1 OK)" in out
    assert "ALARM" in out and "eso-dev-api-5xx-rate" in out and "eso-prod" not in out
    assert "alarm e-mail: ops@drill.example (confirmed)" in out
    queue_line = next(line for line in out.splitlines() if line.startswith("eso-sends-dlq"))
    assert queue_line.split()[1] == "2"
    assert "problem(s):" in out
    assert ("  p-big: paused: daily quota, resumes at 2026-12-02 09:00 UTC, 51,000 delivered so "
            "far") in out


def test_status_says_when_a_queue_is_missing(aws):
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint, region_name="us-east-1",
                       aws_access_key_id="t", aws_secret_access_key="t")
    url = sqs.get_queue_url(QueueName="eso-sends")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.delete_queue(QueueUrl=url)
    try:
        status = json.loads(_status(aws, "--json").stdout)
        assert status["queues"] is None
        assert status["unavailable"]["queues"].startswith("queue eso-sends: ")
        assert any(p.startswith("could not read queues: queue eso-sends")
                   for p in status["problems"])
    finally:
        sqs.create_queue(QueueName="eso-sends", Attributes={
            "RedrivePolicy": attributes["RedrivePolicy"]})


def test_status_on_the_local_stack_shows_what_it_has(stack):
    result = cli("status")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "SES account: sending enabled, production access, enforcement HEALTHY" in out
    assert "quota: 1,000,000 per 24 h, 1,000 per second" in out
    assert "not available: alarms: the local stack has no CloudWatch" in out
    assert "not available: queues: the local stack sends promotions in-process" in out
    assert "no problems found" in out
