"""The members' JSON API. Views parse, call one service, shape the reply."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import members, partners, privacy
from chalicelib.platform.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.platform.policy import policy_version
from chalicelib.platform.vocabulary import (
    CONTACT_MAX_MESSAGE,
    CONTACT_TOPICS,
    FREQUENCIES,
    OFFERS,
    PARTNER_PROMOTIONS,
    PURPOSES,
    SNOOZE_PERIODS,
)
from chalicelib.web import cookies, presenters
from chalicelib.web.auth import (
    gpc,
    provenance,
    require_session,
    session_cookie_value,
)
from chalicelib.web.http import ANY_CONTENT, client_address, json_body, json_response
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

_EMAIL = {"type": "string", "maxLength": 320}
_PASSWORD = {"type": "string", "maxLength": 1024}
_TOKEN = {"type": "string", "maxLength": 200}
_CONSENTS = {
    "type": "object", "additionalProperties": False,
    "properties": {p: {"type": "boolean"} for p in PURPOSES},
}

# Topics of partner promotions, by id: chosen (true) or not (false).
_TOPIC_CHOICES = {"type": "object", "maxProperties": 40,
                  "propertyNames": {"maxLength": 40}, "additionalProperties": {"type": "boolean"}}

REGISTER = {
    "type": "object", "additionalProperties": False,
    "required": ["email", "password", "consents"],
    "properties": {"email": _EMAIL, "password": _PASSWORD,
                   "display_name": {"type": ["string", "null"], "maxLength": 200},
                   "consents": {**_CONSENTS, "required": [OFFERS]},
                   "topics": _TOPIC_CHOICES},
}
VERIFY = {"type": "object", "additionalProperties": False, "required": ["token"],
          "properties": {"token": _TOKEN, "password": _PASSWORD}}
LOGIN = {"type": "object", "additionalProperties": False, "required": ["email", "password"],
         "properties": {"email": _EMAIL, "password": _PASSWORD}}
CONSENTS = {**_CONSENTS, "minProperties": 1}
PREFERENCES = {"type": "object", "additionalProperties": False, "minProperties": 1,
               "properties": {"topics": _TOPIC_CHOICES,
                              "frequency": {"type": "string", "enum": list(FREQUENCIES)}}}
SNOOZE = {"type": "object", "additionalProperties": False, "required": ["period"],
          "properties": {"period": {"type": "string", "enum": list(SNOOZE_PERIODS)}}}
CHANGE_EMAIL = {"type": "object", "additionalProperties": False,
                "required": ["new_email", "password"],
                "properties": {"new_email": _EMAIL, "password": _PASSWORD}}
TOKEN_ONLY = {"type": "object", "additionalProperties": False, "required": ["token"],
              "properties": {"token": _TOKEN}}
CONFIRM_POLICY = {"type": "object", "additionalProperties": False, "required": ["version"],
                  "properties": {"version": {"type": "string", "maxLength": 40},
                                 "consents": _CONSENTS}}
VERIFY_RECEIPT = {"type": "object", "additionalProperties": False, "required": ["receipt"],
                  "properties": {"receipt": {"type": "object"}}}
UPDATE_ME = {"type": "object", "additionalProperties": False, "required": ["display_name"],
             "properties": {"display_name": {"type": ["string", "null"], "maxLength": 200}}}
CHANGE_PASSWORD = {"type": "object", "additionalProperties": False,
                   "required": ["current_password", "new_password"],
                   "properties": {"current_password": _PASSWORD, "new_password": _PASSWORD}}
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
    topics_off = members.preferences.topics_off_at_registration(data.get("topics"), gpc(request))
    members.register(
        members.Registration(email=data["email"], password=data["password"],
                             display_name=data.get("display_name"),
                             consents=registration_consents(request, data["consents"]),
                             topics_off=frozenset(topics_off)),
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
    result = members.login(data["email"], data["password"], request.headers.get("user-agent"),
                           source=client_address(request), browser=visitor_id(request))
    if result.second_factor:
        return json_response(presenters.second_factor_json(result.second_factor))
    return signed_in(request, result.member, result.cookie_value, result.max_age)


def signed_in(request, member, value: str, max_age: int):
    """The answer to every completed sign-in: the member and the new session's cookie."""
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


@bp.route("/api/v1/me", methods=["PATCH"], content_types=ANY_CONTENT)
def update_me():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, UPDATE_ME)
    member = members.change_display_name(session.member_id, data["display_name"])
    return json_response({"member": presenters.member_json(member)})


@bp.route("/api/v1/me/password", methods=["PUT"], content_types=ANY_CONTENT)
def change_password():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, CHANGE_PASSWORD)
    value, max_age = members.change_password(
        session.member_id, data["current_password"], data["new_password"],
        request.headers.get("user-agent"), source=client_address(request))
    return _no_content({"Set-Cookie": cookies.session_cookie(value, max_age)})


@bp.route("/api/v1/me/email", methods=["POST"], content_types=ANY_CONTENT)
def change_email():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, CHANGE_EMAIL)
    members.email_change.request_change(session.member_id, data["new_email"], data["password"],
                                        source=client_address(request))
    return json_response({"status": "confirmation_sent"}, 202)


@bp.route("/api/v1/me/email/confirm", methods=["POST"], content_types=ANY_CONTENT)
def confirm_email_change():
    members.email_change.confirm_change(json_body(bp.current_request, TOKEN_ONLY)["token"])
    return json_response({"status": "email_changed"})


