"""One-click unsubscribe links without servers: what a link names, which links are refused,
and what following one changes."""
import uuid

import pytest

from chalicelib import members
from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.members.models import Member
from chalicelib.platform.crypto import sign
from chalicelib.platform.errors import ValidationError
from chalicelib.promotions import unsubscribe_links as links


def member() -> str:
    return members.register_confirmed(members.Registration(
        email=f"unsub-{uuid.uuid4().hex[:12]}@example.org",
        password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": True}), Provenance("registration"))


def test_a_token_names_the_member_and_a_purpose_code_never_an_address(moto_tables):
    assert links.unsubscribe_token("m-1", "offers") == f"m-1.o.{sign('unsubscribe', 'm-1.o')}"
    assert links.unsubscribe_token("m-1", "partner_promotions") == \
        f"m-1.p.{sign('unsubscribe', 'm-1.p')}"


def test_the_link_points_at_the_stage_s_unsubscribe_page(moto_tables):
    assert links.unsubscribe_url("m-1", "offers") == \
        f"https://eso.example/unsubscribe?token={links.unsubscribe_token('m-1', 'offers')}"


@pytest.mark.parametrize("purpose", ["offers", "partner_promotions"])
def test_a_genuine_token_reads_back(moto_tables, purpose):
    token = links.unsubscribe_token("4f1c-member", purpose)
    assert links.read_unsubscribe_token(token) == ("4f1c-member", purpose)


def forged_tokens():
    good = links.unsubscribe_token("m-1", "offers")
    member_id, code, signature = good.split(".")
    long_id = "m" * 190
    return [None, "", "m-1", "m-1.o", f"{good}.extra", f"m-1.x.{signature}",
            f"m-2.o.{signature}", f"m-1.p.{signature}", f"{member_id}.{code}.{signature[:-1]}",
            f"{member_id}.{code}.", links.unsubscribe_token(long_id, "offers")]


def test_forged_altered_or_overlong_tokens_are_refused(moto_tables, says):
    for token in forged_tokens():
        with pytest.raises(ValidationError) as refused:
            links.read_unsubscribe_token(token)
        assert (refused.value.code, refused.value.field) == ("invalid_token", "token"), token
        assert says(refused.value, "unsubscribe link is not valid"), token


def test_a_token_of_exactly_200_characters_is_read(moto_tables):
    probe = links.unsubscribe_token("", "offers")
    member_id = "m" * (200 - len(probe))
    token = links.unsubscribe_token(member_id, "offers")
    assert len(token) == 200
    assert links.read_unsubscribe_token(token) == (member_id, "offers")
    longer = links.unsubscribe_token(member_id + "m", "offers")
    assert len(longer) == 201
    with pytest.raises(ValidationError):
        links.read_unsubscribe_token(longer)


def test_following_a_link_withdraws_that_purpose_only_with_its_evidence(moto_world):
    member_id = member()
    token = links.unsubscribe_token(member_id, "partner_promotions")
    assert links.unsubscribe(token) == "partner_promotions"
    stored = Member.get(member_id)
    assert not consent.is_granted(stored, "partner_promotions")
    assert consent.is_granted(stored, "offers")
    event = consent.history(member_id)[-1]
    assert (event.purpose, event.granted, event.source, event.page) == (
        "partner_promotions", False, "unsubscribe_link", "/unsubscribe")
    assert links.unsubscribe(token) == "partner_promotions"  # again: nothing more recorded
    assert len(consent.history(member_id)) == 3


def test_a_deleted_member_s_link_answers_as_done(moto_world):
    token = links.unsubscribe_token("deleted-member", "offers")
    assert links.unsubscribe(token) == "offers"


def test_a_forged_link_changes_nothing(moto_world):
    member_id = member()
    with pytest.raises(ValidationError):
        links.unsubscribe(f"{member_id}.o.{'0' * 43}")
    assert consent.is_granted(Member.get(member_id), "offers")
