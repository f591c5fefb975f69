"""At most one partner promotion per day, week or month, as each member chose, applied when
each message is sent; against DynamoDB Local and the local SES server."""
import threading
from datetime import timedelta

import pytest

from chalicelib import members, promotions
from chalicelib.members.consent import Provenance
from chalicelib.platform import clock, mail
from chalicelib.platform.vocabulary import PARTNER
from chalicelib.promotions.models import Delivery
from tests.integration.partner_helpers import new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


def partner_promotion(partner_id, label="Weekly"):
    created = promotions.create(PARTNER, unique_subject(label), "Ten percent off.",
                                partner_id=partner_id)
    return promotions.approve(created.promotion_id)


def choose(member_id, frequency):
    members.preferences.change(member_id, Provenance("preference_center", "/test"),
                               frequency=frequency)


def test_one_a_week_gets_the_first_of_two_promotions_and_the_second_counts_it_skipped(
        client, mailbox):
    partner_id, _ = new_partner("Weekly")
    email, member_id = make_member(mailbox, tag="weekly")
    choose(member_id, "week")
    first, second = partner_promotion(partner_id), partner_promotion(partner_id)

    promotions.dispatch(first.promotion_id)          # the whole audience, as the operator does
    assert len(received(mailbox, first, email)) == 1
    promotions.dispatch(second.promotion_id)
    assert received(mailbox, second, email) == []
    assert promotions.delivery_counts(promotions.get(second.promotion_id)).skipped >= 1

    # The member's own batch, counted exactly: skipped, not sent, not left in the ledger.
    third = partner_promotion(partner_id)
    assert promotions.send_batch(third.promotion_id, [member_id]) == (0, 1, 0)
    assert promotions.delivery_counts(promotions.get(third.promotion_id)).skipped == 1
    assert received(mailbox, third, email) == []
    assert Delivery.count(third.promotion_id, Delivery.member_id == member_id) == 0
    # eSO's own offers are not partner promotions: the limit does not hold them back.
    offer = promotions.create("offer", unique_subject("Own offer"), "Ours.")
    assert promotions.send_batch(offer.promotion_id, [member_id]).delivered == 1


def test_the_limit_is_the_members_own_and_the_operators_default_otherwise(mailbox):
    partner_id, _ = new_partner("Default")
    _, default_id = make_member(mailbox, tag="default-week")
    _, daily_id = make_member(mailbox, tag="daily")
    choose(daily_id, "day")
    first, second = partner_promotion(partner_id), partner_promotion(partner_id)
    assert promotions.send_batch(first.promotion_id, [default_id, daily_id]).delivered == 2
    # A day later the daily member may have another; the default (a week) still holds.
    later = clock.now() + timedelta(days=1, minutes=1)
    assert promotions.send_batch(second.promotion_id, [default_id, daily_id],
                                 now=later) == (1, 1, 0)
    assert Delivery.get(second.promotion_id, daily_id).status == "sent"


def test_two_promotions_sent_at_once_never_both_pass_a_members_limit(mailbox):
    """Two workers send two promotions' batches to the same members at the same moment: each
    member gets exactly one of the two (the allowance is taken by a conditional write)."""
    partner_id, _ = new_partner("Race")
    people = [make_member(mailbox, tag="race") for _ in range(12)]
    ids = [member_id for _, member_id in people]
    racing = [partner_promotion(partner_id, "Race") for _ in range(2)]
    start = threading.Barrier(2)
    results, errors = {}, []

    def send(promotion):
        try:
            start.wait(timeout=10)
            results[promotion.promotion_id] = promotions.send_batch(promotion.promotion_id, ids)
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(p,)) for p in racing]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    for email, _ in people:
        got = [p for p in racing if received(mailbox, p, email)]
        assert len(got) == 1, email
    assert sum(r.delivered for r in results.values()) == len(ids)
    assert sum(r.skipped for r in results.values()) == len(ids)


class RefusedForTheDailyQuota:
    """The real sender, with SES refusing the bulk call for the account's daily quota."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def send_bulk(self, *args, **kwargs):
        raise mail.QuotaExceededError()


def test_a_member_released_unsent_keeps_their_allowance(mailbox):
    partner_id, _ = new_partner("Released")
    email, member_id = make_member(mailbox, tag="released")
    paused = partner_promotion(partner_id, "Paused")
    with mail.use_sender(RefusedForTheDailyQuota(mail.SesSender())):
        assert promotions.send_batch(paused.promotion_id, [member_id]) == (0, 0, 0)
    assert received(mailbox, paused, email) == []
    assert Delivery.count(paused.promotion_id, Delivery.member_id == member_id) == 0

    # Nothing was sent, so the member may still have this week's partner promotion.
    other = partner_promotion(partner_id, "After the pause")
    assert promotions.send_batch(other.promotion_id, [member_id]).delivered == 1
    assert len(received(mailbox, other, email)) == 1
