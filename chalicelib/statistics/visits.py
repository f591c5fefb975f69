"""Distinct visitors per day, counted without storing any visitor id.

A day's visitors go into a HyperLogLog sketch of m = 4,096 registers (precision 12), whose
standard error is 1.04/√m ≈ 1.6 %. A visitor's cookie is first hashed with HMAC-SHA256 under
the stage key and the day (``"visit-sketch" | day | cookie``): without the key nobody can tell
which register a known cookie would touch, and the same visitor hashes differently each day,
so days cannot be linked. Of the 64-bit hash, the first 12 bits choose the register and the
register keeps the largest "rank" seen (leading zeros of the other 52 bits, plus one). The
estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for
HyperLogLog sketches", 2017), unbiased over the whole range without HLL++'s bias tables.

In DynamoDB a day's sketch is 64 items (``visit-sketches``: partition key ``"<day>#<part>"``,
sort key ``part``) of 64 registers each (attributes ``r0``..``r63``): each part is a partition
key of its own, so a busy day's writes spread over 64 partition keys, and a change is one small
conditional write,
``SET r17 = :v`` only if ``r17`` is absent or smaller: the max-merge holds across any number of
Lambda containers writing at once, and a stale container can only fail a condition.

The cost per request stays low: a container loads the day's sketch once (one BatchGetItem of
the 64 parts, and one Query of the old layout, which kept a day's parts in one partition) and then
writes only when its copy says the register would grow. A returning visitor costs no call at
all, and after the first few thousand visitors of a day almost no new visitor does either.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from datetime import date, datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.platform import clock
from chalicelib.platform.crypto import signing_key
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.statistics.models import SKETCH_PART_REGISTERS, SKETCH_PARTS, VisitSketch

PRECISION = 12
REGISTERS = 1 << PRECISION              # m
assert REGISTERS == SKETCH_PARTS * SKETCH_PART_REGISTERS
STANDARD_ERROR = 1.04 / math.sqrt(REGISTERS)
_RANK_BITS = 64 - PRECISION
_PURPOSE = b"visit-sketch"


# --- the sketch, in memory -----------------------------------------------------------------------


def position(hashed: int) -> tuple:
    """(register index, rank) of a 64-bit hash."""
    index = hashed >> _RANK_BITS
    rest = hashed & ((1 << _RANK_BITS) - 1)
    return index, _RANK_BITS - rest.bit_length() + 1


def keyed_hash(key: bytes, day: date, visitor: str) -> int:
    """64 bits of HMAC-SHA256(stage key, purpose | day | visitor cookie)."""
    message = b"\x00".join((_PURPOSE, day.isoformat().encode(), visitor.encode("utf-8")))
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big")


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3.0


def estimate(registers) -> float:
    """Ertl's improved estimator (2017): unbiased from 0 to billions, no bias tables."""
    m = len(registers)
    q = _RANK_BITS
    counts = [0] * (q + 2)
    for value in registers:
        counts[value] += 1
    z = m * _tau(1.0 - counts[q + 1] / m)
    for k in range(q, 0, -1):
        z = 0.5 * (z + counts[k])
    z += m * _sigma(counts[0] / m)
    return m * m / (2.0 * math.log(2.0) * z)


class Sketch:
    """A HyperLogLog sketch of ``REGISTERS`` registers (the logic the stored sketch follows)."""

    def __init__(self, registers=None):
        self.registers = list(registers) if registers is not None else [0] * REGISTERS

    def add(self, hashed: int) -> bool:
        """Add one 64-bit hash; True when a register grew."""
        index, rank = position(hashed)
        if rank <= self.registers[index]:
            return False
        self.registers[index] = rank
        return True

    def estimate(self) -> float:
        return estimate(self.registers)


# --- the sketch, in DynamoDB ---------------------------------------------------------------------


def part_key(day: date, part: int) -> str:
    """The partition key of one part of a day's sketch."""
    return f"{day.isoformat()}#{part:02d}"


def _load(day: date) -> Sketch:
    """A day's sketch as stored: one BatchGetItem of its 64 parts, merged (maximum) with what
    the old layout still holds for that day (one Query, empty once migrated)."""
    sketch = Sketch()
    with storage_errors():
        for item in VisitSketch.batch_get([(part_key(day, part), part)
                                           for part in range(SKETCH_PARTS)]):
            _merge_item(sketch, item)
        for item in VisitSketch.query(day.isoformat()):
            _merge_item(sketch, item)
    return sketch


def _merge_item(sketch: Sketch, item) -> None:
    base = int(item.part) * SKETCH_PART_REGISTERS
    for offset in range(SKETCH_PART_REGISTERS):
        value = getattr(item, f"r{offset}")
        if value is not None and value > sketch.registers[base + offset]:
            sketch.registers[base + offset] = int(value)


# This container's copy of the current day's sketch: (day, Sketch). A copy is a lower bound of
# the stored registers (other containers only raise them), so "not larger here" means "not
# larger there" and the write can be skipped.
_copy: dict = {}


def _container_copy(day: date) -> Sketch:
    sketch = _copy.get(day)
    if sketch is None:
        _copy.clear()  # only today's copy is kept
        sketch = _copy[day] = _load(day)
    return sketch


def record(visitor: str, now: datetime | None = None) -> bool:
    """Count a visit by this visitor cookie today; True when the stored sketch grew.

    Costs no DynamoDB call when the container's copy of the sketch already covers the visitor,
    else one conditional UpdateItem (plus one Query the first time a container sees the day).
    """
    day = clock.today(now)
    sketch = _container_copy(day)
    index, rank = position(keyed_hash(signing_key(), day, visitor))
    if rank <= sketch.registers[index]:
        return False
    return _raise_register(sketch, day, index, rank)


def _raise_register(sketch: Sketch, day: date, index: int, rank: int) -> bool:
    part, offset = divmod(index, SKETCH_PART_REGISTERS)
    register = getattr(VisitSketch, f"r{offset}")
    item = VisitSketch(part_key(day, part), part)
    try:
        with storage_errors():
            # ALL_NEW (PynamoDB's default for update) refreshes the whole part in this copy.
            item.update(actions=[register.set(rank)],
                        condition=register.does_not_exist() | (register < rank))
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        sketch.registers[index] = max(sketch.registers[index], rank)  # stored is at least this
        return False
    _merge_item(sketch, item)
    return True


def daily(start: date, end: date) -> dict:
    """Day → estimated distinct visitors, rounded, over [start, end] (days without any absent).

    Per day one BatchGetItem (64 small items, about 25 KB) and one Query of the old layout.
    """
    found = {}
    day = start
    while day <= end:
        sketch = _load(day)
        if any(sketch.registers):
            found[day] = int(round(sketch.estimate()))
        day += timedelta(days=1)
    return found


def migrate_legacy(progress=lambda n: None) -> int:
    """Move each part of the old layout (the plain day as partition key) to its own partition
    key; returns the parts moved. A part already written in the new layout (the day of the
    move) is left where it is: reads merge both, taking each register's maximum."""
    moved = 0
    with storage_errors():
        legacy = [item for item in VisitSketch.scan() if "#" not in item.day]
    for old in legacy:
        new = VisitSketch(part_key(date.fromisoformat(old.day), int(old.part)), int(old.part))
        for offset in range(SKETCH_PART_REGISTERS):
            setattr(new, f"r{offset}", getattr(old, f"r{offset}"))
        try:
            with storage_errors(), transaction() as tx:
                tx.save(new, condition=VisitSketch.day.does_not_exist())
                tx.delete(old)
        except TransactWriteError:
            continue
        moved += 1
        progress(moved)
    return moved
