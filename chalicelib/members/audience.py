"""Who may be mailed: the audiences of each purpose, the eligibility rule, suppression.

The sparse audience indexes hold exactly the verified, consenting, unsuppressed members of a
purpose (``consent.audience_actions`` keeps them so); a sender plans from them and checks
``eligible`` again at the moment of sending, with the member's promotion preferences: the
promotion's topics (``in_topics``) and a pause of every promotion (``preferences.snoozed``).
"""
from __future__ import annotations

from typing import Iterator, Optional

from pynamodb.exceptions import UpdateError

from chalicelib.members import consent, preferences
from chalicelib.members.accounts import member_by_email, normalize_email
from chalicelib.members.consent import Provenance
from chalicelib.members.models import Member
from chalicelib.platform import observability
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import ValidationError
from chalicelib.platform.vocabulary import PURPOSES
from chalicelib.statistics import counters


def audience_ids(purpose: str) -> Iterator[str]:
    """Member ids in the sparse audience index of ``purpose``, page by page (flat memory)."""
    index = Member.offers_audience if purpose == "offers" else Member.partner_promotions_audience
    for shard in range(consent.AUDIENCE_SHARDS):
        with storage_errors():
            for item in index.query(str(shard), page_size=1000):
                yield item.member_id


def read_many(member_ids: list) -> dict:
    """member id → member, read strongly consistent in one batch (absent ids are missing)."""
    with storage_errors():
        return {m.member_id: m for m in Member.batch_get(member_ids, consistent_read=True)}


def eligible(member: Optional[Member], purpose: str, now=None) -> bool:
    """The sending rule: consent for the purpose, verified, not deleted, not suppressed, not
    pausing promotions — now."""
    return (member is not None and bool(member.email_verified) and not member.suppressed
            and consent.is_granted(member, purpose) and not preferences.snoozed(member, now))


def in_topics(member: Optional[Member], topic_ids) -> bool:
    """Whether a promotion naming ``topic_ids`` is meant for the member at all: one of them is
    among the member's topics (a promotion naming none is for everyone; an absent member is
    judged by ``eligible``)."""
    return member is None or preferences.takes_any_topic(member, topic_ids)


def suppress(address: str, source: str) -> bool:
    """Stop all promotional mail to an address (a bounce or a complaint): suppressed flag,
    consents withdrawn, counted."""
    try:
        member = member_by_email(normalize_email(address))
    except ValidationError:
        return False
    if member is None or not suppress_member(member, Provenance(source, page="ses-event")):
        return False
    counters.record(f"{source}s")
    observability.count("Bounces" if source == "bounce" else "Complaints")
    return True


def suppress_member(member: Member, provenance: Provenance) -> bool:
    """Stop all promotional mail to a member's address: the suppressed flag set and the
    audiences left in one conditional write (never recreating an erased member), then every
    consent still given withdrawn on the record with ``provenance``. False when the member is
    gone."""
    try:
        with storage_errors():
            member.update(actions=[Member.suppressed.set(True), Member.aud_offers.remove(),
                                   Member.aud_partner_promotions.remove()],
                          condition=Member.member_id.exists())  # never recreate a deleted member
    except UpdateError as exc:
        if not condition_failed(exc):
            raise  # only "the member is gone" is an answer; any other failure is one
        return False
    granted = {p: False for p in PURPOSES if consent.is_granted(member, p)}
    if granted:
        consent.change(member.member_id, granted, provenance)
    return True
