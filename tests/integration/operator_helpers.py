"""Helpers for the operator console at /admin, driven through the in-process client."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

import pyotp

from chalicelib import operators
from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.web.cookies import ADMIN_COOKIE, VISITOR_COOKIE, new_token
from tests.integration.helpers import cookie_value, new_email

OPERATOR_PASSWORD = "quiet harbour lantern 2026 operator"


def origin() -> str:
    return get_settings().base_url


class Browser:
    """One browser at /admin: its visitor cookie, its operator cookie, and the Origin it sends."""

    def __init__(self, client, send_origin: str | None = "self"):
        self.client = client
        self.vid = new_token()
        self.admin = None
        self.origin = origin() if send_origin == "self" else send_origin

    def headers(self, extra: dict | None = None, content_type: str | None = None) -> dict:
        cookie = f"{VISITOR_COOKIE}={self.vid}" + (f"; {ADMIN_COOKIE}={self.admin}" if self.admin else "")
        headers = {"Cookie": cookie}
        if self.origin:
            headers["Origin"] = self.origin
        if content_type:
            headers["Content-Type"] = content_type
        return {**headers, **(extra or {})}

    def _keep(self, response):
        value, _ = cookie_value(response, ADMIN_COOKIE)
        if value is not None:
            self.admin = value or None
        return response

    def get(self, path: str, headers: dict | None = None):
        return self._keep(self.client.http.get(path, headers=self.headers(headers)))

    def csrf(self) -> str:
        from chalicelib.platform.crypto import sign

        return sign("csrf", self.vid)

    def form(self, path: str, fields: dict, headers: dict | None = None):
        body = urlencode({**fields, "csrf_token": self.csrf()}).encode()
        return self._keep(self.client.http.post(path, body=body, headers=self.headers(
            headers, "application/x-www-form-urlencoded")))

    def json(self, path: str, body: dict | None = None, headers: dict | None = None):
        return self._keep(self.client.http.post(path, body=json.dumps(body or {}).encode(),
                                                headers=self.headers(headers, "application/json")))


def token_of(setup_url: str) -> str:
    return urlsplit(setup_url).query.split("token=", 1)[1]


def code_now(secret: str, offset_steps: int = 0) -> str:
    step = int(clock.now().timestamp()) // 30 + offset_steps
    return pyotp.TOTP(secret).generate_otp(step)


def set_up_with_totp(client, email: str | None = None) -> dict:
    """A new operator set up with an authenticator app; returns its id, e-mail, TOTP secret,
    recovery codes and the browser it is signed in with."""
    email = email or new_email("operator")
    added = operators.add(email)
    browser = Browser(client)
    answer = browser.form("/admin/setup", {"token": token_of(added["setup_url"]),
                                          "password": OPERATOR_PASSWORD})
    assert answer.status_code == 303, answer.body
    page = browser.get("/admin/setup/second-factor").body.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    done = browser.form("/admin/setup/totp", {"code": code_now(secret)})
    assert done.status_code == 200, done.body
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.body.decode())
    return {"operator_id": added["operator_id"], "email": email, "secret": secret,
            "recovery_codes": codes, "browser": browser}


def sign_in_with_totp(client, operator: dict, code: str | None = None) -> Browser:
    browser = Browser(client)
    first = browser.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    assert first.status_code == 303 and first.headers["Location"] == "/admin/sign-in/second-factor", first.body
    second = browser.form("/admin/sign-in/totp", {"code": code or code_now(operator["secret"], 1)})
    assert second.status_code == 303 and second.headers["Location"] == "/admin", second.body
    return browser
