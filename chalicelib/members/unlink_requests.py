"""Requests to tell a member's partners to unlink them: the members' side of partner notices.

When the member withdraws partner promotions (the preference centre, an unsubscribe link, a
complaint about a promotion) or their browser's Global Privacy Control withdraws it, an
``UnlinkRequest`` is written in the same transaction as the consent event: no crash can record
the one without the other. ``partners`` (a layer above, which owns the notices) takes the
pending requests, writes its notices, and settles each request here: the notice ids join the
member's record — the only link between a member and the notices, which name no member — and
the request goes, unless a newer one came meanwhile (then it is taken again).

The account's deletion needs no request: erasure tells the partners itself, before it unlinks
the member's clicks (``privacy.erasure``).
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.members.models import Member, UnlinkRequest
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors

QUEUE = "pending"
CONSENT_WITHDRAWN, GPC = "consent_withdrawn", "gpc"
# Withdrawals the member did not make (the address bounced) or that erasure answers for.
_NO_REQUEST = {"bounce", "account_deleted", "support_erasure"}  # erasure sends its own


def kind_for(source: str) -> str | None:
    """What partners are told when partner promotions are withdrawn from ``source``."""
    if source == "gpc":
        return GPC
    return None if source in _NO_REQUEST else CONSENT_WITHDRAWN


def request_in(tx, member_id: str, kind: str, now: datetime) -> None:
    """Add the request to a transaction (the one that records the withdrawal and is
    conditioned on the member item, so an erased member is never asked for)."""
    tx.update(UnlinkRequest(QUEUE, member_id), actions=[
        UnlinkRequest.kinds.add({kind}), UnlinkRequest.requested_at.set(now),
        UnlinkRequest.version.add(1)])


def pending(limit: int = 100) -> list:
    """Requests waiting for their notices, oldest member id first (one Query)."""
    with storage_errors():
        return list(UnlinkRequest.query(QUEUE, limit=limit, consistent_read=True))


def settle(request: UnlinkRequest, notice_ids) -> bool:
    """The notices of ``request`` exist: list them on the member's record and delete the
    request. False when a newer request came meanwhile (it stays, to be taken again).
    Idempotent: a crash between the two writes only means doing this again."""
    ids = set(notice_ids)
    try:
        with storage_errors():
            if ids:
                Member(request.member_id).update(
                    actions=[Member.partner_notice_ids.add(ids)],
                    condition=Member.member_id.exists())
    except UpdateError as exc:
        if not condition_failed(exc):  # an erased member keeps nothing: the request goes
            raise
    try:
        with storage_errors():
            request.delete(condition=UnlinkRequest.version == int(request.version))
    except DeleteError as exc:
        if not condition_failed(exc):
            raise
        return False
    return True


def notice_ids_of(member: Member) -> list:
    """The ids of the notices sent about the member, as the member's record lists them."""
    return sorted(member.partner_notice_ids or ())


def forget(member_id: str) -> None:
    """Erasure: the member's request, if one is still waiting."""
    with storage_errors():
        UnlinkRequest(QUEUE, member_id).delete()


def export_for(member_id: str) -> dict | None:
    """A waiting request as the member's export shows it (None when none waits)."""
    with storage_errors():
        try:
            request = UnlinkRequest.get(QUEUE, member_id, consistent_read=True)
        except UnlinkRequest.DoesNotExist:
            return None
    return {"kinds": sorted(request.kinds), "requested_at": iso(request.requested_at)}
