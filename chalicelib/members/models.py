"""The members' tables: accounts, e-mail claims, consent history, sessions, e-mail tokens,
passkeys, the short-lived challenges of signing in, and the contact form's messages."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.platform.models import BaseModel, table_meta


class ConsentState(MapAttribute):
    """The current state of one consent purpose, derived from the last event of its history."""

    granted = BooleanAttribute()
    updated_at = UTCDateTimeAttribute()
    policy_version = UnicodeAttribute()


class ConsentMap(MapAttribute):
    offers = ConsentState(null=True)
    partner_promotions = ConsentState(null=True)


class PendingRegistration(MapAttribute):
    """One registration of a not yet confirmed address: what that registrant chose.

    Whoever confirms the address with its link names, by typing its password, the
    registration that becomes the account (see ``chalicelib.members.registration``)."""

    password_hash = UnicodeAttribute()
    display_name = UnicodeAttribute(null=True)
    offers = BooleanAttribute()
    partner_promotions = BooleanAttribute()
    created_at = UTCDateTimeAttribute()
    page = UnicodeAttribute(null=True)      # where the registration was made (consent evidence)
    origin = UnicodeAttribute(null=True)
    topics_off = UnicodeSetAttribute(null=True)  # topics of partner promotions left unchosen


class OffersAudienceIndex(GlobalSecondaryIndex):
    """Sparse: only members who may receive eSO's own offers carry ``aud_offers``."""

    class Meta:
        index_name = "offers-audience"
        projection = KeysOnlyProjection()

    aud_offers = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class PartnerPromotionsAudienceIndex(GlobalSecondaryIndex):
    """Sparse: only members who may receive partner promotions carry ``aud_partner_promotions``."""

    class Meta:
        index_name = "partner-promotions-audience"
        projection = KeysOnlyProjection()

    aud_partner_promotions = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)


class Member(BaseModel):
    """A registered member: profile, password hash and the current consent state."""

    Meta = table_meta("members")

    member_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    email_verified = BooleanAttribute(default=False)
    display_name = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    verified_at = UTCDateTimeAttribute(null=True)
    password_changed_at = UTCDateTimeAttribute(null=True)
    suppressed = BooleanAttribute(default=False)
    # Transient bounces of the current address, "<epoch seconds>|<SES feedback id>" each, and
    # the last delivery that started their count again (chalicelib/members/bounces.py).
    soft_bounces = UnicodeSetAttribute(null=True)
    soft_bounce_reset_at = UTCDateTimeAttribute(null=True)
    consents = ConsentMap(default=dict)
    consent_seq = NumberAttribute(default=0)
    consent_head = UnicodeAttribute(null=True)
    aud_offers = UnicodeAttribute(null=True)
    aud_partner_promotions = UnicodeAttribute(null=True)
    # Until the address is confirmed: the one live confirmation link (its token's hash), when
    # it was mailed, and every registration made of the address (the password of the latest
    # is ``password_hash``). Nothing is consented to before confirmation.
    verify_token_hash = UnicodeAttribute(null=True)
    verify_sent_at = UTCDateTimeAttribute(null=True)
    pending_registrations = ListAttribute(of=PendingRegistration, null=True)
    registration_seq = NumberAttribute(default=0)
    # Once confirmed: the latest registration attempt's password (for a day), so that logging
    # in with it answers "not confirmed" exactly as it would for a new address.
    attempt_hash = UnicodeAttribute(null=True)
    attempt_at = UTCDateTimeAttribute(null=True)
    # When a signed-in browser's Global Privacy Control was first applied (once per member).
    gpc_applied_at = UTCDateTimeAttribute(null=True)
    # Keyed hashes of the kinds of device the member signed in from (no raw fingerprint).
    known_devices = ListAttribute(of=UnicodeAttribute, null=True)
    # The privacy policy version whose changes the member has seen and answered.
    policy_confirmed = UnicodeAttribute(null=True)
    # Two-step sign-in (TOTP): the secret sealed under the stage key, the last time step a code
    # was accepted for (each code works once), the SHA-256 of each unused recovery code; while
    # being set up, the new secret waits in ``totp_pending_secret`` until a first code confirms it.
    totp_secret = UnicodeAttribute(null=True)
    totp_enabled_at = UTCDateTimeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)
    totp_pending_secret = UnicodeAttribute(null=True)
    totp_pending_at = UTCDateTimeAttribute(null=True)
    recovery_codes = UnicodeSetAttribute(null=True)
    # The member's WebAuthn user handle: random, so a passkey names no id or address of ours.
    passkey_user_handle = UnicodeAttribute(null=True)
    # The notices asking partners to unlink the member's clicks (their ids): the one link
    # between the member and those notices, which name no member; erased with the member.
    partner_notice_ids = UnicodeSetAttribute(null=True)
    # Promotion preferences, each the state of its last event in the consent history: the
    # topics of partner promotions the member turned off (every other topic is on), at most
    # one partner promotion per day/week/month (unset: the operator's default), and a pause
    # of every promotion until a moment.
    topics_off = UnicodeSetAttribute(null=True)
    promotion_frequency = UnicodeAttribute(null=True)
    snoozed_until = UTCDateTimeAttribute(null=True)

    offers_audience = OffersAudienceIndex()
    partner_promotions_audience = PartnerPromotionsAudienceIndex()


