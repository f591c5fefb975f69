"""Consent as evidence, without servers: each change is an event in a hash chain, the state
and the sending audiences follow the last event, and tampering is found."""
import hashlib
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import members
from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.members.models import ConsentEvent, Member
from chalicelib.platform.errors import NotFoundError, UnavailableError
from chalicelib.platform.policy import policy_version
from chalicelib.statistics import counters

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time
PASSWORD = "correct horse battery staple"
GPC = Provenance("gpc", "/account", "https://eso.example")  # a browser's privacy signal


def new_member(offers=True, partner_promotions=True, page="/register", origin=None) -> str:
    return members.register_confirmed(members.Registration(
        email=f"consent-{uuid.uuid4()}@example.org", password=PASSWORD,
        consents={"offers": offers, "partner_promotions": partner_promotions}),
        Provenance("registration", page, origin))


def bare_member(**attributes) -> str:
    """A member item with no consent recorded yet (as before the first choice was stored)."""
    member_id = f"bare-{uuid.uuid4()}"
    Member(member_id, email=f"{member_id}@example.org", password_hash="x", created_at=START,
           **{"email_verified": True, **attributes}).save()
    return member_id


def test_registration_records_one_event_per_purpose_in_a_chain(moto_world):
    member_id = new_member(offers=True, partner_promotions=False)
    first, second = consent.history(member_id)
    assert [(e.seq, e.purpose, e.granted) for e in (first, second)] == [
        (1, "offers", True), (2, "partner_promotions", False)]
    assert first.prev_hash == consent.genesis_hash(member_id)
    assert second.prev_hash == first.event_hash != second.event_hash
    assert consent.verify_chain(member_id) == []


def test_each_members_history_starts_from_a_link_of_its_own(moto_world):
    # Two histories with the same choices still differ from their first link: one member's
    # events cannot be passed off as the start of another's.
    one, other = new_member(), new_member()
    [first_one, _], [first_other, _] = consent.history(one), consent.history(other)
    assert first_one.prev_hash != first_other.prev_hash
    assert consent.genesis_hash(one) != consent.genesis_hash(other)


def test_a_withdrawal_is_an_event_with_its_evidence_and_changes_the_state_at_once(moto_world):
    member_id = new_member()
    moto_world.clock.advance(60)
    member = consent.change(member_id, {"offers": False},
                            Provenance("preference_center", "/account", "https://eso.example"))
    assert not consent.is_granted(member, "offers")
    assert consent.is_granted(member, "partner_promotions")
    assert member.consent_seq == 3
    assert member.aud_offers is None and member.aud_partner_promotions is not None
    stored = Member.get(member_id)
    assert not consent.is_granted(stored, "offers")
    assert stored.consents.offers.updated_at == START + timedelta(seconds=60)
    assert stored.consents.offers.policy_version == policy_version()
    assert (stored.consent_seq, stored.consent_head) == (3, member.consent_head)
    assert stored.aud_offers is None and stored.aud_partner_promotions == member.aud_partner_promotions
    event = consent.history(member_id)[-1]
    assert consent.event_json(event, full=True) == {
        "id": consent.event_id(event), "purpose": "offers", "granted": False, "at": "2026-12-01T09:01:00Z",
        "source": "preference_center", "policy_version": policy_version(), "seq": 3,
        "page": "/account", "origin": "https://eso.example", "hash": event.event_hash}
    assert consent.event_json(event) == {
        "id": consent.event_id(event), "purpose": "offers", "granted": False, "at": "2026-12-01T09:01:00Z",
        "source": "preference_center", "policy_version": policy_version()}
    assert event.event_hash == stored.consent_head
    assert consent.verify_chain(member_id) == []


def test_a_member_out_of_an_audience_has_no_audience_attribute_at_all(moto_world):
    """The audiences are sparse indexes: DynamoDB refuses a NULL index key, so it is removed."""
    import boto3

    member_id = new_member(offers=True)
    consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=Member.Meta.table_name, Key={"member_id": {"S": member_id}},
        ConsistentRead=True)["Item"]
    assert "aud_offers" not in item and "aud_partner_promotions" in item


