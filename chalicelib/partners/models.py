"""Marketing partners: registry, API keys, referral clicks, transactions, member contacts."""
from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)

from chalicelib.platform.models import BaseModel, table_meta


class ActivePartnersIndex(GlobalSecondaryIndex):
    """Sparse: only active partners carry ``listed``, so one Query lists what members may see."""

    class Meta:
        index_name = "active-partners"
        projection = AllProjection()

    listed = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute(range_key=True)


class Partner(BaseModel):
    """A marketing partner: where referrals go, its privacy policy, where member messages go."""

    Meta = table_meta("partners")

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
    # Where opt-out notices go (https), and the secret they are signed with, sealed under the
    # stage key (it must be read back to sign: a hash would not do).
    webhook_url = UnicodeAttribute(null=True)
    webhook_secret = UnicodeAttribute(null=True)
    webhook_set_at = UTCDateTimeAttribute(null=True)

    active_partners = ActivePartnersIndex()


class PartnerKey(BaseModel):
    """A partner's live API key: looked up by its public key id, the secret only as SHA-256.

    Exactly one item per partner while the partner is active; rotation and disabling delete it
    in the same transaction that changes the partner, so an old key stops working at once.
    """

    Meta = table_meta("partner-keys")

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

    Meta = table_meta("referral-clicks")

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

    Meta = table_meta("partner-transactions")

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

    Meta = table_meta("partner-contacts")

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


class DueNoticesIndex(GlobalSecondaryIndex):
    """Sparse: only notices still to be attempted carry ``due``, by their next attempt."""

    class Meta:
        index_name = "due-notices"
        projection = KeysOnlyProjection()

    due = UnicodeAttribute(hash_key=True)
    next_attempt_at = UTCDateTimeAttribute(range_key=True)


class OpenNoticesIndex(GlobalSecondaryIndex):
    """Sparse: the notices not acknowledged yet, oldest first, with their partner (one Query
    lists the overdue ones for the report)."""

    class Meta:
        index_name = "open-notices"
        projection = IncludeProjection(["partner_id"])

    awaiting_ack = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class PartnerNotice(BaseModel):
    """A signed notice asking a partner to unlink some of its click ids (a member withdrew,
    sent GPC, or was erased). It names no member: the member's own record lists its id."""

    Meta = table_meta("partner-notices")

    notice_id = UnicodeAttribute(hash_key=True)
    partner_id = UnicodeAttribute()
    event = UnicodeAttribute()                     # "consent_withdrawn" | "gpc" | "erased"
    click_ids = ListAttribute(of=UnicodeAttribute)
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()                    # "pending" | "acknowledged" | "undeliverable"
    attempts = NumberAttribute(default=0)          # POSTs made
    due = UnicodeAttribute(null=True)
    next_attempt_at = UTCDateTimeAttribute(null=True)
    awaiting_ack = UnicodeAttribute(null=True)    # "open" until acknowledged
    lease_id = UnicodeAttribute(null=True)         # the sweeper delivering it now, until
    lease_until = UTCDateTimeAttribute(null=True)
    last_attempt_at = UTCDateTimeAttribute(null=True)
    last_result = UnicodeAttribute(null=True)      # "http_500", "timeout", "no_webhook", ...
    acknowledged_at = UTCDateTimeAttribute(null=True)

    due_notices = DueNoticesIndex()
    open_notices = OpenNoticesIndex()


class NoticeClaim(BaseModel):
    """(partner, click, event) → the one notice that tells it: written with the notice,
    conditionally, so no click is ever in two notices of one event."""

    Meta = table_meta("partner-notice-claims")

    claim = UnicodeAttribute(hash_key=True)        # "<partner id> <click id> <event>"
    notice_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


MODELS = (Partner, PartnerKey, ReferralClick, PartnerTransaction, PartnerContact, PartnerNotice,
          NoticeClaim)
