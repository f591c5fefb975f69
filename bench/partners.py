"""Partner paths on a real DynamoDB Local: calls per transaction report, items read per listing.

Starts its own in-memory DynamoDB Local on a free port (devstack.servers), creates the tables,
and measures through botocore's events (bench.dynamodb_calls):

- a new transaction report: DynamoDB calls (target <= 2: read the click, one conditional
  TransactWrite that also adds the counters) and its latency;
- the same report again (deduplicated), and the API-key check a request adds before it;
- listing one partner's 1,000 transactions among 10,000 by cursor pages: items read
  (target: no more than that partner's own items, i.e. a Query on the index, never a Scan);
- a 31-day daily report: Queries on the counters only.

    python -m bench.partners [--reports 100]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

PARTNER_TRANSACTIONS = 1_000
ALL_TRANSACTIONS = 10_000
PAGE = 100


def _row(operation, calls, ms, target, ok, items_read=None) -> dict:
    return {"operation": operation, "dynamodb_calls": calls, "ses_calls": 0,
            "items_read": items_read, "median_ms": statistics.median(ms) if ms else None,
            "p95_ms": sorted(ms)[int(0.95 * (len(ms) - 1))] if ms else None, "ratio": None,
            "target": target, "ok": ok}


def _click_id(partner_id: str, when: datetime) -> str:
    from chalicelib.partners import referrals

    location = referrals.record_click(partner_id, "b" * 24, now=when)
    return parse_qs(urlsplit(location).query)["eso_click"][0]


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def _measure_reports(partner_id: str, api_key: str, reports: int) -> list:
    from bench.dynamodb_calls import recording
    from chalicelib import partners
    from chalicelib.partners import transactions

    now = datetime.now(timezone.utc)
    clicks = [_click_id(partner_id, now) for _ in range(reports)]
    new_calls, new_ms, again_calls, again_ms, auth_calls, read = [], [], [], [], [], []
    with recording() as calls:
        for i, click_id in enumerate(clicks):
            report = transactions.Report(click_id, f"bench-{i}", "19.99", "USD")
            calls.clear()
            _, ms = _timed(lambda: transactions.report_transaction(partner_id, report))
            new_calls.append(calls.count)
            read.append(calls.items_read)
            new_ms.append(ms)
            calls.clear()
            _, ms = _timed(lambda: transactions.report_transaction(partner_id, report))
            again_calls.append(calls.count)
            again_ms.append(ms)
            calls.clear()
            partners.authenticate(api_key)
            auth_calls.append(calls.count)
    worst = max(new_calls)
    return [
        _row("report transaction (new order)", worst, new_ms, "<= 2", worst <= 2,
             items_read=max(read)),
        _row("report transaction (same again)", max(again_calls), again_ms, None, True),
        _row("partner API key check", max(auth_calls), [], "1", max(auth_calls) == 1),
    ]


def _load_transactions(partner_id: str, others: list) -> None:
    """10,000 stored transactions, 1,000 of them the measured partner's (setup, not measured)."""
    from chalicelib.partners.models import PartnerTransaction

    now = datetime.now(timezone.utc)
    owners = [partner_id] * PARTNER_TRANSACTIONS + [
        others[i % len(others)] for i in range(ALL_TRANSACTIONS - PARTNER_TRANSACTIONS)]
    with PartnerTransaction.batch_write() as batch:
        for i, owner in enumerate(owners):
            at = now - timedelta(seconds=i)
            batch.save(PartnerTransaction(owner, f"load-{i}", click_id="c" * 22, amount="1.00",
                                          currency="USD", amount_minor=100, occurred_at=at,
                                          reported_at=at, status="reported"))


def _measure_listing(partner_id: str, others: list, reporting_id: str) -> list:
    from bench.dynamodb_calls import recording
    from chalicelib.partners import transactions

    _load_transactions(partner_id, others)
    today = date.today()
    start = today - timedelta(days=1)
    seen, cursor, ms = 0, None, []
    with recording() as calls:
        while True:
            (page, cursor), page_ms = _timed(lambda: transactions.list_transactions(
                partner_id, start, today, cursor, PAGE))
            ms.append(page_ms)
            seen += len(page)
            if not cursor:
                break
        listing_calls, listing_read = calls.count, calls.items_read
        scans = calls.operations().count("Scan")
        calls.clear()
        _, report_ms = _timed(lambda: transactions.daily_report(
            reporting_id, today - timedelta(days=30), today))
        report_ops = calls.operations()
        report_read = calls.items_read
    from chalicelib.statistics import counters

    # The four figures of the report, each spread over its shards (statistics.md, hot keys).
    expected = sum(counters.shards(metric) + 1 for metric in (
        "referral_clicks", "partner_transactions", "partner_reversals", "partner_revenue"))
    listing_ok = (scans == 0 and seen == PARTNER_TRANSACTIONS
                  and listing_read <= PARTNER_TRANSACTIONS + PAGE)
    return [
        _row(f"list {seen:,} of {ALL_TRANSACTIONS:,} transactions ({PAGE}/page)",
             listing_calls, ms, f"items_read <= {PARTNER_TRANSACTIONS:,} + 1 page, no Scan",
             listing_ok, items_read=listing_read),
        _row("daily report, 31 days", len(report_ops), [report_ms],
             f"Query only, {expected}: per figure one per shard + one of the old layout",
             set(report_ops) == {"Query"} and len(report_ops) == expected,
             items_read=report_read),
    ]


def measure(reports: int = 100) -> list:
    from bench.common import local_stack
    from chalicelib import partners

    with local_stack(ses=False, log_level="INFO"):
        reporting = partners.create("Reporting partner", "https://bench.example/")
        rows = _measure_reports(reporting.partner_id, reporting.api_key, reports)
        listed = partners.create("Listed partner", "https://bench.example/").partner_id
        others = [partners.create(f"Other {i}", "https://other.example/").partner_id
                  for i in range(9)]
        return rows + _measure_listing(listed, others, reporting.partner_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100)
    rows = measure(parser.parse_args().reports)
    for row in rows:
        print(f"{row['operation']}: dynamodb_calls={row['dynamodb_calls']} "
              f"items_read={row['items_read']} median_ms={row['median_ms']} "
              f"p95_ms={row['p95_ms']} target={row['target']} "
              f"{'OK' if row['ok'] else 'OVER TARGET'}")
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
