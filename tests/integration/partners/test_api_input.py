"""The partner API refuses bad keys and bad input with a 4xx and writes nothing."""
import json
from datetime import date

import pytest

from chalicelib import partners
from chalicelib.partners.models import PartnerTransaction
from tests.integration.helpers import post_json
from tests.integration.partner_helpers import bearer, click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")

ROUTES = [("POST", "/partner/v1/transactions"),
          ("GET", "/partner/v1/transactions?from=2026-01-01&to=2026-01-02"),
          ("POST", "/partner/v1/transactions/X-1/reverse"),
          ("GET", "/partner/v1/reports/daily?from=2026-01-01&to=2026-01-02")]


def nothing_written(partner_id):
    return list(PartnerTransaction.query(partner_id, consistent_read=True)) == []


def call(client, method, path, headers, body=None):
    body = body if body is not None else {"reason": "x"} if path.endswith("reverse") else {}
    data = json.dumps(body).encode() if method == "POST" else None
    return client.http.request(method, path, body=data,
                               headers={"Content-Type": "application/json", **headers})


def assert_401(response):
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "invalid_api_key"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def partner(client):
    partner_id, key = new_partner()
    return partner_id, key, click(client, partner_id)


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-key",
    "Bearer eso_pk_0123456789abcdef_" + "A" * 43, "Bearer eso_pk_" + "z" * 300,
    "bearer eso_pk_0123456789abcdef_" + "é" * 43,
])
def test_missing_or_malformed_keys_are_401(client, partner, method, path, authorization):
    partner_id, _, click_id = partner
    headers = {"Authorization": authorization} if authorization is not None else {}
    body = order(click_id) if path == "/partner/v1/transactions" else None
    assert_401(call(client, method, path, headers, body))
    assert nothing_written(partner_id)


def test_a_right_key_id_with_a_wrong_secret_is_401(client, partner):
    partner_id, key, click_id = partner
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert_401(report(client, forged, order(click_id)))
    assert nothing_written(partner_id)


def test_a_rotated_key_stops_working_at_once_and_the_new_one_works(client, partner):
    partner_id, old_key, click_id = partner
    assert report(client, old_key, order(click_id, "ROT-1")).status_code == 201
    new_key = partners.rotate_key(partner_id).api_key
    assert new_key != old_key
    for method, path in ROUTES:
        assert_401(call(client, method, path, bearer(old_key)))
    assert report(client, new_key, order(click_id, "ROT-2")).status_code == 201
    assert sorted(t.order_id for t in PartnerTransaction.query(partner_id)) == ["ROT-1", "ROT-2"]


def test_a_disabled_partner_key_stops_working_at_once(client, partner):
    partner_id, key, click_id = partner
    partners.disable(partner_id)
    for method, path in ROUTES:
        assert_401(call(client, method, path, bearer(key)))
    assert nothing_written(partner_id)


def test_partner_routes_take_no_session_cookie_instead_of_a_key(client, partner):
    _, _, click_id = partner
    response = client.http.request("POST", "/partner/v1/transactions",
                                   body=json.dumps(order(click_id)).encode(),
                                   headers={"Content-Type": "application/json",
                                            "Cookie": "__Host-eso_session=" + "a" * 43})
    assert_401(response)


GOOD = {"order_id": "ORDER-1", "amount": "12.50", "currency": "USD"}


