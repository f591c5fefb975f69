"""Promotions and the delivery ledger."""
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
    VersionAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)

from chalicelib.platform.models import BaseModel, table_meta


class ReviewQueueIndex(GlobalSecondaryIndex):
    """Sparse: only promotions waiting for review carry ``review_queue``, so the review queue
    is one Query, oldest first, without scanning the table."""

    class Meta:
        index_name = "review-queue"
        projection = AllProjection()

    review_queue = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class VariantContent(MapAttribute):
    """One A/B variant: what it says in place of the promotion's own subject, text or HTML
    (each absent field is the promotion's own)."""

    subject = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    html = UnicodeAttribute(null=True)


class SendActivityIndex(GlobalSecondaryIndex):
    """Sparse: promotions scheduled or sent carry ``activity`` ("sends") and ``activity_at``
    (when sending starts or last started), so the console lists recent and coming sends with one
    Query, without the content (only what the list shows is projected)."""

    class Meta:
        index_name = "send-activity"
        projection = IncludeProjection(["status", "kind", "subject", "partner_id", "send_at",
                                        "window_started_at", "paused_reason", "resume_at"])

    activity = UnicodeAttribute(hash_key=True)
    activity_at = UTCDateTimeAttribute(range_key=True)


class Promotion(BaseModel):
    """A promotional e-mail: a partner's (reviewed by the operator) or one of eSO's own offers."""

    Meta = table_meta("promotions")

    promotion_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()              # "partner" | "offer"
    purpose = UnicodeAttribute()           # the consent it needs
    partner_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute()
    text = UnicodeAttribute()
    html = UnicodeAttribute(null=True)
    # A partner promotion's topics (ids of members.topics): it goes to members who take one of
    # them; none → every member who takes partner promotions.
    topics = UnicodeSetAttribute(null=True)
    # pending_review | scheduled | approved | rejected | sending | paused | sent
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    reviewed_at = UTCDateTimeAttribute(null=True)
    review_reason = UnicodeAttribute(null=True)   # why it was rejected; the partner reads it
    review_queue = UnicodeAttribute(null=True)    # "pending" while it waits for review
    window_started_at = UTCDateTimeAttribute(null=True)  # when the current run of sending began
    paused_reason = UnicodeAttribute(null=True)          # "daily_quota" while paused
    resume_at = UTCDateTimeAttribute(null=True)          # when a paused promotion goes on
    send_at = UTCDateTimeAttribute(null=True)            # when a scheduled promotion starts
    activity = UnicodeAttribute(null=True)               # "sends" once scheduled or sent
    activity_at = UTCDateTimeAttribute(null=True)        # when sending starts or last started
    # Counts of batches sent before they moved to DeliveryCounts; no longer written, still
    # added in when the counts are read (chalicelib/promotions/counts.py).
    delivered = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    # The link targets of its content, found once when it was created: a message links to
    # /r/<token> naming a target by its place here (content.py, clicks.py).
    links = ListAttribute(of=UnicodeAttribute, null=True)
    # 2-3 A/B variants members are split into at planning (variants.py); none: one content.
    variants = ListAttribute(of=VariantContent, null=True)

    awaiting_review = ReviewQueueIndex()
    send_activity = SendActivityIndex()


class DeliveryCounts(BaseModel):
    """A promotion's aggregate delivery counts, in a small item of their own (one write unit
    per batch, never a rewrite of the promotion's content). No member id."""

    Meta = table_meta("promotion-counts")

    promotion_id = UnicodeAttribute(hash_key=True)
    delivered = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    # Messages delivered per A/B variant (A, B, C), for promotions with variants.
    delivered_v0 = NumberAttribute(null=True)
    delivered_v1 = NumberAttribute(null=True)
    delivered_v2 = NumberAttribute(null=True)
    # The members the latest planning counted: those already in the ledger and those it handed
    # to the send worker (None until a plan finished).
    planned = NumberAttribute(null=True)


class MemberDeliveryIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "member-deliveries"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)
    promotion_id = UnicodeAttribute(range_key=True)


class Delivery(BaseModel):
    """The delivery ledger: at most one message per member per promotion (conditional claim)."""

    Meta = table_meta("deliveries")

    promotion_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()            # claimed | sent | failed
    attempt = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    # SES's Send or Delivery event for a message still ``claimed`` (its worker died before the
    # ledger update): the reconciler then settles the claim as sent.
    confirmed_message_id = UnicodeAttribute(null=True)
    resent = BooleanAttribute(null=True)   # claimed again by the reconciler: never a third time
    variant = NumberAttribute(null=True)   # the A/B variant (0, 1, 2) planned for the member
    expires_at = TTLAttribute()

    by_member = MemberDeliveryIndex()


class SendWindow(BaseModel):
    """A member's allowance of partner promotions: the last one sent (or being sent) and when.
    A send takes it with a write conditioned on the version read, so two promotions sent at
    once cannot both pass the member's limit; a send that gives up before SES puts back what
    was there before (``previous_*``)."""

    Meta = table_meta("send-windows")

    member_id = UnicodeAttribute(hash_key=True)
    last_at = UTCDateTimeAttribute()
    promotion_id = UnicodeAttribute()
    previous_at = UTCDateTimeAttribute(null=True)
    previous_promotion_id = UnicodeAttribute(null=True)
    version = VersionAttribute()
    expires_at = TTLAttribute()            # past any window: the allowance is whole again


MODELS = (Promotion, DeliveryCounts, Delivery, SendWindow)
