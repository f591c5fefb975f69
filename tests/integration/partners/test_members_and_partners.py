"""Members and partners: offers, transparency (account, export), erasure, writing to a partner,
and the operator's partner commands."""
import json
import re
from datetime import date

import pytest

from chalicelib import partners
from chalicelib.partners.models import PartnerContact, PartnerTransaction, ReferralClick
from chalicelib.platform.errors import AuthenticationError
from tests.integration.helpers import PASSWORD, cli, new_email, post_json, verified_member
from tests.integration.partner_helpers import bearer, click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")


def contact(client, member, partner_id, message="Do you deliver to Springfield?"):
    return post_json(client, f"/api/v1/partners/{partner_id}/contact", {"message": message},
                     member)


# --- offers ----------------------------------------------------------------------------------------


def test_active_partners_offers_show_their_privacy_policy_and_a_contact_button(client, mailbox):
    _, member = verified_member(client, mailbox)
    shown_id, _ = new_partner("Shown", description="Ten percent off chairs")
    hidden_id, _ = new_partner("NoPolicy", privacy_policy_url=None)
    gone_id, _ = new_partner("Gone")
    partners.disable(gone_id)

    offers = client.http.get("/api/v1/offers", headers=member).json_body["offers"]
    by_partner = {o.get("partner_id"): o for o in offers}
    shown = by_partner[shown_id]
    assert shown["provider"].startswith("Shown ")
    assert shown["privacy_policy_url"].startswith("https://shop.example/")
    assert shown["body"] == "Ten percent off chairs"
    assert shown["url"] == f"/go/{shown_id}"
    assert hidden_id not in by_partner and gone_id not in by_partner
    assert all(o["provider"] == "eSmallOffice" for o in offers if "partner_id" not in o)

    page = client.http.get("/members", headers=member).body.decode()
    card = page[page.index(f'id="offer-partner-{shown_id}"'):]
    card = card[:card.index("</article>")]
    assert shown["privacy_policy_url"] in card
    assert f'href="/go/{shown_id}"' in card and f'href="/partners/{shown_id}/contact"' in card


# --- transparency, export and erasure ----------------------------------------------------------------


def test_a_member_sees_referrals_and_reported_transactions_in_account_and_export(client, mailbox):
    email, member = verified_member(client, mailbox)
    partner_id, key = new_partner("Transparent")
    click_id = click(client, partner_id, member)
    anonymous_click = click(client, partner_id)
    assert report(client, key, order(click_id, "M-1", "30.00", "EUR")).status_code == 201
    assert report(client, key, order(anonymous_click, "ANON-1")).status_code == 201

    export = client.http.get("/api/v1/me/export", headers=member).json_body
    [referral] = export["referral_clicks"]
    assert referral["click_id"] == click_id
    assert referral["partner"]["partner_id"] == partner_id
    assert referral["partner"]["name"].startswith("Transparent")
    assert referral["partner"]["privacy_policy_url"]
    [txn] = export["partner_transactions"]
    assert (txn["order_id"], txn["amount"], txn["currency"], txn["status"]) == (
        "M-1", "30.00", "EUR", "reported")
    assert txn["partner"]["partner_id"] == partner_id

    account = client.http.get("/account", headers=member).body.decode()
    section = account[account.index('id="partners"'):]
    assert referral["partner"]["name"] in section and "M-1" in section and "30.00 EUR" in section
    assert referral["partner"]["privacy_policy_url"] in section
    assert "ANON-1" not in section  # another visitor's purchase is not this member's


def test_deletion_keeps_partner_accounting_without_the_member(client, mailbox):
    email, member = verified_member(client, mailbox)
    partner_id, key = new_partner()
    click_id = click(client, partner_id, member)
    assert report(client, key, order(click_id, "DEL-1")).status_code == 201
    assert contact(client, member, partner_id).status_code == 202
    member_id = ReferralClick.get(click_id).member_id
    assert PartnerTransaction.get(partner_id, "DEL-1").member_id == member_id

    deleted = client.http.request("DELETE", "/api/v1/me", body=json.dumps(
        {"password": PASSWORD}).encode(), headers={**member, "Content-Type": "application/json"})
    assert deleted.status_code == 204

    stored_click = ReferralClick.get(click_id, consistent_read=True)
    assert stored_click.member_id is None and stored_click.visitor_hash is None
    txn = PartnerTransaction.get(partner_id, "DEL-1", consistent_read=True)
    assert txn.member_id is None and txn.amount == "12.50"
    assert list(PartnerContact.query(member_id)) == []
    # The partner's accounting is intact: listing and reversal still work.
    today = date.today().isoformat()
    listed = client.http.get(f"/partner/v1/transactions?from={today}&to={today}",
                             headers=bearer(key)).json_body["transactions"]
    assert [t["order_id"] for t in listed] == ["DEL-1"]
    assert post_json(client, "/partner/v1/transactions/DEL-1/reverse", {"reason": "refund"},
                     bearer(key)).status_code == 200