@pytest.mark.parametrize("change, code", [
    # missing fields
    ({"click_id": None}, "invalid_request"), ({"order_id": None}, "invalid_request"),
    ({"amount": None}, "invalid_request"), ({"currency": None}, "invalid_request"),
    # wrong types
    ({"amount": 12.5}, "invalid_request"), ({"amount": 12}, "invalid_request"),
    ({"currency": 840}, "invalid_request"), ({"order_id": 1001}, "invalid_request"),
    ({"click_id": ["x"]}, "invalid_request"), ({"occurred_at": 1767225600}, "invalid_request"),
    ({"amount": None, "extra": 1}, "invalid_request"), ({"member_email": "a@b.c"}, "invalid_request"),
    # amounts
    ({"amount": "-12.50"}, "invalid_amount"), ({"amount": "+12.50"}, "invalid_amount"),
    ({"amount": "0"}, "invalid_amount"), ({"amount": "0.00"}, "invalid_amount"),
    ({"amount": "12.505"}, "invalid_amount"), ({"amount": "1e3"}, "invalid_amount"),
    ({"amount": "12,50"}, "invalid_amount"), ({"amount": " 12.50"}, "invalid_amount"),
    ({"amount": "012.50"}, "invalid_amount"), ({"amount": "12."}, "invalid_amount"),
    ({"amount": ".5"}, "invalid_amount"), ({"amount": "NaN"}, "invalid_amount"),
    ({"amount": "Infinity"}, "invalid_amount"), ({"amount": "1000000000000"}, "invalid_amount"),
    ({"amount": "9" * 31}, "invalid_amount"), ({"amount": "9" * 40}, "invalid_request"),
    ({"amount": "1200.5", "currency": "JPY"}, "invalid_amount"),
    ({"amount": ""}, "invalid_request"),
    # currencies
    ({"currency": "usd"}, "invalid_request"), ({"currency": "US"}, "invalid_request"),
    ({"currency": "XXX"}, "invalid_currency"), ({"currency": "ABC"}, "invalid_currency"),
    ({"currency": "USDT"}, "invalid_request"),
    # order ids
    ({"order_id": ""}, "invalid_request"), ({"order_id": "o" * 65}, "invalid_request"),
    ({"order_id": "a/b"}, "invalid_order_id"), ({"order_id": "a b"}, "invalid_order_id"),
    ({"order_id": "-lead"}, "invalid_order_id"), ({"order_id": "ord\n1"}, "invalid_text"),
    ({"order_id": "ordér"}, "invalid_order_id"),
    # click ids
    ({"click_id": ""}, "invalid_request"), ({"click_id": "short"}, "invalid_click_id"),
    ({"click_id": "c" * 65}, "invalid_request"), ({"click_id": "bad click id here!!"}, "invalid_click_id"),
    # occurred_at
    ({"occurred_at": "yesterday"}, "invalid_occurred_at"),
    ({"occurred_at": "2026-01-01"}, "invalid_occurred_at"),
    ({"occurred_at": "2026-01-01T10:00:00"}, "invalid_occurred_at"),  # no time zone
    ({"occurred_at": "2026-13-01T10:00:00Z"}, "invalid_occurred_at"),
    ({"occurred_at": "9999-12-31T23:59:59Z"}, "invalid_occurred_at"),
    ({"occurred_at": "2026-01-01T10:00:00Z" + " " * 40}, "invalid_request"),
])
def test_bad_transaction_fields_are_400_and_write_nothing(client, partner, change, code):
    partner_id, key, click_id = partner
    body = {"click_id": click_id, **GOOD, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = report(client, key, body)
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == code
    assert nothing_written(partner_id)


@pytest.mark.parametrize("body, headers, status", [
    (b"not json", {"Content-Type": "application/json"}, 400),
    (b"[1, 2]", {"Content-Type": "application/json"}, 400),
    (b'"a string"', {"Content-Type": "application/json"}, 400),
    (b"null", {"Content-Type": "application/json"}, 400),
    (b"order_id=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    (b"{}", {}, 415),
    (b'{"order_id": "' + b"x" * 20000 + b'"}', {"Content-Type": "application/json"}, 413),
])
def test_bad_bodies_are_4xx_with_the_error_model(client, partner, body, headers, status):
    partner_id, key, _ = partner
    response = client.http.request("POST", "/partner/v1/transactions", body=body,
                                   headers={**bearer(key), **headers})
    assert response.status_code == status
    assert set(response.json_body["error"]) == {"code", "message"}
    assert nothing_written(partner_id)


def test_a_cross_origin_partner_call_is_not_refused_as_csrf(client, partner):
    _, key, click_id = partner
    response = post_json(client, "/partner/v1/transactions", order(click_id),
                         {**bearer(key), "Origin": "https://partner-server.example"})
    assert response.status_code == 201


def test_partner_responses_never_name_a_member_or_visitor(client, mailbox, partner):
    from chalicelib.partners.models import ReferralClick
    from chalicelib.web.cookies import VISITOR_COOKIE
    from tests.integration.helpers import verified_member

    partner_id, key, _ = partner
    email, member = verified_member(client, mailbox)
    vid = "V" * 24
    click_id = click(client, partner_id, {"Cookie": f"{member['Cookie']}; {VISITOR_COOKIE}={vid}"})
    member_id = ReferralClick.get(click_id).member_id
    assert member_id
    bodies = [report(client, key, order(click_id, "PRIV-1")).body,
              report(client, key, order(click_id, "PRIV-1")).body]
    today = date.today().isoformat()
    for method, path in ROUTES[1:]:
        path = path.replace("2026-01-01", today).replace("2026-01-02", today)
        path = path.replace("X-1", "PRIV-1")
        bodies.append(call(client, method, path, bearer(key)).body)
    for body in bodies:
        text = body.decode()
        assert member_id not in text and email not in text and vid not in text
        assert "member" not in text and "visitor" not in text