def test_granting_again_puts_the_member_back_in_the_audience(moto_world):
    member_id = new_member(offers=False)
    assert Member.get(member_id).aud_offers is None
    member = consent.change(member_id, {"offers": True}, Provenance("preference_center"))
    assert member.aud_offers == consent.audience_shard(member_id)
    assert Member.get(member_id).aud_offers == consent.audience_shard(member_id)
    assert member_id in set(members.audience_ids("offers"))
    assert [e.granted for e in consent.history(member_id) if e.purpose == "offers"] == [False, True]


def test_several_changes_at_once_are_chained_in_a_fixed_order(moto_world):
    member_id = new_member(offers=False, partner_promotions=False)
    member = consent.change(member_id, {"partner_promotions": True, "offers": True},
                            Provenance("preference_center"))
    events = consent.history(member_id)
    assert [(e.seq, e.purpose, e.granted) for e in events[2:]] == [
        (3, "offers", True), (4, "partner_promotions", True)]
    assert events[3].prev_hash == events[2].event_hash
    assert member.consent_head == events[3].event_hash == Member.get(member_id).consent_head
    assert consent.verify_chain(member_id) == []


def test_a_choice_already_in_force_records_nothing(moto_world):
    member_id = new_member(offers=True, partner_promotions=False)
    member = consent.change(member_id, {"offers": True, "partner_promotions": False},
                            Provenance("preference_center"))
    assert member.consent_seq == 2 and len(consent.history(member_id)) == 2


def test_a_first_explicit_refusal_is_recorded_even_though_nothing_was_granted(moto_world):
    member_id = bare_member()
    member = consent.change(member_id, {"partner_promotions": False}, Provenance("bounce"))
    [event] = consent.history(member_id)
    assert (event.seq, event.purpose, event.granted, event.source) == (
        1, "partner_promotions", False, "bounce")
    assert event.prev_hash == consent.genesis_hash(member_id)
    assert member.consents.partner_promotions.granted is False
    assert member.consents.offers is None
    assert consent.verify_chain(member_id) == []


def test_audiences_hold_only_verified_unsuppressed_members_who_consent(moto_world):
    member_id = bare_member(email_verified=False)
    member = consent.change(member_id, {"offers": True}, Provenance("preference_center"))
    assert consent.is_granted(member, "offers") and member.aud_offers is None
    suppressed = bare_member(suppressed=True)
    member = consent.change(suppressed, {"offers": True}, Provenance("preference_center"))
    assert member.aud_offers is None and Member.get(suppressed).aud_offers is None
    assert suppressed not in set(members.audience_ids("offers"))


def test_the_audience_shard_spreads_members_by_a_hash_of_their_id(moto_world):
    for member_id in ("a", "member-1", "4f1c"):
        expected = int(hashlib.sha256(member_id.encode()).hexdigest()[:8], 16) % 4
        assert consent.audience_shard(member_id) == str(expected)
    assert {consent.audience_shard(str(n)) for n in range(40)} == {"0", "1", "2", "3"}


def test_audience_values_name_every_audience(moto_world):
    state = consent.state_after(None, consent.new_events(
        "m", 0, "h", {"offers": True, "partner_promotions": False},
        Provenance("registration"), START))
    assert consent.audience_values("m", state, True, False) == {
        "aud_offers": consent.audience_shard("m"), "aud_partner_promotions": None}
    assert consent.audience_values("m", state, False, False) == {
        "aud_offers": None, "aud_partner_promotions": None}
    assert consent.audience_values("m", state, True, True) == {
        "aud_offers": None, "aud_partner_promotions": None}
    assert consent.audience_values("m", consent.state_after(None, []), True, False) == {
        "aud_offers": None, "aud_partner_promotions": None}


def test_the_last_event_of_a_purpose_decides_its_state(moto_world):
    events = consent.new_events("m", 4, "head", {"offers": True}, Provenance("registration"),
                                START)
    later = consent.new_events("m", 5, events[-1].event_hash, {"offers": False},
                               Provenance("unsubscribe_link"), START + timedelta(hours=1))
    before = consent.state_after(None, consent.new_events(
        "m", 0, "h", {"partner_promotions": True}, Provenance("registration"), START))
    state = consent.state_after(before, events + later)
    assert state.offers.granted is False and state.offers.updated_at == START + timedelta(hours=1)
    assert state.partner_promotions.granted is True  # untouched purposes are kept
    assert [(e.seq, e.prev_hash) for e in events + later] == [
        (5, "head"), (6, events[0].event_hash)]


