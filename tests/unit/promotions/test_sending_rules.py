"""The sending rules with no servers: DynamoDB in moto, mail in an in-memory outbox, time on a
fake clock. Who gets a promotion, once, with which unsubscribe link."""
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from chalicelib import members, partners, promotions
from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.ops import tables
from chalicelib.platform import clock, mail
from chalicelib.platform.vocabulary import OFFER, PARTNER

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(monkeypatch):
    """The dev stage's tables in moto, an outbox for mail, and a clock that never waits."""
    for name, value in {"ESO_STAGE": "dev", "ESO_TABLE_PREFIX": "eso-rules-",
                        "ESO_SECRET_PARAMETER": "/eso/rules/secret",
                        "ESO_BASE_URL": "https://eso.example", "ESO_SEND_RATE": "1000",
                        "ESO_MAIL_FROM": "eSO <no-reply@eso.example>",
                        "ESO_POSTAL_ADDRESS": "1 Market Street"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ESO_SEND_QUEUE", raising=False)
    monkeypatch.delenv("ESO_SECRET", raising=False)
    start = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with mock_aws(), mail.use_sender(mail.Outbox()) as outbox, \
            clock.use(clock.FakeClock(start)):
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/eso/rules/secret", Value="unit-test-secret-0123456789abcdef", Type="SecureString")
        tables.create_missing()
        yield outbox


def member(email, offers=True, partner_promotions=True):
    return members.register_confirmed(members.Registration(
        email=email, password=PASSWORD,
        consents={"offers": offers, "partner_promotions": partner_promotions}),
        Provenance("registration", "/unit"))


def test_an_offer_goes_to_exactly_the_members_who_consent_to_offers(world):
    yes = member("yes@example.org")
    member("no@example.org", offers=False)
    offer = promotions.create(OFFER, "Backup, 30% off", "Body")
    promotions.dispatch(offer.promotion_id)
    assert [m["to"] for m in world.sent] == ["yes@example.org"]
    headers = dict(world.sent[0]["headers"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = headers["List-Unsubscribe"].split("token=")[1].rstrip(">")
    assert promotions.read_unsubscribe_token(token) == (yes, "offers")


def test_a_partner_promotion_honours_its_own_consent_and_unsubscribes_only_it(world):
    both = member("both@example.org")
    member("offers-only@example.org", partner_promotions=False)
    partner = partners.create("Shop", "https://shop.example/",
                              privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, "Desks", "Body", partner_id=partner.partner_id)
    promotions.approve(promotion.promotion_id)
    promotions.dispatch(promotion.promotion_id)
    assert [m["to"] for m in world.sent] == ["both@example.org"]
    token = dict(world.sent[0]["headers"])["List-Unsubscribe"].split("token=")[1].rstrip(">")
    assert promotions.unsubscribe(token) == "partner_promotions"
    after = members.get_member(both)
    assert not consent.is_granted(after, "partner_promotions")
    assert consent.is_granted(after, "offers")  # the other purpose is untouched


def test_a_retried_batch_sends_nobody_twice(world):
    member_id = member("once@example.org")
    offer = promotions.create(OFFER, "Once", "Body")
    for _ in range(3):
        promotions.send_batch(offer.promotion_id, [member_id])
    assert len(world.to("once@example.org")) == 1


def test_a_member_who_withdraws_before_the_batch_runs_gets_nothing(world):
    member_id = member("late@example.org")
    offer = promotions.create(OFFER, "Late", "Body")
    consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    result = promotions.send_batch(offer.promotion_id, [member_id])
    assert result.skipped == 1 and world.sent == []


def test_failed_entries_are_counted_and_not_retried(world):
    member_id = member("bounce@example.org")
    world.fail_for.add("bounce@example.org")
    offer = promotions.create(OFFER, "Fails", "Body")
    result = promotions.send_batch(offer.promotion_id, [member_id])
    assert (result.delivered, result.failed) == (0, 1)
    assert promotions.send_batch(offer.promotion_id, [member_id]).delivered == 0
