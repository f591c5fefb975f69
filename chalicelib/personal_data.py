"""Everything eSO holds about one member: the export (GDPR access) and the erasure.

Each capability that stores personal data adds itself to both functions here, so the export
and the erasure can never disagree about where personal data lives.

What erasure keeps, on purpose and without identifiers: the aggregate daily counters
(registrations, consent changes and so on hold no member id), and the referral clicks and
partner transactions, which stay for the partners' accounting but lose the member id (and the
click its visitor hash). The record of what the member shared with partners is deleted; what
a partner already received by e-mail is under that partner's privacy policy. The member's consent history is erased with the account: the withdrawals recorded at
deletion (source ``account_deleted``) are counted in the aggregates before it goes.
"""
from __future__ import annotations

from chalicelib import consent, sessions, stats
from chalicelib.db import storage_errors, transaction
from chalicelib.models import ConsentEvent, Delivery, EmailClaim, Member, Session, Token


def export(member_id: str) -> dict:
    from chalicelib import partner_contacts, referrals
    from chalicelib.members import get_member, member_json

    member = get_member(member_id)
    referred = referrals.member_view(member_id)
    return {
        "member": member_json(member),
        "account": {
            "verified_at": member.verified_at.isoformat() if member.verified_at else None,
            "password_changed_at": (member.password_changed_at.isoformat()
                                    if member.password_changed_at else None),
            "suppressed": bool(member.suppressed),
        },
        "consent_history": [consent.event_json(e, full=True) for e in consent.history(member_id)],
        "sessions": sessions.list_for_member(member_id),
        "referral_clicks": referred["referral_clicks"],
        "partner_transactions": referred["partner_transactions"],
        "partner_contacts": partner_contacts.list_for_member(member_id),
        "promotions_received": _promotions_received(member_id),
    }


def _promotions_received(member_id: str) -> list:
    from chalicelib.models import Promotion

    with storage_errors():  # batched reads: a few calls however many promotions
        ids = [d.promotion_id for d in Delivery.by_member.query(member_id)]
        deliveries = sorted(Delivery.batch_get([(p, member_id) for p in ids]),
                            key=lambda d: d.at)
        subjects = {p.promotion_id: p.subject for p in Promotion.batch_get(ids)} if ids else {}
    return [{"promotion_id": d.promotion_id, "subject": subjects.get(d.promotion_id),
             "status": d.status, "at": d.at.isoformat()} for d in deliveries]


def erase(member_id: str) -> None:
    """Delete every item that names the member. Idempotent: safe to run again after a crash."""
    from chalicelib import partner_contacts, ratelimit, referrals
    from chalicelib.members import LOGIN_WINDOW_S, login_throttle_key, mail_throttle_key

    with storage_errors():
        # Sessions first: no signed-in request can add new traces while the rest goes.
        with Session.batch_write() as batch:
            for item in Session.by_member.query(member_id):
                batch.delete(Session(item.session_hash))
    referrals.deidentify_member(member_id)
    partner_contacts.erase(member_id)
    with storage_errors():
        with Token.batch_write() as batch:
            for item in Token.by_member.query(member_id):
                batch.delete(Token(item.token_hash))
        with Delivery.batch_write() as batch:
            for item in Delivery.by_member.query(member_id):
                batch.delete(Delivery(item.promotion_id, member_id))
        with ConsentEvent.batch_write() as batch:
            for item in ConsentEvent.query(member_id):
                batch.delete(ConsentEvent(member_id, item.seq))
        try:
            member = Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            return
        # Throttling counters keyed by the address (an HMAC of it) go with the account.
        ratelimit.forget(login_throttle_key(member.email), LOGIN_WINDOW_S)
        ratelimit.forget(mail_throttle_key(member.email), 3600)
        # Last, and together: once these two are gone nothing can reach the member again.
        with transaction() as tx:
            tx.delete(EmailClaim(member.email))
            tx.delete(Member(member_id))
    stats.record("accounts_deleted")
