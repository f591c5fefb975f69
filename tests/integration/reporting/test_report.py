"""Aggregate statistics on DynamoDB Local: no identifiers stored, the K rule in every report,
the distinct-visitor sketch end to end, and the operator's `report` command."""
import hashlib
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest

from bench.dynamodb_calls import recording
from chalicelib import ads, promotions
from chalicelib.partners.models import ReferralClick
from chalicelib.platform import clock, crypto
from chalicelib.reporting import report as operator_report
from chalicelib.statistics import counters, visits
from chalicelib.web.cookies import SESSION_COOKIE, VISITOR_COOKIE, new_token
from tests.integration.helpers import (
    PASSWORD,
    cli,
    cookie_value,
    new_email,
    post_json,
    register,
    token_from,
)
from tests.integration.partner_helpers import bearer, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")

K = 10
TODAY = datetime.now(timezone.utc).date()


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=12)


def raw_items(stack, suffix: str) -> list:
    client = boto3.client("dynamodb", endpoint_url=stack["dynamodb"].url, region_name="us-east-1")
    items, kwargs = [], {"TableName": f"eso-local-{suffix}"}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- no identifiers ------------------------------------------------------------------------------


def test_no_aggregate_item_holds_an_email_member_id_or_visitor_id_after_a_full_journey(
        client, mailbox, stack):
    vid = new_token()
    visitor = {"Cookie": f"{VISITOR_COOKIE}={vid}"}
    partner_id, key = new_partner("Journey")
    slot = ads.declare_slot(f"journey{uuid.uuid4().hex[:6]}").slot
    ad = ads.create_ad(slot=slot, title="Journey ad", target_url="https://shop.example/",
                       partner_id=partner_id)

    assert client.http.get("/", headers=visitor).status_code == 200          # a page view
    email = new_email("journey")
    assert register(client, email, headers=visitor).status_code == 202
    token = token_from(mailbox.wait_for(email)[-1], "/verify")
    assert post_json(client, "/api/v1/members/verify", {"token": token, "password": PASSWORD},
                     visitor).status_code == 200
    session, _ = cookie_value(post_json(client, "/api/v1/session",
                                        {"email": email, "password": PASSWORD}, visitor))
    member = {"Cookie": f"{VISITOR_COOKIE}={vid}; {SESSION_COOKIE}={session}"}
    member_id = client.http.get("/api/v1/me", headers=member).json_body["member"]["id"]
    assert client.http.get(f"/api/v1/ads/next?slot={slot}", headers=member).status_code == 200
    assert client.http.get(f"/ads/{ad.ad_id}/click", headers=member).headers[
        "Location"] == f"/go/{partner_id}"
    location = client.http.get(f"/go/{partner_id}", headers=member).headers["Location"]
    click_id = location.split("eso_click=")[1]
    assert report(client, key, order(click_id, "JOURNEY-1", "19.99", "EUR")).status_code == 201
    offer = promotions.create("offer", f"Journey offer {uuid.uuid4().hex[:6]}", "Hello")
    promotions.dispatch(offer.promotion_id)
    assert any(m["subject"] == offer.subject for m in mailbox.wait_for(email, 2))

    identifiers = {email, email.split("@")[0], member_id, vid, session,
                   hashlib.sha256(vid.encode()).hexdigest(),          # ad-views key
                   ReferralClick.get(click_id).visitor_hash, click_id}
    stored = raw_items(stack, "stats") + raw_items(stack, "visit-sketches")
    text = json.dumps(stored)
    assert [i for i in identifiers if i in text] == []
    # ... and the journey was counted, so the check above looked at its counters.
    day = TODAY
    assert counters.daily("ad_clicks", day, day, dimension=ad.ad_id) == {day: 1}
    assert counters.daily("ad_impressions", day, day, dimension=ad.ad_id) == {day: 1}
    assert counters.daily("referral_clicks", day, day, dimension=partner_id) == {day: 1}
    assert counters.daily_by_label("partner_transactions", day, day, dimension=partner_id) == {
        day: {"EUR": 1}}
    assert counters.daily("promotion_deliveries", day, day, dimension="offer")[day] >= 1
    for metric in ("registrations", "verifications"):
        assert counters.daily(metric, day, day)[day] >= 1
    sketch_items = [i for i in raw_items(stack, "visit-sketches")
                    if i["day"]["S"].startswith(f"{day.isoformat()}#")]
    assert sketch_items
    # Every attribute of a sketch item is a key or a register holding a small rank.
    for item in sketch_items:
        assert set(item) - {"day", "part"} <= {f"r{n}" for n in range(64)}
        assert all(1 <= int(v["N"]) <= 53 for name, v in item.items() if name.startswith("r"))


