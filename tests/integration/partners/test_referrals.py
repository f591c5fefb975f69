"""Referrals against DynamoDB Local: visitor → /go → partner report → reports, as partners see them."""
import json
import threading
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import partners
from chalicelib.partners import referrals, transactions
from chalicelib.partners.models import PartnerTransaction, ReferralClick
from chalicelib.statistics import counters
from tests.integration.helpers import cli, post_json
from tests.integration.partner_helpers import bearer, click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")

TODAY = date.today().isoformat()


def stored_orders(partner_id):
    return sorted(t.order_id for t in PartnerTransaction.query(partner_id, consistent_read=True))


def daily(client, key, start=TODAY, end=TODAY):
    response = client.http.get(f"/partner/v1/reports/daily?from={start}&to={end}",
                               headers=bearer(key))
    assert response.status_code == 200, response.body
    return response.json_body["days"]


# --- the referral redirect -----------------------------------------------------------------------


def test_go_records_the_click_and_redirects_to_the_registered_landing_url(client):
    partner_id, _ = new_partner()
    response = client.http.get(f"/go/{partner_id}?url=https://evil.example/&next=//evil.example")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example", "/landing")
    query = parse_qs(location.query)
    assert query["src"] == ["eso"] and query["lang"] == ["en"]  # the partner's own query kept
    assert set(query) == {"src", "lang", "eso_click"}
    stored = ReferralClick.get(query["eso_click"][0], consistent_read=True)
    assert stored.partner_id == partner_id and stored.member_id is None
    vid = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert stored.visitor_hash and vid not in stored.visitor_hash  # keyed hash, not the cookie
    assert stored.expires_at - stored.clicked_at > referrals.ATTRIBUTION_WINDOW


def test_each_follow_is_a_new_click_id(client):
    partner_id, _ = new_partner()
    assert len({click(client, partner_id) for _ in range(5)}) == 5


def test_a_registered_eso_click_parameter_is_replaced_not_duplicated(client):
    partner_id, _ = new_partner(landing_url="https://shop.example/?eso_click=stale#top")
    location = client.http.get(f"/go/{partner_id}").headers["Location"]
    assert location.count("eso_click=") == 1 and "stale" not in location
    assert location.endswith("#top")


@pytest.mark.parametrize("partner_id", ["ptn_doesnotexist", "..%2F..", "x" * 80])
def test_unknown_partners_are_404_and_record_nothing(client, partner_id):
    response = client.http.get(f"/go/{partner_id}")
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_a_disabled_partner_is_404_at_once(client):
    partner_id, _ = new_partner()
    click(client, partner_id)
    partners.disable(partner_id)
    response = client.http.get(f"/go/{partner_id}")
    assert response.status_code == 404 and "Location" not in response.headers


# --- the full path --------------------------------------------------------------------------------


def test_visitor_to_partner_report_to_daily_report_and_operator_report(client):
    partner_id, key = new_partner("Full path")
    click_id = click(client, partner_id)

    created = report(client, key, order(click_id, "A-1001", "12.5", "USD"))
    assert created.status_code == 201
    txn = created.json_body["transaction"]
    assert txn == {"order_id": "A-1001", "click_id": click_id, "amount": "12.50",
                   "currency": "USD", "occurred_at": txn["occurred_at"],
                   "reported_at": txn["reported_at"], "status": "reported",
                   "reversed_at": None, "reversal_reason": None}

    listed = client.http.get(f"/partner/v1/transactions?from={TODAY}&to={TODAY}",
                             headers=bearer(key)).json_body
    assert [t["order_id"] for t in listed["transactions"]] == ["A-1001"]
    assert listed["next_cursor"] is None

    [day] = daily(client, key)
    assert day == {"date": TODAY, "clicks": "<10", "transactions": "<10", "reversals": "<10",
                   "revenue": {"USD": "12.50"}}

    result = cli("--json", "report", "--from", TODAY, "--to", TODAY)
    assert result.returncode == 0, result.stderr
    mine = [p for p in json.loads(result.stdout)["partners"] if p["partner_id"] == partner_id]
    # The operator's compilation withholds revenue made of fewer than K sales (one sale here).
    assert mine[0]["days"] == [day | {"revenue": {"USD": "<10"}}]
    text = cli("report", "--from", TODAY, "--to", TODAY)
    lines = text.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith(partner_id))
    assert "USD withheld" in lines[header]
    assert TODAY in lines[header + 3] and "USD withheld (<10 sales)" in lines[header + 3]


