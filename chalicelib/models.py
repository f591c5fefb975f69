"""Every PynamoDB model, one per table.

Table names, endpoint and region come from the settings when a table is first used, not at
import (see ``chalicelib.settings``). Each table has a short ``suffix``; its full name is the
stage's ``ESO_TABLE_PREFIX`` + suffix, the same name ``infra/data.yaml`` gives it.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.settings import get_settings


class _FromSettings:
    """A Meta attribute computed from the settings each time PynamoDB reads it."""

    def __init__(self, compute):
        self._compute = compute

    def __get__(self, obj, owner):
        return self._compute(owner)


def _table_meta(suffix: str):
    class Meta:
        table_suffix = suffix
        table_name = _FromSettings(lambda meta: get_settings().table_prefix + meta.table_suffix)
        host = _FromSettings(lambda meta: get_settings().dynamodb_endpoint)
        region = _FromSettings(lambda meta: get_settings().region)
        billing_mode = "PAY_PER_REQUEST"
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 3

    return Meta


class BaseModel(Model):
    """A model whose connection follows the settings (table name, endpoint, region)."""

    class Meta:
        abstract = True

    @classmethod
    def _get_connection(cls):
        target = (cls.Meta.table_name, cls.Meta.host, cls.Meta.region)
        if cls.__dict__.get("_connection_target") != target:
            cls._connection = None
            cls._connection_target = target
        return super()._get_connection()


# --- members -----------------------------------------------------------------------------------


class ConsentState(MapAttribute):
    """The current state of one consent purpose, derived from the last event of its history."""

    granted = BooleanAttribute()
    updated_at = UTCDateTimeAttribute()
    policy_version = UnicodeAttribute()


class ConsentMap(MapAttribute):
    offers = ConsentState(null=True)
    partner_promotions = ConsentState(null=True)


class LaterRegistration(MapAttribute):
    """Another registration of a not yet confirmed address: what that registrant chose.

    Whoever confirms the address with its link also names, by typing it, the password of the
    registration that becomes the account (see ``chalicelib.members``)."""

    password_hash = UnicodeAttribute()
    display_name = UnicodeAttribute(null=True)
    offers = BooleanAttribute()
    partner_promotions = BooleanAttribute()
    created_at = UTCDateTimeAttribute()
    page = UnicodeAttribute(null=True)      # where the registration was made (consent evidence)
    origin = UnicodeAttribute(null=True)


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

    Meta = _table_meta("members")

    member_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    email_verified = BooleanAttribute(default=False)
    display_name = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    verified_at = UTCDateTimeAttribute(null=True)
    password_changed_at = UTCDateTimeAttribute(null=True)
    suppressed = BooleanAttribute(default=False)
    consents = ConsentMap(default=dict)
    consent_seq = NumberAttribute(default=0)
    consent_head = UnicodeAttribute(null=True)
    aud_offers = UnicodeAttribute(null=True)
    aud_partner_promotions = UnicodeAttribute(null=True)
    # Until the address is confirmed: the one live confirmation link (its token's hash), when
    # it was mailed, and the registrations made of the address after the first.
    verify_token_hash = UnicodeAttribute(null=True)
    verify_sent_at = UTCDateTimeAttribute(null=True)
    later_registrations = ListAttribute(of=LaterRegistration, null=True)

    offers_audience = OffersAudienceIndex()
    partner_promotions_audience = PartnerPromotionsAudienceIndex()


class EmailClaim(BaseModel):
    """One item per registered address: the uniqueness guard and the login lookup."""

    Meta = _table_meta("email-claims")

    email = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ConsentEvent(BaseModel):
    """One grant or withdrawal, append-only, chained to the previous event by its hash."""

    Meta = _table_meta("consent-events")

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


class MemberSessionIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-sessions"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Session(BaseModel):
    """A signed-in browser. Keyed by the SHA-256 of the cookie value, never the value."""

    Meta = _table_meta("sessions")

    session_hash = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()
    absolute_expires_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    user_agent = UnicodeAttribute(null=True)

    by_member = MemberSessionIndex()


class MemberTokenIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-tokens"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)


class Token(BaseModel):
    """A single-use, expiring e-mail token (verification, password reset), stored as a hash."""

    Meta = _table_meta("tokens")

    token_hash = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()
    member_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()

    by_member = MemberTokenIndex()


class RateLimit(BaseModel):
    """A fixed-window counter (failed logins per address, contact messages per visitor)."""

    Meta = _table_meta("rate-limits")

    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


ALL_MODELS = (Member, EmailClaim, ConsentEvent, Session, Token, RateLimit)


# --- aggregate statistics ----------------------------------------------------------------------


class DailyCounter(BaseModel):
    """One shard of one day's aggregate count. Holds no member id, e-mail or visitor id."""

    Meta = _table_meta("stats")

    counter = UnicodeAttribute(hash_key=True)    # "<metric>|<dimension>"
    day_shard = UnicodeAttribute(range_key=True)  # "YYYY-MM-DD#NN"
    n = NumberAttribute(default=0)


