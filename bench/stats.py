"""Aggregate statistics on a real DynamoDB Local: counter writes per event, cost of a report.

Starts its own in-memory DynamoDB Local and SES server (bench.common.local_stack) and counts
DynamoDB calls and items read through botocore's events (bench.dynamodb_calls):

- counter writes per registration (the counter calls beyond the registration's transaction),
  per ad impression and per visit;
- per visit, the distinct-visitor sketch: 3,000 visitors making 3 page views each in one warm
  container (DynamoDB calls per page view, target <= 0.5), and a cold container's first visit;
- a 30-day operator report with 3 ads and 2 partners: DynamoDB calls and items read;
- a week's operator report over 100 ads and 50 partners (``--ads``, ``--partners``), against
  the same report read with one Query per counter shard, one row after another, in one run.

    python -m bench.stats [--visitors 3000] [--ads 100] [--partners 50]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone

DAYS = 30


def _row(operation, calls, ms, target=None, ok=None, items_read=None, ratio=None) -> dict:
    return {"operation": operation, "dynamodb_calls": calls, "ses_calls": 0,
            "items_read": items_read, "median_ms": statistics.median(ms) if ms else None,
            "p95_ms": sorted(ms)[int(0.95 * (len(ms) - 1))] if ms else None, "ratio": ratio,
            "target": target, "ok": ok}


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _registration_counters(calls) -> list:
    """The counters a registration adds after its transaction (registrations + one per purpose)."""
    from chalicelib import members
    from chalicelib.members.consent import Provenance

    samples, writes = [], []
    for i in range(10):
        form = members.Registration(f"bench-{i}@example.org", "correct horse battery staple",
                                    {"offers": True, "partner_promotions": True})
        calls.clear()
        samples.append(_timed(lambda: members.register(form, Provenance("registration"))))
        writes.append(sum(1 for c in calls.calls if c.operation == "UpdateItem"
                          and c.params.get("TableName", "").endswith("stats")))
    return [_row("counter writes per registration", max(writes), samples, "<= 3 (one per figure)",
                 max(writes) <= 3)]


def _impressions(calls) -> list:
    from chalicelib import ads

    ads.declare_slot("benchstats")
    ad = ads.create_ad(slot="benchstats", title="Bench", target_url="https://x.example/")
    samples, writes = [], []
    for i in range(50):
        calls.clear()
        samples.append(_timed(lambda: ads.next_ad(f"bench-visitor-{i:04d}-aaaaaaaaaaaa", "benchstats")))
        writes.append(sum(1 for c in calls.calls if c.params.get("TableName", "").endswith("stats")))
    assert ad
    return [_row("counter writes per ad impression", max(writes), samples, "1", max(writes) == 1)]


def _visits(calls, visitors: int) -> list:
    from chalicelib.statistics import visits

    day = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    visits._copy.clear()
    calls.clear()
    cold = _timed(lambda: visits.record("first-visitor-of-the-container", now=day))
    cold_calls = calls.count
    calls.clear()
    samples = []
    views = 0
    for _round in range(3):  # every visitor comes back twice the same day
        for i in range(visitors):
            samples.append(_timed(lambda: visits.record(f"visitor-{i:06d}", now=day)))
            views += 1
    per_view = calls.count / views
    estimate = visits.daily(day.date(), day.date())[day.date()]
    error = abs(estimate - (visitors + 1)) / (visitors + 1)
    return [
        _row("visit: first in a cold container", cold_calls, [cold],
             "<= 3 (BatchGet of the day's parts + Query of the old layout + update)",
             cold_calls <= 3),
        _row(f"visit: {visitors:,} visitors × 3 views, per view", round(per_view, 3), samples,
             "<= 0.5 calls per view", per_view <= 0.5, ratio=round(error, 4)),
    ]


def _report(calls) -> list:
    from chalicelib import ads, partners
    from chalicelib.reporting import report
    from chalicelib.statistics import counters, visits

    start = date(2026, 1, 1)
    end = start + timedelta(days=DAYS - 1)
    ads.declare_slot("benchreport")
    ad_ids = [ads.create_ad(slot="benchreport", title=f"Ad {n}", target_url="https://x.example/").ad_id
              for n in range(2)]
    shop = partners.create("Bench shop", "https://shop.example/").partner_id
    partners.create("Bench shop 2", "https://shop.example/")
    for i in range(DAYS):
        now = datetime.combine(start + timedelta(days=i), datetime.min.time(), timezone.utc)
        counters.increment("registrations", amount=5 + i, now=now)
        for ad_id in ad_ids:
            counters.increment("ad_impressions", dimension=ad_id, amount=100 + i, now=now)
        counters.increment("referral_clicks", dimension=shop, amount=i, now=now)
        for v in range(20):
            visits.record(f"r-{i}-{v}", now=now)
    calls.clear()
    ms = _timed(lambda: report.operator_report(start, end))
    ops = calls.operations()
    scans = [c.params.get("TableName") for c in calls.calls if c.operation == "Scan"]
    batches = ops.count("BatchGetItem")
    flushed = [c.params.get("TableName") for c in calls.calls if c.operation == "UpdateItem"]
    # Counters are one Query per shard (and one of the old layout); a day's sketch is one
    # BatchGetItem of its parts and one Query of the old layout (statistics.md, hot keys); a
    # read first writes the counts the container holds (an UpdateItem of stats each).
    return [_row(f"operator report, {DAYS} days ({ops.count('Query')} Queries + {batches} "
                 f"BatchGets of sketches + {len(scans)} Scans of ads/partners + "
                 f"{len(flushed)} held counts written)", len(ops), [ms],
                 "Queries and the days' sketch BatchGets; Scans of ads/partners only",
                 set(ops) <= {"Query", "Scan", "BatchGetItem", "UpdateItem"} and batches <= DAYS
                 and all(t.endswith(("-ads", "-partners")) for t in scans)
                 and all(t.endswith("-stats") for t in flushed),
                 items_read=calls.items_read)]


def _report_at_scale(calls, n_ads: int, n_partners: int) -> list:
    """A week's report over many ads and partners, as read now and as read before (one Query
    per shard, one row at a time), each the median of 3 runs in this one process."""
    from unittest import mock

    from chalicelib import ads, partners
    from chalicelib.reporting import report
    from chalicelib.statistics import counters

    end = date(2026, 2, 28)
    start = end - timedelta(days=6)
    ads.declare_slot("benchscale")
    for n in range(n_ads):
        ad = ads.create_ad(slot="benchscale", title=f"Ad {n}", target_url="https://x.example/")
        counters.increment("ad_impressions", dimension=ad.ad_id, amount=50,
                           now=datetime(2026, 2, 27, 12, tzinfo=timezone.utc))
    for n in range(n_partners):
        partners.create(f"Bench scale {n}", "https://shop.example/")

    def run(label: str) -> tuple:
        samples = []
        for _ in range(3):
            calls.clear()
            samples.append(_timed(lambda: report.operator_report(start, end)))
        return label, calls.count, samples

    now = run("now")
    with mock.patch.object(counters, "_by_key", lambda *_: False), \
            mock.patch.object(report, "READERS", 1):
        before = run("before")
    rows = []
    ratio = round(statistics.median(now[2]) / statistics.median(before[2]), 2)
    for label, count, samples in (now, before):
        rows.append(_row(f"operator report, 7 days, {n_ads} ads + {n_partners} partners + what "
                         f"the run made before ({label}: "
                         + ("rows read by 8 threads, short ranges by key)" if label == "now"
                            else "one Query per shard, one row at a time)"),
                         count, samples, "now/before <= 0.5" if label == "now" else None,
                         ratio <= 0.5 if label == "now" else None,
                         ratio=ratio if label == "now" else None))
    return rows


def measure(visitors: int = 3000, n_ads: int = 100, n_partners: int = 50) -> list:
    from bench.common import local_stack
    from bench.dynamodb_calls import recording

    with local_stack():
        with recording() as calls:
            return (_registration_counters(calls) + _impressions(calls)
                    + _visits(calls, visitors) + _report(calls)
                    + _report_at_scale(calls, n_ads, n_partners))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--ads", type=int, default=100)
    parser.add_argument("--partners", type=int, default=50)
    args = parser.parse_args()
    rows = measure(args.visitors, args.ads, args.partners)
    from bench.__main__ import print_table

    print_table(rows)
    return 0 if all(row["ok"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
