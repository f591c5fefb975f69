"""Operators' second factors: passkeys (WebAuthn security keys or platform passkeys, which a
phishing site cannot replay: the browser binds each answer to this site's origin), TOTP as a
fallback, and ten recovery codes shown once when the first factor is enrolled.

The checks of the ceremonies are py_webauthn's and the one-time codes are ``platform.otp``'s,
as for members; what differs is where things are kept: an operator's factors live on its own
item, and the WebAuthn challenge in flight on the operator's session (single-use: spending it
is a conditional update). Every answer is counted against the session (5 tries, then the
sign-in starts again) and wrong codes against the operator (5 per 15 minutes, 20 per day).
"""
from __future__ import annotations

import binascii
import contextlib
import json
import re
import secrets
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.members.passkeys import relying_party
from chalicelib.operators import sessions
from chalicelib.operators.accounts import ACTIVE, PENDING, get_operator
from chalicelib.operators.models import Operator
from chalicelib.operators.sessions import OperatorContext
from chalicelib.platform import clock, otp, ratelimit
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import (
    b64url_decode,
    b64url_encode,
    new_token,
    seal,
    sha256_hex,
    sign,
    unseal,
)
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    ValidationError,
)

ISSUER = "eSmallOffice operators"
_SEAL = "operator-totp-secret"
CODE_LIMITS = ((5, 15 * 60), (20, 24 * 3600))
MAX_PASSKEYS = 5
TIMEOUT_MS = 5 * 60 * 1000
_CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{16,1400}")


def _wrong_code() -> AuthenticationError:
    return AuthenticationError("That code is not right (or was already used).",
                               code="invalid_code", field="code")


def _refused() -> ValidationError:
    return ValidationError("The browser's passkey answer is not one we can use; try again.",
                           code="invalid_passkey", field="credential")


@contextlib.contextmanager
def _counted(context: OperatorContext, now: datetime):
    """Count an answer against the session and the operator before checking it; a right
    answer takes the operator's count back."""
    sessions.count_attempt(context.session_hash)
    with ratelimit.counted_attempt("operator-code:" + sign("rate-limit", context.operator_id),
                                   CODE_LIMITS, now.timestamp(),
                                   "Too many wrong answers; try again later."):
        yield


def _same_factors(operator: Operator) -> tuple:
    """(the condition that the operator's factors are still as read, the action that says
    they changed): every change of factors bumps ``factors_version``, so of two enrolments or
    sign-ins that read the same item only one is written."""
    version = operator.factors_version or 0
    same = (Operator.factors_version == version) if version else (
        Operator.factors_version.does_not_exist() | (Operator.factors_version == 0))
    return same, Operator.factors_version.set(version + 1)


def _activation(operator: Operator, now: datetime) -> tuple:
    """A set-up session's enrolment makes the pending operator active: (actions, condition,
    the recovery codes to show once). An operator already active (set up from a newer link
    meanwhile, say) is not set up again from an older session."""
    if operator.status != PENDING:
        raise _setup_over()
    same, bump = _same_factors(operator)
    shown, hashes = otp.new_recovery_codes(operator.operator_id)
    return ([Operator.status.set(ACTIVE), Operator.activated_at.set(now),
             Operator.recovery_codes.set(hashes), bump],
            same & (Operator.status == PENDING), shown)


def _setup_over() -> AuthenticationError:
    return AuthenticationError("This set-up has ended; sign in.", code="not_authenticated")


def _need_stage(context: OperatorContext, *stages: str) -> None:
    if context.stage not in stages:
        raise ForbiddenError("This step is not open in this session.", code="wrong_step")


# --- TOTP ----------------------------------------------------------------------------------------


def totp_setup(context: OperatorContext) -> dict:
    """The secret waiting for its first code (made on first ask): ``{"secret", "otpauth_uri"}``."""
    _need_stage(context, sessions.SETUP)
    operator = get_operator(context.operator_id)
    if operator.status != PENDING:
        raise _setup_over()
    if operator.totp_secret:
        raise ConflictError("An authenticator app is already set up.", code="totp_already_enabled")
    secret = None
    if operator.totp_pending_secret:
        with contextlib.suppress(ValueError):
            secret = unseal(_SEAL, operator.totp_pending_secret)
    if secret is None:
        secret = otp.random_secret()
        with storage_errors():
            operator.update(actions=[Operator.totp_pending_secret.set(seal(_SEAL, secret))],
                            condition=Operator.status == PENDING)
    return {"secret": secret,
            "otpauth_uri": otp.provisioning_uri(secret, operator.email, ISSUER)}


