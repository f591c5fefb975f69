"""E-mail: transactional messages from templates, and the sender behind every message.

The sender is looked up in one place (``sender()``): SES v2 on the stage (``SesSender``), or
whatever a test installs with ``use_sender`` — ``Outbox`` keeps messages in memory, so unit
tests check who got what without a server. Recipients and subjects never come from request
text: subjects are fixed per template and addresses have been validated, so no input can
inject a header.
"""
from __future__ import annotations

import contextlib
import itertools
import json
from typing import NamedTuple

from chalicelib.platform import aws
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.settings import get_settings
from chalicelib.platform.templates import render_text

SUBJECTS = {
    "verify": "Confirm your e-mail address for eSmallOffice",
    "already_registered": "You already have an eSmallOffice account",
    "reset_password": "Reset your eSmallOffice password",
    "password_changed": "Your eSmallOffice password was changed",
    "sign_in_changed": "How you sign in to eSmallOffice was changed",
    "email_change_confirm": "Confirm your new e-mail address for eSmallOffice",
    "email_change_requested": "Your eSmallOffice e-mail address is about to change",
    "email_changed": "Your eSmallOffice e-mail address was changed",
    "email_change_done": "This is now your eSmallOffice e-mail address",
    "email_change_taken": "Someone asked to use this address at eSmallOffice",
    "new_sign_in": "A new sign-in to your eSmallOffice account",
    "contact": "[eSO contact] {topic} question",
    "partner_contact": "An eSmallOffice member wrote to {partner_name}",
}
# SES answers for which sending the same entry again soon may succeed.
RETRY_STATUSES = {"ACCOUNT_THROTTLED", "TRANSIENT_FAILURE"}
# An entry SES refused because the account's 24-hour quota is used up: not sent, and sending it
# again only helps once older messages leave the 24-hour window.
QUOTA_STATUSES = {"ACCOUNT_DAILY_QUOTA_EXCEEDED"}
THROTTLED = {"TooManyRequestsException", "LimitExceededException", "Throttling",
             "ThrottlingException"}
# SES refuses a whole call over the daily quota with a throttling error saying this.
QUOTA_MESSAGE = "daily message quota exceeded"


class Message(NamedTuple):
    to: str
    template: str
    context: dict
    reply_to: str | None = None


class BulkEntry(NamedTuple):
    """One recipient of a templated bulk send: the address, template data, extra headers, and
    (name, value) message tags of this message (SES returns them with its events)."""

    to: str
    data: dict
    headers: tuple = ()
    tags: tuple = ()


class BulkResult(NamedTuple):
    status: str            # "sent" | "retry" | "quota" | "failed"
    message_id: str | None = None


class Account(NamedTuple):
    """The sending account's limits, as SES reports them (GetAccount's SendQuota)."""

    max_24_hour_send: float
    max_send_rate: float
    sent_last_24_hours: float

    @property
    def remaining(self) -> int:
        """Messages the account may still send in the rolling 24-hour window."""
        return max(0, int(self.max_24_hour_send - self.sent_last_24_hours))


class ThrottledError(Exception):
    """The mail service refused the whole call for its rate: try the same call later."""


class QuotaExceededError(Exception):
    """The mail service refused the whole call: the account's 24-hour quota is used up."""


def _quota_refusal(exc) -> bool:
    error = exc.response.get("Error", {})
    return QUOTA_MESSAGE in str(error.get("Message", "")).lower()


def render(message: Message) -> tuple:
    """Subject, text and HTML of a message."""
    settings = get_settings()
    context = {**message.context, "base_url": settings.base_url,
               "postal_address": settings.postal_address}
    subject = SUBJECTS[message.template].format(**context)
    text = render_text(f"email/{message.template}.txt", **context)
    html = render_text(f"email/{message.template}.html", **context)
    return subject, text, html


def send(message: Message) -> str:
    """Send one message; returns the message id."""
    subject, text, html = render(message)
    return sender().send(message.to, subject, text, html, message.reply_to)


# Templates this container has created (template names are the account's, not a sender's).
_created_templates: set = set()


def forget_created_templates() -> None:
    """Start as a new container does, knowing of no template (the next send creates it)."""
    _created_templates.clear()


