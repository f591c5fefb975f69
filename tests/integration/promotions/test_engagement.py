"""Engagement without tracking people, on DynamoDB Local and the local SES server: links go
through /r/<token> (the same token for every recipient), a click is counted once and stores
nothing about the visitor, forged tokens go nowhere, A/B variants split evenly and stick to a
member, and the winner follows the K rule."""
import json
import re
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import promotions
from chalicelib.platform import clock
from chalicelib.promotions import sending
from chalicelib.promotions.clicks import CLICKS
from chalicelib.promotions.models import Delivery, DeliveryCounts, Promotion
from chalicelib.statistics import counters
from chalicelib.statistics.models import DailyCounter
from chalicelib.web.cookies import VISITOR_COOKIE
from tests.integration.helpers import cli, post_json
from tests.integration.partner_helpers import bearer, new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")

SHOP = "https://shop.example/toner?utm_source=eso&week=12"
TEXT_LINK = "https://shop.example/terms"
HTML = (f'<p>All toner <b>20% off</b>: <a href="{SHOP.replace("&", "&amp;")}">see the offer</a>'
        ' or <a href="mailto:sales@shop.example">write to us</a>.</p>')
TEXT = f"All toner is 20% off this week: {SHOP}\nTerms: {TEXT_LINK}."
R_LINK = re.compile(r"https?://[^\s\"<>]+/r/([A-Za-z0-9._-]+)")


def partner_promotion(client, key, **extra):
    body = {"subject": unique_subject("Toner week"), "text": TEXT, "html": HTML, **extra}
    response = post_json(client, "/partner/v1/promotions", body, bearer(key))
    assert response.status_code == 202, response.body
    return response.json_body["promotion"]["id"]


def send_only_to(promotion_id, mine, planned=None):
    """Send the promotion as the operator does (planning its whole audience, status sending
    then sent), delivering only to this test's own members: the shared database holds other
    tests' members too. ``planned`` collects each planned batch and its variant."""
    def send(pid, batch, variant=None):
        if planned is not None:
            planned.append((list(batch), variant))
        own = [m for m in batch if m in mine]
        if own:
            promotions.send_batch(pid, own, variant=variant)

    promotions.dispatch(promotion_id, send=send)


def tokens_in(mail):
    return (set(R_LINK.findall(mail["body"]["text"])), set(R_LINK.findall(mail["body"]["html"])))


def clicks(promotion_id):
    """(variant, link) → clicks counted for the promotion today, whatever its status."""
    totals = Counter()
    for labels in counters.daily_by_label(CLICKS, clock.today(), clock.today(),
                                          dimension=promotion_id).values():
        for label, n in labels.items():
            variant, link = label.split(".")
            totals[(int(variant), int(link))] += n
    return dict(totals)


@pytest.fixture
def sent(client, mailbox):
    """A partner's promotion with links in its text and HTML, sent to two own members."""
    _, key = new_partner("Links")
    people = [make_member(mailbox, offers=False) for _ in range(2)]
    promotion_id = partner_promotion(client, key)
    promotions.approve(promotion_id)
    send_only_to(promotion_id, {m for _, m in people})
    promotion = promotions.get(promotion_id)
    mails = [received(mailbox, promotion, email)[0] for email, _ in people]
    return {"key": key, "id": promotion_id, "people": people, "mails": mails,
            "promotion": promotion}


def test_a_sent_promotions_links_go_through_r_with_the_same_token_for_everyone(sent):
    first, second = sent["mails"]
    text_tokens, html_tokens = tokens_in(first)
    assert len(text_tokens) == 2 and len(html_tokens) == 1   # the text's two links, the HTML's one
    assert html_tokens <= text_tokens                          # the same target, the same token
    assert tokens_in(second) == (text_tokens, html_tokens)    # identical for both recipients
    for email, member_id in sent["people"]:
        for token in text_tokens:
            assert member_id not in token and email not in token and email.split("@")[0] not in token
    for mail in sent["mails"]:
        body = mail["body"]["text"] + mail["body"]["html"]
        assert SHOP not in body and TEXT_LINK not in body      # no direct link to the targets
        assert "mailto:sales@shop.example" in mail["body"]["html"]  # not a web link: as written
        assert "<img" not in mail["body"]["html"].lower()      # no open-tracking pixel
        headers = {h["name"]: h["value"] for h in mail["headers"]}
        unsubscribe = headers["List-Unsubscribe"].strip("<>")
        assert "/unsubscribe?token=" in unsubscribe and "/r/" not in unsubscribe
        assert unsubscribe in mail["body"]["text"] and "/account" in mail["body"]["text"]


