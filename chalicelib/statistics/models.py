"""Aggregate statistics: daily counters and the distinct-visitor sketch (no identifiers)."""
from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.platform.models import BaseModel, table_meta


class DailyCounter(BaseModel):
    """One shard of one day's aggregate count. Holds no member id, e-mail or visitor id."""

    Meta = table_meta("stats")

    # "<metric>|<dimension>|NN" (NN: the shard, so each shard is a partition key of its own);
    # items of the old layout: "<metric>|<dimension>" (see counters.migrate_legacy).
    counter = UnicodeAttribute(hash_key=True)
    # "YYYY-MM-DD" or "YYYY-MM-DD#<label>"; old layout: "YYYY-MM-DD[#<label>]#NN".
    day = UnicodeAttribute(range_key=True, attr_name="day_shard")
    n = NumberAttribute(default=0)


# A day's distinct-visitor sketch (HyperLogLog): SKETCH_PARTS items of SKETCH_PART_REGISTERS
# registers each, attributes r0..r63 (see chalicelib/statistics/visits.py). Registers hold small numbers
# derived from a keyed hash; no visitor id, member id or address is stored.
SKETCH_PARTS = 64
SKETCH_PART_REGISTERS = 64


class VisitSketch(BaseModel):
    """One part of one day's distinct-visitor sketch: 64 HyperLogLog registers, no identifiers."""

    Meta = table_meta("visit-sketches")

    # "YYYY-MM-DD#NN" (UTC day, NN = part): each part is a partition key of its own, so the
    # writes of a busy day spread over 64 partition keys. Items of the old layout have the
    # plain day here, all 64 parts in one partition (see visits.migrate_legacy).
    day = UnicodeAttribute(hash_key=True)
    part = NumberAttribute(range_key=True)     # 0 .. SKETCH_PARTS - 1
    for _register in range(SKETCH_PART_REGISTERS):
        locals()[f"r{_register}"] = NumberAttribute(null=True)
    del _register


MODELS = (DailyCounter, VisitSketch,)
