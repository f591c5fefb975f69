"""The members domain's part of the export and the erasure, without servers: what a member is
shown of themselves, and that nothing naming them is left behind."""
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from chalicelib import members
from chalicelib.members import consent, records, sessions, tokens, totp
from chalicelib.members.accounts import LOGIN_WINDOW_S, login_throttle_key, mail_throttle_key
from chalicelib.members.consent import Provenance
from chalicelib.members.models import ConsentEvent, EmailClaim, Member, Passkey, Session, Token
from chalicelib.platform import ratelimit
from chalicelib.platform.policy import policy_version
from chalicelib.platform.ratelimit import RateLimit

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time


def member(offers=True, partner_promotions=False, display_name=None) -> tuple:
    email = f"records-{uuid.uuid4().hex[:12]}@example.org"
    member_id = members.register_confirmed(members.Registration(
        email=email, password="correct horse battery staple", display_name=display_name,
        consents={"offers": offers, "partner_promotions": partner_promotions}),
        Provenance("registration", "/register", "https://eso.example"))
    return member_id, email


def items(model, *key) -> int:
    try:
        model.get(*key, consistent_read=True)
        return 1
    except model.DoesNotExist:
        return 0


def test_the_profile_shows_address_name_verification_and_each_consent(moto_world):
    member_id, email = member(display_name="Ada")
    profile = records.profile(Member.get(member_id))
    assert profile == {
        "id": member_id, "email": email, "email_verified": True, "display_name": "Ada",
        "created_at": "2026-12-01T09:00:00Z",
        "consents": {
            "offers": {"granted": True, "updated_at": "2026-12-01T09:00:00Z",
                       "policy_version": policy_version()},
            "partner_promotions": {"granted": False, "updated_at": "2026-12-01T09:00:00Z",
                                   "policy_version": policy_version()}}}


def test_a_profile_without_recorded_consents_shows_none_granted(moto_world):
    item = Member(f"bare-{uuid.uuid4()}", email="bare@example.org", password_hash="x",
                  created_at=START)
    assert records.profile(item)["consents"] == {
        "offers": {"granted": False, "updated_at": None, "policy_version": None},
        "partner_promotions": {"granted": False, "updated_at": None, "policy_version": None}}
    assert records.profile(item)["email_verified"] is False


def test_the_export_holds_account_facts_full_consent_history_and_live_sessions(moto_world):
    member_id, email = member()
    moto_world.clock.advance(60)
    consent.change(member_id, {"offers": False}, Provenance("preference_center", "/account"))
    sessions.create(member_id, "Laptop")
    export = records.export_member(member_id)
    assert export["member"] == records.profile(Member.get(member_id))
    assert export["account"] == {"verified_at": "2026-12-01T09:00:00Z",
                                 "password_changed_at": None, "suppressed": False,
                                 "soft_bounces_at": [], "two_step_sign_in": {"enabled_at": None,
                                                      "recovery_codes_left": 0}}
    history = export["consent_history"]
    assert [(e["seq"], e["purpose"], e["granted"], e["source"], e["page"]) for e in history] == [
        (1, "offers", True, "registration", "/register"),
        (2, "partner_promotions", False, "registration", "/register"),
        (3, "offers", False, "preference_center", "/account")]
    assert history[0]["origin"] == "https://eso.example" and len(history[2]["hash"]) > 20
    assert export["sessions"] == [{"created_at": "2026-12-01T09:01:00Z",
                                   "last_seen_at": "2026-12-01T09:01:00Z",
                                   "expires_at": "2026-12-01T10:01:00Z", "user_agent": "Laptop"}]


def test_the_export_shows_a_password_change_and_a_suppressed_address(moto_world):
    member_id, _ = member()
    Member.get(member_id).update(actions=[Member.password_changed_at.set(START),
                                          Member.suppressed.set(True)])
    assert records.export_member(member_id)["account"] == {
        "verified_at": "2026-12-01T09:00:00Z", "password_changed_at": "2026-12-01T09:00:00Z",
        "suppressed": True, "soft_bounces_at": [],
        "two_step_sign_in": {"enabled_at": None, "recovery_codes_left": 0}}