@bp.route("/api/v1/me/email/undo", methods=["POST"], content_types=ANY_CONTENT)
def undo_email_change():
    members.email_change.undo_change(json_body(bp.current_request, TOKEN_ONLY)["token"])
    return json_response({"status": "email_restored"}, headers={
        "Set-Cookie": cookies.clear_session_cookie()})


@bp.route("/api/v1/me/sessions", methods=["GET"])
def list_sessions():
    session = require_session(bp.current_request)
    return json_response({"sessions": members.sessions.active_sessions(
        session.member_id, session.session_hash)})


@bp.route("/api/v1/me/sessions", methods=["DELETE"], content_types=ANY_CONTENT)
def end_other_sessions():
    session = require_session(bp.current_request)
    members.sessions.revoke_others(session.member_id, session.session_hash)
    return _no_content()


@bp.route("/api/v1/me/sessions/{session_id}", methods=["DELETE"], content_types=ANY_CONTENT)
def end_session(session_id):
    session = require_session(bp.current_request)
    if not members.sessions.revoke_by_id(session.member_id, session_id):
        raise NotFoundError("You have no session with this id; it may have ended already.",
                            code="not_found")
    return _no_content()


@bp.route("/api/v1/me/consents", methods=["PUT"], content_types=ANY_CONTENT)
def update_consents():
    request = bp.current_request
    session = require_session(request)
    wanted = json_body(request, CONSENTS)
    member = members.consent.change(session.member_id, wanted,
                            provenance(request, "preference_center", "/api/v1/me/consents"))
    return json_response({"consents": presenters.member_json(member)["consents"]})


@bp.route("/api/v1/me/preferences", methods=["GET"])
def preferences():
    session = require_session(bp.current_request)
    member = members.get_member(session.member_id)
    return json_response({"preferences": members.preferences.view(member)})


@bp.route("/api/v1/me/preferences", methods=["PUT"], content_types=ANY_CONTENT)
def update_preferences():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, PREFERENCES)
    catalogue = members.topics.list_topics()  # one read: the check and the answer
    member = members.preferences.change(
        session.member_id, provenance(request, "preference_center", "/api/v1/me/preferences"),
        topic_choices=data.get("topics"), frequency=data.get("frequency"), catalogue=catalogue)
    return json_response({"preferences": members.preferences.view(member, catalogue=catalogue)})


@bp.route("/api/v1/me/snooze", methods=["PUT"], content_types=ANY_CONTENT)
def snooze():
    request = bp.current_request
    session = require_session(request)
    period = json_body(request, SNOOZE)["period"]
    member = members.preferences.snooze(
        session.member_id, period, provenance(request, "preference_center", "/api/v1/me/snooze"))
    return json_response({"preferences": members.preferences.view(member)})


@bp.route("/api/v1/me/snooze", methods=["DELETE"], content_types=ANY_CONTENT)
def end_snooze():
    request = bp.current_request
    session = require_session(request)
    member = members.preferences.end_snooze(
        session.member_id, provenance(request, "preference_center", "/api/v1/me/snooze"))
    return json_response({"preferences": members.preferences.view(member)})


@bp.route("/api/v1/me/consents/history", methods=["GET"])
def consent_history():
    session = require_session(bp.current_request)
    return json_response({"events": [members.consent.event_json(e)
                                     for e in members.consent.history(session.member_id)]})


@bp.route("/api/v1/me/consents/history/{event_id}/receipt", methods=["GET"])
def consent_receipt(event_id):
    session = require_session(bp.current_request)
    member = members.get_member(session.member_id)
    receipt = members.receipts.for_member(session.member_id, member.email, event_id)
    return json_response(receipt, headers={
        "Content-Disposition": f'attachment; filename="consent-receipt-{receipt["receipt_id"]}.json"'})


@bp.route("/api/v1/consent-receipts/verify", methods=["POST"], content_types=ANY_CONTENT)
def verify_consent_receipt():
    receipt = json_body(bp.current_request, VERIFY_RECEIPT)["receipt"]
    return json_response({"valid": members.receipts.verify(receipt)})


@bp.route("/api/v1/me/policy", methods=["GET"])
def policy_notice():
    session = require_session(bp.current_request)
    member = members.get_member(session.member_id)
    return json_response(presenters.policy_notice_json(member))


@bp.route("/api/v1/me/policy", methods=["POST"], content_types=ANY_CONTENT)
def confirm_policy():
    request = bp.current_request
    session = require_session(request)
    data = json_body(request, CONFIRM_POLICY)
    if data["version"] != policy_version():
        raise ConflictError("The privacy policy changed again while you were reading. Read "
                            "the new changes and answer again.", code="policy_changed",
                            field="version")
    member = members.consent.confirm_policy(
        session.member_id, data.get("consents") or {},
        provenance(request, "policy_update", "/api/v1/me/policy"))
    return json_response({"member": presenters.member_json(member)})


@bp.route("/api/v1/me/export", methods=["GET"])
def export():
    session = require_session(bp.current_request)
    return json_response(privacy.export_member(session.member_id), headers={
        "Content-Disposition": 'attachment; filename="eso-my-data.json"'})


@bp.route("/api/v1/me", methods=["DELETE"], content_types=ANY_CONTENT)
def delete_me():
    request = bp.current_request
    session = require_session(request)
    privacy.delete_account(session.member_id, json_body(request, DELETE_ME)["password"],
                           source=client_address(request))
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

