"""Who is asking, without servers: the session of a request, the Origin check that refuses
other sites' state-changing requests, and the form token bound to the visitor cookie."""
import uuid

import pytest
from chalice.app import CaseInsensitiveMapping

from chalicelib import members
from chalicelib.members import consent, sessions
from chalicelib.members.consent import Provenance
from chalicelib.platform.crypto import sign
from chalicelib.platform.errors import AuthenticationError, ForbiddenError
from chalicelib.web import auth
from chalicelib.web.cookies import SESSION_COOKIE, VISITOR_COOKIE

VISITOR = "AbCdEfGhIjKlMnOpQrStUvWx"


class Request:
    """What the auth functions read of a Chalice request: its path and its headers, read
    whatever their case (as Chalice's own mapping does)."""

    def __init__(self, path="/", **headers):
        self.path = path
        self.headers = CaseInsensitiveMapping(
            {name.replace("_", "-"): value for name, value in headers.items()})


@pytest.fixture
def stage(monkeypatch):
    def use(name="dev", base_url="https://eso.example"):
        monkeypatch.setenv("ESO_STAGE", name)
        monkeypatch.setenv("ESO_BASE_URL", base_url)
    use()
    return use


@pytest.mark.parametrize("origin", [None, "https://eso.example", "HTTPS://ESO.EXAMPLE",
                                    "https://Eso.Example"])
def test_requests_without_an_origin_or_from_this_site_are_allowed(stage, origin):
    headers = {} if origin is None else {"origin": origin}
    assert auth.origin_allowed(Request(**headers)) is True


@pytest.mark.parametrize("origin", ["https://evil.example", "http://eso.example",
                                    "https://eso.example:8443", "https://eso.example.evil.example",
                                    "null", ""])
def test_requests_from_other_origins_are_refused(stage, origin):
    assert auth.origin_allowed(Request(origin=origin, host="eso.example")) is False


def test_the_site_s_origin_is_its_base_url_without_a_path(stage):
    stage(base_url="https://eso.example/app")
    assert auth.origin_allowed(Request(origin="https://eso.example")) is True


def test_on_the_local_stack_the_host_the_browser_used_is_this_site(stage):
    stage("local", "http://127.0.0.1:8000")
    assert auth.origin_allowed(Request(origin="http://localhost:8000", host="localhost:8000"))
    assert auth.origin_allowed(Request(origin="http://LOCALHOST:8000", host="localhost:8000"))
    assert auth.origin_allowed(Request(origin="http://localhost:8000", host="LocalHost:8000"))
    assert not auth.origin_allowed(Request(origin="http://localhost:9000", host="localhost:8000"))
    assert not auth.origin_allowed(Request(origin="https://localhost:8000", host="localhost:8000"))
    assert not auth.origin_allowed(Request(origin="http://localhost:8000"))
    assert not auth.origin_allowed(Request(origin="http://localhost:8000", host=""))
    assert not auth.origin_allowed(Request(origin="http://xxxx"))  # no host: no vouching


def test_elsewhere_the_host_header_does_not_vouch_for_an_origin(stage):
    assert not auth.origin_allowed(Request(origin="https://evil.example", host="evil.example"))


def test_the_origin_recorded_with_a_consent_is_the_request_s_or_the_site_s(stage):
    assert auth.request_origin(Request(origin="https://eso.example")) == "https://eso.example"
    assert auth.request_origin(Request()) == "https://eso.example"
    assert auth.provenance(Request(origin="https://o.example"), "preference_center", "/account") \
        == Provenance("preference_center", "/account", "https://o.example")
    assert auth.provenance(Request(), "registration", "/register") == \
        Provenance("registration", "/register", "https://eso.example")


def test_a_form_token_is_bound_to_the_visitor_cookie(moto_tables):
    request = Request(cookie=f"{VISITOR_COOKIE}={VISITOR}")
    token = auth.csrf_token(request)
    assert token == sign("csrf", VISITOR)
    auth.check_csrf_token(Request(cookie=f"{VISITOR_COOKIE}={VISITOR}"), {"csrf_token": token})


def test_a_new_visitor_s_form_token_names_the_cookie_it_is_given(moto_tables):
    request = Request()
    token = auth.csrf_token(request)
    assert request.eso_visitor_is_new and token == sign("csrf", request.eso_visitor_id)


