"""Ad slots: the places pages and widgets may show ads.

``home`` always exists; every other slot is declared by the operator before ads can be added
to it or served from it. Declared slots live in one partition of the ``ad-slots`` table, so
the operator's list is one Query (never a Scan); serving asks ``is_declared`` once per slot
and container, cached with the slot's ads (``rotation.SlotCache``), so an ad served from a
warm container costs no extra DynamoDB call.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from pynamodb.exceptions import PutError

from chalicelib.ads.models import AdSlot
from chalicelib.platform import clock as wall_clock
from chalicelib.platform import errors
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.text import check_text
from chalicelib.platform.vocabulary import HOME_AD_SLOT

SCOPE = "slots"  # the one partition every declared slot is in
MAX_DESCRIPTION = 200
HOME_DESCRIPTION = "the home page (always there)"

_SLOT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def check_slot(slot: Optional[str]) -> str:
    """A well-formed slot name (1-32 lower-case letters, digits, ``-``, ``_``), else 400."""
    if not slot:
        raise errors.ValidationError("a slot is required", field="slot")
    if not isinstance(slot, str) or not _SLOT.match(slot):
        raise errors.ValidationError(
            "slot must be 1-32 lower-case letters, digits, '-' or '_'", field="slot")
    return slot


@dataclass(frozen=True)
class SlotInfo:
    """A slot as the operator sees it."""

    slot: str
    description: Optional[str] = None
    created_at: Optional[datetime] = None

    @property
    def built_in(self) -> bool:
        return self.slot == HOME_AD_SLOT

    def as_record(self) -> dict:
        return {"slot": self.slot, "description": self.description, "built_in": self.built_in,
                "created_at": iso(self.created_at)}


HOME = SlotInfo(HOME_AD_SLOT, HOME_DESCRIPTION)


def _check_description(description: Optional[str]) -> Optional[str]:
    if description is None:
        return None
    check_text(description, "description")
    text = " ".join(description.split())
    if len(text) > MAX_DESCRIPTION:
        raise errors.ValidationError(
            f"description must be at most {MAX_DESCRIPTION} characters", field="description")
    return text or None


def declare_slot(slot: str, description: Optional[str] = None,
                 now: Optional[datetime] = None) -> SlotInfo:
    """Declare a slot so ads can be added to it and served from it; ConflictError if it exists."""
    check_slot(slot)
    description = _check_description(description)
    if slot == HOME_AD_SLOT:
        raise errors.ConflictError(f"slot {slot} always exists", code="slot_exists")
    item = AdSlot(SCOPE, slot, description=description, created_at=now or wall_clock.now())
    try:
        with storage_errors():
            item.save(condition=AdSlot.slot.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise errors.ConflictError(f"slot {slot} already exists", code="slot_exists") from None
        raise
    return SlotInfo(slot, description, item.created_at)


def list_slots(consistent: bool = True) -> list:
    """Every slot: ``home`` first, then the declared ones by name (one Query)."""
    with storage_errors():
        declared = [SlotInfo(item.slot, item.description, item.created_at)
                    for item in AdSlot.query(SCOPE, consistent_read=consistent)]
    return [HOME] + sorted(declared, key=lambda s: s.slot)


def is_declared(slot: str) -> bool:
    """Whether ``slot`` exists: ``home`` without a read, any other by one GetItem."""
    if slot == HOME_AD_SLOT:
        return True
    with storage_errors():
        try:
            AdSlot.get(SCOPE, slot, consistent_read=True)
        except AdSlot.DoesNotExist:
            return False
    return True


def require_declared(slot: str) -> str:
    """``slot`` if it exists; else a 400 ``unknown_slot`` that names the known slots."""
    if is_declared(check_slot(slot)):
        return slot
    known = ", ".join(s.slot for s in list_slots())
    raise errors.ValidationError(f"slot {slot!r} is not declared; the known slots are: {known}",
                                 code="unknown_slot", field="slot")
