"""Is a stage well? Its alarms, its queues, who receives the alarms, the SES account and the
sending domain, read together, with the problems they show in plain words.

On the local stack only the SES server answers (with the account make run gives it): there is
no CloudWatch, the promotions are sent in-process without a queue, and the SES server has no
identities. Those parts are reported as not available locally, never as problems.
"""
from __future__ import annotations

from email.utils import parseaddr

from chalicelib.ops.infra import ALARM_PREFIX, ALARM_TOPIC, SEND_QUEUE
from chalicelib.platform import monitoring
from chalicelib.platform.monitoring import AwsCallError
from chalicelib.platform.settings import get_settings
from chalicelib.promotions.progress import paused_text

NOT_LOCAL = {
    "alarms": "the local stack has no CloudWatch: alarms exist on a deployed stage only",
    "queues": "the local stack sends promotions in-process, without a queue",
    "alarm_recipients": "the local stack has no alarm topic",
    "ses_identity": "the local SES server has no sending identities",
}


def stage_status() -> dict:
    """Every part of the stage's state that can be read, what could not, and the problems."""
    settings = get_settings()
    stage = settings.stage
    status = {"stage": stage, "alarms": None, "queues": None, "alarm_recipients": None,
              "ses_account": None, "ses_identity": None, "paused_promotions": None,
              "unavailable": {}, "problems": []}
    reads = {
        "alarms": lambda: monitoring.alarms(ALARM_PREFIX.format(stage=stage)),
        "queues": _queues,
        "alarm_recipients": lambda: monitoring.topic_subscriptions(
            ALARM_TOPIC.format(stage=stage)),
        "ses_account": monitoring.ses_account,
        "ses_identity": lambda: monitoring.ses_identity(_mail_domain(settings.mail_from)),
        "paused_promotions": _paused_promotions,
    }
    for part, read in reads.items():
        if settings.is_local and part in NOT_LOCAL:
            status["unavailable"][part] = NOT_LOCAL[part]
            continue
        try:
            status[part] = read()
        except AwsCallError as exc:
            status["unavailable"][part] = exc.message
            status["problems"].append(f"could not read {part.replace('_', ' ')}: {exc.message}")
    status["problems"] = _problems(status) + status["problems"]
    return status


def _paused_promotions() -> list:
    from chalicelib import promotions
    from chalicelib.platform.clock import iso

    try:
        paused = promotions.list_all("paused")
        counts = promotions.delivery_counts_many(paused) if paused else {}
    except Exception as exc:  # a missing table or an AWS error: reported, never a crash
        raise AwsCallError(f"promotions table: {type(exc).__name__}: {exc}"[:300]) from exc
    return [{"id": p.promotion_id, "subject": p.subject, "paused_reason": p.paused_reason,
             "resume_at": iso(p.resume_at) if p.resume_at else None,
             "delivered": counts[p.promotion_id].delivered} for p in paused]


def _mail_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2]


def _queues() -> list:
    return monitoring.queue_with_dead_letters(SEND_QUEUE)


def _problems(status: dict) -> list:
    problems = []
    for alarm in status["alarms"] or []:
        if alarm["state"] == "ALARM":
            problems.append(f"alarm {alarm['name']} is in ALARM: {alarm['reason']}")
    queues = status["queues"] or []
    if queues and not queues[0]["dead_letter_queue"]:
        problems.append(f"queue {queues[0]['name']} has no dead-letter queue")
    for dead in queues[1:]:
        if dead["visible"]:
            problems.append(f"{dead['visible']} message(s) wait in the dead-letter queue "
                            f"{dead['name']}: send batches that failed five times")
    recipients = status["alarm_recipients"]
    topic = ALARM_TOPIC.format(stage=status["stage"])
    if recipients == []:
        problems.append(f"nobody receives the alarms: the topic {topic} has no subscription")
    elif recipients and not any(r["confirmed"] for r in recipients):
        pending = ", ".join(r["endpoint"] for r in recipients)
        problems.append(f"nobody receives the alarms yet: {pending} must follow the link SNS "
                        f"mailed to confirm the subscription to {topic}")
    account = status["ses_account"]
    if account:
        if not account["sending_enabled"]:
            problems.append("SES sending is disabled for the account")
        if account["production_access"] is False:
            problems.append("the SES account is in the sandbox: mail reaches verified "
                            "addresses only, at most 200 a day")
        if account["enforcement_status"] not in (None, "HEALTHY"):
            problems.append(f"SES enforcement status is {account['enforcement_status']}")
    identity = status["ses_identity"]
    if identity and not identity["exists"]:
        problems.append(f"the sending domain {identity['identity']} is not an SES identity of "
                        f"this account: create it with DKIM and verify it (docs/operations.md)")
    elif identity:
        if not identity["verified"]:
            problems.append(f"the sending domain {identity['identity']} is not verified")
        if identity["dkim"] != "SUCCESS":
            problems.append(f"DKIM of {identity['identity']} is {identity['dkim']}, "
                            f"not SUCCESS")
        if identity["mail_from"] != "SUCCESS":
            problems.append(f"the custom MAIL FROM domain of {identity['identity']} is "
                            f"{identity['mail_from'] or 'not set'}, not SUCCESS")
    return problems


