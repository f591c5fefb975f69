"""Requests at the edges: deep JSON, a database outage behind a page, an origin with another scheme."""

import pytest

from tests.integration.helpers import (
    post_json,
    verified_member,
)

pytestmark = pytest.mark.usefixtures("stack")


def test_deeply_nested_json_is_a_400(client):
    response = client.http.post("/api/v1/members", body=b"[" * 5000,
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json_body["error"]["code"] == "invalid_json"


def test_pages_answer_503_with_retry_after_when_the_database_is_down(client, mailbox, monkeypatch):
    _, headers = verified_member(client, mailbox)
    monkeypatch.setenv("ESO_DYNAMODB_PORT", "1")
    for path in ("/", "/members", "/account", "/privacy"):
        response = client.http.get(path, headers=headers)
        assert response.status_code == 503, path
        assert response.headers["Content-Type"].startswith("text/html")
        assert int(response.headers["Retry-After"]) >= 1


def test_an_origin_with_another_scheme_is_refused(client, mailbox):
    _, headers = verified_member(client, mailbox)
    import os
    origin = f"https://127.0.0.1:{os.environ['ESO_APP_PORT']}"
    response = post_json(client, "/api/v1/me/consents", {"offers": False},
                         headers={**headers, "Origin": origin}, method="PUT")
    assert response.status_code == 403
