"""A partner promotion's topics: named through the partner API, shown to the partner and the
operator, and a member receives it only with one of them chosen (sent through the local SES
server)."""
import json
import uuid

import pytest

from chalicelib import members, promotions
from chalicelib.members.consent import Provenance
from chalicelib.promotions.models import Promotion
from tests.integration.helpers import cli, post_json
from tests.integration.partner_helpers import bearer, new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture(scope="module")
def topics(stack):
    tag = uuid.uuid4().hex[:6]
    return [members.topics.add_topic(f"Targeted {name} {tag}") for name in ("toner", "desks")]


def turn_off(member_id, *topic_ids):
    members.preferences.change(member_id, Provenance("preference_center", "/test"),
                               topic_choices={t: False for t in topic_ids})


def submit(client, key, **body):
    return post_json(client, "/partner/v1/promotions",
                     {"subject": unique_subject("Topical"), "text": "For some of you.", **body},
                     bearer(key))


def test_a_partner_names_topics_and_reads_them_back(client, topics):
    partner_id, key = new_partner("Topical")
    listed = client.http.get("/partner/v1/topics", headers=bearer(key))
    assert listed.status_code == 200
    assert {"id": topics[0].topic_id, "name": topics[0].name} in listed.json_body["topics"]
    assert client.http.get("/partner/v1/topics").status_code == 401

    ids = [topics[1].topic_id, topics[0].topic_id]
    response = submit(client, key, topics=ids)
    assert response.status_code == 202
    promotion_id = response.json_body["promotion"]["id"]
    shown = client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key))
    assert shown.json_body["promotion"]["topics"] == sorted(ids)

    operator = cli("promotions", "show", promotion_id)
    assert operator.returncode == 0, operator.stderr
    assert f"{topics[0].name} ({topics[0].topic_id})" in operator.stdout
    data = json.loads(cli("promotions", "show", promotion_id, "--json").stdout)
    assert data["topics"] == sorted(ids)

    untargeted = submit(client, key).json_body["promotion"]["id"]
    assert client.http.get(f"/partner/v1/promotions/{untargeted}",
                           headers=bearer(key)).json_body["promotion"]["topics"] == []
    assert "every member who takes partner promotions" in cli("promotions", "show",
                                                              untargeted).stdout


@pytest.mark.parametrize("given, field", [
    (["no-such-topic"], "topics"),
    (["Not An Id!"], "topics"),
    ([], "topics"),
    ("toner", "topics"),
    (["a", "a"], "topics"),
])
def test_unknown_or_malformed_topics_are_refused_and_nothing_is_stored(client, given, field):
    _, key = new_partner("Wrong topics")
    before = sum(1 for _ in Promotion.scan())
    response = submit(client, key, topics=given)
    assert response.status_code == 400
    assert response.json_body["error"]["field"] == field
    assert sum(1 for _ in Promotion.scan()) == before


def test_a_member_gets_a_partner_promotion_only_on_a_topic_they_chose(client, mailbox, topics):
    toner, desks = (t.topic_id for t in topics)
    partner_id, key = new_partner("Targeting")
    everything, all_on = make_member(mailbox, tag="all-topics")
    no_toner, without_toner = make_member(mailbox, tag="no-toner")
    turn_off(without_toner, toner)
    nothing, none_on = make_member(mailbox, tag="no-topics")
    turn_off(none_on, toner, desks)

    about_toner = submit(client, key, topics=[toner]).json_body["promotion"]["id"]
    promotions.approve(about_toner)
    result = promotions.send_batch(about_toner, [all_on, without_toner, none_on])
    # Members without the topic are not its audience: not sent, and not counted as skipped.
    assert result == (1, 0, 0)
    stored = promotions.get(about_toner)
    assert len(received(mailbox, stored, everything)) == 1
    assert received(mailbox, stored, no_toner) == [] == received(mailbox, stored, nothing)

    # One of its topics is enough.
    either = submit(client, key, topics=[toner, desks]).json_body["promotion"]["id"]
    promotions.approve(either)
    assert promotions.send_batch(either, [without_toner, none_on]) == (1, 0, 0)
    assert len(received(mailbox, promotions.get(either), no_toner)) == 1
    assert received(mailbox, promotions.get(either), nothing) == []

    # A promotion that names no topic is for every member who takes partner promotions.
    general = submit(client, key).json_body["promotion"]["id"]
    promotions.approve(general)
    assert promotions.send_batch(general, [none_on]) == (1, 0, 0)
    assert len(received(mailbox, promotions.get(general), nothing)) == 1


def test_an_offer_names_no_topics(topics):
    from chalicelib.platform.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        promotions.create("offer", "Ours", "Text", topics=[topics[0].topic_id])
    assert refused.value.field == "topics"