def test_page_and_origin_are_kept_to_200_characters_and_empty_ones_are_absent(moto_world):
    [event] = consent.new_events("m", 0, "h", {"offers": True},
                                 Provenance("registration", "/" + "p" * 300, "o" * 300), START)
    assert event.page == "/" + "p" * 199 and event.origin == "o" * 200
    [event] = consent.new_events("m", 0, "h", {"offers": True},
                                 Provenance("registration", "", ""), START)
    assert event.page is None and event.origin is None


def test_unknown_purposes_and_sources_are_refused_and_change_nothing(moto_world):
    member_id = new_member()
    with pytest.raises(ValueError, match="unknown consent purposes"):
        consent.change(member_id, {"offers": False, "newsletters": True},
                       Provenance("preference_center"))
    with pytest.raises(ValueError, match="unknown consent purposes"):  # a preference, not a consent
        consent.change(member_id, {"frequency": True}, Provenance("preference_center"))
    with pytest.raises(ValueError, match="unknown consent source"):
        consent.change(member_id, {"offers": False}, Provenance("guesswork"))
    assert len(consent.history(member_id)) == 2
    assert consent.is_granted(Member.get(member_id), "offers")


def test_a_missing_member_cannot_consent(moto_world, says):
    with pytest.raises(NotFoundError) as refused:
        consent.change("no-such-member", {"offers": True}, Provenance("preference_center"))
    assert says(refused.value, "no such account")
    assert consent.verify_chain("no-such-member") == ["no-such-member: no such member"]


def test_grants_and_withdrawals_are_counted_per_purpose(moto_world):
    day = START.date()

    def counted(metric, purpose):
        return counters.daily(metric, day, day, dimension=purpose).get(day, 0)

    before = {(m, p): counted(m, p) for m in ("consent_grants", "consent_withdrawals")
              for p in ("offers", "partner_promotions")}
    member_id = bare_member()
    consent.change(member_id, {"offers": True, "partner_promotions": False},
                   Provenance("preference_center"))
    assert counted("consent_grants", "offers") == before["consent_grants", "offers"] + 1
    assert counted("consent_withdrawals", "partner_promotions") == \
        before["consent_withdrawals", "partner_promotions"] + 1
    assert counted("consent_grants", "partner_promotions") == \
        before["consent_grants", "partner_promotions"]
    assert counted("consent_withdrawals", "offers") == before["consent_withdrawals", "offers"]


def test_a_change_made_meanwhile_is_kept_and_both_are_chained(moto_world, monkeypatch):
    member_id = new_member()
    original = consent.chained_change
    interfered = []

    def racing(member, changes, provenance, now):
        if not interfered:  # another request changes the member between our read and write
            interfered.append(True)
            consent.change(member_id, {"partner_promotions": False},
                           Provenance("unsubscribe_link"))
        return original(member, changes, provenance, now)

    monkeypatch.setattr(consent, "chained_change", racing)
    member = consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    assert [(e.seq, e.purpose, e.granted) for e in consent.history(member_id)[2:]] == [
        (3, "partner_promotions", False), (4, "offers", False)]
    assert member.consent_seq == 4
    assert consent.verify_chain(member_id) == []


@pytest.mark.parametrize("once", [None, Member.gpc_applied_at])
def test_an_account_deleted_meanwhile_is_not_brought_back_by_a_consent_change(
        moto_world, monkeypatch, once):
    member_id = new_member()
    original = consent.chained_change

    def deleted_meanwhile(member, changes, provenance, now):
        Member(member_id).delete()  # the account's deletion, between our read and write
        return original(member, changes, provenance, now)

    monkeypatch.setattr(consent, "chained_change", deleted_meanwhile)
    with pytest.raises(NotFoundError):
        consent.change(member_id, {"partner_promotions": False}, GPC, once=once)
    assert Member.count(member_id) == 0