# A day's distinct-visitor sketch (HyperLogLog): SKETCH_PARTS items of SKETCH_PART_REGISTERS
# registers each, attributes r0..r63 (see chalicelib/visits.py). Registers hold small numbers
# derived from a keyed hash; no visitor id, member id or address is stored.
SKETCH_PARTS = 64
SKETCH_PART_REGISTERS = 64


class VisitSketch(BaseModel):
    """One part of one day's distinct-visitor sketch: 64 HyperLogLog registers, no identifiers."""

    Meta = _table_meta("visit-sketches")

    day = UnicodeAttribute(hash_key=True)      # "YYYY-MM-DD" (UTC)
    part = NumberAttribute(range_key=True)     # 0 .. SKETCH_PARTS - 1
    for _register in range(SKETCH_PART_REGISTERS):
        locals()[f"r{_register}"] = NumberAttribute(null=True)
    del _register


ALL_MODELS = ALL_MODELS + (DailyCounter, VisitSketch)


# --- promotions --------------------------------------------------------------------------------


class Promotion(BaseModel):
    """A promotional e-mail: a partner's (reviewed by the operator) or one of eSO's own offers."""

    Meta = _table_meta("promotions")

    promotion_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()              # "partner" | "offer"
    purpose = UnicodeAttribute()           # the consent it needs
    partner_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute()
    text = UnicodeAttribute()
    html = UnicodeAttribute(null=True)
    status = UnicodeAttribute()            # pending_review | approved | rejected | sending | sent
    created_at = UTCDateTimeAttribute()
    reviewed_at = UTCDateTimeAttribute(null=True)
    delivered = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)


class MemberDeliveryIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-deliveries"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)
    promotion_id = UnicodeAttribute(range_key=True)


class Delivery(BaseModel):
    """The delivery ledger: at most one message per member per promotion (conditional claim)."""

    Meta = _table_meta("deliveries")

    promotion_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()            # claimed | sent | failed
    attempt = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    by_member = MemberDeliveryIndex()


ALL_MODELS = ALL_MODELS + (Promotion, Delivery)


# --- ads ---------------------------------------------------------------------------------------


class AdsBySlotIndex(GlobalSecondaryIndex):
    """Every ad of a slot, whole: the one Query that fills a container's slot cache."""

    class Meta:
        index_name = "slot-ads"
        projection = AllProjection()

    slot = UnicodeAttribute(hash_key=True)
    ad_id = UnicodeAttribute(range_key=True)


class Ad(BaseModel):
    """An ad of one slot: what it shows, where a click goes, how often one visitor may see it."""

    Meta = _table_meta("ads")

    ad_id = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    image_url = UnicodeAttribute(null=True)
    target_url = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)
    weight = NumberAttribute(default=1)
    frequency_cap = NumberAttribute()
    starts_at = UTCDateTimeAttribute(null=True)
    ends_at = UTCDateTimeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()

    by_slot = AdsBySlotIndex()


class AdViews(BaseModel):
    """What one visitor has seen in one slot, keyed by a hash of the visitor cookie.

    ``seen`` maps an ad id to ``{"last": <version when last shown>, "at": [<epoch ms>, …]}``
    (the showings of the last 24 hours, at most the ad's cap). No member identity.
    """

    Meta = _table_meta("ad-views")

    viewer_hash = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)
    version = VersionAttribute()
    seen = MapAttribute(default=dict)
    expires_at = TTLAttribute()


