"""What the partners domain holds about one member: referral clicks made while signed in,
transactions partners reported about them, what the member chose to share with partners, and
the notices that told partners to unlink the member.

Erasure first records the notices that ask each linked partner to unlink the member's clicks
(while the clicks still name the member; the notices name no one), then keeps clicks and
transactions for the partners' accounting but removes the member from them (clicks lose the
visitor hash too); the sharing records are deleted. What a partner already received by e-mail
is under that partner's privacy policy.
"""
from __future__ import annotations

from chalicelib.partners import notices, registry
from chalicelib.partners.models import PartnerContact, PartnerTransaction, ReferralClick
from chalicelib.partners.referrals import ATTRIBUTION_WINDOW
from chalicelib.partners.transactions import transaction_view
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import storage_errors

MEMBER_TABLES = (ReferralClick, PartnerTransaction, PartnerContact)


def _clicks(member_id: str) -> list:
    with storage_errors():
        return list(ReferralClick.by_member.query(member_id))


def _transactions(member_id: str) -> list:
    with storage_errors():
        return list(PartnerTransaction.by_member.query(member_id))


def referrals_of(member_id: str) -> dict:
    """The member's referral clicks and the transactions partners reported about them."""
    clicks, txns = _clicks(member_id), _transactions(member_id)
    known = registry.get_many([c.partner_id for c in clicks] + [t.partner_id for t in txns])
    return {
        "referral_clicks": [{
            "partner": registry.presented(known.get(c.partner_id), c.partner_id),
            "click_id": c.click_id, "clicked_at": iso(c.clicked_at),
            "attribution_ends_at": iso(c.clicked_at + ATTRIBUTION_WINDOW)} for c in clicks],
        "partner_transactions": [{
            "partner": registry.presented(known.get(t.partner_id), t.partner_id),
            **transaction_view(t)} for t in txns],
    }


def contacts_of(member_id: str) -> list:
    """What the member shared with which partner and when, oldest first."""
    with storage_errors():
        records = list(PartnerContact.query(member_id, consistent_read=True))
    known = registry.get_many(r.partner_id for r in records)
    return [{"partner": {**registry.presented(known.get(r.partner_id), r.partner_id),
                         "name": r.partner_name},
             "sent_at": iso(r.sent_at), "sent_to": r.sent_to, "status": r.status,
             "shared": {"name": r.shared_name, "email": r.shared_email,
                        "message": r.shared_message}} for r in records]


def export_member(member_id: str) -> dict:
    return {**referrals_of(member_id), "partner_contacts": contacts_of(member_id),
            "partner_notices": notices.notices_of_member(member_id)}


def erase_member(member_id: str) -> None:
    """Tell the linked partners (notices of ``erased``), then remove the member from clicks
    and transactions and delete the sharing records. Idempotent (the sparse indexes no longer
    list what was already done, and each click is told once)."""
    notices.record(member_id, notices.ERASED)
    with storage_errors():
        for click in _clicks(member_id):
            click.update(actions=[ReferralClick.member_id.remove(),
                                  ReferralClick.visitor_hash.remove()])
        for txn in _transactions(member_id):
            txn.update(actions=[PartnerTransaction.member_id.remove()])
        with PartnerContact.batch_write() as batch:
            for record in PartnerContact.query(member_id, consistent_read=True):
                batch.delete(PartnerContact(member_id, record.contact_id))