def test_endless_contention_ends_in_a_retryable_refusal(moto_world, monkeypatch, says):
    member_id = new_member()
    original = consent.chained_change
    grants = iter([False, True] * 20)

    def always_racing(member, changes, provenance, now):
        consent_change_directly(member_id, next(grants))
        return original(member, changes, provenance, now)

    def consent_change_directly(member_id, granted):
        monkeypatch.setattr(consent, "chained_change", original)
        try:
            consent.change(member_id, {"partner_promotions": granted}, Provenance("bounce"))
        finally:
            monkeypatch.setattr(consent, "chained_change", always_racing)

    monkeypatch.setattr(consent, "chained_change", always_racing)
    with pytest.raises(UnavailableError) as refused:
        consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    assert refused.value.retry_after == 1
    assert says(refused.value, "Try again in a moment")
    assert consent.is_granted(Member.get(member_id), "offers")
    assert consent.verify_chain(member_id) == []
    assert len(consent.history(member_id)) == 2 + consent.MAX_ATTEMPTS
    # Jittered pauses between half and all of 5 ms doubling per retry, capped at 0.1 s: the
    # request gives up within about a second.
    slept = moto_world.clock.slept
    bounds = [min(0.1, 0.005 * 2 ** n) for n in range(consent.MAX_ATTEMPTS - 1)]
    assert len(slept) == len(bounds) and sum(slept) <= 1.1
    assert all(high / 2 <= s <= high for s, high in zip(slept, bounds))


def tamper(member_id, seq, **changes):
    event = ConsentEvent.get(member_id, seq)
    for name, value in changes.items():
        setattr(event, name, value)
    event.save()


def test_verify_chain_finds_an_edited_event(moto_world):
    member_id = new_member()
    tamper(member_id, 1, granted=False)
    assert consent.verify_chain(member_id) == [
        f"{member_id}: event 1 does not match the chain",
        f"{member_id}: the current offers consent differs from its history"]


def test_verify_chain_finds_a_forged_link(moto_world):
    member_id = new_member()
    tamper(member_id, 2, prev_hash="0" * 64)
    assert consent.verify_chain(member_id) == [f"{member_id}: event 2 does not match the chain"]


def test_verify_chain_finds_a_removed_event(moto_world):
    member_id = new_member()
    consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    ConsentEvent.get(member_id, 2).delete()
    assert consent.verify_chain(member_id) == [
        f"{member_id}: event 3 found where 2 was expected",
        f"{member_id}: event 3 does not match the chain",
        f"{member_id}: the current partner_promotions consent differs from its history"]


def test_verify_chain_finds_a_state_or_head_that_is_not_the_history(moto_world):
    member_id = new_member()
    member = Member.get(member_id)
    member.update(actions=[Member.consent_seq.set(5)])
    assert consent.verify_chain(member_id) == [
        f"{member_id}: the member's consent head does not match its history"]
    other = new_member()
    member = Member.get(other)
    member.update(actions=[Member.consent_head.set("f" * 64)])
    assert consent.verify_chain(other) == [
        f"{other}: the member's consent head does not match its history"]
    third = new_member(offers=True)
    member = Member.get(third)
    member.consents.offers.granted = False
    member.save()
    assert consent.verify_chain(third) == [
        f"{third}: the current offers consent differs from its history"]


def test_verify_chain_finds_a_state_without_any_event(moto_world):
    member_id = bare_member()
    member = Member.get(member_id)
    member.consents = consent.state_after(None, consent.new_events(
        member_id, 0, "h", {"offers": True}, Provenance("registration"), START))
    member.save()
    assert consent.verify_chain(member_id) == [
        f"{member_id}: the current offers consent differs from its history"]
    assert consent.verify_chain(bare_member()) == []


def test_every_member_id_is_listed_for_the_operator(moto_world):
    ids = {new_member(), new_member()}
    assert ids <= set(consent.all_member_ids())


def test_a_consent_event_s_id_is_stable_distinct_and_reveals_no_hash(moto_world):
    member_id = new_member()
    first, second = consent.history(member_id)
    shown = consent.event_id(first)
    assert re.fullmatch(r"[0-9a-f]{24}", shown)
    assert shown not in first.event_hash and shown not in first.prev_hash
    assert consent.event_id(consent.history(member_id)[0]) == shown
    assert consent.event_id(second) != shown
    assert shown not in {consent.event_id(e) for e in consent.history(new_member())}


# --- Global Privacy Control -------------------------------------------------------------------


