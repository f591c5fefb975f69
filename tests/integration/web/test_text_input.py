"""Text that is not text (lone surrogates, invalid UTF-8, NULs, control characters) is a 400
``invalid_text`` naming the field, before anything is hashed or stored; and any text that is
accepted can be shown again on every page, e-mail and export that holds it."""
import json
import os
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.members.models import EmailClaim
from chalicelib.platform.ratelimit import RateLimit
from chalicelib.web import openapi
from tests.integration.helpers import (
    PASSWORD,
    cookie_value,
    login,
    new_email,
    post_json,
    token_from,
    verified_member,
)
from tests.integration.partner_helpers import bearer, new_partner

pytestmark = pytest.mark.usefixtures("stack")

# Bounded in `make test`; `make fuzz` runs many more.
EXAMPLES = int(os.environ.get("ESO_FUZZ_EXAMPLES", "0")) or None
LONE = "\ud800"
CONSENTS = {"offers": True, "partner_promotions": False}


def raw_json(client, method, path, body, headers=None):
    """``body`` as JSON text with lone surrogates as \\u escapes, as any JSON encoder sends them."""
    return client.http.request(method, path, body=json.dumps(body).encode("ascii"),
                               headers={"Content-Type": "application/json", **(headers or {})})


def assert_invalid_text(response, field):
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "invalid_text"
    assert response.json_body["error"]["field"] == field


@pytest.fixture(scope="module")
def member(stack, mailbox):
    from chalice.test import Client

    from app import app
    from tests.conftest import ROOT

    with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
        email, headers = verified_member(client, mailbox)
    return email, headers


@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/api/v1/members", {"email": "lone@example.org", "password": "long enough " + LONE,
                                 "consents": CONSENTS}, "password"),
    ("POST", "/api/v1/session", {"email": "lone@example.org", "password": PASSWORD + LONE},
     "password"),
    ("POST", "/api/v1/members/verify", {"token": "t" * 40 + LONE, "password": PASSWORD}, "token"),
    ("POST", "/api/v1/password-reset/confirm", {"token": "t" * 40 + LONE, "password": PASSWORD},
     "token"),
    ("POST", "/api/v1/members", {"email": "lone@example.org", "password": PASSWORD,
                                 "display_name": "Pat " + LONE, "consents": CONSENTS},
     "display_name"),
    ("POST", "/api/v1/members", {"email": "nul\x00@example.org", "password": PASSWORD,
                                 "consents": CONSENTS}, "email"),
    ("POST", "/api/v1/members", {"email": "tab@example.org", "password": PASSWORD,
                                 "display_name": "Pat\r\nBcc: x@example.org",
                                 "consents": CONSENTS}, "display_name"),
    ("POST", "/api/v1/contact", {"email": "a@example.org", "topic": "general",
                                 "message": "fine\nbut \x1b[31m escape"}, "message"),
])
def test_lone_surrogates_and_control_characters_are_a_400_naming_the_field(
        client, method, path, body, field):
    response = raw_json(client, method, path, body)
    assert_invalid_text(response, field)
    with pytest.raises(EmailClaim.DoesNotExist):
        EmailClaim.get(body.get("email", "none@example.org"))


def test_a_lone_surrogate_in_the_password_of_account_deletion_is_a_400(client, member):
    _, headers = member
    response = raw_json(client, "DELETE", "/api/v1/me", {"password": LONE * 12}, headers)
    assert_invalid_text(response, "password")
    assert client.http.get("/api/v1/me", headers=headers).status_code == 200  # still there


def test_line_breaks_are_text_where_a_message_may_have_them(client, member):
    partner_id, _ = new_partner("Lines", contact_email=new_email("lines-partner"))
    response = raw_json(client, "POST", f"/api/v1/partners/{partner_id}/contact",
                        {"message": "line one\r\n\tline two"}, member[1])
    assert response.status_code == 202, response.body


def form_post(client, path, fields: str):
    page = client.http.get(path)
    vid, _ = cookie_value(page, "__Host-eso_vid")
    csrf = page.body.decode().split('name="csrf_token" value="')[1].split('"')[0]
    return client.http.post(path, body=f"csrf_token={csrf}&{fields}".encode("ascii"), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"__Host-eso_vid={vid}"})


@pytest.mark.parametrize("fields", [
    "email=x%40example.org&password=long+enough+pw&display_name=%ED%A0%80",   # a surrogate, UTF-8
    "email=x%40example.org&password=long+enough+pw&display_name=%FF%FE",      # not UTF-8
    "email=x%40example.org&password=long+enough+pw%00&display_name=Pat",      # a NUL
])
def test_forms_refuse_what_is_not_text(client, fields):
    response = form_post(client, "/register", fields + "&offers=on")
    assert response.status_code == 400
    assert "text" in response.body.decode() or "control" in response.body.decode()
    with pytest.raises(EmailClaim.DoesNotExist):
        EmailClaim.get("x@example.org")


