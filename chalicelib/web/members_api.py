"""The members' JSON API. Views parse, call one service, shape the reply."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import members, partners, privacy
from chalicelib.platform.errors import ValidationError
from chalicelib.platform.vocabulary import (
    CONTACT_MAX_MESSAGE,
    CONTACT_TOPICS,
    OFFERS,
    PARTNER_PROMOTIONS,
    PURPOSES,
)
from chalicelib.web import cookies, presenters
from chalicelib.web.auth import (
    provenance,
    require_session,
    session_cookie_value,
)
from chalicelib.web.http import ANY_CONTENT, client_address, json_body, json_response

bp = Blueprint(__name__)

_EMAIL = {"type": "string", "maxLength": 320}
_PASSWORD = {"type": "string", "maxLength": 1024}
_TOKEN = {"type": "string", "maxLength": 200}
_CONSENTS = {
    "type": "object", "additionalProperties": False,
    "properties": {p: {"type": "boolean"} for p in PURPOSES},
}

REGISTER = {
    "type": "object", "additionalProperties": False,
    "required": ["email", "password", "consents"],
    "properties": {"email": _EMAIL, "password": _PASSWORD,
                   "display_name": {"type": ["string", "null"], "maxLength": 200},
                   "consents": {**_CONSENTS, "required": [OFFERS]}},
}
VERIFY = {"type": "object", "additionalProperties": False, "required": ["token"],
          "properties": {"token": _TOKEN, "password": _PASSWORD}}
LOGIN = {"type": "object", "additionalProperties": False, "required": ["email", "password"],
         "properties": {"email": _EMAIL, "password": _PASSWORD}}
CONSENTS = {**_CONSENTS, "minProperties": 1}
DELETE_ME = {"type": "object", "additionalProperties": False, "required": ["password"],
             "properties": {"password": _PASSWORD}}
RESET = {"type": "object", "additionalProperties": False, "required": ["email"],
         "properties": {"email": _EMAIL}}
RESET_CONFIRM = {"type": "object", "additionalProperties": False,
                 "required": ["token", "password"],
                 "properties": {"token": _TOKEN, "password": _PASSWORD}}
CONTACT = {"type": "object", "additionalProperties": False,
           "required": ["email", "topic", "message"],
           "properties": {"email": _EMAIL, "topic": {"type": "string", "enum": list(CONTACT_TOPICS)},
                          "message": {"type": "string", "maxLength": CONTACT_MAX_MESSAGE,
                                      "x-multiline": True}}}


def gpc(request) -> bool:
    """Global Privacy Control: the browser asks not to share or sell personal data."""
    return (request.headers.get("sec-gpc") or "").strip() == "1"


def registration_consents(request, given: dict) -> dict:
    """The two consents as chosen; with Sec-GPC: 1 an unstated partner_promotions is off."""
    chosen = dict(given)
    if PARTNER_PROMOTIONS not in chosen:
        if not gpc(request):
            raise ValidationError("Add the missing field consents.partner_promotions and try again.",
                                  field="consents.partner_promotions")
        chosen[PARTNER_PROMOTIONS] = False
    return chosen


def _no_content(headers: dict | None = None) -> Response:
    return Response(body="", status_code=204, headers={"Cache-Control": "no-store", **(headers or {})})


@bp.route("/api/v1/members", methods=["POST"], content_types=ANY_CONTENT)
def register():
    request = bp.current_request
    data = json_body(request, REGISTER)
    members.register(
        members.Registration(email=data["email"], password=data["password"],
                             display_name=data.get("display_name"),
                             consents=registration_consents(request, data["consents"])),
        provenance(request, "registration", "/api/v1/members"))
    return json_response({"status": "verification_sent"}, 202)


@bp.route("/api/v1/members/verify", methods=["POST"], content_types=ANY_CONTENT)
def verify():
    data = json_body(bp.current_request, VERIFY)
    members.verify_email(data["token"], data.get("password"),
                         source=client_address(bp.current_request))
    return json_response({"status": "verified"})


@bp.route("/api/v1/session", methods=["POST"], content_types=ANY_CONTENT)
def login():
    request = bp.current_request
    data = json_body(request, LOGIN)
    member, value, max_age = members.login(data["email"], data["password"],
                                           request.headers.get("user-agent"),
                                           source=client_address(request))
    members.sessions.revoke(session_cookie_value(request))  # never keep a pre-login session id
    return json_response({"member": presenters.member_json(member)},
                         headers={"Set-Cookie": cookies.session_cookie(value, max_age)})


@bp.route("/api/v1/session", methods=["DELETE"], content_types=ANY_CONTENT)
def logout():
    members.sessions.revoke(session_cookie_value(bp.current_request))
    return _no_content({"Set-Cookie": cookies.clear_session_cookie()})


@bp.route("/api/v1/me", methods=["GET"])
def me():
    session = require_session(bp.current_request)
    return json_response({"member": presenters.member_json(members.get_member(session.member_id))})


@bp.route("/api/v1/me/consents", methods=["PUT"], content_types=ANY_CONTENT)
def update_consents():
    request = bp.current_request
    session = require_session(request)
    wanted = json_body(request, CONSENTS)
    member = members.consent.change(session.member_id, wanted,
                            provenance(request, "preference_center", "/api/v1/me/consents"))
    return json_response({"consents": presenters.member_json(member)["consents"]})


@bp.route("/api/v1/me/consents/history", methods=["GET"])
def consent_history():
    session = require_session(bp.current_request)
    return json_response({"events": [members.consent.event_json(e)
                                     for e in members.consent.history(session.member_id)]})


@bp.route("/api/v1/me/export", methods=["GET"])
def export():
    session = require_session(bp.current_request)
    return json_response(privacy.export_member(session.member_id), headers={
        "Content-Disposition": 'attachment; filename="eso-my-data.json"'})


@bp.route("/api/v1/me", methods=["DELETE"], content_types=ANY_CONTENT)
def delete_me():
    request = bp.current_request
    session = require_session(request)
    privacy.delete_account(session.member_id, json_body(request, DELETE_ME)["password"])
    return _no_content({"Set-Cookie": cookies.clear_session_cookie()})


@bp.route("/api/v1/password-reset", methods=["POST"], content_types=ANY_CONTENT)
def password_reset():
    members.request_password_reset(json_body(bp.current_request, RESET)["email"])
    return json_response({"status": "reset_sent_if_registered"}, 202)


@bp.route("/api/v1/password-reset/confirm", methods=["POST"], content_types=ANY_CONTENT)
def password_reset_confirm():
    data = json_body(bp.current_request, RESET_CONFIRM)
    members.confirm_password_reset(data["token"], data["password"],
                                   source=client_address(bp.current_request))
    return _no_content({"Set-Cookie": cookies.clear_session_cookie()})


@bp.route("/api/v1/offers", methods=["GET"])
def list_offers():
    require_session(bp.current_request)
    return json_response({"offers": partners.offers.list_offers()})


@bp.route("/api/v1/contact", methods=["POST"], content_types=ANY_CONTENT)
def contact_us():
    request = bp.current_request
    data = json_body(request, CONTACT)
    members.contact.submit(data["email"], data["topic"], data["message"], client_address(request))
    return json_response({"status": "sent"}, 202)