def test_a_click_redirects_to_the_target_counts_once_and_keeps_nothing_of_the_visitor(client, sent):
    token = sorted(tokens_in(sent["mails"][0])[1])[0]            # the HTML's link: SHOP
    agent = f"Browser-{uuid.uuid4().hex}"
    visitor = "V" * 24
    before = {c.counter: int(c.n) for c in _click_items(sent["id"])}
    for expected in (1, 2):
        response = client.http.get(f"/r/{token}?url=https://evil.example/", headers={
            "User-Agent": agent, "Cookie": f"{VISITOR_COOKIE}={visitor}",
            "X-Forwarded-For": "203.0.113.77"})
        assert response.status_code == 302
        assert response.headers["Location"] == SHOP               # from the promotion, not the query
        assert not (response.headers.get("Set-Cookie") or response.headers.get("set-cookie"))
        # (a browser that has the visitor cookie gets no new one; one without gets one, as from
        # every response, and nothing is stored about either)
        assert sum(clicks(sent["id"]).values()) == expected        # once per click
    no_cookie = client.http.get(f"/r/{token}")
    assert no_cookie.status_code == 302
    assert no_cookie.headers.get("Set-Cookie", "").startswith(f"{VISITOR_COOKIE}=")
    assert clicks(sent["id"]) == {(0, 0): 3}                       # variant 0, link 0 (SHOP)

    items = _click_items(sent["id"])
    assert sum(int(c.n) for c in items) - sum(before.values()) == 3
    for item in items:                                             # a count, nothing else
        assert set(item.attribute_values) == {"counter", "day", "n"}
        assert item.counter.startswith(f"{CLICKS}|{sent['id']}|") and item.day.endswith("#0.0")
    stored = json.dumps([i.attribute_values for i in DailyCounter.scan()], default=str)
    for trace in (agent, visitor, "203.0.113.77", token):
        assert trace not in stored


def _click_items(promotion_id):
    return [item for shard in range(counters.shards(CLICKS))
            for item in DailyCounter.query(f"{CLICKS}|{promotion_id}|{shard:02d}")]


def test_the_partner_sees_clicks_per_link_under_the_k_rule(client, sent):
    token = sorted(tokens_in(sent["mails"][0])[1])[0]
    for _ in range(3):
        client.http.get(f"/r/{token}")
    status = client.http.get(f"/partner/v1/promotions/{sent['id']}", headers=bearer(sent["key"]))
    engagement = status.json_body["promotion"]["engagement"]
    assert engagement["clicks"] == "<10"
    assert [link["url"] for link in engagement["links"]] == [SHOP, TEXT_LINK]
    assert [link["clicks"] for link in engagement["links"]] == [None, None]  # withheld: below K
    assert engagement["variants"] == [] and engagement["winner"] is None
    assert engagement["winner_status"] == "no_variants"


@pytest.mark.parametrize("forge", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),              # signature altered
    lambda t: re.sub(r"\.(\d+)\.", lambda m: f".{int(m.group(1)) + 1}.", t, count=1),  # link
    lambda t: uuid.uuid4().hex + t[32:],                              # another promotion
    lambda t: t.split(".")[0],                                        # cut short
    lambda t: "https%3A%2F%2Fevil.example",                           # a URL
])
def test_a_forged_token_is_not_found_and_counts_nothing(client, sent, forge):
    token = sorted(tokens_in(sent["mails"][0])[1])[0]
    response = client.http.get(f"/r/{forge(token)}", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]          # the not-found page
    assert clicks(sent["id"]) == {}


def test_a_link_beyond_the_stored_ones_or_of_a_rejected_promotion_goes_nowhere(client):
    partner_id, key = new_partner("Nowhere")
    promotion_id = partner_promotion(client, key)
    from chalicelib.promotions.clicks import click_token

    pending = client.http.get(f"/r/{click_token(promotion_id, 0, 1)}")
    assert pending.status_code == 302 and pending.headers["Location"] == TEXT_LINK
    assert clicks(promotion_id) == {}                     # the operator's preview: not counted
    assert client.http.get(f"/r/{click_token(promotion_id, 0, 2)}").status_code == 404
    assert client.http.get(f"/r/{click_token(promotion_id, 1, 0)}").status_code == 404  # no B
    promotions.reject(promotion_id)
    assert client.http.get(f"/r/{click_token(promotion_id, 0, 0)}").status_code == 404


