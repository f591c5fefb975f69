"""Demo data for the local stack, loaded by ``local seed``. Idempotent."""
from __future__ import annotations

DEMO_MEMBER = {"email": "demo@esmalloffice.example", "password": "demo password 2026",
               "display_name": "Demo Member"}


def seed_member(progress) -> str:
    """A verified demo member (local stack only); returns its e-mail address."""
    from datetime import datetime, timezone

    from chalicelib import consent, members
    from chalicelib.consent import Provenance
    from chalicelib.models import EmailClaim, Member

    email = DEMO_MEMBER["email"]
    try:
        EmailClaim.get(email)
        return email
    except EmailClaim.DoesNotExist:
        pass
    progress(f"creating demo member {email} (password: {DEMO_MEMBER['password']})")
    members.register(members.Registration(
        email=email, password=DEMO_MEMBER["password"], display_name=DEMO_MEMBER["display_name"],
        consents={"offers": True, "partner_promotions": True}),
        Provenance("registration", page="local seed"))
    member = Member.get(EmailClaim.get(email).member_id, consistent_read=True)
    member.update(actions=[
        Member.email_verified.set(True), Member.verified_at.set(datetime.now(timezone.utc)),
        *consent.audience_actions(member.member_id, member.consents, True, False)])
    return email


def seed(progress=lambda message: None) -> dict:
    """Load each capability's demo data; returns what is there, by kind."""
    return {"demo_member": seed_member(progress)}
