"""The cost model's arithmetic, the bench table as JSON, and the README's cost table."""
import json
import re

import pytest

from bench import __main__ as bench_main
from bench import cost
from bench.common import ROOT

PRICES = cost.load_prices()


def test_the_prices_are_dated_and_sourced_and_on_demand_dynamodb_is_the_2024_price():
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", PRICES["as_of"]) and "aws.amazon.com" in PRICES["source"]
    assert PRICES["region"] == "us-east-1"
    assert (PRICES["dynamodb_per_million_wru"], PRICES["dynamodb_per_million_rru"]) == (0.625, 0.125)


def test_a_visit_of_three_api_requests_is_priced_service_by_service():
    usage = cost.Usage(api_requests=3, lambda_invocations=3, lambda_ms=150, wru=1, rru=2,
                       log_bytes=1024 ** 3 / 1e6, cdn_requests=6, cdn_bytes=0)
    lines = cost.price(usage, PRICES, memory_mb=1024, architecture="arm64")
    assert lines["api_gateway"] * 1e6 == pytest.approx(10.50)
    # 3 × $0.20/M requests + 0.15 s × 1 GB × $0.0000133334 per GB-s
    assert lines["lambda"] == pytest.approx(3 * 0.20 / 1e6 + 0.15 * 0.0000133334)
    assert lines["dynamodb"] * 1e6 == pytest.approx(0.625 + 2 * 0.125)
    assert lines["logs"] * 1e6 == pytest.approx(0.50)
    assert lines["cloudfront"] * 1e6 == pytest.approx(6.00)
    assert lines["total"] == pytest.approx(sum(v for k, v in lines.items() if k != "total"))
    x86 = cost.price(usage, PRICES, memory_mb=1024, architecture="x86_64")["lambda"]
    assert x86 > lines["lambda"], "arm64 is the cheaper GB-second"


def test_the_month_of_the_reference_portal_adds_each_kind_of_work():
    one_dollar_each = {name: cost.Usage(emails=10_000) for name in
                       ("visitor", "member request", "promotional e-mail", "partner report")}
    reference = {"members": 100, "reach": 0.5, "promotions": 4, "visits": 10,
                 "member_requests": 20, "partner_reports": 5}
    month = cost.monthly(one_dollar_each, PRICES, 1024, "arm64", reference)
    assert month == pytest.approx(10 + 20 + 100 * 0.5 * 4 + 5)


def test_the_rows_hold_the_targets_and_flag_what_misses_them():
    visit = cost.Usage(api_requests=3, wru=3, cdn_requests=6)
    cached = cost.Usage(api_requests=3)
    usage = {"visitor": visit, "returning visitor": cached, "member request": cost.Usage(),
             "promotional e-mail": cost.Usage(), "partner report": cost.Usage()}
    rows = {r["operation"].split(" (")[0]: r for r in cost.rows_from(usage, PRICES, 1024, "arm64")}
    assert rows["cost: API requests per 3-page visit"]["ok"] is True
    assert rows["cost: DynamoDB write units per page view"]["ok"] is True
    usage["visitor"] = cost.Usage(api_requests=6, wru=6)
    rows = cost.rows_from(usage, PRICES, 1024, "arm64")
    assert [r["ok"] for r in rows if "first" in r["operation"]] == [False]


def test_the_table_is_written_as_one_json_object_per_row(tmp_path):
    rows = [{"operation": "cost: $1.00 per million visitors", "ratio": 1.0,
             "target": "<= 16.00", "ok": True, "median_ms": None},
            {"operation": "member: login", "dynamodb_calls": 3, "median_ms": 80.5}]
    path = bench_main.write_json(rows, tmp_path / "bench.json")
    data = json.loads(path.read_text())
    assert data == [
        {"name": "cost: $1.00 per million visitors", "figures": {"ratio": 1.0},
         "target": "<= 16.00", "ok": True},
        {"name": "member: login", "figures": {"dynamodb_calls": 3, "median_ms": 80.5},
         "target": None, "ok": None}]


def test_the_readme_cost_table_is_the_models_own_arithmetic():
    """The README's table is the last measured usage (bench/usage.json, written by
    `make bench`) priced with bench/prices.json: a changed price or measurement without the
    README fails here (`python -m bench.cost --readme` prints the table)."""
    usage, memory, architecture = cost.load_usage()
    table = cost.readme_table(usage, PRICES, memory, architecture)
    assert table in (ROOT / "README.md").read_text()
    assert "per million visitors" in table and PRICES["as_of"] in table


def test_the_readme_table_follows_a_price_change():
    usage, memory, architecture = cost.load_usage()
    dearer = {**PRICES, "api_gateway_rest_per_million_requests": 4.0}
    assert cost.readme_table(usage, dearer, memory, architecture) != cost.readme_table(
        usage, PRICES, memory, architecture)


def test_pages_pay_api_gateway_transfer_out_and_no_cloudfront():
    page = cost.Usage(api_requests=1, api_bytes=1024 ** 3 / 1e6)   # a million such pages: 1 GB
    lines = cost.price(page, PRICES, memory_mb=1024, architecture="arm64")
    assert PRICES["api_gateway_transfer_out_per_gb"] == 0.09
    assert lines["api_gateway"] * 1e6 == pytest.approx(3.50 + 0.09)
    assert lines["cloudfront"] == 0


def test_a_page_is_counted_compressed_above_the_stage_threshold_only():
    html = ("<p>" + "a page of the portal " * 200 + "</p>").encode()
    assert cost.compression_threshold("prod") == 1024
    assert cost.sent_bytes(html, 1024) < len(html) / 5          # gzip, as API Gateway sends it
    assert cost.sent_bytes(html, 1024, accepts_gzip=False) == len(html)
    assert cost.sent_bytes(html[:1000], 1024) == 1000           # under the threshold: as is
    assert cost.sent_bytes(html, None) == len(html)             # no threshold: never compressed
