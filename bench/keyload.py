"""Load on paper: peak write and read units per partition key at 10× and 1000× a reference load.

The keys and their units come from the code: the real operations run against an in-memory
DynamoDB Local, and a botocore hook notes, for every item each call touches, its table and
partition key, and asks DynamoDB for the units it consumed (``ReturnConsumedCapacity``; a
transaction's or batch's units are shared out evenly over its items). Each operation runs
``SAMPLES`` times, for new visitors and members but the same ad, partner and promotion (the
worst case: one ad in the only slot takes every impression, one partner every sale, one
promotion goes out alone). Keys are then grouped into patterns (ids and shard numbers become
``<ad>``, ``<nn>``, …). A pattern whose writes land on new keys for each sample (a visitor's
own state, a member's records) is bounded by one person's pace (``PER_PERSON_PER_SECOND``);
one whose writes come back to a fixed set of keys (shards) carries the operation's whole peak
rate spread over that set.

Reference load (1×), per month: a portal of 100,000 members, 1,000,000 visits of 3 page views
(each a home page, which serves one ad), 5,000 registrations (each confirmed), 4 promotions to 60 % of
members, 3,000 partner transactions and a partner daily report per partner per day; peak hour
= ``PEAK`` × the month's mean rate. A promotion goes out at the rate that sends it in
``SEND_HOURS`` hours. Counts held in a container (``counters.tally``) are taken as written on
every event (each request in a fresh container): an upper bound.

    python -m bench.keyload [--samples 40]

Fails (ok=false, non-zero exit) when any pattern exceeds 1,000 WCU/s or 3,000 RCU/s per key at
1000×.
"""
from __future__ import annotations

import argparse
import re
import sys
import uuid
from collections import defaultdict
from datetime import date, timedelta

SAMPLES = 40
PEAK = 10.0
MONTH_SECONDS = 30 * 86400
SEND_HOURS = 24.0
PER_PERSON_PER_SECOND = 1.0
VIEWS_PER_VISIT = 3
WCU_LIMIT, RCU_LIMIT = 1000.0, 3000.0
SCALES = (10, 1000)
MEMBERS = 100_000
# Operation → events per month at 1× (what one run of the operation stands for).
MONTHLY = {
    "visit": 1_000_000,
    "registration": 5_000,
    "confirmation": 5_000,
    "partner transaction": 3_000,
    "partner daily report": 30,
}
PROMOTION_MESSAGES = 0.6 * MEMBERS

_IDS = [
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<day>"),
    (re.compile(r"(?<=[|#])\d{2}$"), "<nn>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"[A-Za-z0-9_-]{16,}"), "<id>"),
]


def pattern(key: str) -> str:
    """A key with its ids, days and shard numbers replaced by placeholders (a counter's
    metric name stays)."""
    metric, bar, rest = key.partition("|")
    if not (bar and re.fullmatch(r"[a-z_]+", metric)):
        metric, bar, rest = "", "", key
    rest = re.sub(r"\bad-[0-9a-f]{10}\b", "<ad>", rest)
    for regex, placeholder in _IDS:
        rest = regex.sub(placeholder, rest)
    return metric + bar + rest


def _spread(keys: set) -> int:
    """Over how many keys a pattern's writes spread: the keys seen, or, for shards, the
    highest shard number seen plus one (a short run may not draw every shard)."""
    shards = [int(k[-2:]) for k in keys if re.search(r"[|#]\d{2}$", k)]
    return max(len(keys), max(shards) + 1 if shards else 0)


class KeyRecorder:
    """Per call: (table, partition key value) of each item and the units consumed."""

    def __init__(self):
        self.touches: list = []   # (table, key, wcu, rcu)

    def install(self):
        import botocore.session

        recorder, original = self, botocore.session.Session.create_client

        def before(params, model, context, **_):
            if model.name in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query",
                              "BatchGetItem", "BatchWriteItem", "TransactWriteItems",
                              "TransactGetItems", "Scan"):
                params["ReturnConsumedCapacity"] = "INDEXES" if model.name in (
                    "Query", "Scan") else "TOTAL"
            context["eso_keys"] = _keys(model.name, params)

        def after(parsed, model, context, **_):
            keys = context.get("eso_keys") or []
            if not keys or not isinstance(parsed, dict):
                return
            capacity = parsed.get("ConsumedCapacity") or []
            if isinstance(capacity, dict):
                capacity = [capacity]
            for entry in capacity:
                table = entry.get("TableName", "")
                mine = [k for k in keys if k[0] == table] or keys
                units = float(entry.get("CapacityUnits") or 0)
                write = model.name in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem",
                                       "TransactWriteItems")
                for table_name, key in mine:
                    share = units / len(mine)
                    recorder.touches.append((table_name, key, share if write else 0.0,
                                             0.0 if write else share))

        def create_client(session, service_name, *args, **kwargs):
            client = original(session, service_name, *args, **kwargs)
            if service_name == "dynamodb":
                client.meta.events.register("provide-client-params.dynamodb", before)
                client.meta.events.register("after-call.dynamodb", after)
            return client

        self._original = original
        botocore.session.Session.create_client = create_client
        from bench.dynamodb_calls import _reset_connections

        _reset_connections()
        return self

    def uninstall(self):
        import botocore.session

        from bench.dynamodb_calls import _reset_connections

        botocore.session.Session.create_client = self._original
        _reset_connections()


