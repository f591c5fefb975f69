"""What `cli status` calls a problem, from what it read (the reads themselves run against an
AWS simulator and the local stack in tests/integration/ops/test_stage_status.py)."""
import pytest

from chalicelib.ops.status import _problems, render_text

HEALTHY = {
    "stage": "prod",
    "alarms": [{"name": "eso-prod-api-5xx-rate", "state": "OK", "reason": "", "since": None},
               {"name": "eso-prod-ses-bounce-rate", "state": "INSUFFICIENT_DATA", "reason": "",
                "since": None}],
    "queues": [{"name": "eso-sends", "visible": 12, "in_flight": 1, "delayed": 0,
                "dead_letter_queue": "eso-sends-dlq"},
               {"name": "eso-sends-dlq", "visible": 0, "in_flight": 0, "delayed": 0,
                "dead_letter_queue": None}],
    "alarm_recipients": [{"protocol": "email", "endpoint": "ops@esmalloffice.example",
                          "confirmed": True}],
    "ses_account": {"sending_enabled": True, "production_access": True,
                    "enforcement_status": "HEALTHY", "max_24_hour_send": 50000.0,
                    "max_send_rate": 14.0, "sent_last_24_hours": 1234.0},
    "ses_identity": {"identity": "esmalloffice.example", "exists": True, "verified": True,
                     "dkim": "SUCCESS", "mail_from_domain": "bounce.esmalloffice.example",
                     "mail_from": "SUCCESS"},
    "unavailable": {}, "problems": [],
}


def _with(part: str, **changes) -> dict:
    status = {**HEALTHY}
    value = status[part]
    if isinstance(value, list):
        status[part] = [dict(value[0], **changes), *value[1:]]
    else:
        status[part] = dict(value, **changes)
    return status


def test_a_healthy_stage_has_no_problems():
    assert _problems(HEALTHY) == []
    text = render_text(HEALTHY | {"problems": []})
    assert "alarms: 2 (0 in ALARM, 1 without data yet, 1 OK)" in text
    assert "quota: 50,000 per 24 h, 14 per second; sent in the last 24 h: 1,234" in text
    assert "SES identity esmalloffice.example: verified, DKIM SUCCESS, MAIL FROM " \
           "bounce.esmalloffice.example SUCCESS" in text
    assert text.endswith("no problems found")


@pytest.mark.parametrize("status, problem", [
    (_with("alarms", state="ALARM", reason="Threshold Crossed"),
     "alarm eso-prod-api-5xx-rate is in ALARM: Threshold Crossed"),
    ({**HEALTHY, "queues": [HEALTHY["queues"][0], dict(HEALTHY["queues"][1], visible=3)]},
     "3 message(s) wait in the dead-letter queue eso-sends-dlq: send batches that failed five "
     "times"),
    (_with("queues", dead_letter_queue=None), "queue eso-sends has no dead-letter queue"),
    (_with("alarm_recipients", confirmed=False),
     "nobody receives the alarms yet: ops@esmalloffice.example must follow the link SNS mailed "
     "to confirm the subscription to eso-prod-alarms"),
    ({**HEALTHY, "alarm_recipients": []},
     "nobody receives the alarms: the topic eso-prod-alarms has no subscription"),
    (_with("ses_account", sending_enabled=False), "SES sending is disabled for the account"),
    (_with("ses_account", production_access=False),
     "the SES account is in the sandbox: mail reaches verified addresses only, at most 200 a day"),
    (_with("ses_account", enforcement_status="PROBATION"), "SES enforcement status is PROBATION"),
    (_with("ses_identity", verified=False),
     "the sending domain esmalloffice.example is not verified"),
    (_with("ses_identity", dkim="PENDING"),
     "DKIM of esmalloffice.example is PENDING, not SUCCESS"),
    (_with("ses_identity", mail_from=None),
     "the custom MAIL FROM domain of esmalloffice.example is not set, not SUCCESS"),
    (_with("ses_identity", exists=False),
     "the sending domain esmalloffice.example is not an SES identity of this account: create "
     "it with DKIM and verify it (docs/operations.md)"),
])
def test_each_problem_is_named_in_one_line(status, problem):
    assert _problems(status) == [problem]


def test_a_promotion_waiting_for_the_daily_quota_is_shown_with_its_time_not_as_a_problem():
    paused = {**HEALTHY, "paused_promotions": [
        {"id": "p1", "subject": "Big", "paused_reason": "daily_quota",
         "resume_at": "2026-12-02T09:00:00Z", "delivered": 50000}]}
    assert _problems(paused) == []
    assert ("  p1: paused: daily quota, resumes at 2026-12-02 09:00 UTC, 50,000 delivered so far"
            in render_text(paused))
