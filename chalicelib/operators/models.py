"""The operators' tables: operator accounts, operator sessions, and the append-only audit log.

They are apart from the members' tables on purpose: no member item, session or token can
stand for an operator, and the audit log can be granted ``PutItem`` and ``Query`` only."""
from __future__ import annotations

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.platform.models import BaseModel, table_meta


class OperatorEmailIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "operator-emails"
        projection = KeysOnlyProjection()

    email = UnicodeAttribute(hash_key=True)


class Operator(BaseModel):
    """An operator account: its address, status, argon2id hash, and its second factors
    (passkeys' public keys, a sealed TOTP secret, recovery codes' SHA-256)."""

    Meta = table_meta("operators")

    operator_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    status = UnicodeAttribute()                      # pending | active | disabled
    created_at = UTCDateTimeAttribute()
    password_hash = UnicodeAttribute(null=True)
    setup_hash = UnicodeAttribute(null=True)         # SHA-256 of the one-time set-up link
    setup_expires_at = UTCDateTimeAttribute(null=True)
    totp_secret = UnicodeAttribute(null=True)        # sealed under the stage key
    totp_pending_secret = UnicodeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)
    recovery_codes = UnicodeSetAttribute(null=True)
    user_handle = UnicodeAttribute(null=True)        # WebAuthn user handle, random
    # credential id → {"public_key", "sign_count", "name", "created_at"}; replaced as a whole
    # under ``factors_version``, so two sign-ins never both move one counter.
    passkeys = MapAttribute(null=True)
    factors_version = NumberAttribute(default=0)
    activated_at = UTCDateTimeAttribute(null=True)
    disabled_at = UTCDateTimeAttribute(null=True)

    by_email = OperatorEmailIndex()


class OperatorSessionIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "operator-sessions"
        projection = KeysOnlyProjection()

    operator_id = UnicodeAttribute(hash_key=True)


class OperatorSession(BaseModel):
    """A browser an operator signs in with, keyed by the SHA-256 of its cookie value.

    ``stage`` says how far it got: ``password`` (waiting for the second factor), ``setup``
    (a set-up link was used; waiting for a first second factor) or ``signed_in``."""

    Meta = table_meta("operator-sessions")

    session_hash = UnicodeAttribute(hash_key=True)
    operator_id = UnicodeAttribute()
    stage = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    authenticated_at = UTCDateTimeAttribute(null=True)   # the last full sign-in or re-check
    absolute_expires_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    attempts = NumberAttribute(default=0)
    challenge_hash = UnicodeAttribute(null=True)         # the WebAuthn challenge in flight
    user_agent = UnicodeAttribute(null=True)

    by_operator = OperatorSessionIndex()


class AuditRecord(BaseModel):
    """One operator action: who, what, on which object, when, from which request. Written
    once (``attribute_not_exists``), never updated or deleted by the product."""

    Meta = table_meta("operator-audit")

    day = UnicodeAttribute(hash_key=True)            # YYYY-MM-DD (UTC)
    entry_id = UnicodeAttribute(range_key=True)      # time, then random: sorts by time
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute()                       # operator id, or "cli"
    actor_email = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    target = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    detail = MapAttribute(null=True)                 # short, named facts; never secrets


MODELS = (Operator, OperatorSession, AuditRecord)
