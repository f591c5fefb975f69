"""A send worker killed between SES and the delivery ledger, against DynamoDB Local and the local
SES server: SES's Send and Delivery events (tagged with the message's promotion and member)
confirm what went out, the reconciler settles the rest, and every member has exactly one
message."""
import json
from datetime import timedelta

import pytest

from chalicelib import promotions
from chalicelib.platform import clock, mail
from chalicelib.promotions import sending
from chalicelib.promotions.models import Delivery
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


class Killed(BaseException):
    """The worker's process dying: nothing after it runs (not even ``except Exception``)."""


class DyingWorker:
    """The real SES sender; notes what SES accepted, with the message tags it was sent with (as
    SES then publishes them in its events), and kills the worker right after SES answered."""

    def __init__(self, real):
        self.real, self.accepted = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def send_bulk(self, template, data, headers, entries, tags=()):
        results = self.real.send_bulk(template, data, headers, entries, tags=tags)
        for entry, result in zip(entries, results):
            if result.status == "sent":
                self.accepted.append({"messageId": result.message_id, "destination": [entry.to],
                                      # an entry's own tags replace the defaults
                                      "tags": {n: [v] for n, v in (entry.tags or tags)}})
        raise Killed()


def ses_event(kind: str, sent: dict) -> str:
    """An event as the configuration set publishes it to SNS."""
    return json.dumps({"eventType": kind, "mail": {"timestamp": clock.iso(clock.now()),
                                                   "source": "no-reply@esmalloffice.example",
                                                   **sent}, kind.lower(): {}})


def ledger(promotion_id) -> dict:
    return {d.member_id: d for d in Delivery.query(promotion_id, consistent_read=True)}


def test_a_worker_killed_between_ses_and_the_ledger_leaves_nobody_without_or_with_two(
        mailbox, monkeypatch):
    after_ses = [make_member(mailbox) for _ in range(3)]   # SES accepted, then the worker died
    before_ses = [make_member(mailbox) for _ in range(2)]  # the worker died before calling SES
    offer = promotions.create("offer", unique_subject("Reconcile"), "Body")
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)  # planned, batches lost

    dying = DyingWorker(mail.SesSender())
    with mail.use_sender(dying), pytest.raises(Killed):
        promotions.send_batch(offer.promotion_id, [m for _, m in after_ses])
    with monkeypatch.context() as patch:
        def die(count):
            raise Killed()
        patch.setattr(sending, "_pace", die)
        with pytest.raises(Killed):
            promotions.send_batch(offer.promotion_id, [m for _, m in before_ses])

    entries = ledger(offer.promotion_id)
    assert {m: e.status for m, e in entries.items()} == {
        m: "claimed" for _, m in after_ses + before_ses}
    for email, _ in after_ses:
        assert len(received(mailbox, offer, email)) == 1
    for email, _ in before_ses:
        assert received(mailbox, offer, email) == []
    # Each message SES accepted names its ledger entry.
    assert sorted(a["tags"]["eso-member"][0] for a in dying.accepted) == sorted(
        m for _, m in after_ses)
    assert {a["tags"]["eso-promotion"][0] for a in dying.accepted} == {offer.promotion_id}

    # SES publishes a Send event for each, and a Delivery event for one of them.
    for sent in dying.accepted:
        promotions.handle_ses_event(ses_event("Send", sent))
    promotions.handle_ses_event(ses_event("Delivery", dying.accepted[0]))

    # Within the hour nothing is settled: the events are recorded, nothing is resent.
    promotions.reconcile_claims(now=clock.now())
    entries = ledger(offer.promotion_id)
    assert all(e.status == "claimed" for e in entries.values())
    assert {entries[m].confirmed_message_id for _, m in after_ses} == {
        a["messageId"] for a in dying.accepted}

    promotions.reconcile_claims(now=clock.now() + timedelta(hours=2))
    promotions.reconcile_claims(now=clock.now() + timedelta(hours=4))  # again: changes nothing

    for email, _ in after_ses + before_ses:
        assert len(received(mailbox, offer, email)) == 1, email
    entries = ledger(offer.promotion_id)
    assert {m: e.status for m, e in entries.items()} == {
        m: "sent" for _, m in after_ses + before_ses}
    assert {entries[m].message_id for _, m in after_ses} == {
        a["messageId"] for a in dying.accepted}
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered == 5
