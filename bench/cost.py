"""What eSO costs on AWS, from counted requests and measured capacity units, at list prices.

    python -m bench.cost

Each scenario runs on the local stack (DynamoDB Local, the SES server, the app through
Chalice's test client) and records what AWS would bill: API Gateway requests, Lambda
invocations and their duration, DynamoDB read and write request units as DynamoDB Local
reports them (``ReturnConsumedCapacity``: item sizes, not calls; transactions as reported),
SES e-mails, SQS requests, CloudWatch Logs bytes (the app's log lines plus Lambda's own three
per invocation), the pages' bytes out of API Gateway (gzip-compressed where API Gateway
compresses them: above the stage's ``minimum_compression_size``, to a browser that accepts
gzip) and, for the static files, CloudFront requests and compressed bytes. ``bench/prices.json``
holds the prices, with their date and source; ``price`` turns usage into dollars.

A visit is three pages by a browser that keeps what the responses allow it to keep: the first
visit fetches the stylesheet and the scripts once (from CloudFront, on its own host, in a
deployment of the packaged template; the icon comes inside the page), a returning visit asks
for its three pages only. Pages go straight to API Gateway: no CloudFront request. Visits are
measured in a warm container (one visit first, not counted); the day's visitor sketch is
written for the share of visitors who raise a register over a reference day
(``reference_day_sketch_share``), not for every one as on the fresh day measured.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PRICES = Path(__file__).resolve().parent / "prices.json"
# The usage of the last run, which the README's cost table is computed from.
USAGE = Path(__file__).resolve().parent / "usage.json"
ROOT = Path(__file__).resolve().parent.parent
VISIT_PAGES = ("/", "/privacy", "/contact")
VISITORS = 20
# Lambda writes START, END and REPORT lines for every invocation (~260 bytes together).
LAMBDA_LOG_BYTES = 260
GB = 1024 ** 3
# The reference portal the monthly figure is for.
REFERENCE = {"members": 100_000, "visits": 1_000_000, "promotions": 4, "reach": 0.60,
             "member_requests": 2_000_000, "partner_reports": 5_000}
TARGET_VISITOR_COST = 16.0  # dollars per million visitors, REST API Gateway
# A reference day: a thirtieth of the reference month's visits.
REFERENCE_DAY_VISITORS = REFERENCE["visits"] // 30


@dataclass
class Usage:
    """What one unit of work (a visit, a request, an e-mail…) makes AWS bill."""

    api_requests: float = 0.0
    lambda_invocations: float = 0.0
    lambda_ms: float = 0.0            # billed duration, all invocations together
    rru: float = 0.0
    wru: float = 0.0
    emails: float = 0.0
    sqs_requests: float = 0.0
    log_bytes: float = 0.0
    api_bytes: float = 0.0            # pages' bytes out of API Gateway, as sent
    cdn_requests: float = 0.0
    cdn_bytes: float = 0.0
    detail: dict = field(default_factory=dict)

    def per(self, count: float) -> "Usage":
        values = {k: v / count for k, v in asdict(self).items() if k != "detail"}
        return Usage(**values, detail=self.detail)


def load_prices(path: Path = PRICES) -> dict:
    return json.loads(path.read_text())


def lambda_settings(stage: str = "prod") -> tuple:
    """(memory in MB, architecture) of the API function of ``stage`` in .chalice/config.json."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    chain = [config["stages"][stage], config]
    memory = next(level["lambda_memory_size"] for level in chain if "lambda_memory_size" in level)
    architecture = next((level["lambda_architecture"] for level in chain
                         if "lambda_architecture" in level), "x86_64")
    return memory, architecture