def totp_confirm(context: OperatorContext, code: str, now: datetime | None = None) -> list:
    """The first code from the app turns TOTP on and the operator active; returns the
    recovery codes to show once."""
    _need_stage(context, sessions.SETUP)
    now = now or clock.now()
    operator = get_operator(context.operator_id)
    if not operator.totp_pending_secret:
        raise ValidationError("Start setting up the app again.", code="totp_setup_expired")
    with _counted(context, now):
        step = otp.matching_step(unseal(_SEAL, operator.totp_pending_secret), otp.clean(code), now)
        if step is None:
            raise _wrong_code()
    actions, condition, shown = _activation(operator, now)
    try:
        with storage_errors():
            operator.update(actions=[
                Operator.totp_secret.set(operator.totp_pending_secret),
                Operator.totp_last_step.set(step), Operator.totp_pending_secret.remove(),
                *actions],
                condition=condition & Operator.totp_secret.does_not_exist()
                & (Operator.totp_pending_secret == operator.totp_pending_secret))
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConflictError("The set-up changed meanwhile; reload the page.",
                                code="totp_already_enabled") from None
        raise
    return shown


def check_code(context: OperatorContext, code: str, now: datetime | None = None) -> str:
    """A code from the app or a recovery code, as the second factor of a sign-in or a re-check:
    ``"totp"`` or ``"recovery_code"``. Each works once (a step not later than the last used
    one, or a spent recovery code, is wrong)."""
    _need_stage(context, sessions.PASSWORD, sessions.SIGNED_IN)
    now = now or clock.now()
    with _counted(context, now):
        operator = get_operator(context.operator_id)
        cleaned = otp.clean(code)
        if otp.TOTP_CODE.fullmatch(cleaned) and operator.totp_secret:
            try:
                secret = unseal(_SEAL, operator.totp_secret)
            except ValueError:
                secret = None
            step = otp.matching_step(secret, cleaned, now)
            if step is None or (operator.totp_last_step is not None
                                and step <= operator.totp_last_step):
                raise _wrong_code()
            later = Operator.totp_last_step.does_not_exist() | (Operator.totp_last_step < step)
            _spend(operator, [Operator.totp_last_step.set(step)], later)
            return "totp"
        if len(cleaned) != otp.RECOVERY_LENGTH:
            raise _wrong_code()
        hashed = otp.recovery_hash(operator.operator_id, cleaned)
        _spend(operator, [Operator.recovery_codes.delete({hashed})],
               Operator.recovery_codes.contains(hashed))
        return "recovery_code"


def _spend(operator: Operator, actions: list, condition) -> None:
    try:
        with storage_errors():
            operator.update(actions=actions, condition=(Operator.status == ACTIVE) & condition)
    except UpdateError as exc:
        if condition_failed(exc):
            raise _wrong_code() from None
        raise


# --- passkeys ------------------------------------------------------------------------------------


def _new_challenge(context: OperatorContext) -> bytes:
    value = new_token(32)
    sessions.set_challenge(context.session_hash, sha256_hex(value))
    return b64url_decode(value)


def _take_challenge(context: OperatorContext, credential) -> bytes:
    """The challenge the browser signed, if it is this session's, spent now."""
    try:
        client_data = json.loads(b64url_decode(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise _refused() from None
    if not isinstance(challenge, str) or not sessions.spend_challenge(
            context.session_hash, sha256_hex(challenge)):
        raise ValidationError("This passkey request has expired; try again.",
                              code="invalid_challenge", field="credential")
    return b64url_decode(challenge)


def _passkeys(operator: Operator) -> dict:
    raw = operator.passkeys
    if raw is None:
        return {}
    return dict(raw.as_dict()) if hasattr(raw, "as_dict") else dict(raw)


def registration_options(context: OperatorContext) -> dict:
    """What ``navigator.credentials.create()`` needs, for a set-up session."""
    _need_stage(context, sessions.SETUP)
    operator = get_operator(context.operator_id)
    if operator.status != PENDING:
        raise _setup_over()
    existing = _passkeys(operator)
    if len(existing) >= MAX_PASSKEYS:
        raise ConflictError("This operator has as many passkeys as allowed.",
                            code="too_many_passkeys")
    handle = operator.user_handle
    if not handle:
        handle = b64url_encode(secrets.token_bytes(32))
        with storage_errors():
            operator.update(actions=[Operator.user_handle.set(handle)],
                            condition=Operator.user_handle.does_not_exist())
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    rp_id, _ = relying_party()
    options = generate_registration_options(
        rp_id=rp_id, rp_name="eSmallOffice operators", user_id=b64url_decode(handle),
        user_name=operator.email, user_display_name=operator.email,
        challenge=_new_challenge(context), timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(cid))
                             for cid in existing])
    return json.loads(options_to_json(options))


