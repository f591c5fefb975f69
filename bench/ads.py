"""Ads hot path: DynamoDB calls and capacity per ad served, and what ``ads/next`` adds.

Starts its own DynamoDB Local (in memory, free port), creates the tables and a slot of ads,
and counts every DynamoDB call by hooking botocore's ``before-call``/``after-call`` events on
the clients of the models involved (consumed capacity from the responses). Latency: requests
to ``GET /api/v1/ads/next`` (the whole app: middleware, cookie, rotation, counter) alternate
with requests to a bare Chalice route that makes the same DynamoDB calls (consistent GetItem
of the state, PutItem conditional on its version, the counter's UpdateItem) and nothing else,
in this process through ``chalice.test.Client``; the ratio of medians is reported (target
<= 1.2). Visitors are returning ones and the slot cache is warm, as on a busy container.

    python -m bench.ads [--requests 300]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.2
SLOT = "bench"
ADS_IN_SLOT = 10
VISITORS = 20


class CallCounter:
    """DynamoDB calls seen on the hooked clients: by operation, items read, capacity units."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.calls = Counter()
        self.items = 0
        self.capacity = 0.0

    def hook(self, model) -> None:
        events = model._get_connection().connection.client.meta.events
        events.register("before-call.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def _before(self, model, **_):
        self.calls[model.name] += 1

    def _after(self, parsed, model, **_):
        self.items += 1 if "Item" in parsed else parsed.get("Count", 0)
        consumed = parsed.get("ConsumedCapacity") or {}
        self.capacity += float(consumed.get("CapacityUnits", 0))


def _bare_app():
    """A Chalice app whose one route makes the DynamoDB calls of ``ads/next``, nothing more."""
    from datetime import datetime, timedelta, timezone
    from hashlib import sha256

    from chalice import Chalice

    from chalicelib.ads.models import AdViews
    from chalicelib.statistics.models import DailyCounter

    bare = Chalice(app_name="bare")

    @bare.route("/bare")
    def serve():
        visitor = bare.current_request.headers["cookie"].split("=", 1)[1]
        viewer = sha256(visitor.encode()).hexdigest()
        now = datetime.now(timezone.utc)
        try:
            item = AdViews.get(viewer, SLOT, consistent_read=True)
        except AdViews.DoesNotExist:
            item = AdViews(viewer, SLOT, seen={})
        entry = item.seen.as_dict().get("ad-bench-0", {"last": 0, "at": []})
        item.seen = {"ad-bench-0": {"last": (item.version or 0) + 1,
                                    "at": (entry["at"] + [int(now.timestamp() * 1000)])[-5:]}}
        item.expires_at = now + timedelta(days=30)
        item.save()
        DailyCounter("ad_impressions|ad-bench-0|00", now.date().isoformat()).update(
            actions=[DailyCounter.n.add(1)])
        return {"ad": {"id": "ad-bench-0"}}

    return bare


def _timed(client, path: str, cookie: str) -> float:
    started = time.perf_counter()
    response = client.http.get(path, headers={"Cookie": cookie})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.body[:200]!r}")
    return elapsed