def test_gpc_withdraws_partner_promotions_once_and_a_later_grant_stands(moto_world):
    member_id = new_member(offers=True, partner_promotions=True)
    moto_world.clock.advance(60)
    assert consent.apply_gpc(member_id, GPC) is True
    member = Member.get(member_id)
    assert not consent.is_granted(member, "partner_promotions")
    assert consent.is_granted(member, "offers")
    assert member.aud_partner_promotions is None and member.aud_offers is not None
    assert member.gpc_applied_at == START + timedelta(seconds=60)
    events = consent.history(member_id)
    assert [(e.purpose, e.granted, e.source, e.page, e.origin) for e in events[2:]] == [
        ("partner_promotions", False, "gpc", "/account", "https://eso.example")]

    moto_world.clock.advance(60)
    consent.change(member_id, {"partner_promotions": True}, Provenance("preference_center"))
    moto_world.clock.advance(60)
    assert consent.apply_gpc(member_id, GPC) is False  # the signal again, on another visit
    member = Member.get(member_id)
    assert consent.is_granted(member, "partner_promotions")
    assert member.gpc_applied_at == START + timedelta(seconds=60)
    assert [e.source for e in consent.history(member_id)] == [
        "registration", "registration", "gpc", "preference_center"]
    assert consent.verify_chain(member_id) == []


def test_gpc_for_a_member_with_partner_promotions_off_records_nothing_but_is_remembered(
        moto_world):
    member_id = new_member(offers=True, partner_promotions=False)
    before = [e.event_hash for e in consent.history(member_id)]
    moto_world.clock.advance(60)
    assert consent.apply_gpc(member_id, GPC) is False
    member = Member.get(member_id)
    assert [e.event_hash for e in consent.history(member_id)] == before
    assert member.gpc_applied_at == START + timedelta(seconds=60)
    assert int(member.consent_seq) == 2 and consent.is_granted(member, "offers")
    consent.change(member_id, {"partner_promotions": True}, Provenance("preference_center"))
    assert consent.apply_gpc(member_id, GPC) is False
    assert consent.is_granted(Member.get(member_id), "partner_promotions")


def test_gpc_for_an_unknown_member_does_nothing(moto_world):
    assert consent.apply_gpc(f"gone-{uuid.uuid4()}", GPC) is False


def test_a_change_made_once_is_made_only_the_first_time(moto_world):
    member_id = new_member(offers=True, partner_promotions=True)
    once = Member.gpc_applied_at
    changed = consent.change(member_id, {"partner_promotions": False}, GPC, once=once)
    assert changed is not None and not consent.is_granted(changed, "partner_promotions")
    consent.change(member_id, {"partner_promotions": True}, Provenance("preference_center"))
    assert consent.change(member_id, {"partner_promotions": False}, GPC, once=once) is None
    assert consent.is_granted(Member.get(member_id), "partner_promotions")
    assert len(consent.history(member_id)) == 4


def test_a_change_made_once_that_changes_nothing_still_marks_it_done(moto_world):
    member_id = new_member(partner_promotions=False)
    moto_world.clock.advance(60)
    consent.change(member_id, {"partner_promotions": False}, GPC, once=Member.gpc_applied_at)
    member = Member.get(member_id)
    assert member.gpc_applied_at == START + timedelta(seconds=60)
    assert len(consent.history(member_id)) == 2


# --- a new policy version -------------------------------------------------------------------


def publish_new_policy_version(monkeypatch):
    """A second policy version published after the members of the test made their choices."""
    from chalicelib.platform import policy

    newer = policy.current_policy()._replace(version="2027-02-01", effective_date="2027-02-01")
    monkeypatch.setitem(policy.VERSIONS, "a-later-text", ("2027-02-01", "2027-02-01"))
    monkeypatch.setitem(policy.CHANGES, "2027-02-01",
                        ("Partner promotions now name the partner in the subject.",))
    monkeypatch.setattr(policy, "current_policy", lambda: newer)
    return newer


NEWER_CHANGES = [("2027-02-01", "2027-02-01",
                  ("Partner promotions now name the partner in the subject.",))]


def test_a_member_up_to_date_with_the_policy_has_nothing_pending(moto_world):
    assert consent.policy_pending(Member.get(new_member())) == []
    assert consent.policy_pending(Member.get(bare_member())) == []  # registered before versions


