"""Fan-out of one offer to N opted-in members among 10×N, on DynamoDB Local and the SES server.

    python -m bench.fanout [--opted-in 10000]

Reports DynamoDB items read and read capacity consumed (target: capacity ≤ 1.05 × opted-in:
the keys-only audience index costs ~1/40 RCU per member, the send-time consistent read one),
SES calls (target ⌈n/50⌉), time, and peak Python memory for n and n/10 (flat: pages, not lists).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
import tracemalloc
from datetime import datetime, timezone

from bench.common import AwsCalls, local_stack

CAPACITY_TARGET = 1.05


def _populate(total: int, opted_in: int) -> None:
    """``total`` verified members; ``opted_in`` of them consent to offers (direct writes)."""
    from chalicelib.members import consent
    from chalicelib.members.models import ConsentMap, ConsentState, Member

    now = datetime.now(timezone.utc)
    step = total // opted_in
    with Member.batch_write() as batch:
        for i in range(total):
            member_id = f"bench-{i:07d}"
            granted = i % step == 0 and i // step < opted_in
            state = ConsentState(granted=granted, updated_at=now, policy_version="2026-11-28")
            member = Member(member_id, email=f"{member_id}@example.org", email_verified=True,
                            password_hash="-", created_at=now, verified_at=now,
                            consents=ConsentMap(offers=state, partner_promotions=state),
                            consent_seq=2)
            if granted:
                member.aud_offers = consent.audience_shard(member_id)
            batch.save(member)


class _Capacity(AwsCalls):
    """Also asks DynamoDB for the read capacity each Query and BatchGetItem consumed."""

    def __enter__(self):
        from botocore.client import BaseClient

        self._original = original = BaseClient._make_api_call
        stats = self.stats = {"items": 0, "capacity": 0.0}
        calls = self.calls

        def counting(client, operation, params):
            service = client.meta.service_model.service_name
            calls[(service, operation)] += 1
            if service == "dynamodb" and operation in ("Query", "BatchGetItem"):
                params = {**params, "ReturnConsumedCapacity": "TOTAL"}
            response = original(client, operation, params)
            if service == "dynamodb" and operation == "Query":
                stats["items"] += response.get("Count", 0)
                stats["capacity"] += response.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
            elif service == "dynamodb" and operation == "BatchGetItem":
                stats["items"] += sum(len(v) for v in response.get("Responses", {}).values())
                stats["capacity"] += sum(c.get("CapacityUnits", 0)
                                         for c in response.get("ConsumedCapacity", []))
            return response

        BaseClient._make_api_call = counting
        return self


def _fan_out(opted_in: int) -> dict:
    from chalicelib import promotions

    offer = promotions.create("offer", f"Bench offer {opted_in}", "Hello")
    with _Capacity() as aws:
        tracemalloc.start()
        started = time.perf_counter()
        promotions.dispatch(offer.promotion_id)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    delivered = promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered
    return {"delivered": delivered, "seconds": elapsed, "peak_bytes": peak,
            "items_read": aws.stats["items"], "capacity": aws.stats["capacity"],
            "ses_calls": aws.count("sesv2"), "dynamodb_calls": aws.count("dynamodb")}


def measure(opted_in: int = 10_000) -> list:
    with local_stack():
        _populate(opted_in, opted_in // 10)          # the small run: n/10 among n
        small = _fan_out(opted_in // 10)
    with local_stack():
        _populate(opted_in * 10, opted_in)
        large = _fan_out(opted_in)
    assert large["delivered"] == opted_in, large
    # + the one CreateEmailTemplate, + the account's quota and rate (GetAccount, read once a
    # minute per container to pace the sending)
    ses_target = math.ceil(opted_in / 50) + 1 + math.ceil(large["seconds"] / 60)
    capacity_ratio = large["capacity"] / opted_in
    memory_ratio = large["peak_bytes"] / max(small["peak_bytes"], 1)
    return [
        {"operation": f"fan-out {opted_in} of {opted_in * 10}: read capacity / opted-in",
         "dynamodb_calls": large["dynamodb_calls"], "ses_calls": large["ses_calls"],
         "items_read": large["items_read"], "ratio": capacity_ratio,
         "target": f"<= {CAPACITY_TARGET}", "ok": capacity_ratio <= CAPACITY_TARGET},
        {"operation": "fan-out: SES calls vs ceil(n/50)+template+quota read a minute", "ses_calls": large["ses_calls"],
         "ratio": large["ses_calls"] / ses_target, "target": f"{ses_target}",
         "ok": large["ses_calls"] <= ses_target},
        {"operation": f"fan-out: peak memory n vs n/10 ({large['peak_bytes'] // 1024} KiB)",
         "median_ms": large["seconds"] * 1000, "ratio": memory_ratio, "target": "<= 1.5 (flat)",
         "ok": memory_ratio <= 1.5},
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opted-in", type=int, default=10_000)
    rows = measure(parser.parse_args().opted_in)
    for row in rows:
        print(row)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