# --- the distinct-visitor sketch, end to end -----------------------------------------------------


def test_the_stored_sketch_estimates_distinct_visitors_and_returning_ones_cost_no_call():
    day = date(2024, 6, 3)
    for i in range(600):
        visits.record(f"sketch-visitor-{i:04d}", now=at(day))
    estimate = visits.daily(day, day)[day]
    assert abs(estimate - 600) <= 3 * visits.STANDARD_ERROR * 600
    visits._copy.clear()  # a fresh container: one read of the day's parts, then nothing
    with recording() as calls:   # for visitors seen (the Query reads the old layout's part)
        for i in range(600):
            visits.record(f"sketch-visitor-{i:04d}", now=at(day))
    assert calls.operations() == ["BatchGetItem", "Query"]
    assert visits.daily(day, day)[day] == estimate


def test_a_page_view_raises_the_visitors_register_in_the_stored_sketch(client):
    vid = new_token()
    assert client.http.get("/privacy", headers={"Cookie": f"{VISITOR_COOKIE}={vid}"}).status_code == 200
    index, rank = visits.position(visits.keyed_hash(crypto.signing_key(), TODAY, vid))
    visits._copy.clear()
    assert visits._load(TODAY).registers[index] >= rank


# --- the K rule ----------------------------------------------------------------------------------


def test_operator_report_cells_at_k_minus_one_k_and_k_plus_one():
    first = date(2024, 2, 1)
    days = [first + timedelta(days=i) for i in range(3)]
    for day, count in zip(days, (K - 1, K, K + 1)):
        counters.increment("registrations", amount=count, now=at(day))
        for i in range(count):
            visits.record(f"k-visitor-{day}-{i}", now=at(day))
    data = operator_report.operator_report(days[0], days[-1], k=K)
    assert [d["registrations"] for d in data["days"]] == [f"<{K}", K, K + 1]
    assert [d["visits"] for d in data["days"]] == [f"<{K}", K, K + 1]
    assert data["totals"]["registrations"] == f">={2 * K + 1}"  # never 3K: the hidden 9 stays hidden


def test_partner_api_and_operator_report_at_k_minus_one_k_and_k_plus_one(client):
    ids = []
    for count in (K - 1, K, K + 1):
        partner_id, key = new_partner("Threshold")
        for _ in range(count):
            assert client.http.get(f"/go/{partner_id}").status_code == 302
        ids.append((partner_id, key))
    today = TODAY.isoformat()
    seen = []
    for _partner_id, key in ids:
        response = client.http.get(f"/partner/v1/reports/daily?from={today}&to={today}",
                                   headers=bearer(key))
        seen.append(response.json_body["days"][0]["clicks"])
    assert seen == [f"<{K}", K, K + 1]
    data = operator_report.operator_report(TODAY, TODAY, k=K)
    by_id = {p["partner_id"]: p for p in data["partners"]}
    assert [by_id[p]["days"][0]["clicks"] for p, _ in ids] == [f"<{K}", K, K + 1]


