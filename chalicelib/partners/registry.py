"""Marketing partners: the registry (operator CLI) and the partners' API keys.

An API key reads ``eso_pk_<key id>_<secret>``. The key id is public and finds the key's item
in one consistent read; only the SHA-256 of the secret is stored, compared in constant time.
A partner has at most one live key: rotation and disabling replace or delete that item in the
same transaction that changes the partner, so the old key stops working at once. Enabling a
disabled partner issues a new key (the old one was deleted, and never comes back).
"""
from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import members
from chalicelib.partners.models import Partner, PartnerKey
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import sha256_hex
from chalicelib.platform.dynamo import condition_failed, storage_errors, transaction
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from chalicelib.platform.settings import get_settings

ACTIVE, DISABLED = "active", "disabled"
LISTED = "1"  # the sparse index's only hash value
PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{2,47}$")
_KEY = re.compile(r"^eso_pk_([0-9a-f]{16})_([A-Za-z0-9_-]{40,64})$")
# Compared against when the key id is unknown, so a miss costs the same as a wrong secret.
_NO_SECRET = sha256_hex("no such key")
MAX_NAME = 80
MAX_URL = 2000
MAX_DESCRIPTION = 300


@dataclass(frozen=True)
class NewKey:
    partner_id: str
    api_key: str  # shown once, never stored


def new_partner_id() -> str:
    return "ptn_" + secrets.token_hex(6)


def _new_key(partner_id: str, now: datetime) -> tuple:
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    item = PartnerKey(key_id, partner_id=partner_id, secret_hash=sha256_hex(secret),
                      created_at=now)
    return f"eso_pk_{key_id}_{secret}", item


def check_https_url(url: str, field: str) -> str:
    """An absolute https URL with a host and no credentials (what a partner may register).

    The local stack also takes plain http on 127.0.0.1, where its demo partner's page is."""
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    local_page = (parts is not None and parts.scheme == "http" and parts.hostname == "127.0.0.1"
                  and get_settings().is_local)
    if (parts is None or (parts.scheme != "https" and not local_page) or not parts.hostname
            or parts.username
            or parts.password or len(url) > MAX_URL or any(c.isspace() for c in url.strip())):
        raise ValidationError(f"The {field.replace('_', ' ')} must be an absolute https:// URL.", field=field)
    return url.strip()


def _clean_text(value: str | None, field: str, limit: int, required: bool = False) -> str | None:
    text = " ".join((value or "").split())
    if required and not text:
        raise ValidationError(f"The {field.replace('_', ' ')} is required.", field=field)
    if len(text) > limit:
        raise ValidationError(f"The {field.replace('_', ' ')} can have at most {limit} characters.", field=field)
    return text or None


def _checked(fields: dict) -> dict:
    """The given partner fields, each checked as at registration (None clears an optional one)."""
    checks = {
        "name": lambda v: _clean_text(v, "name", MAX_NAME, required=True),
        "landing_url": lambda v: check_https_url(v, "landing URL"),
        "privacy_policy_url": lambda v: (check_https_url(v, "privacy-policy URL")
                                         if v else None),
        "contact_email": lambda v: members.normalize_email(v) if v else None,
        "description": lambda v: _clean_text(v, "description", MAX_DESCRIPTION),
    }
    return {name: checks[name](value) for name, value in fields.items()}


EDITABLE = ("name", "landing_url", "privacy_policy_url", "contact_email", "description")


def create(name: str, landing_url: str, privacy_policy_url: str | None = None,
           contact_email: str | None = None, description: str | None = None,
           partner_id: str | None = None, now: datetime | None = None) -> NewKey:
    """Register a partner with its first API key; ConflictError if the id is taken."""
    now = now or clock.now()
    partner_id = partner_id or new_partner_id()
    if not PARTNER_ID.match(partner_id):
        raise ValidationError("A partner id has 3 to 48 lower-case letters, digits, _ or -.",
                              field="partner_id")
    fields = _checked(dict(name=name, landing_url=landing_url,
                           privacy_policy_url=privacy_policy_url, contact_email=contact_email,
                           description=description))
    partner = Partner(partner_id, status=ACTIVE, listed=LISTED, created_at=now, **fields)
    api_key, key_item = _new_key(partner_id, now)
    partner.key_id = key_item.key_id
    try:
        with storage_errors(), transaction() as tx:
            tx.save(partner, condition=Partner.partner_id.does_not_exist())
            tx.save(key_item, condition=PartnerKey.key_id.does_not_exist())
    except TransactWriteError:
        raise ConflictError(f"Partner {partner_id} already exists. Choose another id.",
                            code="partner_exists") from None
    return NewKey(partner_id, api_key)


