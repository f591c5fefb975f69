"""Consent receipts: one consent event as a signed JSON document the member can keep.

The fields follow the consent-receipt records of ISO/IEC TS 27560 and the Kantara Initiative
(controller, the person's identifier, purpose, state, policy version, time, method, receipt
id). The signature is HMAC-SHA256 with the stage's signing key over the canonical JSON of the
receipt without its ``signature``: anyone can ask eSO whether a receipt is genuine and unaltered
(``verify``) and learns nothing else; no one without the key can make one.
"""
from __future__ import annotations

import json

from chalicelib.members.consent import event_id, is_preference
from chalicelib.members.models import ConsentEvent
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import sign, verify_signature
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import NotFoundError
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import FREQUENCY, PURPOSES, SNOOZE, TOPIC_PREFIX

VERSION = "eso-consent-receipt/1"
_SIGNING = "consent-receipt"
ALGORITHM = "HMAC-SHA256"
PURPOSE_TEXT = {
    "offers": "Special offers and services from eSmallOffice, by e-mail",
    "partner_promotions": "Product promotions from eSmallOffice's marketing partners, sent by "
                          "eSmallOffice by e-mail (partners never receive the address)",
}
METHOD_TEXT = {
    "registration": "Chosen in the registration form",
    "preference_center": "Changed by the member in their account",
    "unsubscribe_link": "Withdrawn with the unsubscribe link of an e-mail",
    "bounce": "Withdrawn because mail to the address bounced",
    "complaint": "Withdrawn because the member marked a message as spam",
    "account_deleted": "Withdrawn when the account was deleted",
    "gpc": "Withdrawn because the member's browser sent Global Privacy Control",
    "email_change": "Carried over when the member changed their e-mail address",
    "policy_update": "Confirmed by the member when the privacy policy changed",
    "snooze_link": "Chosen with the pause link of an e-mail",
    "support_suppression": "Withdrawn when eSmallOffice's support stopped all promotional "
                           "e-mail to the address",
    "support_erasure": "Withdrawn when eSmallOffice's support erased the account at the "
                       "member's request",
}


def purpose_text(purpose: str) -> str:
    """What a consent or a promotion preference is about, in a sentence's words."""
    if purpose in PURPOSE_TEXT:
        return PURPOSE_TEXT[purpose]
    if purpose == FREQUENCY:
        return ("How often product promotions from eSmallOffice's marketing partners may be "
                "sent: at most one per the period given as the value")
    if purpose == SNOOZE:
        return ("A pause of every promotional e-mail (eSmallOffice's offers and partners' "
                "promotions) until the time given as the value")
    from chalicelib.members.topics import topic_names

    topic = purpose.removeprefix(TOPIC_PREFIX)
    return (f"Product promotions from eSmallOffice's marketing partners on the topic "
            f"“{topic_names().get(topic, topic)}”")


def _canonical(receipt: dict) -> str:
    body = {k: v for k, v in receipt.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def build(event: ConsentEvent, email: str) -> dict:
    settings = get_settings()
    receipt = {
        "version": VERSION,
        "receipt_id": event_id(event),
        "controller": {"name": "eSmallOffice", "address": settings.postal_address,
                       "privacy_policy": f"{settings.base_url}/privacy"},
        "pii_principal_id": email,
        "purpose": {"id": event.purpose, "description": purpose_text(event.purpose)},
        "state": "given" if event.granted else "withdrawn",
        "policy_version": event.policy_version,
        "time": iso(event.at),
        "method": {"id": event.source, "description": METHOD_TEXT.get(event.source, "")},
    }
    if event.value is not None:
        receipt["value"] = event.value
    receipt["signature"] = {"alg": ALGORITHM, "value": sign(_SIGNING, _canonical(receipt))}
    return receipt


def for_member(member_id: str, email: str, receipt_id: str) -> dict:
    """The receipt of one of the member's own consent events."""
    with storage_errors():
        events = list(ConsentEvent.query(member_id))
    for event in events:
        if event_id(event) == receipt_id and (event.purpose in PURPOSES
                                              or is_preference(event.purpose)):
            return build(event, email)
    raise NotFoundError("There is no consent event with this id in your history.")


def verify(receipt: dict) -> bool:
    """True when the receipt is exactly as eSO issued it."""
    signature = receipt.get("signature")
    if not isinstance(signature, dict) or signature.get("alg") != ALGORITHM:
        return False
    value = signature.get("value")
    if not isinstance(value, str) or len(value) > 100:
        return False
    try:
        canonical = _canonical(receipt)
    except (TypeError, ValueError):
        return False
    return verify_signature(_SIGNING, canonical, value)
