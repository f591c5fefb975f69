"""The JSON API of the ways to sign in beyond the password: passkeys and two-step sign-in.

Sign-in: ``POST /api/v1/session/passkey/options`` then ``POST /api/v1/session/passkey`` (a
passkey is both factors); a password sign-in that answered ``second_factor_required`` ends with
``POST /api/v1/session/totp``. The member's own settings are under ``/api/v1/me/passkeys`` and
``/api/v1/me/totp``. Challenges and second steps are bound to the browser's visitor cookie (or,
for adding a passkey, to the session), so a value copied elsewhere is refused.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import members
from chalicelib.platform.errors import NotFoundError
from chalicelib.web.auth import require_session
from chalicelib.web.http import ANY_CONTENT, client_address, json_body, json_response, raw_body
from chalicelib.web.members_api import signed_in
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

_PASSWORD = {"type": "string", "maxLength": 1024}
_CODE = {"type": "string", "maxLength": 64,
         "description": "the 6-digit code of the authenticator app, or a recovery code"}
# The browser's PublicKeyCredential as JSON (its toJSON() shape, binary fields base64url);
# its inner fields are checked by the WebAuthn verification.
CREDENTIAL = {"type": "object", "required": ["id", "rawId", "type", "response"],
              "properties": {"id": {"type": "string", "maxLength": 1400},
                             "rawId": {"type": "string", "maxLength": 1400},
                             "type": {"const": "public-key"},
                             "response": {"type": "object", "additionalProperties": True},
                             "authenticatorAttachment": {"type": ["string", "null"]},
                             "clientExtensionResults": {"type": "object"}}}
PASSKEY_SIGN_IN = {"type": "object", "additionalProperties": False, "required": ["credential"],
                   "properties": {"credential": CREDENTIAL}}
ADD_PASSKEY = {"type": "object", "additionalProperties": False, "required": ["credential"],
               "properties": {"credential": CREDENTIAL,
                              "name": {"type": ["string", "null"], "maxLength": 200}}}
PASSWORD_ONLY = {"type": "object", "additionalProperties": False, "required": ["password"],
                 "properties": {"password": _PASSWORD}}
SECOND_FACTOR = {"type": "object", "additionalProperties": False, "required": ["token", "code"],
                 "properties": {"token": {"type": "string", "maxLength": 200}, "code": _CODE}}
CODE_ONLY = {"type": "object", "additionalProperties": False, "required": ["code"],
             "properties": {"code": _CODE}}
DISABLE_TOTP = {"type": "object", "additionalProperties": False, "required": ["password", "code"],
                "properties": {"password": _PASSWORD, "code": _CODE}}


def _no_content() -> Response:
    return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})


# --- signing in ------------------------------------------------------------------------------------


@bp.route("/api/v1/session/passkey/options", methods=["POST"], content_types=ANY_CONTENT)
def passkey_sign_in_options():
    request = bp.current_request
    raw_body(request)  # no body is read, but an oversized one is refused like anywhere else
    return json_response({"publicKey": members.passkeys.sign_in_options(
        visitor_id(request), source=client_address(request))})


@bp.route("/api/v1/session/passkey", methods=["POST"], content_types=ANY_CONTENT)
def passkey_sign_in():
    request = bp.current_request
    data = json_body(request, PASSKEY_SIGN_IN)
    member, value, max_age = members.passkeys.sign_in(
        data["credential"], visitor_id(request), request.headers.get("user-agent"),
        source=client_address(request))
    return signed_in(request, member, value, max_age)


@bp.route("/api/v1/session/totp", methods=["POST"], content_types=ANY_CONTENT)
def second_factor():
    request = bp.current_request
    data = json_body(request, SECOND_FACTOR)
    member, value, max_age = members.totp.complete_sign_in(
        data["token"], data["code"], visitor_id(request), request.headers.get("user-agent"))
    return signed_in(request, member, value, max_age)


# --- the member's passkeys -------------------------------------------------------------------------


@bp.route("/api/v1/me/passkeys", methods=["GET"])
def list_passkeys():
    session = require_session(bp.current_request)
    return json_response({"passkeys": members.passkeys.list_for_member(session.member_id)})


@bp.route("/api/v1/me/passkeys/options", methods=["POST"], content_types=ANY_CONTENT)
def passkey_registration_options():
    request = bp.current_request
    session = require_session(request)
    password = json_body(request, PASSWORD_ONLY)["password"]
    return json_response({"publicKey": members.passkeys.registration_options(
        session.member_id, session.session_hash, password, source=client_address(request))})


@bp.route("/api/v1/me/passkeys", methods=["POST"], content_types=ANY_CONTENT)
def add_passkey():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, ADD_PASSKEY)
    passkey = members.passkeys.register(session.member_id, session.session_hash,
                                        data["credential"], data.get("name"),
                                        request.headers.get("user-agent"))
    return json_response({"passkey": passkey}, 201)


@bp.route("/api/v1/me/passkeys/{passkey_id}", methods=["DELETE"], content_types=ANY_CONTENT)
def remove_passkey(passkey_id):
    raw_body(bp.current_request)
    session = require_session(bp.current_request)
    if not members.passkeys.remove(session.member_id, passkey_id):
        raise NotFoundError("You have no passkey with this id; it may have been removed already.")
    return _no_content()


# --- two-step sign-in ------------------------------------------------------------------------------


@bp.route("/api/v1/me/totp", methods=["GET"])
def totp_status():
    session = require_session(bp.current_request)
    return json_response({"totp": members.totp.status(members.get_member(session.member_id))})


@bp.route("/api/v1/me/totp", methods=["POST"], content_types=ANY_CONTENT)
def totp_begin():
    request = bp.current_request
    session = require_session(request)
    password = json_body(request, PASSWORD_ONLY)["password"]
    return json_response(members.totp.begin_setup(session.member_id, password,
                                                  source=client_address(request)))


@bp.route("/api/v1/me/totp/confirm", methods=["POST"], content_types=ANY_CONTENT)
def totp_confirm():
    request = bp.current_request
    session = require_session(request)
    code = json_body(request, CODE_ONLY)["code"]
    return json_response({"recovery_codes": members.totp.confirm_setup(session.member_id, code)})


@bp.route("/api/v1/me/totp", methods=["DELETE"], content_types=ANY_CONTENT)
def totp_disable():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, DISABLE_TOTP)
    members.totp.disable(session.member_id, data["password"], data["code"],
                         source=client_address(request))
    return _no_content()


@bp.route("/api/v1/me/totp/recovery-codes", methods=["POST"], content_types=ANY_CONTENT)
def totp_recovery_codes():
    request = bp.current_request
    session = require_session(request)
    password = json_body(request, PASSWORD_ONLY)["password"]
    return json_response({"recovery_codes": members.totp.replace_recovery_codes(
        session.member_id, password, source=client_address(request))})