def edit(partner_id: str, **changes) -> tuple:
    """Change only the given fields of a partner, checked as at registration; ``None`` clears
    an optional one. Returns the partner as stored and the names of the fields changed.
    Unknown partner → NotFoundError, and nothing is created."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"a partner has no field {sorted(unknown)[0]!r}", field="partner")
    if not changes:
        raise ValidationError("give at least one field to change", field="partner")
    fields = _checked(changes)
    get(partner_id)  # a malformed or unknown id is NotFoundError before any write
    partner = Partner(partner_id)
    actions = [getattr(Partner, name).remove() if value is None
               else getattr(Partner, name).set(value) for name, value in fields.items()]
    try:
        with storage_errors():
            partner.update(actions=actions, condition=Partner.partner_id.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError("no such partner") from None
        raise
    return partner, sorted(fields)


def get(partner_id: str) -> Partner:
    """A partner, active or not (NotFoundError when unknown)."""
    if not isinstance(partner_id, str) or not PARTNER_ID.match(partner_id):
        raise NotFoundError("There is no such partner.")
    with storage_errors():
        try:
            return Partner.get(partner_id, consistent_read=True)
        except Partner.DoesNotExist:
            raise NotFoundError("There is no such partner.") from None


def get_active(partner_id: str) -> Partner:
    """An active partner; unknown and disabled partners are both NotFoundError."""
    partner = get(partner_id)
    if partner.status != ACTIVE:
        raise NotFoundError("There is no such partner.")
    return partner


def get_many(partner_ids) -> dict:
    """partner id → Partner for the ids that exist (one BatchGetItem per 100 ids)."""
    ids = sorted({p for p in partner_ids if p})
    if not ids:
        return {}
    with storage_errors():
        return {p.partner_id: p for p in Partner.batch_get(ids)}


def rotate_key(partner_id: str, now: datetime | None = None) -> NewKey:
    """Replace the partner's key; the old one stops working with this write."""
    now = now or clock.now()
    partner = get(partner_id)
    if partner.status != ACTIVE:
        raise ConflictError(f"Partner {partner_id} is disabled.", code="partner_disabled")
    api_key, key_item = _new_key(partner_id, now)
    try:
        with storage_errors(), transaction() as tx:
            if partner.key_id:
                tx.delete(PartnerKey(partner.key_id))
            tx.save(key_item, condition=PartnerKey.key_id.does_not_exist())
            tx.update(partner, actions=[Partner.key_id.set(key_item.key_id),
                                        Partner.key_rotated_at.set(now)],
                      condition=(Partner.key_id == partner.key_id) & (Partner.status == ACTIVE))
    except TransactWriteError:
        raise ConflictError("The partner changed meanwhile. Try again.",
                            code="partner_changed") from None
    return NewKey(partner_id, api_key)


def disable(partner_id: str, now: datetime | None = None) -> Partner:
    """Stop a partner: its key, its referral link and its offer end with this write."""
    now = now or clock.now()
    partner = get(partner_id)
    if partner.status == DISABLED:
        return partner
    with storage_errors(), transaction() as tx:
        if partner.key_id:
            tx.delete(PartnerKey(partner.key_id))
        tx.update(partner, actions=[Partner.status.set(DISABLED), Partner.disabled_at.set(now),
                                    Partner.listed.remove(), Partner.key_id.remove()])
    return get(partner_id)


def enable(partner_id: str, now: datetime | None = None) -> NewKey | None:
    """Re-enable a disabled partner: listed again, its referral link and offer back, and a new
    API key (returned, to be shown once). An active partner is left as it is (None)."""
    now = now or clock.now()
    partner = get(partner_id)
    if partner.status == ACTIVE:
        return None
    api_key, key_item = _new_key(partner_id, now)
    try:
        with storage_errors(), transaction() as tx:
            tx.save(key_item, condition=PartnerKey.key_id.does_not_exist())
            tx.update(partner, actions=[Partner.status.set(ACTIVE), Partner.listed.set(LISTED),
                                        Partner.key_id.set(key_item.key_id),
                                        Partner.key_rotated_at.set(now),
                                        Partner.disabled_at.remove()],
                      condition=Partner.status == DISABLED)
    except TransactWriteError:
        raise ConflictError("the partner changed meanwhile; try again",
                            code="partner_changed") from None
    return NewKey(partner_id, api_key)


def list_all() -> list:
    """Every partner, active or not (operator CLI only: a Scan of a small table)."""
    with storage_errors():
        return sorted(Partner.scan(), key=lambda p: p.created_at)


def list_active() -> list:
    """Active partners, by one Query on the sparse ``active-partners`` index."""
    with storage_errors():
        return list(Partner.active_partners.query(LISTED))


def authenticate(api_key: str | None) -> str:
    """The partner id an API key belongs to; AuthenticationError for any bad or old key."""
    match = _KEY.match(api_key or "") if isinstance(api_key, str) else None
    item = None
    if match:
        with storage_errors():
            try:
                item = PartnerKey.get(match.group(1), consistent_read=True)
            except PartnerKey.DoesNotExist:
                item = None
    secret = match.group(2) if match else ""
    matches = hmac.compare_digest(sha256_hex(secret), item.secret_hash if item else _NO_SECRET)
    if item is None or not matches:
        raise AuthenticationError("Send a valid partner API key: Authorization: Bearer eso_pk_…", code="invalid_api_key")
    return item.partner_id


def partner_json(partner: Partner) -> dict:
    """The operator's view of a partner (never the key hash, nor the webhook's secret)."""
    return {"partner_id": partner.partner_id, "name": partner.name, "status": partner.status,
            "landing_url": partner.landing_url, "privacy_policy_url": partner.privacy_policy_url,
            "contact_email": partner.contact_email, "description": partner.description,
            "created_at": iso(partner.created_at), "key_rotated_at": iso(partner.key_rotated_at),
            "disabled_at": iso(partner.disabled_at), "webhook_url": partner.webhook_url}


def presented(partner: Partner | None, partner_id: str | None = None) -> dict:
    """How a partner is shown to a member: its name and its own privacy policy."""
    if partner is None:
        return {"partner_id": partner_id, "name": "a former partner", "privacy_policy_url": None}
    return {"partner_id": partner.partner_id, "name": partner.name,
            "privacy_policy_url": partner.privacy_policy_url}