def _value(attribute: dict) -> str:
    return str(next(iter(attribute.values())))


def _hash_of(table: str, key: dict) -> tuple:
    from chalicelib.ops.tables import ALL_MODELS

    for model in ALL_MODELS:
        if model.Meta.table_name == table:
            return table, _value(key[model._hash_key_attribute().attr_name])
    return table, _value(next(iter(key.values())))


def _keys(operation: str, params: dict) -> list:
    table = params.get("TableName", "")
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [_hash_of(table, params["Key"])]
    if operation == "PutItem":
        return [_hash_of(table, params["Item"])]
    if operation == "Query":
        values = params.get("ExpressionAttributeValues", {})
        index = params.get("IndexName")
        first = sorted(values)[0] if values else None
        return [(f"{table}/{index}" if index else table, _value(values[first]) if first else "")]
    if operation == "Scan":
        return [(table, "<scan>")]
    if operation == "BatchGetItem":
        return [_hash_of(t, k) for t, req in params["RequestItems"].items() for k in req["Keys"]]
    if operation == "BatchWriteItem":
        return [_hash_of(t, r.get("PutRequest", {}).get("Item") or r["DeleteRequest"]["Key"])
                for t, reqs in params["RequestItems"].items() for r in reqs]
    if operation == "TransactWriteItems":
        found = []
        for item in params["TransactItems"]:
            for kind in ("Put", "Update", "Delete", "ConditionCheck"):
                if kind in item:
                    body = item[kind]
                    found.append(_hash_of(body["TableName"], body.get("Item") or body["Key"]))
        return found
    return []


# --- the operations ------------------------------------------------------------------------------


