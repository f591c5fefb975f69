"""Transactional e-mail through SES v2: one template per message, text and HTML.

Recipients and subjects never come from request text: subjects are fixed per template and
addresses have been validated, so no input can inject a header.
"""
from __future__ import annotations

from typing import NamedTuple


from chalicelib.settings import get_settings

SUBJECTS = {
    "verify": "Confirm your e-mail address for eSmallOffice",
    "already_registered": "You already have an eSmallOffice account",
    "reset_password": "Reset your eSmallOffice password",
    "password_changed": "Your eSmallOffice password was changed",
    "contact": "[eSO contact] {topic} question",
    "partner_contact": "An eSmallOffice member wrote to {partner_name}",
}


class Message(NamedTuple):
    to: str
    template: str
    context: dict
    reply_to: str | None = None


def render(message: Message) -> tuple:
    """Subject, text and HTML of a message."""
    from chalicelib.web.render import render_text

    settings = get_settings()
    context = {**message.context, "base_url": settings.base_url,
               "postal_address": settings.postal_address}
    subject = SUBJECTS[message.template].format(**context)
    text = render_text(f"email/{message.template}.txt", **context)
    html = render_text(f"email/{message.template}.html", **context)
    return subject, text, html


def send(message: Message) -> str:
    """Send one message; returns the SES message id."""
    from chalicelib.aws import sesv2
    from chalicelib.db import storage_errors

    settings = get_settings()
    subject, text, html = render(message)
    request = {
        "FromEmailAddress": settings.mail_from,
        "Destination": {"ToAddresses": [message.to]},
        "Content": {"Simple": {
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"},
                     "Html": {"Data": html, "Charset": "UTF-8"}},
        }},
    }
    if message.reply_to:
        request["ReplyToAddresses"] = [message.reply_to]
    if settings.ses_configuration_set and not settings.is_local:
        request["ConfigurationSetName"] = settings.ses_configuration_set
    with storage_errors():
        return sesv2().send_email(**request)["MessageId"]