def test_differencing_two_reports_does_not_reveal_a_hidden_day():
    partner_id, _ = new_partner("Differencing")
    ad = ads.create_ad(slot=ads.declare_slot(f"diff{uuid.uuid4().hex[:6]}").slot, title="Diff", target_url="https://x.example/")
    first = date(2024, 3, 1)
    counts = [15, 22, 31, 12, 40, 18, K - 1]  # the last day is below K
    for i, count in enumerate(counts):
        counters.increment("verifications", amount=count, now=at(first + timedelta(days=i)))
        counters.increment("ad_clicks", dimension=ad.ad_id, amount=count,
                        now=at(first + timedelta(days=i)))
    week = operator_report.operator_report(first, first + timedelta(days=6), k=K)
    six = operator_report.operator_report(first, first + timedelta(days=5), k=K)

    def number(cell):
        return int(str(cell).lstrip(">="))

    assert number(week["totals"]["verifications"]) - number(six["totals"]["verifications"]) == 0
    mine = lambda data: next(a for a in data["ads"] if a["ad_id"] == ad.ad_id)  # noqa: E731
    assert number(mine(week)["clicks"]) - number(mine(six)["clicks"]) == 0
    assert week["days"][-1]["verifications"] == f"<{K}"
    # The same day is the same cell in every report that covers it.
    assert week["days"][:6] == six["days"]


def test_every_ad_and_partner_is_a_row_in_listed_order_read_alongside_the_others():
    """Rows are read by several threads at once: each row is what that ad's or partner's own
    reading gives, in the listed order; a week of an ad costs a few calls, not one per shard."""
    from chalicelib import partners
    from chalicelib.reporting.buckets import Calendar

    first = date(2024, 4, 1)
    slot = ads.declare_slot(f"rows{uuid.uuid4().hex[:6]}").slot
    mine = [ads.create_ad(slot=slot, title=f"Row {n}", target_url="https://x.example/")
            for n in range(3)]
    shops = [new_partner(f"Row shop {n}")[0] for n in range(3)]
    for n, (ad, shop) in enumerate(zip(mine, shops)):
        for day in range(7):
            counters.increment("ad_impressions", dimension=ad.ad_id, amount=K + 7 * n + day,
                               now=at(first + timedelta(days=day)))
            counters.increment("referral_clicks", dimension=shop, amount=K + n + day,
                               now=at(first + timedelta(days=day)))
    with recording() as calls:
        data = operator_report.operator_report(first, first + timedelta(days=6), k=K)
    cal = Calendar.of(first, first + timedelta(days=6), TODAY)
    assert [a["ad_id"] for a in data["ads"]] == [a.ad_id for a in ads.list_ads()]
    assert [p["partner_id"] for p in data["partners"]] == [
        p.partner_id for p in partners.list_all()]
    rows = {row["ad_id"]: row for row in data["ads"]}
    for ad in mine:
        assert rows[ad.ad_id] == operator_report._ad_row(cal, ad, K)[0]
    assert [rows[ad.ad_id]["impressions"] for ad in mine] == [
        sum(K + 7 * n + day for day in range(7)) for n in range(3)]
    rows = {row["partner_id"]: row for row in data["partners"]}
    for shop in shops:
        assert rows[shop] == operator_report.partner_row(cal, partners.get(shop), K)[0]
    assert [rows[shop]["clicks"] for shop in shops] == [
        sum(K + n + day for day in range(7)) for n in range(3)]
    # Each ad: its impressions and clicks read by key (2 + 1 BatchGetItems of 112 and 56
    # keys at most) and each counter's Query of the old layout.
    reads = [op for op in calls.operations() if op != "UpdateItem"]   # (held counts written)
    assert len(reads) <= 60 + 5 * len(data["ads"]) + 17 * len(data["partners"]), len(reads)


# --- weeks and months ---------------------------------------------------------------------------


