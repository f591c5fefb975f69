"""Passkeys (WebAuthn): a signed-in member adds discoverable credentials and later signs in
with one, without a password. The ceremonies' checks are py_webauthn's; this module keeps the
challenges single-use and bound to the browser (``challenges``), stores the credentials, and
decides what a verified ceremony may do.

- The relying party is the host of the stage's base URL. WebAuthn refuses IP addresses as
  relying-party ids, so on the local stage, whose base URL is ``http://127.0.0.1:PORT``, the
  relying party is ``localhost`` (origin ``http://localhost:PORT``): passkeys work when the
  local site is opened at that address.
- Registration and sign-in require user verification (the device's PIN, fingerprint or face)
  and a resident (discoverable) key: a passkey alone is both factors.
- Adding a passkey needs the password again, so a stolen session cannot add one.
- The signature counter is checked after the signature: a counter that does not grow (for an
  authenticator that counts) means a copied key, and the sign-in is refused.

py_webauthn and its dependencies (~0.3 s to import) load only inside a ceremony.
"""
from __future__ import annotations

import binascii
import ipaddress
import json
import re
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.members import challenges, notices, sessions
from chalicelib.members.accounts import (
    attempt_allowed,
    client_network,
    confirm_password,
    get_member,
    note_device,
)
from chalicelib.members.devices import device_summary
from chalicelib.members.models import Member, Passkey
from chalicelib.platform import clock, ratelimit
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import b64url_decode, b64url_encode, equal, sha256_hex, sign
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    SettingsError,
    ValidationError,
)
from chalicelib.platform.observability import get_logger
from chalicelib.platform.settings import get_settings
from chalicelib.platform.text import check_text

RP_NAME = "eSmallOffice"
MAX_PASSKEYS = 10
MAX_NAME = 60
TIMEOUT_MS = int(challenges.TTL.total_seconds() * 1000)
OPTIONS_PER_NETWORK = (60, 60)         # sign-in challenges per client network and minute
UNKNOWN_PER_NETWORK = (20, 15 * 60)    # unknown passkeys presented per network, 15 minutes
TRANSPORTS = {"usb", "nfc", "ble", "internal", "hybrid", "cable", "smart-card"}
_CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{16,1400}")


def relying_party() -> tuple:
    """(relying-party id, the origin ceremonies must come from), from the stage's base URL."""
    settings = get_settings()
    parts = urlsplit(settings.base_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        is_address = False
    if is_address:
        if not settings.is_local:
            raise SettingsError("passkeys need a host name, not an IP address, in ESO_BASE_URL")
        host = "localhost"
    return host, f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _refused(field: str = "credential") -> ValidationError:
    return ValidationError("the browser's passkey answer is not one we can use; try again",
                           code="invalid_passkey", field=field)


def _client_challenge(credential: dict) -> str:
    """The challenge the browser signed, read from its clientDataJSON (checked fully later)."""
    try:
        client_data = json.loads(b64url_decode(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise _refused() from None
    if not isinstance(challenge, str):
        raise _refused()
    return challenge


def public_id(credential_id: str) -> str:
    """How a member names one of their passkeys: derived one way from the credential id."""
    return sha256_hex("passkey-id:" + credential_id)[:24]


def passkey_json(passkey: Passkey) -> dict:
    return {"id": public_id(passkey.credential_id), "name": passkey.name,
            "created_at": iso(passkey.created_at), "last_used_at": iso(passkey.last_used_at),
            "synced": bool(passkey.backed_up)}


def _of_member(member_id: str) -> list:
    with storage_errors():
        return list(Passkey.by_member.query(member_id, scan_index_forward=False))


def list_for_member(member_id: str) -> list:
    """The member's passkeys, newest first: id, name, added, last used, whether synced."""
    return [passkey_json(p) for p in _of_member(member_id)]


def clean_name(raw: str | None, user_agent: str | None) -> str:
    name = " ".join(check_text(raw or "", "name").split())
    if len(name) > MAX_NAME:
        raise ValidationError(f"a passkey's name can have at most {MAX_NAME} characters",
                              field="name")
    return name or f"Passkey on {device_summary(user_agent)}"


# --- adding a passkey ----------------------------------------------------------------------------


def _user_handle(member: Member) -> bytes:
    """The member's WebAuthn user handle, made on first use (random: names nothing of ours)."""
    if member.passkey_user_handle:
        return b64url_decode(member.passkey_user_handle)
    handle = b64url_encode(secrets.token_bytes(32))
    try:
        with storage_errors():
            member.update(actions=[Member.passkey_user_handle.set(handle)],
                          condition=Member.passkey_user_handle.does_not_exist()
                          & Member.member_id.exists())  # never recreate an erased member
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        # another request made it first (or the account is gone: NotFoundError)
        return b64url_decode(get_member(member.member_id).passkey_user_handle)
    return b64url_decode(handle)


def registration_options(member_id: str, session_hash: str, password: str,
                         now: datetime | None = None, source: str | None = None) -> dict:
    """What ``navigator.credentials.create()`` needs (as JSON), once the password proved it is
    the member; its challenge works once, for this session, for 5 minutes."""
    now = now or clock.now()
    member = get_member(member_id)
    confirm_password(member, password, now, source)
    existing = _of_member(member_id)
    if len(existing) >= MAX_PASSKEYS:
        raise ConflictError(f"you have {MAX_PASSKEYS} passkeys; remove one to add another",
                            code="too_many_passkeys")
    handle = _user_handle(member)
    challenge = challenges.issue(challenges.PASSKEY_REGISTRATION, session_hash, now, member_id)
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    rp_id, _ = relying_party()
    options = generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_id=handle, user_name=member.email,
        user_display_name=member.display_name or member.email,
        challenge=b64url_decode(challenge), timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(p.credential_id))
                             for p in existing])
    return json.loads(options_to_json(options))


