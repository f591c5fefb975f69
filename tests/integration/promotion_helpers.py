"""Members and mail for promotion tests, through the real registration and SES server."""
import uuid

from chalicelib import members
from chalicelib.members.consent import Provenance
from chalicelib.members.models import EmailClaim
from tests.integration.helpers import PASSWORD, new_email, token_from


def make_member(mailbox, offers=True, partner_promotions=True, verified=True, tag="promo"):
    """A member created through the real registration (and verification) path."""
    email = new_email(tag)
    members.register(members.Registration(email=email, password=PASSWORD,
                                          consents={"offers": offers,
                                                    "partner_promotions": partner_promotions}),
                     Provenance("registration", "/test"))
    if verified:
        members.verify_email(token_from(mailbox.wait_for(email)[-1], "/verify"), PASSWORD)
    return email, EmailClaim.get(email).member_id


def received(mailbox, promotion, email=None):
    mails = [m for m in mailbox.all() if m["subject"] == promotion.subject]
    return [m for m in mails if email in m["destination"]["to"]] if email else mails


def recipients(mailbox, promotion):
    return sorted(address for m in received(mailbox, promotion) for address in m["destination"]["to"])


def unique_subject(label):
    return f"{label} {uuid.uuid4().hex[:10]}"