def test_counts_at_the_threshold_are_shown_as_numbers(client):
    partner_id, key = new_partner()
    for i in range(10):
        assert report(client, key, order(click(client, partner_id), f"K-{i}", "1.05",
                                         "EUR")).status_code == 201
    report(client, key, order(click(client, partner_id), "K-jpy", "1200", "JPY"))
    [day] = daily(client, key)
    assert day["clicks"] == 11 and day["transactions"] == 11
    assert day["revenue"] == {"EUR": "10.50", "JPY": "1200"}
    assert day["reversals"] == "<10"


def test_the_same_report_again_is_200_with_the_same_transaction(client):
    partner_id, key = new_partner()
    body = order(click(client, partner_id), occurred_at=datetime.now(timezone.utc).isoformat())
    first = report(client, key, body)
    again = report(client, key, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json_body == first.json_body
    assert daily(client, key)[0]["revenue"] == {"USD": "12.50"}  # counted once


@pytest.mark.parametrize("change", [{"amount": "13.00"}, {"currency": "EUR"},
                                    {"occurred_at": "2020-01-01T00:00:00Z"}, "other click"])
def test_the_same_order_with_other_content_is_409(client, change):
    partner_id, key = new_partner()
    body = order(click(client, partner_id))
    assert report(client, key, body).status_code == 201
    changed = {**body, "click_id": click(client, partner_id)} if change == "other click" else {
        **body, **change}
    response = report(client, key, changed)
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "order_conflict"
    assert PartnerTransaction.get(partner_id, body["order_id"]).amount == "12.50"


def test_twenty_concurrent_identical_reports_make_one_transaction(client):
    partner_id, _ = new_partner()
    click_id = click(client, partner_id)
    barrier = threading.Barrier(20)
    outcomes, errors = [], []

    def attempt():
        barrier.wait()
        try:
            txn, created = transactions.report_transaction(
                partner_id, transactions.Report(click_id, "RACE-1", "99.99", "USD"))
            outcomes.append((created, txn.order_id, txn.amount, txn.reported_at))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(created for created, *_ in outcomes) == [False] * 19 + [True]
    assert len({tuple(o[1:]) for o in outcomes}) == 1  # everyone got the same transaction
    assert stored_orders(partner_id) == ["RACE-1"]
    today = date.today()
    assert counters.daily_by_label("partner_transactions", today, today, dimension=partner_id) == {
        today: {"USD": 1}}
    assert counters.daily_by_label("partner_revenue", today, today, dimension=partner_id) == {
        today: {"USD": 9999}}


# --- isolation between partners -------------------------------------------------------------------


def test_partner_b_can_neither_use_nor_see_partner_a_data(client):
    a_id, a_key = new_partner("A")
    b_id, b_key = new_partner("B")
    a_click = click(client, a_id)
    assert report(client, a_key, order(a_click, "A-ORDER")).status_code == 201

    stolen = report(client, b_key, order(a_click, "B-ORDER"))
    assert stolen.status_code == 422
    unknown = report(client, b_key, order("x" * 22, "B-ORDER"))
    assert stolen.json_body == unknown.json_body  # nothing tells B the click exists
    assert stored_orders(b_id) == []

    listed = client.http.get(f"/partner/v1/transactions?from={TODAY}&to={TODAY}",
                             headers=bearer(b_key))
    assert listed.status_code == 200 and listed.json_body["transactions"] == []
    assert a_click not in listed.body.decode() and "A-ORDER" not in listed.body.decode()
    # B reporting A's order id is B's own order: it does not touch A's.
    assert report(client, b_key, order(click(client, b_id), "A-ORDER", "1.00")).status_code == 201
    assert PartnerTransaction.get(a_id, "A-ORDER").amount == "12.50"
    reversed_by_b = post_json(client, "/partner/v1/transactions/A-ORDER/reverse",
                              {"reason": "not mine"}, bearer(b_key))
    assert reversed_by_b.status_code == 200
    assert PartnerTransaction.get(a_id, "A-ORDER").status == "reported"
    [b_day] = daily(client, b_key)
    assert b_day["revenue"] == {"USD": "0.00"}
    assert daily(client, a_key)[0]["revenue"] == {"USD": "12.50"}


def test_a_cursor_of_partner_a_is_refused_for_partner_b(client):
    a_id, a_key = new_partner()
    _, b_key = new_partner()
    for i in range(3):
        report(client, a_key, order(click(client, a_id), f"C-{i}"))
    page = client.http.get(f"/partner/v1/transactions?from={TODAY}&to={TODAY}&limit=2",
                           headers=bearer(a_key)).json_body
    assert page["next_cursor"]
    response = client.http.get(
        f"/partner/v1/transactions?from={TODAY}&to={TODAY}&limit=2&cursor={page['next_cursor']}",
        headers=bearer(b_key))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_cursor"


# --- listing ---------------------------------------------------------------------------------------


def test_listing_pages_with_an_opaque_cursor_and_filters_by_day(client):
    partner_id, key = new_partner()
    now = datetime.now(timezone.utc)
    yesterday = now - timedelta(days=1)
    for i in range(7):
        report(client, key, order(click(client, partner_id), f"P-{i}"))
    # A click made yesterday, with a sale yesterday: listed under yesterday only.
    old_click = referrals.record_click(partner_id, "v" * 24, now=yesterday - timedelta(hours=1))
    old_id = parse_qs(urlsplit(old_click).query)["eso_click"][0]
    assert report(client, key, order(old_id, "P-old",
                                     occurred_at=yesterday.isoformat())).status_code == 201

    def page_through():
        seen, cursor, pages = [], None, 0
        while True:
            url = f"/partner/v1/transactions?from={TODAY}&to={TODAY}&limit=3"
            response = client.http.get(url + (f"&cursor={cursor}" if cursor else ""),
                                       headers=bearer(key))
            assert response.status_code == 200, response.body
            seen += [t["order_id"] for t in response.json_body["transactions"]]
            cursor, pages = response.json_body["next_cursor"], pages + 1
            if not cursor:
                return sorted(seen), pages
            assert partner_id not in cursor and "P-" not in cursor  # opaque

    # The listing reads an index, which DynamoDB keeps eventually consistent: allow it a moment.
    deadline = time.monotonic() + 5
    seen, pages = page_through()
    while len(seen) < 7 and time.monotonic() < deadline:
        time.sleep(0.2)
        seen, pages = page_through()
    assert seen == [f"P-{i}" for i in range(7)] and pages >= 3
    day_before = yesterday.date().isoformat()
    only_yesterday = client.http.get(
        f"/partner/v1/transactions?from={day_before}&to={day_before}", headers=bearer(key))
    assert [t["order_id"] for t in only_yesterday.json_body["transactions"]] == ["P-old"]


@pytest.mark.parametrize("query, code", [
    ("from=2026-01-01", "invalid_date"), ("to=2026-01-01", "invalid_date"),
    ("from=2026-02-01&to=2026-01-01", "invalid_date"), ("from=2026-1-1&to=2026-01-02", "invalid_date"),
    ("from=20260101&to=20260102", "invalid_date"), ("from=2024-01-01&to=2026-01-01", "invalid_date"),
    ("from=2026-01-01&to=2026-01-02&limit=0", "invalid_limit"),
    ("from=2026-01-01&to=2026-01-02&limit=101", "invalid_limit"),
    ("from=2026-01-01&to=2026-01-02&limit=ten", "invalid_limit"),
    ("from=2026-01-01&to=2026-01-02&cursor=abc.def", "invalid_cursor"),
    ("from=2026-01-01&to=2026-01-02&partner_id=other", "invalid_request"),
])
def test_bad_listing_queries_are_400(client, query, code):
    _, key = new_partner()
    response = client.http.get(f"/partner/v1/transactions?{query}", headers=bearer(key))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == code


@pytest.mark.parametrize("path", ["/partner/v1/reports/daily", "/partner/v1/transactions"])
@pytest.mark.parametrize("query, field", [
    ("from=9999-12-31&to=9999-12-31", "from"),   # the last day a date can be: no day after it
    ("from=2999-12-31&to=3000-01-01", "to"), ("from=0001-01-01&to=0001-01-02", "from")])
def test_days_outside_the_years_reports_cover_are_400(client, path, query, field):
    _, key = new_partner()
    response = client.http.get(f"{path}?{query}", headers=bearer(key))
    assert response.status_code == 400
    assert response.json_body["error"]["field"] == field
    assert "2000-01-01 to 2999-12-31" in response.json_body["error"]["message"]


def test_a_tampered_cursor_is_refused(client):
    partner_id, key = new_partner()
    for i in range(3):
        report(client, key, order(click(client, partner_id), f"T-{i}"))
    cursor = client.http.get(f"/partner/v1/transactions?from={TODAY}&to={TODAY}&limit=1",
                             headers=bearer(key)).json_body["next_cursor"]
    payload, signature = cursor.split(".")
    for bad in (payload[:-2] + "AA." + signature, payload + "." + signature[::-1]):
        response = client.http.get(
            f"/partner/v1/transactions?from={TODAY}&to={TODAY}&limit=1&cursor={bad}",
            headers=bearer(key))
        assert response.status_code == 400
    other_range = client.http.get(
        f"/partner/v1/transactions?from=2020-01-01&to={TODAY}&limit=1&cursor={cursor}",
        headers=bearer(key))
    assert other_range.status_code == 400


# --- attribution window ------------------------------------------------------------------------------


def _click_at(partner_id, when):
    location = referrals.record_click(partner_id, "w" * 24, now=when)
    return parse_qs(urlsplit(location).query)["eso_click"][0]


def test_a_click_older_than_the_window_is_422(client):
    partner_id, key = new_partner()
    click_id = _click_at(partner_id, datetime.now(timezone.utc) - timedelta(days=31))
    response = report(client, key, order(click_id))
    assert response.status_code == 422
    assert response.json_body["error"]["code"] == "click_expired"
    assert stored_orders(partner_id) == []


def test_a_late_report_of_a_sale_inside_the_window_is_accepted(client):
    partner_id, key = new_partner()
    now = datetime.now(timezone.utc)
    click_id = _click_at(partner_id, now - timedelta(days=40))
    sold = now - timedelta(days=12)
    response = report(client, key, order(click_id, occurred_at=sold.isoformat()))
    assert response.status_code == 201


def test_a_sale_before_the_click_is_422_and_a_future_one_400(client):
    partner_id, key = new_partner()
    click_id = click(client, partner_id)
    before = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    response = report(client, key, order(click_id, occurred_at=before))
    assert response.status_code == 422
    assert response.json_body["error"]["code"] == "occurred_before_click"
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    response = report(client, key, order(click_id, occurred_at=future))
    assert response.status_code == 400
    assert stored_orders(partner_id) == []


def test_a_retry_after_the_click_expired_still_answers_200(client):
    partner_id, key = new_partner()
    now = datetime.now(timezone.utc)
    click_id = _click_at(partner_id, now - timedelta(days=29, hours=23))
    body = order(click_id)
    assert report(client, key, body).status_code == 201
    later = now + timedelta(days=20)
    txn, created = transactions.report_transaction(partner_id, transactions.Report(**body), now=later)
    assert created is False and txn.order_id == body["order_id"]


# --- reversals --------------------------------------------------------------------------------------


def test_reversal_is_idempotent_and_nets_out_of_the_report(client):
    partner_id, key = new_partner()
    kept = order(click(client, partner_id), "R-keep", "20.00")
    refunded = order(click(client, partner_id), "R-refund", "7.25")
    assert report(client, key, kept).status_code == 201
    assert report(client, key, refunded).status_code == 201
    assert daily(client, key)[0]["revenue"] == {"USD": "27.25"}

    first = post_json(client, "/partner/v1/transactions/R-refund/reverse",
                      {"reason": "customer refund"}, bearer(key))
    assert first.status_code == 200
    txn = first.json_body["transaction"]
    assert txn["status"] == "reversed" and txn["reversal_reason"] == "customer refund"
    again = post_json(client, "/partner/v1/transactions/R-refund/reverse",
                      {"reason": "sent twice"}, bearer(key))
    assert again.status_code == 200 and again.json_body == first.json_body

    [day] = daily(client, key)
    assert day["revenue"] == {"USD": "20.00"}
    today = date.today()
    assert sum(counters.daily_by_label("partner_reversals", today, today,
                                    dimension=partner_id)[today].values()) == 1
    # Deduplication by order id outlives the reversal: reporting it again changes nothing.
    replay = report(client, key, refunded)
    assert replay.status_code == 200 and replay.json_body["transaction"]["status"] == "reversed"
    assert daily(client, key)[0]["revenue"] == {"USD": "20.00"}


@pytest.mark.parametrize("order_id, body, status", [
    ("NOPE-1", {"reason": "refund"}, 404),
    ("bad%20id", {"reason": "refund"}, 400),
    ("R-x", {}, 400),
    ("R-x", {"reason": ""}, 400),
    ("R-x", {"reason": "r" * 201}, 400),
    ("R-x", {"reason": 5}, 400),
    ("R-x", {"reason": "refund", "amount": "1"}, 400),
])
def test_bad_reversals_are_4xx(client, order_id, body, status):
    _, key = new_partner()
    response = post_json(client, f"/partner/v1/transactions/{order_id}/reverse", body, bearer(key))
    assert response.status_code == status
    assert set(response.json_body["error"]) <= {"code", "message", "field"}
