"""Erasure across the owners of member data, without servers: every owner forgets the member,
partners and promotions keep only what has no identifier, and the deletion is counted."""
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from chalicelib import members, partners, privacy, promotions
from chalicelib.members import sessions
from chalicelib.members.consent import Provenance
from chalicelib.members.models import Member
from chalicelib.partners import referrals, transactions
from chalicelib.partners.models import PartnerTransaction, ReferralClick
from chalicelib.platform.vocabulary import OFFER
from chalicelib.promotions.models import Delivery
from chalicelib.statistics import counters

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time


def member() -> str:
    return members.register_confirmed(members.Registration(
        email=f"erase-{uuid.uuid4().hex[:12]}@example.org",
        password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": True}), Provenance("registration"))


def deleted_today() -> int:
    day = START.date()
    return counters.daily("accounts_deleted", day, day).get(day, 0)


def test_erasure_asks_every_owner_and_counts_one_deleted_account(moto_world):
    member_id = member()
    session, _ = sessions.create(member_id)
    partner_id = partners.create("Shop", "https://shop.example/",
                                 privacy_policy_url="https://shop.example/privacy").partner_id
    url = referrals.record_click(partner_id, "V" * 24, member_id=member_id)
    click_id = parse_qs(urlsplit(url).query)["eso_click"][0]
    transactions.report_transaction(partner_id, transactions.Report(click_id, "o-1", "5.00", "EUR"))
    offer = promotions.create(OFFER, "Offer", "Body")
    promotions.send_batch(offer.promotion_id, [member_id])
    before = deleted_today()

    privacy.erase_member(member_id)

    assert sessions.lookup(session) is None
    assert Member.count(member_id) == 0
    click = ReferralClick.get(click_id)
    assert click.member_id is None and click.visitor_hash is None and click.partner_id == partner_id
    txn = PartnerTransaction.get(partner_id, "o-1")
    assert txn.member_id is None and txn.amount == "5.00"  # the partner's accounting stays
    assert list(Delivery.by_member.query(member_id)) == []
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered == 1  # aggregate counts stay
    assert deleted_today() == before + 1


def test_erasing_a_member_already_gone_counts_nothing(moto_world):
    member_id = member()
    privacy.erase_member(member_id)
    before = deleted_today()
    privacy.erase_member(member_id)
    privacy.erase_member("never-existed")
    assert deleted_today() == before