# --- A/B variants ------------------------------------------------------------------------------


VARIANTS = [{"subject": "A: toner 20% off"}, {"subject": "B: save on toner"},
            {"subject": "C: toner week", "text": f"Short and sweet: {SHOP}",
             "html": f'<p><a href="{SHOP.replace("&", "&amp;")}">Toner week</a></p>'}]


def test_variant_sizes_differ_by_at_most_one_and_each_member_keeps_theirs(client, mailbox):
    _, key = new_partner("Split")
    people = dict(make_member(mailbox, offers=False) for _ in range(7))
    mine = set(people.values())
    assert sorted(Counter(promotions.assign_variants(
        uuid.uuid4().hex, mine, 3).values()).values()) == [2, 2, 3]    # 7 over 3 → 3/2/2

    promotion_id = partner_promotion(client, key, variants=VARIANTS)
    promotions.approve(promotion_id)
    planned = []
    send_only_to(promotion_id, mine, planned)
    sizes = Counter()
    for batch, variant in planned:
        sizes[variant] += len(batch)
    assert set(sizes) == {0, 1, 2} and max(sizes.values()) - min(sizes.values()) <= 1

    promotion = promotions.get(promotion_id)
    subjects = {v["subject"] for v in VARIANTS}
    got = {}
    for email, member_id in people.items():
        [mail] = [m for m in received_any(mailbox, email) if m["subject"] in subjects]
        got[member_id] = mail["subject"]
        entry = Delivery.get(promotion_id, member_id)
        assert VARIANTS[entry.variant]["subject"] == mail["subject"]   # the ledger says which
    from chalicelib import privacy

    member_id = next(iter(got))
    [entry] = [e for e in privacy.export_member(member_id)["promotions_received"]
               if e["promotion_id"] == promotion_id]
    assert entry["subject"] == got[member_id]       # the member's own variant, in their export
    assert VARIANTS[ord(entry["variant"]) - ord("A")]["subject"] == got[member_id]
    counts = promotions.delivery_counts(promotion)
    assert counts.delivered == 7
    assert list(counts.delivered_by_variant) == [
        sum(1 for s in got.values() if s == v["subject"]) for v in VARIANTS]

    # A redelivered batch (SQS, or a worker retried) sends nothing again.
    for batch, variant in planned:
        own = [m for m in batch if m in mine]
        if own:
            assert promotions.send_batch(promotion_id, own, variant=variant).delivered == 0
            body = json.dumps({"promotion_id": promotion_id, "member_ids": own,
                               "variant": variant})
            client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
                message_bodies=[body], queue_name="eso-sends"))
    for email in people:
        assert len([m for m in received_any(mailbox, email) if m["subject"] in subjects]) == 1

    # Each variant's links are its own tokens, in every member's mail. (The split is over the
    # whole audience, other tests' members too: these seven need not include one of each.)
    for email, member_id in people.items():
        [mail] = [m for m in received_any(mailbox, email) if m["subject"] in subjects]
        variant = [v["subject"] for v in VARIANTS].index(got[member_id])
        text_tokens, html_tokens = tokens_in(mail)
        assert text_tokens and {t.split(".")[1] for t in text_tokens | html_tokens} == {str(variant)}
        if variant == 2:
            assert mail["body"]["text"].startswith("Short and sweet: ")
    # C's text is its own, as its members get it.
    _, c_text, _ = sending.message_content(promotion, 2)
    assert c_text.startswith("Short and sweet: ")
    assert {t.split(".")[1] for t in R_LINK.findall(c_text)} == {"2"}


def received_any(mailbox, email):
    return mailbox.to(email)


