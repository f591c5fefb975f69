"""A withdrawal of partner promotions by the member asks, in its own transaction, for the
partners to be told; other changes ask nothing. Settling lists the notices on the member."""
import uuid

import pytest

from chalicelib import members
from chalicelib.members import consent, records, unlink_requests
from chalicelib.members.consent import Provenance
from chalicelib.members.models import Member, UnlinkRequest


def member(partner_promotions=True) -> str:
    return members.register_confirmed(members.Registration(
        email=f"unlink-{uuid.uuid4().hex[:12]}@example.org",
        password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": partner_promotions}),
        Provenance("registration", "/register", "https://eso.example"))


def request_of(member_id: str):
    try:
        return UnlinkRequest.get(unlink_requests.QUEUE, member_id, consistent_read=True)
    except UnlinkRequest.DoesNotExist:
        return None


@pytest.mark.parametrize("source, kind", [
    ("preference_center", "consent_withdrawn"), ("unsubscribe_link", "consent_withdrawn"),
    ("complaint", "consent_withdrawn"), ("policy_update", "consent_withdrawn"),
    ("gpc", "gpc"), ("bounce", None), ("account_deleted", None),
])
def test_which_withdrawals_ask_for_partners_to_be_told(moto_world, source, kind):
    member_id = member()
    consent.change(member_id, {"partner_promotions": False}, Provenance(source))
    request = request_of(member_id)
    assert (request.kinds if request else None) == ({kind} if kind else None)


def test_no_request_without_a_withdrawal_of_partner_promotions(moto_world):
    never = member(partner_promotions=False)
    consent.change(never, {"partner_promotions": False}, Provenance("preference_center"))
    granted = member()
    consent.change(granted, {"offers": False}, Provenance("preference_center"))
    consent.change(granted, {"partner_promotions": True}, Provenance("preference_center"))
    assert request_of(never) is None and request_of(granted) is None


def test_settling_lists_the_notices_on_the_member_unless_a_newer_request_came(moto_world):
    member_id = member()
    consent.change(member_id, {"partner_promotions": False}, Provenance("preference_center"))
    taken = request_of(member_id)
    consent.change(member_id, {"partner_promotions": True}, Provenance("preference_center"))
    consent.apply_gpc(member_id, Provenance("gpc"))  # a newer request meanwhile
    assert unlink_requests.settle(taken, ["n1", "n2"]) is False
    assert request_of(member_id).kinds == {"consent_withdrawn", "gpc"}
    assert unlink_requests.settle(request_of(member_id), ["n2", "n3"]) is True
    assert request_of(member_id) is None
    assert unlink_requests.notice_ids_of(Member.get(member_id)) == ["n1", "n2", "n3"]


def test_erasure_removes_a_waiting_request_and_settling_never_recreates_the_member(moto_world):
    member_id = member()
    consent.change(member_id, {"partner_promotions": False}, Provenance("preference_center"))
    taken = request_of(member_id)
    assert records.erase_member(member_id)
    assert request_of(member_id) is None
    unlink_requests.settle(taken, ["n1"])
    with pytest.raises(Member.DoesNotExist):
        Member.get(member_id)