def test_a_week_of_three_registrations_a_day_shows_21_while_each_day_is_below_k(client, mailbox):
    monday = date(2024, 7, 1)
    for i in range(7):  # registrations as members make them, on each day of the week
        with clock.use(clock.FakeClock(at(monday + timedelta(days=i)))):
            for n in range(3):
                assert register(client, new_email(f"week{i}{n}")).status_code == 202
    args = ["report", "--from", "2024-07-01", "--to", "2024-07-07"]
    result = cli("--json", *args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["registrations"] for d in data["days"]] == [f"<{K}"] * 7
    [week] = data["weeks"]
    assert (week["from"], week["to"], week["registrations"]) == ("2024-07-01", "2024-07-07", 21)
    assert data["totals"]["registrations"] == 21
    assert data["months"] == []  # July is not within the range
    # Nobody deleted an account that week: a zero names nobody and is shown as one.
    assert [d["accounts_deleted"] for d in data["days"]] == [0] * 7
    assert week["accounts_deleted"] == 0
    text = cli(*args).stdout.splitlines()
    head = text.index("Per week") + 1
    columns = text[head].split()
    row = next(line for line in text if line.startswith("2024-07-01 to 07-07"))
    assert row.split()[columns.index("regist") + 2] == "21"  # "2024-07-01 to 07-07" is 3 words
    assert next(line for line in text if line.startswith("2024-07-03")).split()[
        columns.index("regist")] == "<10"


def test_a_week_is_withheld_in_every_report_when_its_shown_days_would_give_a_hidden_one_away():
    monday = date(2024, 8, 5)
    for i, count in enumerate([15, 22, 31, 12, 40, 18, K - 7]):  # Sunday below K
        counters.increment("verifications", amount=count, now=at(monday + timedelta(days=i)))
    week = operator_report.operator_report(monday, monday + timedelta(days=6), k=K)
    assert week["days"][-1]["verifications"] == f"<{K}"
    assert week["weeks"][0]["verifications"] == ">=138"      # not 141
    august = operator_report.operator_report(date(2024, 8, 1), date(2024, 8, 31), k=K)
    same = next(w for w in august["weeks"] if w["from"] == monday.isoformat())
    assert same["verifications"] == ">=138"                  # the same cell in every report
    assert august["months"][0]["verifications"] == ">=138"   # the month would give it away too
    six_days = operator_report.operator_report(monday, monday + timedelta(days=5), k=K)
    assert six_days["weeks"] == [] and six_days["totals"]["verifications"] == 138

    def number(cell):
        return int(str(cell).lstrip(">="))

    for data in (week, august):
        assert number(data["totals"]["verifications"]) - 138 == 0  # never the hidden 3


# --- the operator command --------------------------------------------------------------------------


def test_report_command_prints_tables_json_and_writes_html(tmp_path):
    first = date(2024, 4, 1)
    ad = ads.create_ad(slot=ads.declare_slot(f"cli{uuid.uuid4().hex[:6]}").slot, title="CLI ad", target_url="https://x.example/")
    for i, count in enumerate((120, 7, 64)):
        counters.increment("ad_impressions", dimension=ad.ad_id, amount=count,
                        now=at(first + timedelta(days=i)))
    args = ["report", "--from", "2024-04-01", "--to", "2024-04-03"]
    as_json = cli("--json", *args)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)  # exactly one JSON object
    row = next(a for a in data["ads"] if a["ad_id"] == ad.ad_id)
    assert [d["impressions"] for d in row["days"]] == [120, "<10", 64]
    assert row["impressions"] == ">=184"
    assert set(data["days"][0]) >= {"date", "visits", "registrations", "verifications",
                                    "offers_granted", "offers_withdrawn",
                                    "partner_promotions_granted", "partner_promotions_withdrawn",
                                    "ad_impressions", "ad_clicks", "referral_clicks",
                                    "partner_transactions", "offer_deliveries",
                                    "partner_promotion_deliveries"}
    text = cli(*args, "--html", str(tmp_path / "operator_report.html"))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("eSO aggregate report 2024-04-01")
    assert any(ad.ad_id in line and "≥184" in line for line in lines)
    html = (tmp_path / "operator_report.html").read_text()
    assert html.count("<svg") >= 6 and "<script" not in html and "http" not in html.split(
        "<body>")[1].replace("http-equiv", "")