def compression_threshold(stage: str = "prod") -> int | None:
    """The stage's ``minimum_compression_size`` in .chalice/config.json: API Gateway
    compresses a response body above it for a client that accepts gzip; None: never."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return next((level["minimum_compression_size"] for level in (config["stages"][stage], config)
                 if "minimum_compression_size" in level), None)


def sent_bytes(body: bytes, threshold: int | None, accepts_gzip: bool = True) -> int:
    """The bytes API Gateway sends for ``body``: gzip-compressed above ``threshold``."""
    if threshold is not None and accepts_gzip and len(body) > threshold:
        return len(gzip.compress(body))
    return len(body)


def price(usage: Usage, prices: dict, memory_mb: int, architecture: str) -> dict:
    """Dollars for ``usage``, by service, and their total."""
    gb_seconds = usage.lambda_ms / 1000 * memory_mb / 1024
    lines = {
        "api_gateway": (usage.api_requests * prices["api_gateway_rest_per_million_requests"] / 1e6
                        + usage.api_bytes / GB * prices["api_gateway_transfer_out_per_gb"]),
        "lambda": (usage.lambda_invocations * prices["lambda_per_million_requests"] / 1e6
                   + gb_seconds * prices["lambda_per_gb_second"][architecture]),
        "dynamodb": (usage.wru * prices["dynamodb_per_million_wru"]
                     + usage.rru * prices["dynamodb_per_million_rru"]) / 1e6,
        "ses": usage.emails * prices["ses_per_thousand_emails"] / 1000,
        "sqs": usage.sqs_requests * prices["sqs_per_million_requests"] / 1e6,
        "logs": usage.log_bytes / GB * prices["cloudwatch_logs_ingestion_per_gb"],
        "cloudfront": (usage.cdn_requests * prices["cloudfront_per_million_https_requests"] / 1e6
                       + usage.cdn_bytes / GB * prices["cloudfront_transfer_out_per_gb"]),
    }
    lines["total"] = sum(lines.values())
    return lines


def monthly(per_unit: dict, prices: dict, memory_mb: int, architecture: str,
            reference: dict = REFERENCE) -> float:
    """The reference portal's month: its visits, members' requests, promotions, reports."""
    emails = reference["members"] * reference["reach"] * reference["promotions"]
    amounts = {"visitor": reference["visits"], "member request": reference["member_requests"],
               "promotional e-mail": emails, "partner report": reference["partner_reports"]}
    return sum(price(per_unit[name], prices, memory_mb, architecture)["total"] * amount
               for name, amount in amounts.items())


# --- measuring --------------------------------------------------------------------------------


class Meter:
    """Counts AWS calls, and adds up the capacity units DynamoDB reports for each one."""

    WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
    READS = ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems")

    def __init__(self):
        self.usage = Usage()
        self.wru_by_table: dict = {}

    def __enter__(self):
        from botocore.client import BaseClient

        self._original = original = BaseClient._make_api_call
        usage = self.usage

        def metered(client, operation, params):
            service = client.meta.service_model.service_name
            if service == "dynamodb" and operation in self.WRITES + self.READS:
                params = {**params, "ReturnConsumedCapacity": "TOTAL"}
            response = original(client, operation, params)
            if service == "dynamodb":
                consumed = response.get("ConsumedCapacity") or []
                units = sum(c.get("CapacityUnits", 0) for c in
                            (consumed if isinstance(consumed, list) else [consumed]))
                if operation in self.WRITES:
                    usage.wru += units
                    for c in consumed if isinstance(consumed, list) else [consumed]:
                        table = c.get("TableName", "")
                        self.wru_by_table[table] = (self.wru_by_table.get(table, 0.0)
                                                    + c.get("CapacityUnits", 0))
                else:
                    usage.rru += units
            elif service == "sesv2" and operation == "SendBulkEmail":
                usage.emails += len(params.get("BulkEmailEntries", []))
            elif service == "sesv2" and operation == "SendEmail":
                usage.emails += 1
            elif service == "sqs":
                usage.sqs_requests += 1
            return response

        BaseClient._make_api_call = metered
        return self

    def __exit__(self, *exc):
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original


class Browser:
    """Keeps what a response's Cache-Control lets a browser keep, and the cookies it sets."""

    def __init__(self, client, compression: int | None = None):
        self.client = client
        self.compression = compression   # the stage's minimum_compression_size
        self.cache: dict = {}
        self.cookies: dict = {}

    def get(self, path: str, usage: Usage, via_cdn: bool = False):
        if path in self.cache:
            return None
        headers = {"Accept": "text/html,*/*", "Accept-Encoding": "gzip, deflate, br"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        with contextlib.redirect_stdout(io.StringIO()) as logs:
            started = time.perf_counter()
            response = self.client.http.get(path, headers=headers)
            elapsed_ms = (time.perf_counter() - started) * 1000
        body = response.body if isinstance(response.body, bytes) else response.body.encode()
        if via_cdn:   # the packaged template serves /assets/* from S3 through CloudFront,
            usage.cdn_requests += 1          # which compresses them (Compress: true)
            usage.cdn_bytes += len(gzip.compress(body))
        else:
            usage.api_requests += 1
            usage.lambda_invocations += 1
            usage.lambda_ms += max(1.0, elapsed_ms)
            usage.log_bytes += len(logs.getvalue().encode()) + LAMBDA_LOG_BYTES
            # straight from API Gateway (no CloudFront), which compresses as configured
            usage.api_bytes += sent_bytes(body, self.compression,
                                          "gzip" in headers["Accept-Encoding"])
        cached = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
        if response.status_code == 200 and cached and int(cached.group(1)) > 0:
            self.cache[path] = True
        set_cookie = response.headers.get("Set-Cookie") or []
        for cookie in set_cookie if isinstance(set_cookie, list) else [set_cookie]:
            name, _, value = cookie.split(";")[0].partition("=")
            self.cookies[name] = value
        return body.decode("utf-8", "replace")

    def visit(self, pages, usage: Usage) -> None:
        for page in pages:
            html = self.get(page, usage)
            # on the asset origin when one is set, else on the pages' own
            for asset in re.findall(r'(?:href|src)="(?:https://[^/"]+)?(/assets/[^"]+)"',
                                    html or ""):
                self.get(asset, usage, via_cdn=True)


def _visits(client, meter) -> tuple:
    """Usage of first visits and of returning visits (the same browsers again, the same day:
    the day's visitor sketch holds them already; a visit on another day writes it once more)."""
    from chalicelib.statistics import counters

    # A warm container: the first request a container serves pays for its imports and
    # templates (its cold start, ``python -m bench.coldstart``), once per container.
    Browser(client, compression_threshold("prod")).visit(VISIT_PAGES, Usage())
    counters.flush()
    from chalicelib.statistics.models import VisitSketch

    sketch_table = VisitSketch.Meta.table_name
    first, again = Usage(), Usage()
    browsers = [Browser(client, compression_threshold("prod")) for _ in range(VISITORS)]
    share = reference_day_sketch_share()
    for usage in (first, again):
        before, sketch_before = asdict(meter.usage), meter.wru_by_table.get(sketch_table, 0.0)
        for browser in browsers:
            browser.visit(VISIT_PAGES, usage)
        # The impressions the container holds, written once for these visits (a container
        # serving more visits per interval writes them as seldom): counted with the visits.
        counters.flush()
        usage.rru += meter.usage.rru - before["rru"]
        usage.wru += meter.usage.wru - before["wru"]
        # Every visitor here is new to a fresh day's sketch, so each one raised a register;
        # over a reference day only a share of them does (REFERENCE_DAY_VISITORS).
        sketch = meter.wru_by_table.get(sketch_table, 0.0) - sketch_before
        usage.wru -= sketch * (1 - share)
        usage.detail = {"sketch_write_units_fresh_day": sketch / VISITORS,
                        "sketch_share_reference_day": round(share, 4)}
    return first.per(VISITORS), again.per(VISITORS)


def reference_day_sketch_share(visitors: int | None = None) -> float:
    """The share of a reference day's visitors who raise a register of the day's sketch (a
    write), every visit taken as a new visitor (the most writes those visits can make): the
    product's sketch, fed the product's keyed hashes of that many visitor cookies."""
    import secrets

    from chalicelib.platform import clock
    from chalicelib.platform.crypto import signing_key
    from chalicelib.statistics.visits import Sketch, keyed_hash

    visitors = visitors or REFERENCE_DAY_VISITORS
    key, day, sketch, raised = signing_key(), clock.today(), Sketch(), 0
    for _ in range(visitors):
        hashed = keyed_hash(key, day, secrets.token_urlsafe(16))
        raised += sketch.add(hashed)
    return raised / visitors


def _timed_request(client, meter, method, path, body=None, headers=None) -> Usage:
    usage = Usage(api_requests=1, lambda_invocations=1)
    before = asdict(meter.usage)
    data = json.dumps(body).encode() if body is not None else b""
    with contextlib.redirect_stdout(io.StringIO()) as logs:
        started = time.perf_counter()
        response = client.http.request(method, path, body=data, headers={
            "Content-Type": "application/json", **(headers or {})})
        usage.lambda_ms = max(1.0, (time.perf_counter() - started) * 1000)
    assert response.status_code < 300, (path, response.status_code, response.body)
    usage.log_bytes = len(logs.getvalue().encode()) + LAMBDA_LOG_BYTES
    usage.rru = meter.usage.rru - before["rru"]
    usage.wru = meter.usage.wru - before["wru"]
    return usage


def _average(samples: list) -> Usage:
    total = Usage()
    for sample in samples:
        for key, value in asdict(sample).items():
            if key != "detail":
                setattr(total, key, getattr(total, key) + value)
    return total.per(len(samples))


def _member_requests(client, meter, runs: int = 10) -> Usage:
    from chalicelib.ops.demo import DEMO_MEMBER, seed

    seed()
    login = client.http.post("/api/v1/session", headers={"Content-Type": "application/json"},
                             body=json.dumps({"email": DEMO_MEMBER["email"],
                                              "password": DEMO_MEMBER["password"]}).encode())
    cookie = [c for c in login.headers["Set-Cookie"]
              if c.startswith("__Host-eso_session")][0].split(";")[0]
    return _average([_timed_request(client, meter, "GET", "/api/v1/me",
                                    headers={"Cookie": cookie}) for _ in range(runs)])


def _partner_reports(client, meter, runs: int = 10) -> Usage:
    from urllib.parse import parse_qs, urlsplit

    from chalicelib import partners
    from chalicelib.partners import referrals

    partner = partners.create("Cost partner", "https://cost.example/")
    samples = []
    for i in range(runs):
        location = referrals.record_click(partner.partner_id, f"cost{i:020d}")
        click = parse_qs(urlsplit(location).query)["eso_click"][0]
        samples.append(_timed_request(
            client, meter, "POST", "/partner/v1/transactions",
            {"click_id": click, "order_id": f"cost-{i}", "amount": "19.99", "currency": "USD"},
            {"Authorization": f"Bearer {partner.api_key}"}))
    return _average(samples)


def _promotional_emails(meter, opted_in: int = 200) -> Usage:
    """An offer to ``opted_in`` consenting members among twice as many: units, SES e-mails,
    and the send queue's requests and worker invocations as a deployed stage has them."""
    from bench.fanout import _populate
    from chalicelib import promotions

    _populate(opted_in * 2, opted_in)
    offer = promotions.create("offer", "Cost offer", "Hello")
    before = asdict(meter.usage)
    with contextlib.redirect_stdout(io.StringIO()) as logs:
        started = time.perf_counter()
        promotions.dispatch(offer.promotion_id)
        elapsed_ms = (time.perf_counter() - started) * 1000
    delivered = promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered
    assert delivered >= opted_in, delivered  # (and the demo member, who consents too)
    batches = -(-delivered // 50)   # one bulk call, one queue message, one worker run per 50
    usage = Usage(lambda_invocations=batches, lambda_ms=elapsed_ms,
                  sqs_requests=3 * batches,   # send, receive, delete
                  log_bytes=len(logs.getvalue().encode()) + batches * LAMBDA_LOG_BYTES,
                  rru=meter.usage.rru - before["rru"], wru=meter.usage.wru - before["wru"],
                  emails=meter.usage.emails - before["emails"])
    return usage.per(delivered)


def measure_usage() -> dict:
    """Per unit of work: first visit, returning visit, member request, e-mail, partner report."""
    from chalice.test import Client

    from bench.common import local_stack

    with local_stack(log_level="INFO"), Meter() as meter:
        from app import app
        from chalicelib import ads

        # The home page shows an ad, as on a live portal: its rotation state is written per view.
        ads.create_ad(slot="home", title="Cost model ad", target_url="https://example.com/")
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            first, again = _visits(client, meter)
            member = _member_requests(client, meter)
            report = _partner_reports(client, meter)
        email = _promotional_emails(meter)
    return {"visitor": first, "returning visitor": again, "member request": member,
            "promotional e-mail": email, "partner report": report}


def _with_prices(saved: tuple) -> tuple:
    usage, memory_mb, architecture = saved
    return usage, load_prices(), memory_mb, architecture


# --- the table --------------------------------------------------------------------------------

SCALES = {"visitor": (1e6, "per million visitors"),
          "returning visitor": (1e6, "per million returning visitors (assets cached)"),
          "member request": (1e6, "per million member requests"),
          "promotional e-mail": (1e6, "per million promotional e-mails"),
          "partner report": (1e3, "per thousand partner reports")}


def rows_from(usage: dict, prices: dict, memory_mb: int, architecture: str) -> list:
    """The bench table's rows: requests and units per visit, then dollars per scale."""
    first, again = usage["visitor"], usage["returning visitor"]
    pages = len(VISIT_PAGES)
    rows = [
        {"operation": "cost: API requests per 3-page visit (assets cached)",
         "ratio": again.api_requests, "target": f"= {pages}", "ok": again.api_requests == pages},
        {"operation": "cost: API requests per first 3-page visit (assets from CloudFront)",
         "ratio": first.api_requests, "target": f"= {pages}", "ok": first.api_requests == pages},
        {"operation": "cost: DynamoDB write units per page view (amortised)",
         "ratio": first.wru / pages, "target": "<= 1", "ok": first.wru / pages <= 1},
        {"operation": "cost: DynamoDB read units per page view",
         "ratio": first.rru / pages, "target": None, "ok": None},
    ]
    for name, (scale, label) in SCALES.items():
        dollars = price(usage[name], prices, memory_mb, architecture)
        row = {"operation": f"cost: ${'{:.2f}'.format(dollars['total'] * scale)} {label}",
               "ratio": dollars["total"] * scale,
               "detail": {k: round(v * scale, 4) for k, v in dollars.items()}}
        if name == "visitor":
            row.update({"target": f"<= {TARGET_VISITOR_COST:.2f}",
                        "ok": dollars["total"] * scale <= TARGET_VISITOR_COST})
        rows.append(row)
    month = monthly(usage, prices, memory_mb, architecture)
    rows.append({"operation": f"cost: ${month:.2f} a month, reference portal "
                              f"({REFERENCE['members']:,} members, {REFERENCE['visits']:,} visits)",
                 "ratio": month, "detail": {"reference": REFERENCE}})
    return rows


def save_usage(usage: dict, memory_mb: int, architecture: str, path: Path = USAGE) -> None:
    path.write_text(json.dumps({
        "memory_mb": memory_mb, "architecture": architecture,
        "usage": {name: {f: round(v, 6) for f, v in asdict(u).items() if f != "detail"}
                  for name, u in usage.items()}}, indent=2) + "\n")


def load_usage(path: Path = USAGE) -> tuple:
    """(usage per kind of work, memory in MB, architecture) of the last run."""
    saved = json.loads(path.read_text())
    usage = {name: Usage(**figures) for name, figures in saved["usage"].items()}
    return usage, saved["memory_mb"], saved["architecture"]


def readme_table(usage: dict, prices: dict, memory_mb: int, architecture: str) -> str:
    """The README's cost table (``python -m bench.cost --readme`` prints it)."""
    lines = [f"| AWS cost, us-east-1 list prices of {prices['as_of']} | dollars |",
             "|---|---|"]
    for name, (scale, label) in SCALES.items():
        dollars = price(usage[name], prices, memory_mb, architecture)["total"] * scale
        lines.append(f"| {label} | ${dollars:,.2f} |")
    month = monthly(usage, prices, memory_mb, architecture)
    lines.append(f"| the reference portal (100,000 members, 1M visits, 4 promotions to 60 %) "
                 f"| ${month:,.2f} a month |")
    return "\n".join(lines)


def measure() -> list:
    prices = load_prices()
    memory_mb, architecture = lambda_settings("prod")
    usage = measure_usage()
    save_usage(usage, memory_mb, architecture)
    rows = rows_from(usage, prices, memory_mb, architecture)
    rows[0]["detail"] = {"prices_as_of": prices["as_of"], "region": prices["region"],
                         "memory_mb": memory_mb, "architecture": architecture,
                         "usage": {k: {f: round(v, 4) for f, v in asdict(u).items()
                                       if f != "detail"} for k, u in usage.items()}}
    return rows


def main() -> int:
    if sys.argv[1:] == ["--readme"]:
        print(readme_table(*_with_prices(load_usage())))
        return 0
    rows = measure()
    for row in rows:
        print(row)
    return 0 if all(r.get("ok") is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