# --- writing to a partner -------------------------------------------------------------------------------


def test_contacting_a_partner_mails_it_what_the_member_shared_and_records_it(client, mailbox):
    email, member = verified_member(client, mailbox)
    partner_email = new_email("partner")
    partner_id, _ = new_partner("Lead", contact_email=partner_email)

    response = contact(client, member, partner_id, "Please call me about toner.\nThanks")
    assert response.status_code == 202 and response.json_body == {"status": "sent"}
    [mail] = mailbox.wait_for(partner_email)
    assert mail["subject"].startswith("An eSmallOffice member wrote to Lead")
    assert email in mail["body"]["text"] and "Pat Example" in mail["body"]["text"]
    assert "Please call me about toner." in mail["body"]["text"]
    assert email in json.dumps(mail["replyTo"])  # the partner answers the member directly

    [record] = client.http.get("/api/v1/me/export", headers=member).json_body["partner_contacts"]
    assert record["partner"]["partner_id"] == partner_id
    assert record["sent_to"] == partner_email and record["status"] == "sent"
    assert record["shared"] == {"name": "Pat Example", "email": email,
                                "message": "Please call me about toner.\nThanks"}
    assert re.match(r"\d{4}-\d{2}-\d{2}T", record["sent_at"])


def test_contact_needs_a_member_a_message_and_a_reachable_partner(client, mailbox):
    _, member = verified_member(client, mailbox)
    partner_id, _ = new_partner()
    no_policy, _ = new_partner(privacy_policy_url=None)
    disabled, _ = new_partner()
    partners.disable(disabled)
    assert contact(client, {}, partner_id).status_code == 401
    assert contact(client, member, partner_id, "   ").status_code == 400
    assert contact(client, member, partner_id, "x" * 2001).status_code == 400
    assert post_json(client, f"/api/v1/partners/{partner_id}/contact",
                     {"message": "hi", "email": "other@example.org"}, member).status_code == 400
    for target in ("ptn_unknown0000", no_policy, disabled):
        assert contact(client, member, target).status_code == 404
    cross_site = post_json(client, f"/api/v1/partners/{partner_id}/contact", {"message": "hi"},
                           {**member, "Origin": "https://evil.example"})
    assert cross_site.status_code == 403


def test_contacting_partners_is_rate_limited_per_member(client, mailbox):
    _, member = verified_member(client, mailbox)
    partner_email = new_email("busy-partner")
    partner_id, _ = new_partner(contact_email=partner_email)
    statuses = [contact(client, member, partner_id, f"message {i}").status_code for i in range(7)]
    assert statuses == [202] * 5 + [429] * 2
    assert len(mailbox.wait_for(partner_email, count=5)) == 5


def test_the_contact_page_shows_exactly_what_will_be_shared_before_sending(client, mailbox):
    email, member = verified_member(client, mailbox)
    partner_email = new_email("page-partner")
    partner_id, _ = new_partner("Page", contact_email=partner_email)
    page = client.http.get(f"/partners/{partner_id}/contact", headers=member)
    assert page.status_code == 200
    html = page.body.decode()
    assert email in html and "Pat Example" in html and "their own privacy policy" in html
    assert client.http.get(f"/partners/{partner_id}/contact").status_code == 303  # visitors log in
    assert client.http.get("/partners/ptn_unknown0000/contact", headers=member).status_code == 404


# --- the operator CLI -----------------------------------------------------------------------------------