def register(member_id: str, session_hash: str, credential: dict, name: str | None,
             user_agent: str | None = None, now: datetime | None = None) -> dict:
    """Verify the browser's answer to the registration options and store the passkey."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException

    now = now or clock.now()
    name = clean_name(name, user_agent)
    value = _client_challenge(credential)
    item = challenges.take(value, challenges.PASSKEY_REGISTRATION, session_hash, now,
                           "credential", "this passkey request has expired; try again")
    if item.member_id != member_id:
        raise _refused()
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=b64url_decode(value), expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise _refused() from None
    member = get_member(member_id)
    if len(_of_member(member_id)) >= MAX_PASSKEYS:
        raise ConflictError(f"you have {MAX_PASSKEYS} passkeys; remove one to add another",
                            code="too_many_passkeys")
    transports = (credential.get("response") or {}).get("transports")
    passkey = Passkey(
        b64url_encode(verified.credential_id), member_id=member_id,
        user_handle=member.passkey_user_handle, public_key=b64url_encode(verified.credential_public_key),
        sign_count=verified.sign_count, name=name, created_at=now,
        backed_up=bool(verified.credential_backed_up),
        transports=sorted({t for t in transports if t in TRANSPORTS})
        if isinstance(transports, list) else None)
    try:
        with storage_errors():
            passkey.save(condition=Passkey.credential_id.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            raise ConflictError("this passkey is already registered", code="passkey_exists",
                                field="credential") from None
        raise
    notices.send(member.email, "passkey_added", name=name)
    return passkey_json(passkey)


def remove(member_id: str, passkey_id: str) -> bool:
    """Remove one of the member's passkeys by its id; False when the member has no such one."""
    if not isinstance(passkey_id, str) or len(passkey_id) != 24:
        return False
    for passkey in _of_member(member_id):
        if equal(public_id(passkey.credential_id), passkey_id):
            with storage_errors():
                passkey.delete(condition=Passkey.member_id == member_id)
            notices.send(get_member(member_id).email, "passkey_removed", name=passkey.name)
            return True
    return False


# --- signing in with a passkey -------------------------------------------------------------------


def _network_key(kind: str, source: str | None) -> str:
    return f"passkey-{kind}:" + sign("rate-limit-network", client_network(source))


