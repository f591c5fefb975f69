"""A promotion larger than the SES account's daily quota, against DynamoDB Local and the local
SES server behind a fault proxy that answers as an account with a small 24-hour quota (SES's
own "Daily message quota exceeded" error, and GetAccount's figures)."""
import json
from datetime import timedelta

import pytest

from chalicelib import members, promotions
from chalicelib.platform import clock
from chalicelib.promotions import quota
from chalicelib.promotions.models import Delivery
from devstack.faultproxy import FaultProxy
from tests.integration.helpers import cli
from tests.integration.promotion_helpers import make_member, recipients, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def ses_account(stack, monkeypatch):
    with FaultProxy(stack["ses"].url) as proxy:
        monkeypatch.setenv("ESO_SES_PORT", str(proxy.port))
        yield proxy


def ledger(promotion_id) -> dict:
    return {d.member_id: d.status for d in Delivery.query(promotion_id, consistent_read=True)}


def test_a_send_over_the_daily_quota_pauses_then_resumes_and_everyone_gets_one_message(
        mailbox, ses_account):
    make_member(mailbox)
    offer = promotions.create("offer", unique_subject("Quota"), "More storage, same price.")
    others = 3                               # messages the account sends besides the promotion
    audience_size = sum(1 for _ in members.audience_ids("offers")) + others
    limit = audience_size // 2 + others      # the quota runs out half-way through
    day = ses_account.daily_quota(limit)
    assert quota.account(fresh=True).remaining == limit  # what this container read last
    # Meanwhile the account sends other mail (registrations): SES counts it, the reading above
    # does not know it yet, so it is SES itself that refuses the promotion half-way.
    for _ in range(others):
        make_member(mailbox)
    audience = set(members.audience_ids("offers"))
    assert len(audience) == audience_size and day.sent == others

    promotions.dispatch(offer.promotion_id, batch_size=2)  # in-process, as locally: no error

    paused = promotions.get(offer.promotion_id)
    assert (paused.status, paused.paused_reason) == ("paused", "daily_quota")
    assert paused.resume_at >= paused.window_started_at + timedelta(hours=24)
    assert day.refused >= 1
    first = recipients(mailbox, offer)
    assert 0 < len(first) <= limit - others and len(first) == len(set(first))
    assert len(first) < len(audience)
    entries = ledger(offer.promotion_id)
    # Refused members were released, not left claimed: the ledger holds exactly those sent.
    assert set(entries.values()) == {"sent"} and len(entries) == len(first)

    # The operator sees why and until when, in text and JSON.
    shown = cli("promotions", "show", offer.promotion_id, env_extra={
        "ESO_SES_PORT": str(ses_account.port)})
    assert shown.returncode == 0, shown.stderr
    assert (f"paused: daily quota, resumes at "
            f"{clock.iso(paused.resume_at)[:16].replace('T', ' ')} UTC") in shown.stdout
    listed = json.loads(cli("--json", "promotions", "list", "--status", "paused").stdout)
    row = next(r for r in listed["promotions"] if r["id"] == offer.promotion_id)
    assert (row["status"], row["paused_reason"]) == ("paused", "daily_quota")
    assert row["resume_at"] == clock.iso(paused.resume_at)

    # A batch the queue still held while paused is done with (nothing goes back to SQS, so
    # nothing reaches the dead-letter queue) and sends nothing.
    rest = sorted(audience - set(entries))
    held = promotions.handle_queue_message(json.dumps(
        {"promotion_id": offer.promotion_id, "member_ids": rest[:50]}))
    assert held == (0, 0, 0)
    assert len(recipients(mailbox, offer)) == len(first)

    # The schedule looks before the window has passed: the account is still full.
    promotions.resume_due(now=clock.now())
    assert promotions.get(offer.promotion_id).status == "paused"

    # The 24-hour window moved on. The schedule resumes every paused promotion whose time
    # came, other tests' too: the new day's quota has room for them all.
    day.new_day(limit=1_000_000)
    assert offer.promotion_id in promotions.resume_due(now=paused.resume_at)
    done = promotions.get(offer.promotion_id)
    assert done.status == "sent"
    got = recipients(mailbox, offer)
    assert sorted(got) == sorted(set(got))   # nobody twice
    # Every opted-in member once, but those pausing every promotion (still in the audience
    # index: a pause ends on its own, so it is checked when sending).
    emails = {m.member_id: m.email for m in members.read_many(sorted(audience)).values()
              if members.eligible(m, "offers")}
    assert set(got) == set(emails.values())
    assert set(ledger(offer.promotion_id).values()) == {"sent"}
    assert promotions.delivery_counts(done).delivered == len(got)


def test_approving_a_promotion_larger_than_the_quota_says_so_before_sending(
        mailbox, ses_account):
    for _ in range(3):                       # a third of the audience is at least one member
        make_member(mailbox)
    audience = sum(1 for _ in members.audience_ids("offers"))
    ses_account.daily_quota(audience // 3)
    forecast = promotions.forecast(
        promotions.create("offer", unique_subject("Too big"), "x").promotion_id)
    assert not forecast.fits and forecast.audience == audience and forecast.pauses >= 1
    assert forecast.finishes_at > clock.now() + timedelta(hours=24 * forecast.pauses)
    text = forecast.warning()
    assert f"goes to {audience:,} members" in text and f"{audience // 3:,}" in text