def test_cli_partner_lifecycle(client):
    added = cli("--json", "partners", "add", "--name", "CLI Shop",
                "--landing-url", "https://cli-shop.example/in",
                "--privacy-policy-url", "https://cli-shop.example/privacy",
                "--contact-email", "Sales@CLI-Shop.example")
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert set(created) == {"partner_id", "api_key"}
    partner_id, key = created["partner_id"], created["api_key"]
    assert re.fullmatch(r"eso_pk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key)
    stored = partners.get(partner_id)
    assert key.split("_")[2] == stored.key_id and key not in json.dumps(stored.attribute_values,
                                                                        default=str)
    assert stored.contact_email == "sales@cli-shop.example"
    assert partners.authenticate(key) == partner_id

    text = cli("partners", "rotate-key", partner_id)
    assert text.returncode == 0 and "shown once" in text.stdout
    new_key = re.search(r"eso_pk_\S+", text.stdout).group(0)
    assert partners.authenticate(new_key) == partner_id
    with pytest.raises(AuthenticationError):
        partners.authenticate(key)

    listed = json.loads(cli("--json", "partners", "list").stdout)["partners"]
    assert any(p["partner_id"] == partner_id and p["status"] == "active" for p in listed)
    assert "api_key" not in json.dumps(listed) and new_key not in json.dumps(listed)

    disabled = cli("--json", "partners", "disable", partner_id)
    assert json.loads(disabled.stdout) == {"partner_id": partner_id, "status": "disabled"}
    assert client.http.get(f"/go/{partner_id}").status_code == 404


@pytest.mark.parametrize("args", [
    ["partners", "add", "--name", "X", "--landing-url", "http://insecure.example/"],
    ["partners", "add", "--name", "X", "--landing-url", "javascript:alert(1)"],
    ["partners", "add", "--name", "X", "--landing-url", "https://user:pw@shop.example/"],
    ["partners", "add", "--name", " ", "--landing-url", "https://shop.example/"],
    ["partners", "add", "--name", "X", "--landing-url", "https://shop.example/",
     "--contact-email", "not an address"],
    ["partners", "rotate-key", "ptn_nosuchpartner"],
    ["partners", "disable", "ptn_nosuchpartner"],
    ["report", "--from", "2026-02-01", "--to", "2026-01-01"],
    ["report", "--from", "yesterday", "--to", "2026-01-01"],
])
def test_cli_errors_are_one_line_and_a_non_zero_exit(args):
    result = cli(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error:") and result.stderr.strip().count("\n") == 0


def test_seed_creates_the_demo_partner_once_and_prints_its_key_only_then():
    from chalicelib.ops.demo import DEMO_PARTNER_ID

    first = json.loads(cli("--json", "local", "seed").stdout)
    second = json.loads(cli("--json", "local", "seed").stdout)
    assert first["partners"] == second["partners"] == DEMO_PARTNER_ID
    assert "demo_partner_api_key" not in second
    assert partners.get(DEMO_PARTNER_ID).status == "active"


def test_cli_edit_changes_only_the_given_fields_of_a_partner(client):
    partner_id, key = new_partner("Editable", description="Paper and toner")
    before = partners.partner_json(partners.get(partner_id))
    edited = cli("partners", "edit", partner_id, "--name", "Edited Shop",
                 "--contact-email", "Orders@Edited.example", "--description", "", "--json")
    assert edited.returncode == 0, edited.stderr
    shown = json.loads(edited.stdout)
    assert shown.pop("changed") == ["contact_email", "description", "name"]
    assert shown == partners.partner_json(partners.get(partner_id)) == before | {
        "name": "Edited Shop", "contact_email": "orders@edited.example", "description": None}
    assert partners.authenticate(key) == partner_id  # the key is not touched
    assert client.http.get(f"/go/{partner_id}").status_code == 302


@pytest.mark.parametrize("args, words", [
    (["--landing-url", "http://insecure.example/"], "landing URL must be an absolute https"),
    (["--privacy-policy-url", "javascript:alert(1)"], "privacy-policy URL must be"),
    (["--name", " "], "name is required"),
    (["--name", "x" * 81], "at most 80"),
    (["--contact-email", "not an address"], "valid e-mail address"),
    (["--description", "x" * 301], "at most 300"),
    ([], "give at least one field to change"),
])
def test_cli_edit_refuses_what_add_refuses_and_changes_nothing(args, words):
    partner_id, _ = new_partner("Unchanged")
    before = partners.partner_json(partners.get(partner_id))
    result = cli("partners", "edit", partner_id, *args)
    assert result.returncode == 1
    assert words in result.stderr and result.stderr.strip().count("\n") == 0
    assert partners.partner_json(partners.get(partner_id)) == before


def test_cli_edit_of_a_missing_partner_creates_nothing():
    from chalicelib.partners.models import Partner

    result = cli("partners", "edit", "ptn_nosuchpartner", "--name", "Ghost")
    assert (result.returncode, result.stderr.strip()) == (1, "error: There is no such partner.")
    assert Partner.count("ptn_nosuchpartner") == 0


def test_cli_enable_brings_a_disabled_partner_back_with_a_new_key(client):
    partner_id, old_key = new_partner("Comeback")
    assert cli("partners", "disable", partner_id).returncode == 0
    assert client.http.get(f"/go/{partner_id}").status_code == 404
    assert all(p.partner_id != partner_id for p in partners.list_active())

    enabled = cli("partners", "enable", partner_id, "--json")
    assert enabled.returncode == 0, enabled.stderr
    shown = json.loads(enabled.stdout)
    assert set(shown) == {"partner_id", "status", "api_key"} and shown["status"] == "active"
    assert partners.authenticate(shown["api_key"]) == partner_id
    with pytest.raises(AuthenticationError):
        partners.authenticate(old_key)  # a key that was revoked stays revoked
    assert client.http.get(f"/go/{partner_id}").status_code == 302
    assert any(p.partner_id == partner_id for p in partners.list_active())
    stored = partners.get(partner_id)
    assert stored.disabled_at is None and stored.key_id == shown["api_key"].split("_")[2]

    again = cli("--json", "partners", "enable", partner_id)
    assert json.loads(again.stdout) == {"partner_id": partner_id, "status": "active",
                                        "api_key": None}
    assert partners.authenticate(shown["api_key"]) == partner_id  # unchanged
    text = cli("partners", "enable", "ptn_nosuchpartner")
    assert (text.returncode, text.stderr.strip()) == (1, "error: There is no such partner.")
