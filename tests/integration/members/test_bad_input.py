"""Bad input on every member endpoint: a 4xx in the error model, and nothing written."""
import json

import pytest

from chalicelib.web import members_api
from tests.integration.helpers import PASSWORD, new_email, table_counts, verified_member

ENDPOINTS = [
    ("POST", "/api/v1/members", members_api.REGISTER,
     {"email": "x@example.org", "password": PASSWORD, "consents": {"offers": True, "partner_promotions": False}}),
    ("POST", "/api/v1/members/verify", members_api.VERIFY, {"token": "t" * 43}),
    ("POST", "/api/v1/session", members_api.LOGIN, {"email": "x@example.org", "password": PASSWORD}),
    ("PUT", "/api/v1/me/consents", members_api.CONSENTS, {"offers": True}),
    ("DELETE", "/api/v1/me", members_api.DELETE_ME, {"password": PASSWORD}),
    ("POST", "/api/v1/password-reset", members_api.RESET, {"email": "x@example.org"}),
    ("POST", "/api/v1/password-reset/confirm", members_api.RESET_CONFIRM,
     {"token": "t" * 43, "password": PASSWORD}),
    ("POST", "/api/v1/contact", members_api.CONTACT,
     {"email": "x@example.org", "topic": "privacy", "message": "hi"}),
]


def _wrong_value(spec):
    kinds = spec.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return 12345 if "string" in kinds else "not-a-" + kinds[0]


def cases():
    for method, path, schema, valid in ENDPOINTS:
        yield method, path, "not json", b"{oops", "application/json"
        yield method, path, "array", b"[]", "application/json"
        yield method, path, "wrong media type", json.dumps(valid).encode(), "text/plain"
        yield method, path, "form media type", b"a=b", "application/x-www-form-urlencoded"
        yield method, path, "oversized", json.dumps({**valid, "x": "y" * 20000}).encode(), "application/json"
        yield method, path, "unknown field", json.dumps({**valid, "is_admin": True}).encode(), "application/json"
        for field in schema.get("required", []):
            body = {k: v for k, v in valid.items() if k != field}
            yield method, path, f"missing {field}", json.dumps(body).encode(), "application/json"
        for field, spec in schema["properties"].items():
            if field in valid and "type" in spec:
                body = {**valid, field: _wrong_value(spec)}
                yield method, path, f"wrong type {field}", json.dumps(body).encode(), "application/json"


@pytest.fixture(scope="module")
def session_headers(stack, mailbox):
    from chalice.test import Client

    from app import app
    from tests.conftest import ROOT

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        _, headers = verified_member(client, mailbox)
    return headers


@pytest.mark.parametrize("method, path, case, body, content_type",
                         list(cases()), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_bad_bodies_are_refused_and_write_nothing(stack, client, session_headers, method, path,
                                                  case, body, content_type):
    before = table_counts(stack)
    response = client.http.request(method, path, body=body,
                                   headers={"Content-Type": content_type, **session_headers})
    assert 400 <= response.status_code < 500, (case, response.status_code, response.body)
    error = json.loads(response.body)["error"]
    assert set(error) <= {"code", "message", "field"} and error["message"]
    assert table_counts(stack, like=before) == before


@pytest.mark.parametrize("body, code", [
    ({"email": "not-an-address", "password": PASSWORD, "consents": {"offers": True, "partner_promotions": True}},
     "invalid_email"),
    ({"email": "a@", "password": PASSWORD, "consents": {"offers": True, "partner_promotions": True}},
     "invalid_email"),
    ({"email": "short@example.org", "password": "short", "consents": {"offers": True, "partner_promotions": True}},
     "weak_password"),
    ({"email": "same@example.org", "password": "same@example.org",
      "consents": {"offers": True, "partner_promotions": True}}, "weak_password"),
    ({"email": "name@example.org", "password": PASSWORD, "display_name": "n" * 81,
      "consents": {"offers": True, "partner_promotions": True}}, "invalid_request"),
    ({"email": "x" * 300 + "@example.org", "password": PASSWORD,
      "consents": {"offers": True, "partner_promotions": True}}, "invalid_email"),
    ({"email": "x" * 400 + "@example.org", "password": PASSWORD,
      "consents": {"offers": True, "partner_promotions": True}}, "invalid_request"),
])
def test_registration_rules(stack, client, body, code):
    before = table_counts(stack)
    response = client.http.post("/api/v1/members", body=json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == code
    assert table_counts(stack, like=before) == before


def test_endpoints_for_members_refuse_visitors(stack, client):
    for method, path in (("GET", "/api/v1/me"), ("PUT", "/api/v1/me/consents"),
                         ("GET", "/api/v1/me/consents/history"), ("GET", "/api/v1/me/export"),
                         ("DELETE", "/api/v1/me"), ("GET", "/api/v1/offers")):
        response = client.http.request(method, path, body=b'{"offers": true}',
                                       headers={"Content-Type": "application/json",
                                                "Cookie": "__Host-eso_session=forged-value-123"})
        assert response.status_code == 401
        assert response.json_body["error"]["code"] == "not_authenticated"


def test_tokens_of_the_wrong_kind_are_refused(stack, client, mailbox):
    email = new_email()
    client.http.post("/api/v1/members", body=json.dumps({
        "email": email, "password": PASSWORD,
        "consents": {"offers": True, "partner_promotions": True}}).encode(),
        headers={"Content-Type": "application/json"})
    from tests.integration.helpers import token_from
    verify_token = token_from(mailbox.wait_for(email)[0], "/verify")
    response = client.http.post("/api/v1/password-reset/confirm", body=json.dumps(
        {"token": verify_token, "password": "new password 1234"}).encode(),
        headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json_body["error"]["code"] == "invalid_token"