def test_the_export_lists_the_recorded_soft_bounces_oldest_first(moto_world):
    member_id, email = member()
    for hours, event in ((5, "later"), (1, "earlier")):
        members.note_soft_bounce(email, f"bounce-{event}", START + timedelta(hours=hours))
    assert records.export_member(member_id)["account"]["soft_bounces_at"] == [
        "2026-12-01T10:00:00Z", "2026-12-01T14:00:00Z"]


def test_ending_sessions_ends_the_member_s_only(moto_world):
    member_id, _ = member()
    neighbour, _ = member()
    mine = [sessions.create(member_id)[0] for _ in range(2)]
    theirs, _ = sessions.create(neighbour)
    records.end_sessions(member_id)
    assert [sessions.lookup(v) for v in mine] == [None, None]
    assert sessions.lookup(theirs) is not None


def test_erasure_leaves_nothing_that_names_the_member(moto_world, monkeypatch):
    member_id, email = member()
    neighbour_id, neighbour_email = member()
    sessions.create(member_id)
    value, token = tokens.new_link("reset_password", member_id, timedelta(hours=1), START)
    token.save()
    _, kept_token = tokens.new_link("reset_password", neighbour_id, timedelta(hours=1), START)
    kept_token.save()
    now = 1_796_000_400.0 + 42  # (the throttles' own clock, held still for the test)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))
    ratelimit.hit(login_throttle_key(email), LOGIN_WINDOW_S, now=now)
    ratelimit.hit(mail_throttle_key(email), 3600, now=now)
    ratelimit.hit(login_throttle_key(neighbour_email), LOGIN_WINDOW_S, now=now)

    assert records.erase_member(member_id) is True

    assert items(Member, member_id) == 0 and items(EmailClaim, email) == 0
    assert list(ConsentEvent.query(member_id)) == []
    assert list(Session.by_member.query(member_id)) == []
    assert items(Token, token.token_hash) == 0
    for key, window in ((login_throttle_key(email), LOGIN_WINDOW_S),
                        (mail_throttle_key(email), 3600)):
        assert items(RateLimit, f"{key}@{int(now // window) * window}") == 0
    # The neighbour keeps everything.
    assert items(Member, neighbour_id) == 1 and items(EmailClaim, neighbour_email) == 1
    assert len(consent.history(neighbour_id)) == 2 and items(Token, kept_token.token_hash) == 1
    neighbour_key = login_throttle_key(neighbour_email)
    window_start = int(now // LOGIN_WINDOW_S) * LOGIN_WINDOW_S
    assert items(RateLimit, f"{neighbour_key}@{window_start}") == 1


def test_the_address_can_register_again_after_erasure(moto_world):
    member_id, email = member()
    records.erase_member(member_id)
    again = members.register_confirmed(members.Registration(
        email=email, password="another good passphrase",
        consents={"offers": False, "partner_promotions": False}), Provenance("registration"))
    assert again is not None and again != member_id


def test_erasing_again_or_an_unknown_member_finds_nothing(moto_world):
    member_id, _ = member()
    assert records.erase_member(member_id) is True
    assert records.erase_member(member_id) is False
    assert records.erase_member("no-such-member") is False


def link(purpose: str, member_id: str, address: str, created_at: datetime,
         expires_at: datetime, token_hash: str) -> None:
    """An e-mailed link as the member's address change leaves it (the hash chosen, so that
    neither the order written nor the order of the hashes is the order of the dates)."""
    Token(token_hash, purpose=purpose, member_id=member_id, created_at=created_at,
          expires_at=expires_at, email=address).save()


def test_the_export_shows_open_address_changes_oldest_first_without_their_links(moto_world):
    from chalicelib.members.email_change import CHANGE_EMAIL, UNDO_EMAIL_CHANGE

    member_id, email = member()
    prefix = uuid.uuid4().hex[:48]
    # The newest first, under the lowest hash.
    link(CHANGE_EMAIL, member_id, "new-address@example.org", START - timedelta(hours=1),
         START + timedelta(hours=23), prefix + "a" * 16)
    link(UNDO_EMAIL_CHANGE, member_id, email, START - timedelta(hours=2),
         START + timedelta(days=6, hours=22), prefix + "b" * 16)
    # Not open: a change whose link expires this very second, and a password-reset link.
    link(CHANGE_EMAIL, member_id, "stale@example.org", START - timedelta(hours=24), START,
         prefix + "c" * 16)
    link("reset_password", member_id, email, START - timedelta(minutes=5),
         START + timedelta(minutes=55), prefix + "d" * 16)

    assert records.export_member(member_id)["email_changes"] == [
        {"kind": "old_address_can_undo", "address": email,
         "created_at": "2026-12-01T07:00:00Z", "expires_at": "2026-12-08T07:00:00Z"},
        {"kind": "new_address_to_confirm", "address": "new-address@example.org",
         "created_at": "2026-12-01T08:00:00Z", "expires_at": "2026-12-02T08:00:00Z"}]
    other_id, _ = member()
    assert records.export_member(other_id)["email_changes"] == []


def test_the_export_shows_global_privacy_control_the_policy_answered_and_passkeys(moto_world):
    member_id, _ = member(partner_promotions=True)
    export = records.export_member(member_id)
    assert set(export) == {"member", "account", "consent_history", "sessions", "email_changes",
                           "gpc_applied_at", "policy_confirmed", "passkeys",
                           "partner_unlink_request", "promotion_preferences", "contact_messages"}
    # Registering answers the policy in force; no signal was sent yet, no passkey added.
    assert (export["gpc_applied_at"], export["policy_confirmed"], export["passkeys"],
            export["partner_unlink_request"]) == (None, policy_version(), [], None)

    moto_world.clock.advance(300)
    assert consent.apply_gpc(member_id, Provenance("gpc", "/account", "https://eso.example"))
    Passkey(f"cred-{uuid.uuid4().hex}", member_id=member_id, user_handle="aGFuZGxl",
            public_key="a2V5", name="Phone", created_at=START + timedelta(minutes=7)).save()

    export = records.export_member(member_id)
    assert export["gpc_applied_at"] == "2026-12-01T09:05:00Z"
    # The partners the member was referred to are yet to be told (the sweeper does it).
    assert export["partner_unlink_request"] == {"kinds": ["gpc"],
                                                "requested_at": "2026-12-01T09:05:00Z"}
    assert export["passkeys"] == [{"name": "Phone", "created_at": "2026-12-01T09:07:00Z",
                                   "last_used_at": None}]
    assert export["member"]["consents"]["partner_promotions"]["granted"] is False


def test_erasure_takes_the_member_s_wrong_code_counters_with_it(moto_world, monkeypatch):
    member_id, _ = member()
    neighbour_id, _ = member()
    now = 1_796_000_400.0 + 42  # (the throttles' own clock, held still for the test)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))
    when = datetime.fromtimestamp(now, timezone.utc)
    for someone in (member_id, neighbour_id):  # a wrong code each: the counts stay
        with pytest.raises(LookupError), totp.code_attempt_allowed(someone, when):
            raise LookupError("wrong code")

    def counters(someone) -> int:
        return sum(items(RateLimit, f"{totp._code_key(someone)}:{window}@"
                                    f"{int(now // window) * window}")
                   for _, window in totp.CODE_LIMITS)

    assert counters(member_id) == counters(neighbour_id) == len(totp.CODE_LIMITS)
    assert records.erase_member(member_id) is True
    assert counters(member_id) == 0
    assert counters(neighbour_id) == len(totp.CODE_LIMITS)
