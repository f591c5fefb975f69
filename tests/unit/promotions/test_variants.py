"""A/B variants: an even split by keyed-hash rank, kept on planning again; the winner and the
breakdowns under the K rule."""
import uuid
from collections import Counter

import pytest

from chalicelib.promotions import engagement, variants


def _members(n):
    return [uuid.uuid4().hex for _ in range(n)]


@pytest.mark.parametrize("n, k", [(7, 3), (2, 2), (10, 2), (100, 3), (1, 3), (0, 2)])
def test_sizes_differ_by_at_most_one(moto_world, n, k):
    sizes = Counter(variants.assign_variants(uuid.uuid4().hex, _members(n), k).values())
    counts = [sizes.get(v, 0) for v in range(k)]
    assert sum(counts) == n and max(counts) - min(counts) <= 1


def test_the_split_is_the_same_each_time_and_differs_between_promotions(moto_world):
    people = _members(60)
    promotion = uuid.uuid4().hex
    first = variants.assign_variants(promotion, people, 3)
    assert variants.assign_variants(promotion, list(reversed(people)), 3) == first
    assert variants.assign_variants(uuid.uuid4().hex, people, 3) != first


def test_planning_again_fills_the_variants_the_ledger_holds_fewest_of(moto_world):
    held = Counter({0: 5, 1: 3, 2: 3})
    added = Counter(variants.assign_variants(uuid.uuid4().hex, _members(4), 3, held).values())
    assert [held[v] + added[v] for v in range(3)] == [5, 5, 5]


def test_batches_of_the_variants_take_turns(moto_world):
    class Promotion:
        promotion_id = uuid.uuid4().hex
        variants = [object(), object()]

    planned = list(variants.planned_batches(Promotion, _members(9), {}, size=2))
    assert [variant for _, variant in planned] == [0, 1, 0, 1, 0]   # 5 of A, 4 of B
    assert [len(batch) for batch, _ in planned] == [2, 2, 2, 2, 1]


@pytest.mark.parametrize("values, shown", [
    ([12], [12]), ([3], ["<10"]), ([0], ["<10"]),
    ([10, 11, 30], [10, 11, 30]), ([10, 9], [None, None]), ([0, 40], [None, None]),
])
def test_a_breakdown_is_shown_whole_or_withheld(values, shown):
    assert engagement._breakdown(values, 10) == shown


@pytest.mark.parametrize("delivered, clicks, outcome", [
    ([100], [50], ("no_variants", None)),
    ([9, 100], [50, 50], ("waiting", None)),
    ([100, 100], [10, 9], ("waiting", None)),
    ([100, 100], [10, 10], ("tie", None)),
    ([100, 50], [10, 10], ("decided", 1)),
    ([30, 20, 10], [12, 12, 11], ("decided", 2)),
])
def test_the_winner_needs_k_recipients_and_k_clicks_in_every_variant(delivered, clicks, outcome):
    assert engagement.winner(delivered, clicks, 10) == outcome