# --- properties ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=12)


def _operations() -> list:
    found = []
    for path, methods in openapi.document()["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody")
            if body:
                found.append((method.upper(), path,
                              body["content"]["application/json"]["schema"]))
    return sorted(found, key=lambda op: (op[1], op[0]))


OPERATIONS = _operations()


def shaped(schema: dict):
    """Objects with the schema's own field names, each holding any JSON value or any text."""
    fields = list((schema.get("properties") or {}).keys())
    return st.fixed_dictionaries({}, optional={
        name: st.text() | st.text(alphabet=st.characters(codec=None)) | JSON_VALUES
        for name in fields})


def bodies(schema: dict):
    return shaped(schema) | JSON_VALUES


@pytest.fixture(scope="module")
def credentials(member):
    partner_id, key = new_partner("Property partner", contact_email="p@shop.example")
    return {"member": member[1], "partner": bearer(key), "partner_id": partner_id}


@pytest.fixture
def counters_left_as_found():
    """The generated requests may use up the in-process client's allowance of contact
    messages; later tests start from what was there before."""
    before = {item.key for item in RateLimit.scan(consistent_read=True)}
    yield
    for item in RateLimit.scan(consistent_read=True):
        if item.key not in before and item.key.startswith("contact:"):
            item.delete()


def test_every_json_route_answers_any_json_with_a_2xx_or_a_4xx(client, credentials,
                                                              counters_left_as_found):
    @settings(max_examples=EXAMPLES or 150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(operation=st.sampled_from(OPERATIONS), data=st.data())
    def run(operation, data):
        method, path, schema = operation
        body = data.draw(bodies(schema))
        url = path.replace("{partner_id}", credentials["partner_id"]).replace(
            "{order_id}", "no-such-order")
        headers = {**credentials["member"], **credentials["partner"],
                   "X-Forwarded-For": "198.51.100.9"}
        if path == "/api/v1/me" and method == "DELETE":
            headers.pop("Cookie")  # keep the member: erasure is exercised elsewhere
        response = raw_json(client, method, url, body, headers)
        assert response.status_code < 500, (method, url, body, response.body)
        if response.status_code >= 400:
            error = json.loads(response.body)["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str)
            assert set(error) <= {"code", "message", "field"}

    run()


def test_any_accepted_display_name_renders_on_the_account_page_in_mail_and_in_the_export(
        client, mailbox):
    partner_email = new_email("names-partner")
    partner_id, _ = new_partner("Names", contact_email=partner_email)

    @settings(max_examples=EXAMPLES or 12, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(name=st.text(max_size=90) | st.text(alphabet=st.characters(codec=None), max_size=20))
    def run(name):
        email = new_email("names")
        response = raw_json(client, "POST", "/api/v1/members", {
            "email": email, "password": PASSWORD, "display_name": name, "consents": CONSENTS})
        if response.status_code != 202:
            assert response.status_code == 400
            assert response.json_body["error"]["field"] == "display_name"
            with pytest.raises(EmailClaim.DoesNotExist):
                EmailClaim.get(email)
            return
        token = token_from(mailbox.wait_for(email)[-1], "/verify")
        assert post_json(client, "/api/v1/members/verify",
                         {"token": token, "password": PASSWORD}).status_code == 200
        headers = login(client, email)
        stored = client.http.get("/api/v1/me", headers=headers).json_body["member"]["display_name"]
        account = client.http.get("/account", headers=headers)
        assert account.status_code == 200
        account.body.decode("utf-8")
        export = client.http.get("/api/v1/me/export", headers=headers)
        assert export.status_code == 200
        assert json.loads(export.body)["member"]["display_name"] == stored
        sent = raw_json(client, "POST", f"/api/v1/partners/{partner_id}/contact",
                        {"message": "Hello"}, headers)
        assert sent.status_code == 202, sent.body
        mail = [m for m in mailbox.wait_for(partner_email, count=1, timeout=5)
                if email in m["body"]["text"]]
        assert mail and (stored or "") in mail[0]["body"]["text"]

    run()


def test_query_strings_that_are_not_text_are_harmless(client):
    token = urllib.parse.quote("\udcff".encode("utf-8", "surrogatepass"))
    for path in (f"/verify?token={token}", f"/unsubscribe?token={token}",
                 f"/reset-password?token={token}", "/api/v1/ads/next?slot=%ED%A0%80"):
        assert client.http.get(path).status_code < 500
