"""schemathesis against ``chalice local`` on the local stack: no 5xx, every answer as documented.

Every operation of the OpenAPI document gets generated requests, valid and invalid (bounded:
``MAX_EXAMPLES`` each), with a signed-in member's cookie and a partner's key so that the
authenticated operations are exercised too; every response is checked for status code,
content type and JSON shape against the document, and for auth that is really enforced.
"""
from __future__ import annotations

import json
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chalicelib.web import openapi
from chalicelib.web.cookies import SESSION_COOKIE
from tests.integration.helpers import PASSWORD, new_email, token_from

# Bounded in `make test`; `make fuzz` sets ESO_FUZZ_EXAMPLES for a longer run.
MAX_EXAMPLES = int(os.environ.get("ESO_FUZZ_EXAMPLES", "0")) or 25

# Methods chalice local dispatches to the app; Python's http.server answers any other (TRACE,
# QUERY, ...) itself with 501 before the app sees it (API Gateway answers those itself too).
DISPATCHED = {"GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS"}
# Schema-valid is not the same as acceptable: the schemas bound types and sizes, the services
# check meaning (an e-mail address, a live token, a known click), so valid-looking data may be
# a 400/422. Every other check runs.
EXCLUDED_CHECKS = [positive_data_acceptance]

schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi.document())))
# Invalid data may also be refused for its size before it is read (413: over the body limit).
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses, "413"]


# Operations that check the member's password and count a wrong one like a failed sign-in.
CHECK_THE_PASSWORD = {("PUT", "/api/v1/me/password"), ("POST", "/api/v1/me/email"),
                      ("DELETE", "/api/v1/me")}


class Credentials:
    """A verified member's session (renewed after a generated logout) and a partner's key."""

    def __init__(self, base_url: str, mailbox):
        from tests.integration.partner_helpers import new_partner

        self.base_url, self.mailbox = base_url, mailbox
        self.email = self._new_member()
        self.partner_id, self.api_key = new_partner("Fuzz partner")
        self._cookie = None

    def _new_member(self) -> str:
        email = new_email("schemathesis")
        http = requests.Session()
        body = {"email": email, "password": PASSWORD, "display_name": "Fuzz Target",
                "consents": {"offers": True, "partner_promotions": True}}
        assert http.post(f"{self.base_url}/api/v1/members", json=body).status_code == 202
        token = token_from(self.mailbox.wait_for(email)[-1], "/verify")
        assert http.post(f"{self.base_url}/api/v1/members/verify",
                         json={"token": token, "password": PASSWORD}).status_code == 200
        return email

    def cookie(self) -> str:
        if self._cookie is None:
            response = requests.post(f"{self.base_url}/api/v1/session",
                                     json={"email": self.email, "password": PASSWORD})
            if response.status_code == 429:
                # Generated wrong passwords (deletion, password change, adding a passkey,
                # two-step sign-in) count as failed logins of the address, as they should:
                # once they lock it, carry on as another member.
                self.email = self._new_member()
                response = requests.post(f"{self.base_url}/api/v1/session",
                                         json={"email": self.email, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self._cookie = response.cookies[SESSION_COOKIE]
        return self._cookie

    def apply(self, case) -> None:
        """Real credentials where the case carries the security scheme's parameter; a case
        generated without it (schemathesis's missing-auth variants) stays without."""
        if case.cookies and SESSION_COOKIE in case.cookies:
            case.cookies[SESSION_COOKIE] = self.cookie()
        if case.headers and "Authorization" in case.headers:
            case.headers["Authorization"] = f"Bearer {self.api_key}"

    def after(self, case, response) -> None:
        if case.method.upper() == "DELETE" and case.path == "/api/v1/session":
            self._cookie = None  # the generated logout really ended it: sign in again
        if (case.method.upper(), case.path) in CHECK_THE_PASSWORD and response.status_code == 401:
            # A generated wrong password counts against the address's sign-in limit, as it
            # should; the fuzzer's member must still be able to sign in for the next cases.
            from chalicelib.members.accounts import LOGIN_WINDOW_S, _attempt_keys
            from chalicelib.platform import ratelimit

            for key in _attempt_keys(self.email, "127.0.0.1"):
                ratelimit.forget(key, LOGIN_WINDOW_S)


@pytest.fixture(scope="module")
def credentials(app_server, mailbox):
    return Credentials(app_server.url, mailbox)


@pytest.fixture(scope="module")
def http_session():
    with requests.Session() as session:
        yield session


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case, app_server, credentials, http_session):
    http_session.cookies.clear()
    if case.method.upper() not in DISPATCHED:
        return
    credentials.apply(case)
    response = case.call(base_url=app_server.url, session=http_session, timeout=15)
    credentials.after(case, response)
    assert response.status_code < 500, (case.method, case.path, response.text)
    case.validate_response(response, excluded_checks=EXCLUDED_CHECKS)