class EmailClaim(BaseModel):
    """One item per registered address: the uniqueness guard and the login lookup."""

    Meta = table_meta("email-claims")

    email = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ConsentEvent(BaseModel):
    """One grant or withdrawal, append-only, chained to the previous event by its hash."""

    Meta = table_meta("consent-events")

    member_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    purpose = UnicodeAttribute()
    granted = BooleanAttribute()
    at = UTCDateTimeAttribute()
    source = UnicodeAttribute()
    policy_version = UnicodeAttribute()
    page = UnicodeAttribute(null=True)
    origin = UnicodeAttribute(null=True)
    prev_hash = UnicodeAttribute()
    event_hash = UnicodeAttribute()
    # What a preference was set to (a frequency, the end of a pause); None for a consent.
    value = UnicodeAttribute(null=True)


class MemberSessionIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-sessions"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Session(BaseModel):
    """A signed-in browser. Keyed by the SHA-256 of the cookie value, never the value."""

    Meta = table_meta("sessions")

    session_hash = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    absolute_expires_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    user_agent = UnicodeAttribute(null=True)
    gpc_seen = BooleanAttribute(null=True)  # this browser's Sec-GPC was applied to the member

    by_member = MemberSessionIndex()


class MemberTokenIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-tokens"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)


class Token(BaseModel):
    """A single-use, expiring e-mail token (verification, password reset), stored as a hash."""

    Meta = table_meta("tokens")

    token_hash = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    # An address change's link: the new address; its undo link: the old one.
    email = UnicodeAttribute(null=True)

    by_member = MemberTokenIndex()


class MemberPasskeyIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-passkeys"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Passkey(BaseModel):
    """A member's WebAuthn credential: its public key and counter, the name the member gave it."""

    Meta = table_meta("passkeys")

    credential_id = UnicodeAttribute(hash_key=True)   # base64url, as the browser names it
    member_id = UnicodeAttribute()
    user_handle = UnicodeAttribute()                   # base64url of the member's user handle
    public_key = UnicodeAttribute()                    # COSE key, base64url
    sign_count = NumberAttribute(default=0)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    backed_up = BooleanAttribute(default=False)        # synced to the member's other devices
    transports = ListAttribute(of=UnicodeAttribute, null=True)

    by_member = MemberPasskeyIndex()


class MemberChallengeIndex(GlobalSecondaryIndex):
    """Sparse: only challenges issued to a member (not yet signed in: none) carry ``member_id``."""

    class Meta:
        index_name = "member-challenges"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)


class Challenge(BaseModel):
    """A single-use, short-lived step of signing in, stored as the SHA-256 of its value: a
    WebAuthn challenge, or the second step a password sign-in waits in. Bound to the browser
    (or session) it was issued to by a keyed hash."""

    Meta = table_meta("challenges")

    challenge_hash = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    binding = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    attempts = NumberAttribute(default=0)

    by_member = MemberChallengeIndex()


class UnlinkRequest(BaseModel):
    """A member's partners are to be told to unlink them (a withdrawal or GPC): written in the
    transaction that records the withdrawal, deleted once the notices exist (an outbox)."""

    Meta = table_meta("unlink-requests")

    queue = UnicodeAttribute(hash_key=True)       # always "pending": one Query lists them all
    member_id = UnicodeAttribute(range_key=True)
    kinds = UnicodeSetAttribute()                 # "consent_withdrawn", "gpc"
    requested_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)          # raised by every request: settling checks it




class Topic(BaseModel):
    """A topic of partner promotions the operator declared (members choose among them). All
    in one partition, so the list is one Query."""

    Meta = table_meta("topics")

    scope = UnicodeAttribute(hash_key=True)     # always "topics"
    topic_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class NewestMessagesIndex(GlobalSecondaryIndex):
    """Every contact message in one partition by time: the console's list, newest first."""

    class Meta:
        index_name = "newest-messages"
        projection = AllProjection()

    box = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class UnreadMessagesIndex(GlobalSecondaryIndex):
    """Sparse: only unread messages carry ``unread``, so counting them is one Query."""

    class Meta:
        index_name = "unread-messages"
        projection = KeysOnlyProjection()

    unread = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class SenderMessagesIndex(GlobalSecondaryIndex):
    """The messages written from one address: a member's export and erasure."""

    class Meta:
        index_name = "sender-messages"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ContactMessage(BaseModel):
    """A message sent with the contact form, kept for the operator (also mailed to them) until
    ``expires_at`` (retention), and erased with the account of its address."""

    Meta = table_meta("contact-messages")

    message_id = UnicodeAttribute(hash_key=True)
    box = UnicodeAttribute()                    # always "messages": the newest-first index
    created_at = UTCDateTimeAttribute()
    email = UnicodeAttribute()                  # the address the writer gave (normalised)
    topic = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()                 # unread | read | answered
    unread = UnicodeAttribute(null=True)        # "unread" while unread (sparse index)
    status_at = UTCDateTimeAttribute(null=True)  # when an operator last set the status
    status_by = UnicodeAttribute(null=True)      # which operator (an operator id)
    expires_at = TTLAttribute()

    newest = NewestMessagesIndex()
    unread_messages = UnreadMessagesIndex()
    by_sender = SenderMessagesIndex()


MODELS = (Member, EmailClaim, ConsentEvent, Session, Token, Passkey, Challenge, UnlinkRequest,
          Topic, ContactMessage)
