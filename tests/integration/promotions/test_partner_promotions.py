"""A partner's promotion: submitted through the partner API, reviewed, sent by eSO."""
import json
import os
import re
import subprocess
import sys

import pytest

from chalicelib import promotions
from chalicelib.promotions.models import Promotion
from devstack.servers import ROOT
from tests.integration.helpers import post_json
from tests.integration.partner_helpers import bearer, new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)


def submit(client, key, **body):
    return post_json(client, "/partner/v1/promotions",
                     {"subject": unique_subject("Partner deal"), "text": "20% off", **body},
                     bearer(key))


def test_submit_review_send_and_report_only_aggregates(client, mailbox):
    partner_id, key = new_partner("Promo")
    wants, _ = make_member(mailbox, offers=False, partner_promotions=True)
    declines, _ = make_member(mailbox, offers=True, partner_promotions=False)

    response = submit(client, key)
    assert response.status_code == 202
    promotion = response.json_body["promotion"]
    assert promotion["status"] == "pending_review"
    stored = promotions.get(promotion["id"])
    assert received(mailbox, stored) == []  # nothing before the operator's review

    listed = cli("--json", "promotions", "list", "--status", "pending_review")
    assert promotion["id"] in listed.stdout
    approved = cli("--json", "promotions", "approve", promotion["id"])
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "sent"

    assert len(received(mailbox, stored, wants)) == 1
    assert received(mailbox, stored, declines) == []
    mail = received(mailbox, stored, wants)[0]
    assert "Promo" in mail["body"]["text"] and "did not receive your e-mail address" in mail["body"]["text"]
    assert "/privacy" in mail["body"]["text"]  # the partner's own privacy policy is named

    status = client.http.get(f"/partner/v1/promotions/{promotion['id']}", headers=bearer(key))
    assert status.status_code == 200
    body = status.json_body["promotion"]
    assert body["status"] == "sent"
    assert set(body["counts"]) == {"delivered", "skipped", "failed"}
    delivered = promotions.delivery_counts(promotions.get(promotion["id"])).delivered
    assert body["counts"]["delivered"] == (delivered if delivered >= 10 else "<10")
    assert wants not in status.body.decode() and "member" not in status.body.decode()


def test_a_partner_promotions_unsubscribe_link_stops_partner_promotions_and_nothing_else(
        client, mailbox):
    from chalicelib.members import consent
    from chalicelib.members.models import Member

    _, key = new_partner("Unsubscribe")
    email, member_id = make_member(mailbox, offers=True, partner_promotions=True)
    promotion_id = submit(client, key).json_body["promotion"]["id"]
    promotions.approve(promotion_id)
    promotions.dispatch(promotion_id)
    [mail] = received(mailbox, promotions.get(promotion_id), email)
    headers = {h["name"]: h["value"] for h in mail["headers"]}
    url = headers["List-Unsubscribe"].strip("<>")
    assert url in mail["body"]["text"]
    path = "/" + url.split("127.0.0.1:")[1].split("/", 1)[1]

    page = client.http.get(path)
    assert page.status_code == 200 and "marketing partners" in page.body.decode()
    one_click = client.http.post(path, body=b"List-Unsubscribe=One-Click",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200
    member = Member.get(member_id, consistent_read=True)
    assert not consent.is_granted(member, "partner_promotions")
    assert consent.is_granted(member, "offers")  # eSO's own offers stay as chosen
    last = consent.history(member_id)[-1]
    assert (last.purpose, last.granted, last.source) == ("partner_promotions", False,
                                                          "unsubscribe_link")


@pytest.mark.parametrize("counts, shown", [
    ({"delivered": 9, "skipped": 10, "failed": 3},
     {"delivered": "<10", "skipped": 10, "failed": "<10"}),
    ({"delivered": 10, "skipped": 9, "failed": 11},
     {"delivered": 10, "skipped": "<10", "failed": 11}),
    ({"delivered": 0, "skipped": 1, "failed": 0},
     {"delivered": "<10", "skipped": "<10", "failed": "<10"}),
])
def test_a_partner_sees_each_count_only_once_it_reaches_k(client, counts, shown):
    """Each of the three counts, on its own, under and at K (10 on the local stage); the
    figures are this promotion's own, whatever else the database holds."""
    _, key = new_partner("Counts")
    promotion_id = submit(client, key).json_body["promotion"]["id"]
    Promotion(promotion_id).update(actions=[getattr(Promotion, name).set(value)
                                            for name, value in counts.items()])
    status = client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key))
    assert status.json_body["promotion"]["counts"] == shown


def test_a_partner_cannot_read_another_partners_promotion(client):
    _, key_a = new_partner("A")
    _, key_b = new_partner("B")
    promotion_id = submit(client, key_a).json_body["promotion"]["id"]
    assert client.http.get(f"/partner/v1/promotions/{promotion_id}",
                           headers=bearer(key_b)).status_code == 404
    assert client.http.get(f"/partner/v1/promotions/{promotion_id}").status_code == 401
    assert client.http.get("/partner/v1/promotions/nope", headers=bearer(key_a)).status_code == 404


def test_a_rejected_promotion_is_never_sent(client, mailbox):
    _, key = new_partner("Rejected")
    wants, _ = make_member(mailbox, partner_promotions=True)
    promotion_id = submit(client, key).json_body["promotion"]["id"]
    rejected = cli("promotions", "reject", promotion_id, "--reason", "No  prices in\nthe subject.")
    assert rejected.returncode == 0, rejected.stderr
    shown = client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key))
    assert shown.json_body["promotion"]["review_reason"] == "No prices in the subject."
    assert cli("promotions", "reject", promotion_id).returncode == 1      # once
    again = cli("promotions", "approve", promotion_id)
    assert again.returncode == 1 and "rejected" in again.stderr
    assert received(mailbox, promotions.get(promotion_id)) == []