def render_text(status: dict) -> str:
    """The status as an operator reads it in a terminal."""
    from chalicelib.ops.output import table

    lines = [f"stage {status['stage']}", ""]
    alarms = status["alarms"]
    if alarms is not None:
        counts = {state: sum(a["state"] == state for a in alarms)
                  for state in ("ALARM", "INSUFFICIENT_DATA", "OK")}
        lines.append(f"alarms: {len(alarms)} ({counts['ALARM']} in ALARM, "
                     f"{counts['INSUFFICIENT_DATA']} without data yet, {counts['OK']} OK)")
        lines.append(table(["state", "alarm", "since (UTC)"],
                           [[a["state"], a["name"], (a["since"] or "")[:16].replace("T", " ")]
                            for a in alarms], empty="no alarms found"))
        lines.append("")
    if status["queues"] is not None:
        lines.append("queues")
        lines.append(table(["queue", "waiting", "in flight", "delayed"],
                           [[q["name"], q["visible"], q["in_flight"], q["delayed"]]
                            for q in status["queues"]],
                           right=("waiting", "in flight", "delayed")))
        lines.append("")
    if status["alarm_recipients"] is not None:
        recipients = ", ".join(f"{r['endpoint']} ({'confirmed' if r['confirmed'] else 'pending'})"
                               for r in status["alarm_recipients"]) or "nobody"
        lines += [f"alarm e-mail: {recipients}", ""]
    account = status["ses_account"]
    if account is not None:
        lines.append(
            f"SES account: sending {'enabled' if account['sending_enabled'] else 'DISABLED'}, "
            f"{'production access' if account['production_access'] else 'in the sandbox'}, "
            f"enforcement {account['enforcement_status']}")
        lines.append(f"  quota: {account['max_24_hour_send']:,.0f} per 24 h, "
                     f"{account['max_send_rate']:,.0f} per second; sent in the last 24 h: "
                     f"{account['sent_last_24_hours']:,.0f}")
    identity = status["ses_identity"]
    if identity is not None and not identity["exists"]:
        lines.append(f"SES identity {identity['identity']}: not created in this account")
    elif identity is not None:
        lines.append(f"SES identity {identity['identity']}: "
                     f"{'verified' if identity['verified'] else 'NOT verified'}, "
                     f"DKIM {identity['dkim']}, MAIL FROM {identity['mail_from_domain'] or '-'} "
                     f"{identity['mail_from'] or ''}".rstrip())
    if account is not None or identity is not None:
        lines.append("")
    if status.get("paused_promotions"):
        lines.append("promotions waiting for the SES quota (they resume on their own)")
        lines += [f"  {p['id']}: {paused_text(p)}, {p['delivered']:,} delivered so far"
                  for p in status["paused_promotions"]]
        lines.append("")
    for part, reason in status["unavailable"].items():
        lines.append(f"not available: {part.replace('_', ' ')}: {reason}")
    if status["unavailable"]:
        lines.append("")
    if status["problems"]:
        lines.append(f"{len(status['problems'])} problem(s):")
        lines += [f"  - {problem}" for problem in status["problems"]]
    else:
        lines.append("no problems found")
    return "\n".join(lines)
