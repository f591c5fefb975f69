"""Marketing partners in the console (/admin/partners) through the in-process app and DynamoDB
Local: adding a partner (its key shown once, only its SHA-256 kept), editing it, disabling and
enabling it, a new key (the old one 401 at once), all behind the second factor where they stop
a partner or hand out a key; the partner's figures under the K rule; the audit log; every POST
needs its form token and this site's Origin."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone

import pytest

from app import app
from chalicelib import partners
from chalicelib.platform import clock
from chalicelib.platform.crypto import sha256_hex
from tests.integration.console_helpers import actions_about, audit_about, posts_under
from tests.integration.operator_helpers import Browser, code_now, set_up_with_totp
from tests.integration.partner_helpers import bearer, click, new_partner

pytestmark = pytest.mark.usefixtures("stack")

KEY = re.compile(r'<code id="api-key" class="any-break">(eso_pk_[A-Za-z0-9_-]+)</code>')


@pytest.fixture
def fake_clock():
    with clock.use(clock.FakeClock(datetime.now(timezone.utc).replace(microsecond=0))) as fake:
        yield fake


@pytest.fixture
def operator(client, fake_clock):
    return set_up_with_totp(client)


def partner_form(**fields) -> dict:
    tag = uuid.uuid4().hex[:8]
    return {"name": f"Paper Direct {tag}", "landing_url": f"https://paper.example/{tag}",
            "privacy_policy_url": "https://paper.example/privacy",
            "contact_email": f"sales-{tag}@paper.example", "description": "Paper by the box",
            **fields}


def key_on(answer) -> str:
    assert answer.status_code == 200, answer.body[:3000]
    assert answer.headers["Cache-Control"] == "no-store"
    return KEY.search(answer.body.decode()).group(1)


def key_works(client, key: str) -> bool:
    today = date.today().isoformat()
    answer = client.http.get(f"/partner/v1/transactions?from={today}&to={today}",
                             headers=bearer(key))
    assert answer.status_code in (200, 401), answer.body
    return answer.status_code == 200


def added(client, browser: Browser, **fields) -> tuple:
    answer = browser.form("/admin/partners", partner_form(**fields))
    key = key_on(answer)
    partner_id = re.search(r'href="/admin/partners/([^"]+)">The partner', answer.body.decode()).group(1)
    return partner_id, key


def test_adding_a_partner_shows_its_key_once_and_keeps_only_its_hash(client, operator):
    from chalicelib.partners.models import PartnerKey

    browser = operator["browser"]
    partner_id, key = added(client, browser, name="Paper Direct")
    assert key_works(client, key)
    partner = partners.get(partner_id)
    assert (partner.name, partner.status, partner.description) == ("Paper Direct", "active",
                                                                   "Paper by the box")
    stored = PartnerKey.get(partner.key_id)
    assert stored.secret_hash == sha256_hex(key[len("eso_pk_") + 16 + 1:])
    assert key not in str(stored.attribute_values) and key not in str(partner.attribute_values)
    for path in ("/admin/partners", f"/admin/partners/{partner_id}", "/admin/audit"):
        assert key not in browser.get(path).body.decode(), path
    [entry] = audit_about(partner_id)
    assert entry["action"] == "partner_created" and key not in str(entry)
    listed = browser.get("/admin/partners").body.decode()
    assert f'<tr data-partner-id="{partner_id}">' in listed


def test_a_partner_with_a_bad_address_is_refused_and_nothing_is_added(client, operator):
    browser = operator["browser"]
    for field, value in (("landing_url", "http://paper.example/"), ("landing_url", "javascript:x"),
                         ("privacy_policy_url", "paper.example/privacy"),
                         ("contact_email", "sales@"), ("name", "  ")):
        form = partner_form(**{field: value})
        refused = browser.form("/admin/partners", form)
        assert refused.status_code == 400, (field, value)
        assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"',
                         refused.body.decode()), (field, value)
        assert form["name"].strip() == "" or form["name"] not in [p.name for p in partners.list_all()]


def test_editing_a_partner(client, operator):
    browser = operator["browser"]
    partner_id, key = added(client, browser)
    current = partners.partner_json(partners.get(partner_id))
    form = {"name": "Paper Direct Ltd", "landing_url": "https://paper.example/new",
            "privacy_policy_url": "", "contact_email": current["contact_email"],
            "description": "Paper and envelopes"}
    edited = browser.form(f"/admin/partners/{partner_id}", form)
    assert edited.status_code == 303 and edited.headers["Location"].endswith("?done=edited")
    partner = partners.get(partner_id)
    assert (partner.name, partner.landing_url, partner.privacy_policy_url, partner.description) == (
        "Paper Direct Ltd", "https://paper.example/new", None, "Paper and envelopes")
    landing = client.http.get(f"/go/{partner_id}").headers["Location"]
    assert landing.startswith("https://paper.example/new?eso_click=")
    [entry] = [e for e in audit_about(partner_id) if e["action"] == "partner_edited"]
    assert entry["detail"] == {"fields": "description landing_url name privacy_policy_url"}

    refused = browser.form(f"/admin/partners/{partner_id}", {**form, "landing_url": "ftp://x"})
    assert refused.status_code == 400
    assert partners.get(partner_id).landing_url == "https://paper.example/new"
    assert key_works(client, key)  # editing leaves the key alone


def test_a_new_key_stops_the_old_one_at_once_and_asks_for_the_second_factor(client, operator,
                                                                             fake_clock):
    browser = operator["browser"]
    partner_id, old = added(client, browser)
    new = key_on(browser.form(f"/admin/partners/{partner_id}/rotate-key", {}))
    assert new != old and not key_works(client, old) and key_works(client, new)
    assert new not in browser.get(f"/admin/partners/{partner_id}").body.decode()

    fake_clock.advance(10 * 60 + 1)
    asked = browser.form(f"/admin/partners/{partner_id}/rotate-key", {})
    assert asked.status_code == 303
    assert asked.headers["Location"] == f"/admin/confirm?next=partner:{partner_id}"
    assert key_works(client, new)  # nothing happened
    back = browser.form("/admin/confirm/totp", {"code": code_now(operator["secret"]),
                                                "next": f"partner:{partner_id}"})
    assert back.status_code == 303 and back.headers["Location"] == f"/admin/partners/{partner_id}"
    for elsewhere in ("partner:..", "partner:a/../../x", "partner:a?b", "partner:", "ad:x#y",
                      "member:%2e%2e", "nothing:x"):
        fake_clock.advance(30)  # a later code each time: a code works once
        away = browser.form("/admin/confirm/totp", {"code": code_now(operator["secret"]),
                                                    "next": elsewhere})
        assert away.headers["Location"] == "/admin", elsewhere  # only a page of one object
    newest = key_on(browser.form(f"/admin/partners/{partner_id}/rotate-key", {}))
    assert key_works(client, newest) and not key_works(client, new)
    assert actions_about(partner_id) == ["partner_created", "partner_key_rotated",
                                         "partner_key_rotated"]
    assert not any(k in str(audit_about(partner_id)) for k in (old, new, newest))


def test_disabling_and_enabling_a_partner(client, operator, fake_clock):
    browser = operator["browser"]
    partner_id, old = added(client, browser)
    fake_clock.advance(10 * 60 + 1)
    asked = browser.form(f"/admin/partners/{partner_id}/disable", {})
    assert asked.headers["Location"] == f"/admin/confirm?next=partner:{partner_id}"
    assert partners.get(partner_id).status == "active"
    browser.form("/admin/confirm/totp", {"code": code_now(operator["secret"]),
                                         "next": f"partner:{partner_id}"})

    disabled = browser.form(f"/admin/partners/{partner_id}/disable", {})
    assert disabled.status_code == 303 and disabled.headers["Location"].endswith("?done=disabled")
    assert partners.get(partner_id).status == "disabled"
    assert not key_works(client, old)
    assert client.http.get(f"/go/{partner_id}").status_code == 404

    new = key_on(browser.form(f"/admin/partners/{partner_id}/enable", {}))
    assert partners.get(partner_id).status == "active"
    assert key_works(client, new) and not key_works(client, old)
    assert client.http.get(f"/go/{partner_id}").status_code == 302
    again = browser.form(f"/admin/partners/{partner_id}/enable", {})  # already active: no key
    assert again.status_code == 303 and "eso_pk_" not in again.body.decode()
    assert actions_about(partner_id) == ["partner_created", "partner_disabled", "partner_enabled"]


def test_the_partners_figures_follow_the_k_rule(client, operator):
    browser = operator["browser"]
    partner_id, _ = new_partner("Figures shop")
    for _ in range(3):
        click(client, partner_id)
    page = browser.get(f"/admin/partners/{partner_id}").body.decode()
    today = clock.today().isoformat()
    row = re.search(rf"<tr><th scope=\"row\">{today}</th>(.*?)</tr>", page).group(1)
    assert row.startswith("<td>&lt;10</td>")  # 3 referral clicks
    assert ">3<" not in row
    total = re.search(r'<tr id="partner-figures-total">(.*?)</tr>', page).group(1)
    assert "<td>3</td>" not in total
    for _ in range(7):
        click(client, partner_id)
    page = browser.get(f"/admin/partners/{partner_id}").body.decode()
    row = re.search(rf"<tr><th scope=\"row\">{today}</th>(.*?)</tr>", page).group(1)
    assert row.startswith("<td>10</td>")


def test_an_unknown_partner_is_404(client, operator):
    browser = operator["browser"]
    assert browser.get("/admin/partners/ptn_nosuchone").status_code == 404
    for action in ("", "/rotate-key", "/disable", "/enable"):
        assert browser.form(f"/admin/partners/ptn_nosuchone{action}",
                            partner_form()).status_code == 404, action


PARTNER_POSTS = posts_under(app, "/admin/partners")


def test_every_partners_post_is_covered_below():
    assert PARTNER_POSTS == ["/admin/partners", "/admin/partners/{partner_id}",
                             "/admin/partners/{partner_id}/disable",
                             "/admin/partners/{partner_id}/enable",
                             "/admin/partners/{partner_id}/rotate-key"]


@pytest.mark.parametrize("route", PARTNER_POSTS)
def test_every_partners_post_needs_its_token_and_this_sites_origin(client, operator, route):
    partner_id, key = new_partner("Guarded shop")
    before = partners.partner_json(partners.get(partner_id))
    path = route.replace("{partner_id}", partner_id)
    form = partner_form(name="Taken over")
    for origin in ("https://evil.example", None):
        foreign = Browser(client, send_origin=origin)
        foreign.admin, foreign.vid = operator["browser"].admin, operator["browser"].vid
        assert foreign.form(path, form).status_code == 403, (route, origin)
    tokenless = client.http.post(path, body=b"name=Taken+over", headers=operator["browser"].headers(
        content_type="application/x-www-form-urlencoded"))
    assert tokenless.status_code == 403
    assert partners.partner_json(partners.get(partner_id)) == before and key_works(client, key)
    assert "Taken over" not in [p.name for p in partners.list_all()]
    assert audit_about(partner_id) == []