@pytest.mark.parametrize("body, status", [
    ({"subject": "", "text": "x"}, 400),
    ({"subject": "x" * 151, "text": "x"}, 400),
    ({"subject": "Two\r\nBcc: everyone@example.org", "text": "x"}, 400),
    ({"subject": "Hi {{unsubscribe_url}}", "text": "x"}, 400),
    ({"subject": "ok", "text": 5}, 400),
    ({"subject": "ok"}, 400),
    ({"subject": "ok", "text": "x", "to": "everyone"}, 400),
])
def test_bad_promotions_are_refused_and_nothing_is_stored(client, body, status):
    _, key = new_partner("Bad")
    refused(client, key, body, status)


def refused(client, key: str, body: dict, status: int = 400) -> dict:
    """Submit ``body``; it is refused with ``status`` and no promotion is stored. The error."""
    before = sum(1 for _ in Promotion.scan())
    response = post_json(client, "/partner/v1/promotions", body, bearer(key))
    assert response.status_code == status
    assert sum(1 for _ in Promotion.scan()) == before
    return response.json_body["error"]


@pytest.mark.parametrize("href", ["//evil.example/a", " https://evil.example/f",
                                  "https:evil.example/d", "\\\\evil.example/c", "/relative/b",
                                  "https://shop.example\\@evil.example/", "https://user@evil.example/"])
@pytest.mark.parametrize("where", ["html", "variants[1].html"])
def test_a_link_a_browser_could_read_otherwise_than_the_review_is_refused(client, href, where):
    """Every link of a promotion is reviewed, counted and sent through /r/: one that is not a
    full address (browsers complete ``//host``, ``https:host``, backslashes and spaces in
    their own ways) is refused with the link named, and nothing is stored."""
    _, key = new_partner("Odd links")
    html = f'<p>See <a href="{href}">the offer</a> or <a href="https://shop.example/">ours</a>.</p>'
    body = {"subject": "Toner week", "text": "See the offer."}
    if where == "html":
        body["html"] = html
    else:
        body["variants"] = [{"subject": "Toner A"}, {"subject": "Toner B", "html": html}]
    error = refused(client, key, body)
    assert error["field"] == where and "full address starting with https://" in error["message"]


@pytest.mark.parametrize("where", ["text", "variants[0].text"])
def test_an_address_in_the_text_with_a_user_name_is_refused(client, where):
    """In the text, addresses written with their scheme become /r/ links: one with a user name
    (``https://shop.example@evil.example/`` goes to evil.example) is refused as in the HTML."""
    _, key = new_partner("Odd text links")
    text = "See the offer at https://shop.example@evil.example/toner today."
    body = ({"subject": "Toner week", "text": text} if where == "text" else
            {"subject": "Toner week", "text": "See the offer.",
             "variants": [{"text": text}, {"subject": "Toner B"}]})
    error = refused(client, key, body)
    assert error["field"] == where and "shop.example@evil.example" in error["message"]


def test_the_operator_reads_a_pending_promotion_as_members_will_get_it(client, mailbox):
    """`promotions show` renders with the sending code: after approval the member's mail is
    what the operator read, with the member's own unsubscribe token in place."""
    partner_id, key = new_partner("Readable")
    wants, _ = make_member(mailbox, partner_promotions=True)
    html = ('<h2>Toner week</h2><p>All toner <strong>20% off</strong> &amp; free delivery: '
            '<a href="https://shop.example/toner">see the offer</a>.</p>'
            '<ul><li>Laser</li><li>Inkjet</li></ul>')
    promotion_id = submit(client, key, text="Hello,\nall toner is 20% off this week.",
                          html=html).json_body["promotion"]["id"]

    shown = cli("promotions", "show", promotion_id, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["status"] == "pending_review" and data["partner_id"] == partner_id
    assert data["text"].startswith("Hello,\nall toner is 20% off this week.\n")
    assert "see the offer (https://shop.example/toner)" in data["html_text"]
    assert "- Laser\n- Inkjet" in data["html_text"] and "<" not in data["html_text"].split(
        "unsubscribe?token=")[0]
    footer = data["footer"]
    assert "did not receive your e-mail address" in footer
    assert promotions.get(promotion_id).text not in footer
    assert "/unsubscribe?token=[each member's own token]" in footer
    assert "eSmallOffice, 1 Market Street" in footer and footer in data["text"]
    assert data["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    readable = cli("promotions", "show", promotion_id)
    assert readable.returncode == 0, readable.stderr
    for part in (f"Subject: {data['subject']}", "all toner is 20% off this week.",
                 "see the offer (https://shop.example/toner)", footer.splitlines()[0],
                 "Unsubscribe with one click"):
        assert part in readable.stdout, part
    assert promotions.get(promotion_id).status == "pending_review"  # reading changes nothing

    assert cli("promotions", "approve", promotion_id).returncode == 0
    [mail] = received(mailbox, promotions.get(promotion_id), wants)
    token = re.search(r"unsubscribe\?token=([\w.-]+)", mail["body"]["text"]).group(1)
    pause = re.search(r"snooze\?token=([\w.-]+)&", mail["body"]["text"]).group(1)
    member_text = data["text"].replace("[each member's own token]", token).replace(
        "[each member's own pause token]", pause)
    assert mail["body"]["text"].strip() == member_text.strip()
    assert mail["subject"] == data["subject"]
