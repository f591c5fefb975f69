"""What the operator reads about a deployed stage: its alarms, its queues, who receives the
alarms, the SES account and sending identity; and the one write done after ``chalice deploy``:
the REST API's gateway responses.

Plain data out. An AWS error becomes an ``AwsCallError`` naming what could not be read, so that
the status command shows every part it can read and says which it could not.
"""
from __future__ import annotations

import contextlib

from chalicelib.platform import aws
from chalicelib.platform.errors import EsoError


class AwsCallError(EsoError):
    """A call about a deployed stage failed: the resource is missing, the caller may not, or AWS
    is unreachable. The message names what was asked."""

    code = "aws_error"


@contextlib.contextmanager
def _reading(what: str):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code") or "error"
        detail = " ".join((error.get("Message") or "").split())
        if not detail or detail.startswith("<"):  # an HTML page, not an AWS error
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            detail = f"HTTP {status}" if status else "no details"
        raise AwsCallError(f"{what}: {code}: {detail[:300]}") from exc
    except BotoCoreError as exc:
        raise AwsCallError(f"{what}: {exc}") from exc


def alarms(name_prefix: str) -> list:
    """The metric alarms whose names start with ``name_prefix``, by name."""
    found = []
    with _reading("CloudWatch alarms"):
        pages = aws.cloudwatch().get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=name_prefix, AlarmTypes=["MetricAlarm"])
        for page in pages:
            for alarm in page.get("MetricAlarms", []):
                since = alarm.get("StateUpdatedTimestamp")
                found.append({"name": alarm["AlarmName"], "state": alarm["StateValue"],
                              "reason": alarm.get("StateReason", ""),
                              "since": since.isoformat() if since else None})
    return sorted(found, key=lambda a: a["name"])


def queue(name: str) -> dict:
    """A queue's depth (visible, in flight, delayed) and the name of its dead-letter queue."""
    import json

    sqs = aws.sqs()
    with _reading(f"queue {name}"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
    target = redrive.get("deadLetterTargetArn")
    return {"name": name,
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            "dead_letter_queue": target.rsplit(":", 1)[1] if target else None}


def queue_with_dead_letters(name: str) -> list:
    """A queue's depth, then its dead-letter queue's when it has one (what failed for good)."""
    queues = [queue(name)]
    if queues[0]["dead_letter_queue"]:
        queues.append(queue(queues[0]["dead_letter_queue"]))
    return queues


def topic_subscriptions(topic_name: str) -> list:
    """Who receives what is published on a topic: protocol, endpoint, confirmed or not."""
    client = aws.sns()
    with _reading(f"topic {topic_name}"):
        arn = None
        for page in client.get_paginator("list_topics").paginate():
            for topic in page.get("Topics", []):
                if topic["TopicArn"].rsplit(":", 1)[1] == topic_name:
                    arn = topic["TopicArn"]
        if arn is None:
            raise AwsCallError(f"topic {topic_name}: it does not exist")
        subscriptions = []
        for page in client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn):
            subscriptions += page.get("Subscriptions", [])
    return [{"protocol": s["Protocol"], "endpoint": s["Endpoint"],
             "confirmed": s["SubscriptionArn"].startswith("arn:")} for s in subscriptions]


def ses_account() -> dict:
    """The SES account: sending enabled, out of the sandbox, enforcement, quota."""
    with _reading("SES account"):
        account = aws.sesv2().get_account()
    quota = account.get("SendQuota", {})
    return {"sending_enabled": account.get("SendingEnabled"),
            "production_access": account.get("ProductionAccessEnabled"),
            "enforcement_status": account.get("EnforcementStatus"),
            "max_24_hour_send": quota.get("Max24HourSend"),
            "max_send_rate": quota.get("MaxSendRate"),
            "sent_last_24_hours": quota.get("SentLast24Hours")}


def ses_identity(identity: str) -> dict:
    """A sending identity (a domain): whether the account has it, verified, DKIM status,
    custom MAIL FROM domain and status."""
    from botocore.exceptions import ClientError

    try:
        with _reading(f"SES identity {identity}"):
            found = aws.sesv2().get_email_identity(EmailIdentity=identity)
    except AwsCallError as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and (
                cause.response.get("Error", {}).get("Code") == "NotFoundException"):
            return {"identity": identity, "exists": False, "verified": False, "dkim": None,
                    "mail_from_domain": None, "mail_from": None}
        raise
    mail_from = found.get("MailFromAttributes") or {}
    return {"identity": identity, "exists": True,
            "verified": found.get("VerifiedForSendingStatus"),
            "dkim": (found.get("DkimAttributes") or {}).get("Status"),
            "mail_from_domain": mail_from.get("MailFromDomain"),
            "mail_from": mail_from.get("MailFromDomainStatus")}


def put_gateway_responses(rest_api_id: str, responses: list, stage_name: str) -> None:
    """Give a REST API these gateway responses (``ResponseType``, ``StatusCode``,
    ``ResponseParameters``, ``ResponseTemplates`` as in CloudFormation), then deploy it to
    ``stage_name``: gateway responses take effect with the next deployment of a stage."""
    client = aws.apigateway()
    with _reading(f"REST API {rest_api_id}"):
        for response in responses:
            arguments = {"restApiId": rest_api_id, "responseType": response["ResponseType"],
                         "responseParameters": response.get("ResponseParameters") or {},
                         "responseTemplates": response.get("ResponseTemplates") or {}}
            if response.get("StatusCode"):
                arguments["statusCode"] = str(response["StatusCode"])
            client.put_gateway_response(**arguments)
        client.create_deployment(restApiId=rest_api_id, stageName=stage_name,
                                 description="gateway responses of infra/api.yaml")


def keep_logs(log_group: str, days: int) -> bool:
    """Keep a function's log group ``days`` days (created when the function has not logged
    yet); True when the group had to be created."""
    client = aws.logs()
    created = False
    with _reading(f"log group {log_group}"):
        try:
            client.create_log_group(logGroupName=log_group)
            created = True
        except client.exceptions.ResourceAlreadyExistsException:
            pass
        client.put_retention_policy(logGroupName=log_group, retentionInDays=days)
    return created