def register(context: OperatorContext, credential: dict, name: str | None = None,
             now: datetime | None = None) -> list:
    """Verify the browser's answer and keep the passkey as the pending operator's first
    factor (the operator becomes active); returns the recovery codes to show once."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException

    _need_stage(context, sessions.SETUP)
    now = now or clock.now()
    challenge = _take_challenge(context, credential)
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise _refused() from None
    operator = get_operator(context.operator_id)
    keys = _passkeys(operator)
    credential_id = b64url_encode(verified.credential_id)
    if credential_id in keys:
        raise ConflictError("This passkey is already registered.", code="passkey_exists")
    keys[credential_id] = {"public_key": b64url_encode(verified.credential_public_key),
                           "sign_count": verified.sign_count,
                           "name": (name or "Security key")[:60], "created_at": iso(now)}
    actions, condition, shown = _activation(operator, now)
    _save_passkeys(operator, keys, actions, condition)
    return shown


def _save_passkeys(operator: Operator, keys: dict, actions: list, condition) -> None:
    """Replace the operator's passkeys under ``condition``, which includes ``_same_factors``."""
    try:
        with storage_errors():
            operator.update(actions=[Operator.passkeys.set(keys), *actions], condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConflictError("The operator's passkeys changed meanwhile; try again.",
                                code="passkey_conflict") from None
        raise


def sign_in_options(context: OperatorContext) -> dict:
    """What ``navigator.credentials.get()`` needs: this operator's passkeys only."""
    _need_stage(context, sessions.PASSWORD, sessions.SIGNED_IN)
    operator = get_operator(context.operator_id)
    keys = _passkeys(operator)
    if not keys:
        raise ConflictError("This operator has no passkey; use the authenticator app.",
                            code="no_passkey")
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import (
        PublicKeyCredentialDescriptor,
        UserVerificationRequirement,
    )

    rp_id, _ = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id, challenge=_new_challenge(context), timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=b64url_decode(cid)) for cid in keys],
        user_verification=UserVerificationRequirement.REQUIRED)
    return json.loads(options_to_json(options))


def check_passkey(context: OperatorContext, credential: dict,
                  now: datetime | None = None) -> str:
    """Verify a passkey answer as the second factor; returns the passkey's name."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    _need_stage(context, sessions.PASSWORD, sessions.SIGNED_IN)
    now = now or clock.now()
    if not isinstance(credential, dict):
        raise _refused()
    with _counted(context, now):
        challenge = _take_challenge(context, credential)
        credential_id = credential.get("id")
        if not isinstance(credential_id, str) or not _CREDENTIAL_ID.fullmatch(credential_id):
            raise _refused()
        operator = get_operator(context.operator_id)
        keys = _passkeys(operator)
        stored = keys.get(credential_id)
        if stored is None:
            raise AuthenticationError("This passkey is not one of this operator's.",
                                      code="unknown_passkey")
        rp_id, origin = relying_party()
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
                expected_origin=origin, credential_public_key=b64url_decode(stored["public_key"]),
                credential_current_sign_count=0, require_user_verification=True)
        except (WebAuthnException, ValueError, TypeError, KeyError):
            raise AuthenticationError("The passkey could not be verified; try again.",
                                      code="invalid_passkey") from None
        old_count = int(stored.get("sign_count") or 0)
        new_count = verified.new_sign_count
        if (new_count or old_count) and new_count <= old_count:
            raise ForbiddenError("This passkey's counter went backwards, which happens when a "
                                 "key has been copied.", code="passkey_counter_mismatch")
        keys[credential_id] = {**stored, "sign_count": new_count, "last_used_at": iso(now)}
        same, bump = _same_factors(operator)
        _save_passkeys(operator, keys, [bump], same & (Operator.status == ACTIVE))
    return stored.get("name") or "passkey"