def test_a_later_policy_version_is_pending_with_what_changed(moto_world, monkeypatch):
    member_id, unanswered = new_member(), bare_member()
    publish_new_policy_version(monkeypatch)
    assert consent.policy_pending(Member.get(member_id)) == NEWER_CHANGES
    assert consent.policy_pending(Member.get(unanswered)) == NEWER_CHANGES


def test_confirming_the_policy_restates_each_choice_under_the_current_version(moto_world,
                                                                              monkeypatch):
    member_id = new_member(offers=True, partner_promotions=False)
    newer = publish_new_policy_version(monkeypatch)
    moto_world.clock.advance(60)
    answer = Provenance("policy_update", "/account", "https://eso.example")
    confirmed = consent.confirm_policy(member_id, {"partner_promotions": True}, answer)
    assert confirmed.policy_confirmed == newer.version
    stored = Member.get(member_id)
    assert stored.policy_confirmed == newer.version
    assert consent.policy_pending(stored) == []
    assert consent.is_granted(stored, "offers") and consent.is_granted(stored, "partner_promotions")
    assert stored.consents.offers.policy_version == newer.version
    assert stored.consents.offers.updated_at == START + timedelta(seconds=60)
    assert stored.aud_partner_promotions is not None
    assert {(e.purpose, e.granted, e.source, e.policy_version, e.at)
            for e in consent.history(member_id)[2:]} == {
        ("offers", True, "policy_update", newer.version, START + timedelta(seconds=60)),
        ("partner_promotions", True, "policy_update", newer.version,
         START + timedelta(seconds=60))}
    assert consent.verify_chain(member_id) == []


def test_confirming_the_policy_without_changes_restates_every_choice(moto_world, monkeypatch):
    member_id = new_member(offers=False, partner_promotions=True)
    newer = publish_new_policy_version(monkeypatch)
    consent.confirm_policy(member_id, {}, Provenance("policy_update"))
    stored = Member.get(member_id)
    assert stored.policy_confirmed == newer.version and int(stored.consent_seq) == 4
    assert [(e.purpose, e.granted, e.policy_version) for e in consent.history(member_id)[2:]] == [
        ("offers", False, newer.version), ("partner_promotions", True, newer.version)]


def test_a_missing_member_cannot_confirm_the_policy(moto_world, says):
    with pytest.raises(NotFoundError) as refused:
        consent.confirm_policy(f"gone-{uuid.uuid4()}", {}, Provenance("policy_update"))
    assert says(refused.value, "no such account")
    with pytest.raises(NotFoundError):
        consent.get_current(f"gone-{uuid.uuid4()}")


def test_a_policy_answer_is_recorded_at_the_time_it_was_given(moto_world, monkeypatch):
    member_id = new_member()
    newer = publish_new_policy_version(monkeypatch)
    answered = START - timedelta(seconds=5)  # (the clock says START)
    consent.confirm_policy(member_id, {}, Provenance("policy_update"), now=answered)
    assert {(e.at, e.policy_version) for e in consent.history(member_id)[2:]} == {
        (answered, newer.version)}


def test_gpc_is_recorded_at_the_time_of_the_request(moto_world):
    member_id = new_member()
    seen = START - timedelta(seconds=5)  # (the clock says START)
    assert consent.apply_gpc(member_id, GPC, now=seen) is True
    assert consent.history(member_id)[-1].at == seen
    assert Member.get(member_id).gpc_applied_at == seen


def test_gpc_arriving_as_the_member_withdraws_themselves_records_only_their_choice(
        moto_world, monkeypatch):
    member_id = new_member()
    real_change = consent.change

    def member_withdrew_meanwhile(*args, **kwargs):
        real_change(member_id, {"partner_promotions": False}, Provenance("preference_center"))
        return real_change(*args, **kwargs)

    monkeypatch.setattr(consent, "change", member_withdrew_meanwhile)
    consent.apply_gpc(member_id, GPC)
    assert [e.source for e in consent.history(member_id)] == [
        "registration", "registration", "preference_center"]
    assert Member.get(member_id).gpc_applied_at == START