class SesSender:
    """SES v2: SendEmail, SendBulkEmail with templates, the stage's configuration set."""

    def _common(self) -> dict:
        settings = get_settings()
        request = {"FromEmailAddress": settings.mail_from}
        if settings.ses_configuration_set and not settings.is_local:
            request["ConfigurationSetName"] = settings.ses_configuration_set
        return request

    def send(self, to: str, subject: str, text: str, html: str,
             reply_to: str | None = None) -> str:
        request = {**self._common(), "Destination": {"ToAddresses": [to]}, "Content": {
            "Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                       "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                                "Html": {"Data": html, "Charset": "UTF-8"}}}}}
        if reply_to:
            request["ReplyToAddresses"] = [reply_to]
        with storage_errors():
            return aws.sesv2().send_email(**request)["MessageId"]

    def ensure_template(self, name: str, subject: str, text: str, html: str) -> None:
        """Create the template once per container; 'already exists' is success."""
        from botocore.exceptions import ClientError

        if name in _created_templates:
            return
        try:
            aws.sesv2().create_email_template(TemplateName=name, TemplateContent={
                "Subject": subject, "Text": text, "Html": html})
        except ClientError as exc:
            if not _already_exists(exc):
                raise
        _created_templates.add(name)

    def account(self) -> Account:
        """GetAccount: the 24-hour quota, the rate, what was sent in the last 24 hours."""
        with storage_errors():
            quota = aws.sesv2().get_account().get("SendQuota", {})
        return Account(float(quota.get("Max24HourSend", 0)), float(quota.get("MaxSendRate", 1)),
                       float(quota.get("SentLast24Hours", 0)))

    def send_bulk(self, template: str, default_data: dict, default_headers: tuple,
                  entries: list, tags: tuple = ()) -> list:
        """One SendBulkEmail; a ``BulkResult`` per entry, in order. ``ThrottledError`` when
        the call as a whole was refused for its rate, ``QuotaExceededError`` for the daily
        quota. ``tags``: (name, value) message tags SES returns with the message's events,
        for entries without tags of their own (an entry's ``ReplacementTags`` may replace the
        defaults rather than add to them: give each entry every tag its events need)."""
        from botocore.exceptions import ClientError

        request = {**self._common(), "DefaultContent": {"Template": {
            "TemplateName": template, "TemplateData": json.dumps(default_data),
            "Headers": [{"Name": n, "Value": v} for n, v in default_headers]}},
            "BulkEmailEntries": [{
                "Destination": {"ToAddresses": [entry.to]},
                "ReplacementEmailContent": {"ReplacementTemplate": {
                    "ReplacementTemplateData": json.dumps(entry.data)}},
                "ReplacementHeaders": [{"Name": n, "Value": v} for n, v in entry.headers],
                **({"ReplacementTags": [{"Name": n, "Value": v} for n, v in entry.tags]}
                   if entry.tags else {}),
            } for entry in entries]}
        if tags:
            request["DefaultEmailTags"] = [{"Name": n, "Value": v} for n, v in tags]
        try:
            results = aws.sesv2().send_bulk_email(**request)["BulkEmailEntryResults"]
        except ClientError as exc:
            if _quota_refusal(exc):
                raise QuotaExceededError() from exc
            if exc.response.get("Error", {}).get("Code") in THROTTLED:
                raise ThrottledError() from exc
            raise
        return [BulkResult("sent", r.get("MessageId")) if r["Status"] == "SUCCESS"
                else BulkResult("retry") if r["Status"] in RETRY_STATUSES
                else BulkResult("quota") if r["Status"] in QUOTA_STATUSES
                else BulkResult("failed") for r in results]


def _already_exists(exc) -> bool:
    """SES's AlreadyExistsException; the local SES server gives its name in the body's
    ``type``, which botocore does not read (it reports the code as "400"), so there the
    message says it."""
    error = exc.response.get("Error", {})
    return error.get("Code") == "AlreadyExistsException" or (
        error.get("Code") == "400" and "already exists" in str(error.get("Message", "")))


class Outbox:
    """An in-memory sender for unit tests: what would have been sent, to whom. ``daily_quota``
    makes it refuse bulk calls as SES does once that many messages went out (``new_day``
    empties the window); ``rate`` is the per-second rate its account reports."""

    def __init__(self, fail_for: tuple = (), daily_quota: int = 1_000_000, rate: float = 1000):
        self.sent: list = []          # dicts: to, subject, text, html, reply_to, headers
        self.templates: dict = {}
        self.fail_for = set(fail_for)  # addresses whose bulk entries fail
        self.daily_quota, self.rate, self.in_window = daily_quota, rate, 0
        self._ids = itertools.count(1)

    def account(self) -> Account:
        return Account(self.daily_quota, self.rate, self.in_window)

    def new_day(self) -> None:
        self.in_window = 0

    def send(self, to, subject, text, html, reply_to=None) -> str:
        self.sent.append({"to": to, "subject": subject, "text": text, "html": html,
                          "reply_to": reply_to, "headers": ()})
        return f"outbox-{next(self._ids)}"

    def ensure_template(self, name, subject, text, html) -> None:
        self.templates.setdefault(name, (subject, text, html))

    def send_bulk(self, template, default_data, default_headers, entries, tags=()) -> list:
        results = []
        subject, text, html = self.templates[template]
        if self.in_window + len(entries) > self.daily_quota:
            raise QuotaExceededError()
        self.in_window += len(entries)
        for entry in entries:
            if entry.to in self.fail_for:
                results.append(BulkResult("failed"))
                continue
            data = {**default_data, **entry.data}
            self.sent.append({"to": entry.to, "subject": subject, "template": template,
                              "data": data, "headers": (*default_headers, *entry.headers),
                              # An entry's own tags replace the defaults, never add to them:
                              # SES v2 documents no merging, so the stricter reading is kept.
                              "tags": dict(entry.tags) if entry.tags else dict(tags)})
            results.append(BulkResult("sent", f"outbox-{next(self._ids)}"))
        return results

    def to(self, address: str) -> list:
        return [m for m in self.sent if m["to"] == address]


_sender = None


def sender():
    """The stage's sender (SES v2), built on first use, or the one a test installed."""
    global _sender
    if _sender is None:
        _sender = SesSender()
    return _sender


@contextlib.contextmanager
def use_sender(replacement):
    """Install ``replacement`` as the sender for the duration of a ``with`` block."""
    global _sender
    previous, _sender = _sender, replacement
    try:
        yield replacement
    finally:
        _sender = previous
