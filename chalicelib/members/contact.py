"""The contact form: privacy and security questions forwarded to the operator by e-mail, and
kept for the operator console (``messages``: 180 days, erased with the account)."""
from __future__ import annotations

from chalicelib.members import messages
from chalicelib.members.accounts import normalize_email
from chalicelib.platform import mail, ratelimit
from chalicelib.platform.crypto import sign
from chalicelib.platform.errors import ValidationError
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import CONTACT_MAX_MESSAGE, CONTACT_TOPICS

TOPICS = CONTACT_TOPICS
MAX_MESSAGE = CONTACT_MAX_MESSAGE
PER_CLIENT_PER_HOUR = 5


def submit(email: str, topic: str, message: str, client_key: str) -> None:
    """Keep one message for the console and forward it to the operator; at most a few per
    client and hour."""
    sender = normalize_email(email)
    if topic not in TOPICS:
        raise ValidationError(f"Choose one of the topics: {', '.join(TOPICS)}.", field="topic")
    text = (message or "").strip()
    if not text:
        raise ValidationError("Write your message, then send it.", field="message")
    if len(text) > MAX_MESSAGE:
        raise ValidationError(f"The message can have at most {MAX_MESSAGE} characters. Shorten it "
                              "and send it again.",
                              field="message")
    ratelimit.take("contact:" + sign("rate-limit", client_key), PER_CLIENT_PER_HOUR, 3600,
                   message="You have sent several messages already. Try again in an hour.")
    messages.store(sender, topic, text)
    mail.send(mail.Message(get_settings().operator_email, "contact",
                           {"topic": topic, "sender": sender, "message": text},
                           reply_to=sender))