ALL_MODELS = ALL_MODELS + (Ad, AdViews)
# --- marketing partners --------------------------------------------------------------------------


class ActivePartnersIndex(GlobalSecondaryIndex):
    """Sparse: only active partners carry ``listed``, so one Query lists what members may see."""

    class Meta:
        index_name = "active-partners"
        projection = AllProjection()

    listed = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute(range_key=True)


class Partner(BaseModel):
    """A marketing partner: where referrals go, its privacy policy, where member messages go."""

    Meta = _table_meta("partners")

    partner_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    landing_url = UnicodeAttribute()
    privacy_policy_url = UnicodeAttribute(null=True)
    contact_email = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")  # "active" | "disabled"
    key_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    key_rotated_at = UTCDateTimeAttribute(null=True)
    disabled_at = UTCDateTimeAttribute(null=True)
    listed = UnicodeAttribute(null=True)

    active_partners = ActivePartnersIndex()


class PartnerKey(BaseModel):
    """A partner's live API key: looked up by its public key id, the secret only as SHA-256.

    Exactly one item per partner while the partner is active; rotation and disabling delete it
    in the same transaction that changes the partner, so an old key stops working at once.
    """

    Meta = _table_meta("partner-keys")

    key_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class MemberClicksIndex(GlobalSecondaryIndex):
    """Sparse: only clicks made while signed in carry ``member_id`` (export, account, erasure)."""

    class Meta:
        index_name = "member-clicks"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    clicked_at = UTCDateTimeAttribute(range_key=True)


class ReferralClick(BaseModel):
    """One referral through ``/go/<partner>``; the visitor only as a keyed hash."""

    Meta = _table_meta("referral-clicks")

    click_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    visitor_hash = UnicodeAttribute(null=True)
    member_id = UnicodeAttribute(null=True)
    clicked_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()

    by_member = MemberClicksIndex()


class PartnerOccurredIndex(GlobalSecondaryIndex):
    """A partner's transactions by time: the partner's listing reads only its own items."""

    class Meta:
        index_name = "partner-occurred"
        projection = AllProjection()

    partner_id = UnicodeAttribute(hash_key=True)
    occurred_at = UTCDateTimeAttribute(range_key=True)


class MemberTransactionsIndex(GlobalSecondaryIndex):
    """Sparse: transactions attributed to a signed-in member's click (export, account, erasure)."""

    class Meta:
        index_name = "member-transactions"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    occurred_at = UTCDateTimeAttribute(range_key=True)


class PartnerTransaction(BaseModel):
    """A transaction a partner reported; deduplicated by (partner, order id) forever."""

    Meta = _table_meta("partner-transactions")

    partner_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)
    click_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    amount = UnicodeAttribute()          # decimal string, exactly the currency's minor digits
    currency = UnicodeAttribute()
    amount_minor = NumberAttribute()      # amount in minor units (integer), for counters
    occurred_at = UTCDateTimeAttribute()
    reported_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(default="reported")  # "reported" | "reversed"
    reversed_at = UTCDateTimeAttribute(null=True)
    reversal_reason = UnicodeAttribute(null=True)

    by_partner = PartnerOccurredIndex()
    by_member = MemberTransactionsIndex()


class PartnerContact(BaseModel):
    """A record of what a member chose to share with a partner, when, and to whom."""

    Meta = _table_meta("partner-contacts")

    member_id = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)  # "<sent_at iso>#<random>": oldest first
    partner_id = UnicodeAttribute()
    partner_name = UnicodeAttribute()
    sent_to = UnicodeAttribute()          # the partner's contact address at the time
    sent_at = UTCDateTimeAttribute()
    shared_name = UnicodeAttribute(null=True)
    shared_email = UnicodeAttribute()
    shared_message = UnicodeAttribute()
    status = UnicodeAttribute(default="sending")  # "sending" | "sent" | "failed"


ALL_MODELS = ALL_MODELS + (Partner, PartnerKey, ReferralClick, PartnerTransaction, PartnerContact)