def _p95(values: list) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def _run(requests: int) -> list:
    from chalice.test import Client

    from app import app
    from chalicelib import ads
    from chalicelib.ads.models import Ad, AdSlot, AdViews
    from chalicelib.ops import tables
    from chalicelib.statistics.models import DailyCounter
    from chalicelib.web.cookies import VISITOR_COOKIE

    tables.create_missing()
    ads.declare_slot(SLOT)
    for i in range(ADS_IN_SLOT):
        ads.create_ad(slot=SLOT, title=f"Bench ad {i}", target_url="https://example.com/",
                      frequency_cap=ads.MAX_FREQUENCY_CAP, ad_id=f"ad-bench-{i}")
    counter = CallCounter()
    for model in (Ad, AdSlot, AdViews, DailyCounter):
        counter.hook(model)
    cookies = [f"{VISITOR_COOKIE}={'v%023d' % i}" for i in range(VISITORS)]
    rows = []
    with Client(app, stage_name="local", project_dir=str(ROOT)) as client, \
            Client(_bare_app(), stage_name="local", project_dir=str(ROOT)) as bare:
        # Cold slot cache: one request per fresh slot cache.
        counter.reset()
        cold = 5
        for i in range(cold):
            ads.slot_cache.clear()
            _timed(client, f"/api/v1/ads/next?slot={SLOT}", cookies[i])
        rows.append({"operation": "ads/next, cold slot cache", "ses_calls": 0,
                     "dynamodb_calls": sum(counter.calls.values()) / cold,
                     "items_read": counter.items / cold,
                     "capacity_units": round(counter.capacity / cold, 2),
                     "calls": {k: v / cold for k, v in sorted(counter.calls.items())}})
        for i in range(2 * VISITORS):  # warm up: every visitor has state, both routes warm
            _timed(client, f"/api/v1/ads/next?slot={SLOT}", cookies[i % VISITORS])
            _timed(bare, "/bare", cookies[i % VISITORS])

        counter.reset()
        served = []
        for i in range(requests):
            served.append(_timed(client, f"/api/v1/ads/next?slot={SLOT}", cookies[i % VISITORS]))
        ad_calls, ad_items, ad_capacity = dict(counter.calls), counter.items, counter.capacity
        counter.reset()
        for i in range(requests):
            _timed(bare, "/bare", cookies[i % VISITORS])
        bare_calls = dict(counter.calls)

        # Latency: alternate the two, so machine noise falls on both alike.
        app_ms, bare_ms = [], []
        for i in range(requests):
            app_ms.append(_timed(client, f"/api/v1/ads/next?slot={SLOT}", cookies[i % VISITORS]))
            bare_ms.append(_timed(bare, "/bare", cookies[i % VISITORS]))

        counter.reset()
        for i in range(50):
            response = client.http.get(f"/ads/ad-bench-{i % ADS_IN_SLOT}/click")
            assert response.status_code == 302
        click_calls = dict(counter.calls)

    ratio = statistics.median(app_ms) / statistics.median(bare_ms)
    rows.append({"operation": "ads/next, warm (per ad served)", "ses_calls": 0,
                 "dynamodb_calls": sum(ad_calls.values()) / requests,
                 "items_read": ad_items / requests,
                 "capacity_units": round(ad_capacity / requests, 2),
                 "calls": {k: v / requests for k, v in sorted(ad_calls.items())},
                 "median_ms": statistics.median(app_ms), "p95_ms": _p95(app_ms),
                 "ratio": ratio, "target": TARGET, "ok": ratio <= TARGET})
    rows.append({"operation": "bare route, same DynamoDB calls", "ses_calls": 0,
                 "dynamodb_calls": sum(bare_calls.values()) / requests,
                 "calls": {k: v / requests for k, v in sorted(bare_calls.items())},
                 "median_ms": statistics.median(bare_ms), "p95_ms": _p95(bare_ms)})
    rows.append({"operation": "ads click (per click)", "ses_calls": 0,
                 "dynamodb_calls": sum(click_calls.values()) / 50,
                 "calls": {k: v / 50 for k, v in sorted(click_calls.items())}})
    return rows


def measure(requests: int = 300) -> list:
    from bench.common import local_stack

    # The request log goes to stdout; keep it out of the report (it is still written).
    with local_stack(ses=False, log_level="INFO"), contextlib.redirect_stdout(io.StringIO()):
        return _run(requests)


def main() -> int:
    from bench.__main__ import print_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    rows = measure(parser.parse_args().requests)
    print_table(rows)
    for row in rows:
        detail = ", ".join(f"{op} {n:g}" for op, n in row["calls"].items())
        capacity = row.get("capacity_units")
        print(f"{row['operation']}: {detail}"
              + (f"; {capacity:g} capacity units" if capacity is not None else ""))
    return 0 if all(row.get("ok", True) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
