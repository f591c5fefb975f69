"""Faults injected between the app and its local servers (an HTTP fault proxy answering with
AWS's own throttling errors): short bursts are retried with backoff and succeed; persistent
ones are a clear 503 with Retry-After, and nothing is half-written."""

import pytest

from chalicelib.members.models import EmailClaim
from devstack.faultproxy import FaultProxy
from tests.integration.helpers import (
    PASSWORD,
    new_email,
    post_json,
    register,
    table_counts,
    verified_member,
)
from tests.integration.partner_helpers import click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def dynamodb_faults(stack, monkeypatch):
    with FaultProxy(stack["dynamodb"].url) as proxy:
        monkeypatch.setenv("ESO_DYNAMODB_PORT", str(proxy.port))
        yield proxy


@pytest.fixture
def ses_faults(stack, monkeypatch):
    with FaultProxy(stack["ses"].url) as proxy:
        monkeypatch.setenv("ESO_SES_PORT", str(proxy.port))
        yield proxy


def assert_unavailable(response):
    assert response.status_code == 503, response.body
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json_body["error"]["code"] == "unavailable"


def test_a_short_throttling_burst_is_retried_and_the_registration_succeeds(client, mailbox, dynamodb_faults):
    rule = dynamodb_faults.throttle_dynamodb("TransactWriteItems", times=2)
    email = new_email("burst")
    assert register(client, email).status_code == 202
    assert rule.hits == 2
    assert EmailClaim.get(email)
    assert mailbox.wait_for(email)


def test_persistent_throttling_is_a_503_and_writes_nothing_then_a_retry_succeeds(
        client, mailbox, stack, dynamodb_faults):
    dynamodb_faults.throttle_dynamodb("TransactWriteItems")
    email = new_email("storm")
    before = table_counts(stack)
    assert_unavailable(register(client, email))
    assert table_counts(stack, like=before) == before
    assert mailbox.to(email) == []
    dynamodb_faults.clear()
    assert register(client, email).status_code == 202
    assert EmailClaim.get(email)
    assert len(mailbox.wait_for(email)) == 1


def test_a_throttled_session_read_is_a_503_not_a_logout(client, mailbox, dynamodb_faults):
    _, headers = verified_member(client, mailbox)
    dynamodb_faults.throttle_dynamodb("GetItem")
    assert_unavailable(client.http.get("/api/v1/me", headers=headers))
    dynamodb_faults.clear()
    assert client.http.get("/api/v1/me", headers=headers).status_code == 200


def test_a_throttled_consent_change_leaves_state_and_history_unchanged(client, mailbox, dynamodb_faults):
    _, headers = verified_member(client, mailbox, offers=True)
    before = client.http.get("/api/v1/me/consents/history", headers=headers).json_body
    dynamodb_faults.throttle_dynamodb("TransactWriteItems")
    assert_unavailable(post_json(client, "/api/v1/me/consents", {"offers": False},
                                 headers=headers, method="PUT"))
    dynamodb_faults.clear()
    assert client.http.get("/api/v1/me/consents/history", headers=headers).json_body == before
    me = client.http.get("/api/v1/me", headers=headers).json_body["member"]
    assert me["consents"]["offers"]["granted"] is True


def test_a_throttled_partner_report_writes_nothing_and_its_retry_counts_once(client, dynamodb_faults):
    partner_id, key = new_partner("Faulty")
    click_id = click(client, partner_id)
    body = order(click_id)
    dynamodb_faults.throttle_dynamodb("TransactWriteItems")
    assert_unavailable(report(client, key, body))
    dynamodb_faults.clear()
    first = report(client, key, body)
    assert first.status_code == 201
    again = report(client, key, body)
    assert again.status_code == 200 and again.json_body == first.json_body


def test_ses_throttling_on_the_verification_mail_recovers_on_retry(client, mailbox, ses_faults):
    ses_faults.throttle_ses("/v2/email/outbound-emails")
    email = new_email("ses-storm")
    assert_unavailable(register(client, email))
    ses_faults.clear()
    # The account exists without its mail; registering again sends a fresh link, once.
    assert register(client, email).status_code == 202
    mails = mailbox.wait_for(email)
    assert len(mails) == 1 and "verify?token=" in mails[0]["body"]["text"]


def test_a_short_ses_throttling_burst_is_absorbed_by_retries(client, mailbox, ses_faults):
    rule = ses_faults.throttle_ses("/v2/email/outbound-emails", times=2)
    email = new_email("ses-burst")
    assert register(client, email).status_code == 202
    assert rule.hits == 2 and len(mailbox.wait_for(email)) == 1


def test_an_unreachable_database_is_a_503(client, monkeypatch):
    monkeypatch.setenv("ESO_DYNAMODB_PORT", "1")
    response = post_json(client, "/api/v1/session", {"email": new_email(), "password": PASSWORD})
    assert_unavailable(response)