def test_gpc_applied_meanwhile_by_another_request_is_applied_once(moto_world, monkeypatch):
    member_id = new_member()
    real_change = consent.change

    def other_request_first(*args, **kwargs):
        real_change(member_id, {"partner_promotions": False}, GPC, once=Member.gpc_applied_at)
        return real_change(*args, **kwargs)

    monkeypatch.setattr(consent, "change", other_request_first)
    assert consent.apply_gpc(member_id, GPC) is False
    assert [e.source for e in consent.history(member_id)] == ["registration", "registration", "gpc"]


def test_gpc_marked_meanwhile_keeps_its_first_time(moto_world):
    member_id = new_member(partner_promotions=False)
    read_before = Member.get(member_id)  # by a request that has not marked it yet
    moto_world.clock.advance(60)
    assert consent.apply_gpc(member_id, GPC) is False  # another request marks it first
    consent._mark_once(read_before, Member.gpc_applied_at, START + timedelta(seconds=120))
    assert Member.get(member_id).gpc_applied_at == START + timedelta(seconds=60)


def test_marking_gpc_or_a_new_device_never_recreates_a_member_erased_meanwhile(moto_world):
    """Both writes read the member first; if the account is erased before they write, an
    unconditional update would bring back a member item holding only that attribute."""
    from chalicelib.members import accounts

    member_id = new_member(partner_promotions=False)
    read_before = Member.get(member_id)
    members.erase_member(member_id)
    consent._mark_once(read_before, Member.gpc_applied_at, moto_world.clock.now())
    accounts.note_device(read_before, "Firefox/140.0 (Windows NT 10.0)", moto_world.clock.now())
    with pytest.raises(Member.DoesNotExist):
        Member.get(member_id)


def test_the_hashed_form_of_an_event_is_stable_so_stored_chains_still_verify():
    """What each event's hash is made of: changing a key or a field's form would fail every
    chain already stored, so the form is fixed here, key by key."""
    event = ConsentEvent("m-canonical", 3, purpose="offers", granted=True,
                         at=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc),
                         source="registration", policy_version="2026-01-15",
                         page="/register", origin="https://www.example.org")
    assert consent._canonical(event) == (
        '{"at":"2026-03-01T12:30:00+00:00","granted":true,"member_id":"m-canonical",'
        '"origin":"https://www.example.org","page":"/register","policy_version":"2026-01-15",'
        '"purpose":"offers","seq":3,"source":"registration"}')
    event.value = "week"                         # a preference's value is part of it
    assert consent._canonical(event).endswith('"source":"registration","value":"week"}')


def test_a_preference_among_the_events_leaves_the_consents_after_it_applied():
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    events = [ConsentEvent("m-state", 1, purpose="frequency", granted=True, at=at,
                           source="preference_center", policy_version="v1", value="day"),
              ConsentEvent("m-state", 2, purpose="offers", granted=True, at=at,
                           source="preference_center", policy_version="v1")]
    state = consent.state_after(None, events)
    assert state.offers.granted is True and state.offers.policy_version == "v1"
    assert state.partner_promotions is None


def test_each_event_hash_is_the_chain_s_own_keyed_hash_of_the_one_before_and_the_event(
        moto_world):
    """An HMAC under the chain's own purpose (no other signed value of the product can stand
    in for a link of the chain), over the previous hash and the event's hashed form."""
    import base64
    import hmac

    from chalicelib.platform import crypto

    event = ConsentEvent("m-hash", 1, purpose="offers", granted=False,
                         at=datetime(2026, 3, 1, tzinfo=timezone.utc), source="registration",
                         policy_version="v1")
    prev = consent.genesis_hash("m-hash")
    mac = hmac.new(crypto.signing_key(),
                   f"consent-chain\x00{prev}\x00{consent._canonical(event)}".encode(),
                   hashlib.sha256).digest()
    assert consent._event_hash(prev, event) == base64.urlsafe_b64encode(mac).rstrip(
        b"=").decode()


def test_events_for_an_unknown_purpose_are_refused_by_name():
    with pytest.raises(ValueError, match=r"^unknown consent purposes \['newsletter'\]$"):
        consent.new_events("m-unknown", 0, "h", {"newsletter": True},
                           Provenance("registration"), datetime(2026, 3, 1, tzinfo=timezone.utc))
