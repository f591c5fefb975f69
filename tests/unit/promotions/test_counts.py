"""A promotion's delivery counts live in a small item of their own (moto)."""
import uuid

from chalicelib import members, promotions
from chalicelib.members.consent import Provenance
from chalicelib.platform.vocabulary import OFFER
from chalicelib.promotions.models import DeliveryCounts, Promotion

# A long promotion: rewriting its item on every batch cost ~20 write units (up to ~118 with HTML).
LARGE_TEXT = "Lorem ipsum dolor sit amet. " * 700


def _member() -> str:
    return members.register_confirmed(members.Registration(
        email=f"counts-{uuid.uuid4().hex[:12]}@example.org",
        password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": True}), Provenance("registration", "/unit"))


def test_a_batch_adds_to_the_counts_item_and_leaves_the_promotion_item_as_it_was(moto_world):
    offer = promotions.create(OFFER, "Large", LARGE_TEXT)
    before = Promotion.get(offer.promotion_id).attribute_values
    promotions.send_batch(offer.promotion_id, [_member(), "gone"])
    promotions.send_batch(offer.promotion_id, [_member()])
    assert Promotion.get(offer.promotion_id).attribute_values == before
    stored = DeliveryCounts.get(offer.promotion_id)
    assert (stored.delivered, stored.skipped, stored.failed) == (2, 1, 0)
    assert len(str(stored.attribute_values)) < 200   # one write unit per batch
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)) == (2, 1, 0)


def test_counts_kept_on_the_promotion_item_before_are_still_added_in(moto_world):
    offer = promotions.create(OFFER, "Older", "Sent before the counts moved.")
    offer.update(actions=[Promotion.delivered.set(40), Promotion.skipped.set(3),
                          Promotion.failed.set(1)])
    untouched = promotions.create(OFFER, "Never sent", "Nothing yet.")
    promotions.send_batch(offer.promotion_id, [_member()])
    older = promotions.get(offer.promotion_id)
    assert promotions.delivery_counts(older) == (41, 3, 1)
    assert promotions.delivery_counts_many([older, untouched]) == {
        offer.promotion_id: (41, 3, 1), untouched.promotion_id: (0, 0, 0)}
