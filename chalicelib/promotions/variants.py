"""A/B variants: which members get which variant, decided when a promotion is planned.

A keyed hash alone (HMAC mod n) splits an audience only roughly evenly: 7 members over 3
variants could come out 5/1/1. So the planner *ranks* the audience by a keyed hash —
HMAC-SHA256 under the stage key of the promotion id and the member id — and deals the ranked
members out round-robin: rank 0 → A, 1 → B, 2 → C, 3 → A, … The variants' sizes then differ by
at most one (7 over 3: 3/2/2), and nobody can pick or predict which variant a member gets
without the key. The assignment travels with each batch (its SQS message names the variant)
and is written on the member's ledger entry at the claim, so a redelivered batch and the
reconciler's resend use the same variant.

Planning again (a promotion resumed after the daily quota, or a plan re-run) leaves out the
members already in the ledger and deals the rest to the variants the ledger holds fewest of
("water-filling", still in keyed-hash order), so the sizes over the whole promotion still
differ by at most one where the remaining members allow it. A promotion with variants holds
its audience's ids in memory while it is planned (about 100 bytes a member), since ranking
needs them all; a promotion without variants is planned streaming, as before.
"""
from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from typing import Iterable, Iterator, Optional

from chalicelib.platform.crypto import signing_key
from chalicelib.promotions.content import variant_count

_PURPOSE = b"promotion-variant"


def rank_key(key: bytes, promotion_id: str, member_id: str) -> bytes:
    """The member's place in the promotion's ranking: HMAC-SHA256(stage key, promotion|member)."""
    message = b"\x00".join((_PURPOSE, promotion_id.encode(), member_id.encode()))
    return hmac.new(key, message, hashlib.sha256).digest()


def assign_variants(promotion_id: str, member_ids: Iterable[str], variants: int,
           held: Optional[Counter] = None) -> dict:
    """member id → variant (0-based) for ``member_ids``: ranked by keyed hash, each given to the
    variant with the fewest members so far (``held``: those already in the ledger, per variant;
    ties go to the lowest), which with nothing held is round-robin by rank."""
    key = signing_key()
    sizes = [int((held or {}).get(v, 0)) for v in range(variants)]
    assigned = {}
    for member_id in sorted(set(member_ids), key=lambda m: rank_key(key, promotion_id, m)):
        variant = min(range(variants), key=lambda v: (sizes[v], v))
        assigned[member_id] = variant
        sizes[variant] += 1
    return assigned


def planned_batches(promotion, member_ids: Iterable[str], held: dict,
                    size: int) -> Iterator[tuple]:
    """(batch of member ids, variant) to send: variant None for a promotion without variants
    (streamed); else each variant's members in batches, the variants taking turns, so that a
    promotion paused half-way has sent about as many of each. ``held``: member id → variant
    of the members already in the ledger (left out by the caller)."""
    n = variant_count(promotion)
    if n == 1:
        yield from ((batch, None) for batch in _chunks(member_ids, size))
        return
    counts = Counter(v for v in held.values() if v is not None)
    assigned = assign_variants(promotion.promotion_id, member_ids, n, counts)
    groups = [[] for _ in range(n)]
    for member_id, variant in assigned.items():
        groups[variant].append(member_id)
    chunked = [list(_chunks(group, size)) for group in groups]
    for turn in range(max(len(c) for c in chunked)):
        for variant, chunks in enumerate(chunked):
            if turn < len(chunks):
                yield chunks[turn], variant


def _chunks(member_ids: Iterable[str], size: int) -> Iterator[list]:
    batch = []
    for member_id in member_ids:
        batch.append(member_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