def test_the_reconciler_resends_a_dead_workers_claim_as_its_planned_variant(client, mailbox):
    _, key = new_partner("Resend")
    email, member_id = make_member(mailbox, offers=False)
    promotion_id = partner_promotion(client, key, variants=VARIANTS[:2])
    promotions.approve(promotion_id)
    send_only_to(promotion_id, set())                 # planned and sent (to nobody here)
    stale = datetime.now(timezone.utc) - timedelta(hours=2)
    Delivery(promotion_id, member_id, status="claimed", attempt="dead", at=stale,
             expires_at=stale + timedelta(days=1), variant=1).save()
    promotions.reconcile_claims()
    [mail] = [m for m in mailbox.to(email) if m["subject"].startswith(("A:", "B:"))]
    assert mail["subject"] == VARIANTS[1]["subject"]
    assert Delivery.get(promotion_id, member_id).variant == 1
    assert list(promotions.delivery_counts(promotions.get(promotion_id)).delivered_by_variant) == [0, 1]


def test_a_batch_of_a_promotion_with_variants_must_name_one(client, mailbox):
    _, key = new_partner("Unnamed")
    _, member_id = make_member(mailbox, offers=False)
    promotion_id = partner_promotion(client, key, variants=VARIANTS[:2])
    promotions.approve(promotion_id)
    for variant in (None, 2, -1):
        with pytest.raises(ValueError):
            promotions.send_batch(promotion_id, [member_id], variant=variant)
    with pytest.raises(ValueError):
        client.lambda_.invoke("send_worker", client.events.generate_sqs_event(message_bodies=[
            json.dumps({"promotion_id": promotion_id, "member_ids": [member_id],
                        "variant": "B"})], queue_name="eso-sends"))
    with pytest.raises(Delivery.DoesNotExist):
        Delivery.get(promotion_id, member_id)


# --- the K rule on the winner ------------------------------------------------------------------


def _figures(promotion_id, delivered, clicked):
    """Add per-variant deliveries and clicks to the promotion's, as sending and clicks do."""
    Promotion(promotion_id).update(actions=[Promotion.status.set("sent")])
    DeliveryCounts(promotion_id).update(actions=[
        DeliveryCounts.delivered.add(sum(delivered)),
        *(getattr(DeliveryCounts, f"delivered_v{v}").add(n) for v, n in enumerate(delivered))])
    for variant, n in enumerate(clicked):
        if n:
            counters.increment(CLICKS, dimension=promotion_id, label=f"{variant}.0", amount=n)


@pytest.mark.parametrize("delivered, clicked, variants, winner, status", [
    ([10, 9], [12, 15], {"delivered": [None, None], "clicks": [12, 15]}, None, "waiting"),
    ([10, 20], [10, 9], {"delivered": [10, 20], "clicks": [None, None]}, None, "waiting"),
    ([9, 9], [3, 0], {"delivered": [None, None], "clicks": [None, None]}, None, "waiting"),
    ([10, 20], [10, 11], {"delivered": [10, 20], "clicks": [10, 11]},
     {"variant": "A", "clicks_per_delivered": 1.0}, "decided"),
    ([40, 20], [10, 10], {"delivered": [40, 20], "clicks": [10, 10]},
     {"variant": "B", "clicks_per_delivered": 0.5}, "decided"),
    ([20, 20], [10, 10], {"delivered": [20, 20], "clicks": [10, 10]}, None, "tie"),
])
def test_the_winner_is_shown_only_once_every_variant_has_k_recipients_and_k_clicks(
        client, delivered, clicked, variants, winner, status):
    _, key = new_partner("Winner")
    promotion_id = partner_promotion(client, key, variants=VARIANTS[:2])
    _figures(promotion_id, delivered, clicked)
    response = client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key))
    assert response.status_code == 200
    shown = response.json_body["promotion"]
    engagement = shown["engagement"]
    assert [v["variant"] for v in engagement["variants"]] == ["A", "B"]
    assert [v["subject"] for v in engagement["variants"]] == [v["subject"] for v in VARIANTS[:2]]
    assert [v["delivered"] for v in engagement["variants"]] == variants["delivered"]
    assert [v["clicks"] for v in engagement["variants"]] == variants["clicks"]
    assert engagement["winner"] == winner and engagement["winner_status"] == status
    total = sum(clicked)
    assert engagement["clicks"] == (total if total >= 10 else "<10")
    assert shown["counts"]["delivered"] == (sum(delivered) if sum(delivered) >= 10 else "<10")