def _operations():
    """Name → (set-up, run(i)) of each operation, against the local stack's tables."""
    from chalice.test import Client

    import app as application
    from chalicelib import members, partners, promotions
    from chalicelib.ads import rotation
    from chalicelib.members.consent import Provenance
    from chalicelib.platform.vocabulary import OFFER
    from chalicelib.statistics import counters

    counters.FLUSH_SECONDS = 0.0   # every impression written: the bound without a tally
    rotation.slot_cache.clear()
    from chalicelib import ads

    ad = ads.create_ad(slot="home", title="The only ad", target_url="https://x.example/")
    partner = partners.create("Keyload shop", "https://shop.example/")
    client = Client(application.app, stage_name="local")

    def visit(i):
        vid = f"keyload-visitor-{uuid.uuid4().hex}"
        headers = {"cookie": f"__Host-eso_vid={vid}"}
        for _view in range(VIEWS_PER_VISIT):
            client.http.get("/", headers=headers)   # the home page serves its ad itself

    def registration(i):
        members.register_confirmed(members.Registration(
            email=f"keyload-{uuid.uuid4().hex[:12]}@example.org",
            password="correct horse battery staple",
            consents={"offers": True, "partner_promotions": True}), Provenance("registration"))

    clicks = [partners.referrals.record_click(partner.partner_id, f"v-{n}").split("eso_click=")[1]
              for n in range(SAMPLES)]

    def transaction(i):
        partners.transactions.report_transaction(partner.partner_id, partners.transactions.Report(
            click_id=clicks[i], order_id=f"K-{i}", amount="12.50", currency="USD"))

    def report(i):
        today = date.today()
        partners.transactions.daily_figures(partner.partner_id, today - timedelta(days=29), today)

    audience = [members.register_confirmed(members.Registration(
        email=f"keyload-audience-{n}-{uuid.uuid4().hex[:8]}@example.org",
        password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": True}), Provenance("registration"))
        for n in range(SAMPLES * 5)]
    offer = promotions.create(OFFER, "Keyload offer", "Text " * 2000)
    batch = promotions.BATCH_SIZE

    def send_batch(i):
        chunk = audience[(i * batch) % len(audience):][:batch] or audience[:batch]
        promotions.send_batch(offer.promotion_id, chunk)

    return {"visit": visit, "registration": registration,
            "partner transaction": transaction, "partner daily report": report,
            "send batch": send_batch}, ad


def _rates(scale: float) -> dict:
    """Operation → peak events per second at ``scale`` × the reference load."""
    rates = {name: scale * PEAK * n / MONTH_SECONDS for name, n in MONTHLY.items()}
    # One promotion sent over SEND_HOURS (not spread over the month): batches per second.
    rates["send batch"] = scale * PROMOTION_MESSAGES / (SEND_HOURS * 3600) / 50
    rates.pop("confirmation")  # (registration above is register_confirmed: both at once)
    return rates


def measure(samples: int = SAMPLES) -> list:
    from bench.common import local_stack

    with local_stack(ses=True):
        recorder = KeyRecorder().install()
        try:
            operations, _ad = _operations()
            per_op: dict = {}
            for name, run in operations.items():
                run(0)  # warm: caches, first reads
                recorder.touches.clear()
                n = min(samples, SAMPLES) if name != "send batch" else 4
                for i in range(n):
                    run(i)
                per_op[name] = (n, list(recorder.touches))
        finally:
            recorder.uninstall()
    return _rows(per_op)


def _page_view_rows(per_op: dict) -> list:
    n, touches = per_op["visit"]
    views = n * VIEWS_PER_VISIT
    every = sum(w for _t, _k, w, _r in touches) / views
    impressions = sum(w for t, k, w, _r in touches
                      if t.endswith("-stats") and k.startswith("ad_impressions|")) / views
    held = every - impressions
    row = {"dynamodb_calls": None, "ses_calls": None, "items_read": None, "median_ms": None,
           "p95_ms": None}
    return [row | {"operation": "page view: write units, impression written each time",
                   "ratio": round(every, 3), "target": "-", "ok": None},
            row | {"operation": "page view: write units, impressions held (amortised)",
                   "ratio": round(held, 3), "target": "<= 1 WCU (a fresh day's sketch)",
                   "ok": None}]


def _rows(per_op: dict) -> list:
    rows = _page_view_rows(per_op)
    worst = {}
    for scale in SCALES:
        rates = _rates(scale)
        load: dict = defaultdict(lambda: [0.0, 0.0])  # (table, pattern) → [wcu/s, rcu/s] per key
        for name, (n, touches) in per_op.items():
            groups: dict = defaultdict(lambda: [0.0, 0.0, set()])
            for table, key, wcu, rcu in touches:
                group = groups[(table, pattern(key))]
                group[0] += wcu
                group[1] += rcu
                group[2].add(key)
            for (table, pat), (wcu, rcu, keys) in groups.items():
                cell = load[(table, pat)]
                if len(keys) >= n:  # a new key each time: one person's (or sale's) own items
                    rate = min(rates[name], PER_PERSON_PER_SECOND)
                    cell[0] += rate * wcu / len(keys)
                    cell[1] += rate * rcu / len(keys)
                else:               # the same keys again: the whole rate over them
                    cell[0] += rates[name] * wcu / n / _spread(keys)
                    cell[1] += rates[name] * rcu / n / _spread(keys)
        for (table, pat), (wcu, rcu) in sorted(load.items()):
            if wcu == 0 and rcu == 0:
                continue
            ok = wcu <= WCU_LIMIT and rcu <= RCU_LIMIT
            rows.append({"operation": f"{scale}× {table.split('-', 2)[-1]} {pat}",
                         "dynamodb_calls": None, "ses_calls": None, "items_read": None,
                         "median_ms": None, "p95_ms": None,
                         "ratio": round(wcu, 1), "target": f"WCU/s per key (RCU/s {rcu:.1f})",
                         "ok": ok if scale == 1000 else None})
            worst[scale] = max(worst.get(scale, 0.0), wcu / WCU_LIMIT, rcu / RCU_LIMIT)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=SAMPLES)
    rows = measure(parser.parse_args().samples)
    from bench.__main__ import print_table

    print_table(rows)
    return 0 if all(row["ok"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