def sign_in_options(browser: str | None, now: datetime | None = None,
                    source: str | None = None) -> dict:
    """What ``navigator.credentials.get()`` needs: a challenge for this browser, no list of
    credentials (the member picks a passkey the device already knows)."""
    now = now or clock.now()
    limit, window = OPTIONS_PER_NETWORK
    ratelimit.take(_network_key("options", source), limit, window, now=now.timestamp())
    challenge = challenges.issue(challenges.PASSKEY_SIGN_IN, browser, now)
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    rp_id, _ = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id, challenge=b64url_decode(challenge), timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED)
    return json.loads(options_to_json(options))


def _unknown_passkey(source: str | None, now: datetime) -> AuthenticationError:
    limit, window = UNKNOWN_PER_NETWORK
    ratelimit.take(_network_key("unknown", source), limit, window, now=now.timestamp(),
                   message="Too many unknown passkeys from your network; try again later.")
    return AuthenticationError("this passkey is not registered with us (it may have been "
                               "removed); sign in with your password", code="unknown_passkey")


def sign_in(credential: dict, browser: str | None, user_agent: str | None = None,
            now: datetime | None = None, source: str | None = None) -> tuple:
    """Verify the browser's answer to the sign-in options; returns (member, session cookie
    value, max-age). Counted like a login of the passkey's member."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    now = now or clock.now()
    value = _client_challenge(credential)
    challenges.take(value, challenges.PASSKEY_SIGN_IN, browser, now, "credential",
                    "this passkey request has expired; try again")
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not _CREDENTIAL_ID.fullmatch(credential_id):
        raise _refused()
    with storage_errors():
        try:
            passkey = Passkey.get(credential_id, consistent_read=True)
        except Passkey.DoesNotExist:
            passkey = None
    if passkey is None:
        raise _unknown_passkey(source, now)
    member = get_member(passkey.member_id)
    rp_id, origin = relying_party()
    with attempt_allowed(member.email, source, now) as attempt:
        handle = (credential.get("response") or {}).get("userHandle")
        if handle is not None and handle != passkey.user_handle:
            raise _refused()
        try:
            # The counter is checked below, after the signature: an answer that does not
            # verify says nothing about the authenticator's counter.
            verified = verify_authentication_response(
                credential=credential, expected_challenge=b64url_decode(value),
                expected_rp_id=rp_id, expected_origin=origin,
                credential_public_key=b64url_decode(passkey.public_key),
                credential_current_sign_count=0, require_user_verification=True)
        except (WebAuthnException, ValueError, TypeError, KeyError):
            raise AuthenticationError("the passkey could not be verified; try again",
                                      code="invalid_passkey") from None
        attempt.succeeded()
    new_count = verified.new_sign_count
    if (new_count or passkey.sign_count) and new_count <= passkey.sign_count:
        get_logger().warning("passkey counter did not grow: refused as a possible copy")
        raise ForbiddenError("this passkey's counter went backwards, which happens when a key "
                             "has been copied; sign in with your password and remove it",
                             code="passkey_counter_mismatch")
    grows = Passkey.sign_count < new_count if new_count else Passkey.sign_count == 0
    try:
        with storage_errors():
            passkey.update(actions=[Passkey.sign_count.set(new_count),
                                    Passkey.last_used_at.set(now),
                                    Passkey.backed_up.set(bool(verified.credential_backed_up))],
                           condition=Passkey.credential_id.exists() & grows)
    except UpdateError as exc:
        if condition_failed(exc):  # removed, or another sign-in with a later count won
            raise _unknown_passkey(source, now) from None
        raise
    if not member.email_verified:
        raise ForbiddenError("confirm your e-mail address first: we sent you a link",
                             code="email_not_verified")
    cookie_value, max_age = sessions.create(member.member_id, user_agent, now)
    note_device(member, user_agent, now)
    return member, cookie_value, max_age


# --- export and erasure ----------------------------------------------------------------------------


def export_for_member(member_id: str) -> list:
    """What the export says of the member's passkeys: names and dates only (no key material)."""
    return [{"name": p.name, "created_at": iso(p.created_at), "last_used_at": iso(p.last_used_at)}
            for p in _of_member(member_id)]


def erase_member(member_id: str) -> None:
    with storage_errors():
        with Passkey.batch_write() as batch:
            for passkey in Passkey.by_member.query(member_id):
                batch.delete(Passkey(passkey.credential_id))