def test_the_operator_reads_the_same_figures_under_the_same_rule(client):
    _, key = new_partner("Operator view")
    promotion_id = partner_promotion(client, key, variants=VARIANTS[:2])
    _figures(promotion_id, [12, 10], [3, 11])
    partner_view = client.http.get(f"/partner/v1/promotions/{promotion_id}",
                                   headers=bearer(key)).json_body["promotion"]["engagement"]
    shown = cli("promotions", "show", promotion_id, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["engagement"] == partner_view and partner_view["winner"] is None
    assert [v["variant"] for v in data["variants"]] == ["A", "B"]
    assert [v["subject"] for v in data["variants"]] == [v["subject"] for v in VARIANTS[:2]]
    assert {link["target"] for link in data["links"]} == {SHOP, TEXT_LINK}
    assert f"see the offer ({SHOP})" in data["html_text"]

    _figures(promotion_id, [0, 0], [8, 0])  # A: 11 clicks over 12 messages, B: 11 over 10
    readable = cli("promotions", "show", promotion_id)
    assert readable.returncode == 0, readable.stderr
    assert "winner: variant B" in readable.stdout
    assert f"variant A: 12 delivered, 11 clicks  ({VARIANTS[0]['subject']})" in readable.stdout


# --- what a partner may submit -----------------------------------------------------------------


@pytest.mark.parametrize("variants, field", [
    ([{"subject": "Only one"}], "variants"),
    ([{"subject": "A"}, {"subject": "B"}, {"subject": "C"}, {"subject": "D"}], "variants"),
    ([{"subject": "A"}, {}], "variants[1]"),
    ([{"subject": "A"}, {"subject": "B", "to": "everyone"}], "variants[1]"),
    ([{"subject": "A"}, {"subject": "Two\r\nBcc: all@example.org"}], "variants[1].subject"),
    ([{"subject": "A"}, {"subject": "B\ud800"}], "variants[1].subject"),
    ([{"subject": "A"}, {"text": "Hi {{unsubscribe_url}}", "html": "<p>x</p>"}], "variants[1].text"),
    ([{"subject": "A"}, {"text": "A text without its HTML"}], "variants[1].html"),
    ([{"subject": "A"}, {"html": "<img src=https://t.example/p.gif>"}], "variants[1].html"),
    ([{"subject": "Same"}, {"subject": "Same"}], "variants"),
    ("A", "variants"),
])
def test_bad_variants_are_refused_with_their_field_and_nothing_is_stored(client, variants, field):
    _, key = new_partner("Bad variants")
    before = sum(1 for _ in Promotion.scan())
    response = post_json(client, "/partner/v1/promotions", {
        "subject": "Toner", "text": "Toner", "html": "<p>Toner</p>", "variants": variants},
        bearer(key))
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["field"] == field, response.json_body
    assert sum(1 for _ in Promotion.scan()) == before


def test_too_many_links_are_refused(client):
    _, key = new_partner("Many links")
    text = " ".join(f"https://shop.example/{i}" for i in range(51))
    response = post_json(client, "/partner/v1/promotions", {"subject": "Links", "text": text},
                         bearer(key))
    assert response.status_code == 400 and response.json_body["error"]["field"] == "text"


def test_an_offer_with_variants_from_the_cli(tmp_path, mailbox):
    path = tmp_path / "variants.json"
    path.write_text(json.dumps([{"subject": unique_subject("CLI A")},
                                {"subject": unique_subject("CLI B")}]))
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    refused = cli("offers", "send", "--subject", "x", "--text", "y", "--variants", str(bad))
    assert refused.returncode != 0 and "variants" in refused.stderr
    one = tmp_path / "one.json"
    one.write_text(json.dumps([{"subject": "Lonely"}]))
    refused = cli("offers", "send", "--subject", "x", "--text", "y", "--variants", str(one))
    assert refused.returncode != 0 and "2 to 3 variants" in refused.stderr

    make_member(mailbox)
    sent = cli("--json", "offers", "send", "--subject", "Base", "--text", "Our own offer.",
               "--variants", str(path))
    assert sent.returncode == 0, sent.stderr
    offer = promotions.get(json.loads(sent.stdout)["promotion_id"])
    assert [v.subject for v in offer.variants] == [v["subject"] for v in
                                                    json.loads(path.read_text())]
    counts = promotions.delivery_counts(offer)
    assert counts.delivered >= 1 and sum(counts.delivered_by_variant) == counts.delivered
    # The plan's variants differ by at most one member; a member skipped at send time (one
    # pausing every promotion, say: other tests' members are in the audience too) takes one
    # from the variant they were planned for.
    assert (max(counts.delivered_by_variant) - min(counts.delivered_by_variant)
            <= 1 + counts.skipped)
