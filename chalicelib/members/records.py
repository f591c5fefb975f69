"""What the members domain holds about one member: its part of the export and of the erasure.

The members domain owns the member item, the e-mail claim, the consent history, sessions,
e-mail tokens, passkeys, sign-in challenges, the per-address throttle counters and the
contact-form messages written from the member's address; ``chalicelib.privacy`` asks for these
through ``export_member`` and ``erase_member`` and orders them with the other owners'.
"""
from __future__ import annotations

from chalicelib.members import (
    challenges,
    consent,
    messages,
    passkeys,
    preferences,
    sessions,
    tokens,
    totp,
    unlink_requests,
)
from chalicelib.members.accounts import (
    LOGIN_WINDOW_S,
    get_member,
    login_throttle_key,
    mail_throttle_key,
)
from chalicelib.members.bounces import bounce_moment
from chalicelib.members.models import (
    Challenge,
    ConsentEvent,
    ContactMessage,
    EmailClaim,
    Member,
    Passkey,
    Session,
    Token,
    UnlinkRequest,
)
from chalicelib.platform import clock, ratelimit
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.vocabulary import PURPOSES

# The tables this domain answers for in export and erasure (a test keeps this complete).
MEMBER_TABLES = (Member, EmailClaim, ConsentEvent, Session, Token, Passkey, Challenge,
                 UnlinkRequest, ContactMessage)


def profile(member: Member) -> dict:
    """The member as the member sees it: address, name, verification and current consents."""
    consents = {}
    for purpose in PURPOSES:
        state = getattr(member.consents, purpose, None) if member.consents else None
        consents[purpose] = {
            "granted": bool(state and state.granted),
            "updated_at": iso(state.updated_at) if state else None,
            "policy_version": state.policy_version if state else None,
        }
    return {"id": member.member_id, "email": member.email,
            "email_verified": bool(member.email_verified),
            "display_name": member.display_name, "created_at": iso(member.created_at),
            "consents": consents}


def export_member(member_id: str) -> dict:
    """The member's profile, account facts, full consent history, live sessions and passkeys
    (names and dates; no key material, no TOTP secret, no recovery code), and the contact-form
    messages kept from the member's address."""
    member = get_member(member_id)
    two_step = totp.status(member)
    return {
        "member": profile(member),
        "account": {"verified_at": iso(member.verified_at),
                    "password_changed_at": iso(member.password_changed_at),
                    "suppressed": bool(member.suppressed),
                    "soft_bounces_at": sorted(iso(bounce_moment(e))
                                              for e in member.soft_bounces or ()),
                    "two_step_sign_in": {"enabled_at": two_step["enabled_at"],
                                         "recovery_codes_left": two_step["recovery_codes_left"]}},
        "consent_history": [consent.event_json(e, full=True) for e in consent.history(member_id)],
        "sessions": sessions.list_for_member(member_id),
        "email_changes": email_changes(member_id),
        "gpc_applied_at": iso(member.gpc_applied_at),
        "policy_confirmed": member.policy_confirmed,
        "passkeys": passkeys.export_for_member(member_id),
        "partner_unlink_request": unlink_requests.export_for(member_id),
        "promotion_preferences": preferences.view(member),
        "contact_messages": messages.of_address(member.email),
    }


def email_changes(member_id: str) -> list:
    """Address changes still open: a new address waiting for confirmation, and old addresses
    that can still undo a change (the links themselves are never shown)."""
    from chalicelib.members.email_change import CHANGE_EMAIL, UNDO_EMAIL_CHANGE

    kinds = {CHANGE_EMAIL: "new_address_to_confirm", UNDO_EMAIL_CHANGE: "old_address_can_undo"}
    now = clock.now()
    return sorted(({"kind": kinds[t.purpose], "address": t.email, "created_at": iso(t.created_at),
                    "expires_at": iso(t.expires_at)} for t in tokens.of_member(member_id)
                   if t.purpose in kinds and t.expires_at > now),
                  key=lambda change: change["created_at"])


def end_sessions(member_id: str) -> None:
    """Erasure's first step: no signed-in request can add new traces while the rest goes, and
    no sign-in waiting for its second step or a passkey can begin a new session."""
    with storage_errors(), Session.batch_write() as batch:
        for item in Session.by_member.query(member_id):
            batch.delete(Session(item.session_hash))
    challenges.forget_member(member_id)
    passkeys.erase_member(member_id)


def erase_member(member_id: str) -> bool:
    """Delete sessions, sign-in challenges, passkeys, a waiting request to tell partners,
    tokens, consent history, throttle counters, the contact-form messages written from the
    member's address, and last, together, the e-mail claim and the member item: once they are gone nothing can reach the member again. Idempotent;
    False when there was no member (left)."""
    end_sessions(member_id)
    unlink_requests.forget(member_id)
    with storage_errors():
        with Token.batch_write() as batch:
            for item in Token.by_member.query(member_id):
                batch.delete(Token(item.token_hash))
        with ConsentEvent.batch_write() as batch:
            for item in ConsentEvent.query(member_id):
                batch.delete(ConsentEvent(member_id, item.seq))
        try:
            member = Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            return False
        # Throttling counters keyed by the address (an HMAC of it) go with the account.
        ratelimit.forget(login_throttle_key(member.email), LOGIN_WINDOW_S)
        ratelimit.forget(mail_throttle_key(member.email), 3600)
        messages.erase_from(member.email)
        totp.forget_counters(member_id)
        with transaction() as tx:
            tx.delete(EmailClaim(member.email))
            tx.delete(Member(member_id))
    return True