@pytest.mark.parametrize("cookie, form", [
    (f"{VISITOR_COOKIE}={VISITOR}", {}),
    (f"{VISITOR_COOKIE}={VISITOR}", {"csrf_token": ""}),
    (f"{VISITOR_COOKIE}={VISITOR}", {"csrf_token": "forged"}),
    (f"{VISITOR_COOKIE}=BbCdEfGhIjKlMnOpQrStUvWx", "token of another visitor"),
    (None, "token of another visitor"),
    (f"{VISITOR_COOKIE}=short", "token of short"),
])
def test_a_form_without_the_visitor_s_own_token_is_refused(moto_tables, cookie, form, says):
    if form == "token of another visitor":
        form = {"csrf_token": sign("csrf", VISITOR)}
    elif form == "token of short":
        form = {"csrf_token": sign("csrf", "short")}
    request = Request(**({"cookie": cookie} if cookie else {}))
    with pytest.raises(ForbiddenError) as refused:
        auth.check_csrf_token(request, form)
    assert refused.value.code == "csrf"
    assert says(refused.value, "form has expired. Reload the page")


def test_the_session_is_read_from_its_cookie_once_per_request(moto_world):
    member_id = str(uuid.uuid4())
    value, _ = sessions.create(member_id)
    request = Request(cookie=f"{VISITOR_COOKIE}={VISITOR}; {SESSION_COOKIE}={value}")
    assert auth.session_cookie_value(request) == value
    session = auth.require_session(request)
    assert session.member_id == member_id
    sessions.revoke(value)  # a logout in the same request does not change who asked it
    assert auth.current_session(request) is session
    assert auth.current_session(Request(cookie=f"{SESSION_COOKIE}={value}")) is None


@pytest.mark.parametrize("cookie", [None, f"{VISITOR_COOKIE}={VISITOR}",
                                    f"{SESSION_COOKIE}=unknown-session-value"])
def test_a_request_without_a_live_session_must_sign_in_first(moto_world, cookie, says):
    request = Request(**({"cookie": cookie} if cookie else {}))
    assert auth.current_session(request) is None
    with pytest.raises(AuthenticationError) as refused:
        auth.require_session(request)
    assert refused.value.code == "not_authenticated"
    assert says(refused.value, "not logged in. Log in")
    assert auth.current_session(request) is None  # (answered from the request, not again)


@pytest.mark.parametrize("headers, sent", [
    ({"sec_gpc": "1"}, True), ({"Sec-GPC": "1"}, True), ({"SEC-GPC": " 1\t"}, True),
    ({}, False), ({"sec_gpc": ""}, False), ({"sec_gpc": "0"}, False),
    ({"sec_gpc": "true"}, False), ({"sec_gpc": "11"}, False), ({"dnt": "1"}, False)])
def test_global_privacy_control_is_the_sec_gpc_header_set_to_1(headers, sent):
    assert auth.gpc(Request(**headers)) is sent


def gpc_member() -> str:
    """A signed-up member who allowed partner promotions."""
    return members.register_confirmed(members.Registration(
        email=f"gpc-{uuid.uuid4().hex[:12]}@example.org", password="correct horse battery staple",
        consents={"offers": False, "partner_promotions": True}),
        Provenance("registration", "/register", "https://eso.example"))


def test_a_browser_sending_gpc_has_partner_promotions_withdrawn_once_per_session(moto_world):
    member_id = gpc_member()
    value, _ = sessions.create(member_id)
    cookie = f"{SESSION_COOKIE}={value}"
    moto_world.clock.advance(60)

    session = auth.current_session(Request("/account", cookie=cookie, sec_gpc="1",
                                           origin="https://eso.example"))

    assert session.member_id == member_id and session.gpc_seen is True
    assert sessions.lookup(value).gpc_seen is True  # the session remembers it
    assert not consent.is_granted(consent.get_current(member_id), "partner_promotions")
    withdrawn = consent.history(member_id)[-1]
    assert (withdrawn.purpose, withdrawn.granted, withdrawn.source, withdrawn.page,
            withdrawn.origin) == ("partner_promotions", False, "gpc", "/account",
                                  "https://eso.example")
    # The member allows them again: the same browser's next request does not undo that.
    consent.change(member_id, {"partner_promotions": True},
                   Provenance("preference_center", "/account"))
    events = len(consent.history(member_id))
    again = auth.require_session(Request("/promotions", cookie=cookie, sec_gpc="1"))
    assert again.member_id == member_id and again.gpc_seen is True
    assert len(consent.history(member_id)) == events
    assert consent.is_granted(consent.get_current(member_id), "partner_promotions")


def test_a_browser_without_gpc_keeps_the_member_s_choice(moto_world):
    member_id = gpc_member()
    value, _ = sessions.create(member_id)
    session = auth.current_session(Request("/account", cookie=f"{SESSION_COOKIE}={value}",
                                           sec_gpc="0"))
    assert session.member_id == member_id and session.gpc_seen is False
    assert sessions.lookup(value).gpc_seen is False
    assert consent.is_granted(consent.get_current(member_id), "partner_promotions")
    assert len(consent.history(member_id)) == 2
