"""The OpenAPI 3.1 document of the JSON API (``/api/v1/*``, ``/healthz``), the partner API, and
the links of promotional e-mail (``/r/<token>``, a redirect).

Request bodies are the very JSON Schemas the views validate with (the module constants, not
copies), so the document cannot drift from what the API accepts; a test checks that every
JSON route of the app is documented with its methods and nothing else is. Built on the first
``GET /api/v1/openapi.json`` of a container, never at import (cold start).
"""
from __future__ import annotations

import functools

from chalicelib.platform.vocabulary import (
    FREQUENCIES,
    FREQUENCY,
    PURPOSES,
    SNOOZE,
    SNOOZE_PERIODS,
    TOPIC_PREFIX,
)
from chalicelib.web import members_api as m
from chalicelib.web import partner_api as p
from chalicelib.web import partner_pages
from chalicelib.web import sign_in_api as s

TITLE = "eSO member platform API"
VERSION = "1"

ERROR = {
    "type": "object", "additionalProperties": False, "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                       "message": {"type": "string"},
                       "field": {"type": "string",
                                 "description": "the request field at fault, when one is"}}}},
}
_TIME = {"type": "string"}
_TIME_OR_NULL = {"type": ["string", "null"]}
_CONSENT_STATE = {
    "type": "object", "required": ["granted", "updated_at", "policy_version"],
    "properties": {"granted": {"type": "boolean"}, "updated_at": _TIME_OR_NULL,
                   "policy_version": {"type": ["string", "null"]}},
}
CONSENT_STATES = {"type": "object", "required": list(PURPOSES), "additionalProperties": False,
                  "properties": {p: _CONSENT_STATE for p in PURPOSES}}
MEMBER = {
    "type": "object", "required": ["id", "email", "email_verified", "display_name", "created_at",
                                   "consents"],
    "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                   "email_verified": {"type": "boolean"},
                   "display_name": {"type": ["string", "null"]}, "created_at": _TIME,
                   "consents": CONSENT_STATES},
}
CONSENT_EVENT = {
    "type": "object", "required": ["id", "purpose", "granted", "at", "source", "policy_version"],
    "properties": {"id": {"type": "string"},
                   "purpose": {"anyOf": [
                       {"enum": [*PURPOSES, FREQUENCY, SNOOZE]},
                       {"type": "string", "pattern": f"^{TOPIC_PREFIX}[a-z0-9-]+$"}],
                       "description": "a consent, or a promotion preference: a topic of partner "
                                      "promotions (topic:<id>, granted = chosen), the frequency "
                                      "(value: day, week or month), a pause of every promotion "
                                      "(granted: paused until value; false: ended)"},
                   "granted": {"type": "boolean"},
                   "at": _TIME, "source": {"type": "string"},
                   "policy_version": {"type": ["string", "null"]},
                   "value": {"type": "string", "description": "a preference's setting"}},
}
PREFERENCES = {"type": "object", "required": ["preferences"], "properties": {"preferences": {
    "type": "object",
    "required": ["topics", "frequency", "frequency_chosen", "default_frequency", "snoozed_until"],
    "properties": {
        "topics": {"type": "array", "items": {
            "type": "object", "required": ["id", "name", "chosen"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                           "chosen": {"type": "boolean"}}}},
        "frequency": {"enum": list(FREQUENCIES), "description":
                      "at most one partner promotion per day (24 hours), week (7 days) or "
                      "month (a calendar month)"},
        "frequency_chosen": {"type": "boolean",
                             "description": "false: the operator's default applies"},
        "default_frequency": {"enum": list(FREQUENCIES)},
        "snoozed_until": {"type": ["string", "null"],
                          "description": "every promotion paused until then; null: none"}}}}}
TOPICS = {"type": "object", "required": ["topics"], "properties": {"topics": {
    "type": "array", "items": {"type": "object", "required": ["id", "name"],
                               "properties": {"id": {"type": "string"},
                                              "name": {"type": "string"}}}}}}
TRANSACTION = {
    "type": "object",
    "required": ["order_id", "click_id", "amount", "currency", "occurred_at", "reported_at",
                 "status", "reversed_at", "reversal_reason"],
    "properties": {"order_id": {"type": "string"}, "click_id": {"type": "string"},
                   "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
                   "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                   "occurred_at": _TIME, "reported_at": _TIME,
                   "status": {"enum": ["reported", "reversed"]},
                   "reversed_at": _TIME_OR_NULL, "reversal_reason": {"type": ["string", "null"]}},
}
_COUNT = {"oneOf": [{"type": "integer", "minimum": 0}, {"const": "<10"},
                    {"type": "string", "pattern": "^<[0-9]+$"}]}
_WITHHELD = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
             "description": "null: withheld until every figure of this breakdown reaches K"}
ENGAGEMENT = {
    "type": "object", "additionalProperties": False,
    "required": ["clicks", "links", "variants", "winner", "winner_status"],
    "description": "Clicks on the promotion's links (through /r/, counted per link and variant, "
                   "never per person) and, with A/B variants, deliveries and clicks per "
                   "variant; each under the K rule",
    "properties": {
        "clicks": _COUNT,
        "links": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["link", "url", "clicks"],
            "properties": {"link": {"type": "integer", "minimum": 1}, "url": {"type": "string"},
                           "clicks": {"anyOf": [_COUNT, {"type": "null"}]}}}},
        "variants": {"type": "array", "maxItems": 3, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["variant", "subject", "delivered", "clicks"],
            "properties": {"variant": {"enum": ["A", "B", "C"]}, "subject": {"type": "string"},
                           "delivered": _WITHHELD, "clicks": _WITHHELD}}},
        "winner": {"oneOf": [{"type": "null"}, {
            "type": "object", "additionalProperties": False,
            "required": ["variant", "clicks_per_delivered"],
            "properties": {"variant": {"enum": ["A", "B", "C"]},
                           "clicks_per_delivered": {"type": "number", "minimum": 0}}}],
            "description": "shown once every variant has at least K recipients and K clicks"},
        "winner_status": {"enum": ["no_variants", "waiting", "tie", "decided"]},
    },
}
_FORBIDDEN_IDENTIFIERS = {"not": {"anyOf": [{"required": ["member_id"]}, {"required": ["email"]},
                                            {"required": ["visitor_id"]}]}}

WEBHOOK = {"type": "object", "required": ["url", "set_at"],
           "properties": {"url": {"type": "string"}, "set_at": _TIME,
                          "secret": {"type": "string", "pattern": "^whsec_",
                                     "description": "signs the notices; in the answer to PUT "
                                                    "only, never again"}}}
NOTICE = {
    "type": "object", "additionalProperties": False,
    "required": ["notice_id", "event", "click_ids", "sent_at"],
    "properties": {"notice_id": {"type": "string", "description": "the same on every retry: "
                                 "acknowledge a notice you already handled again"},
                   "event": {"enum": ["consent_withdrawn", "gpc", "erased"]},
                   "click_ids": {"type": "array", "minItems": 1, "maxItems": 50,
                                 "items": {"type": "string"},
                                 "description": "your own eso_click values to unlink"},
                   "sent_at": _TIME},
}

DESCRIPTIONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No content",
    302: "Found: the link's target is in Location",
    400: "Bad input: malformed JSON, wrong types, unknown fields or parameters",
    401: "Not authenticated (no valid session cookie / API key), or wrong credentials",
    403: "Refused: a cross-site request (csrf), an unverified address, a wrong password",
    404: "No such resource (or not yours)",
    405: "Method not allowed on this path",
    409: "Conflict with the stored state",
    413: "Request body too large (16 KiB; promotions: room for their longest text and HTML)",
    415: "Send the body as application/json",
    422: "Well-formed but not acceptable (unknown or expired click, ...)",
    429: "Too many requests; see Retry-After",
    503: "A dependency is unavailable; see Retry-After",
}
SECURITY_SCHEMES = {
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "__Host-eso_session",
                      "description": "The member's session, set by POST /api/v1/session"},
    "partnerKey": {"type": "http", "scheme": "bearer",
                   "description": "The partner's API key: eso_pk_<key id>_<secret>"},
}
_BODY_ERRORS = (400, 413, 415)
_ALWAYS = (405, 503)


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: dict, errors: tuple = (), body: dict | None = None,
        security: str | None = None, params: list | None = None, tag: str = "members") -> dict:
    """One operation: ``ok`` maps success statuses to their JSON schema (None: no content)."""
    responses = {}
    for status, schema in ok.items():
        responses[str(status)] = {"description": DESCRIPTIONS[status],
                                  **(_json(schema) if schema is not None else {})}
    statuses = set(errors) | set(_ALWAYS)
    if body is not None:
        statuses |= set(_BODY_ERRORS)
    if security:
        statuses.add(401)
    if security == "sessionCookie" and body is not None:
        statuses.add(403)  # csrf: another site's Origin on a cookie-authenticated change
    for status in sorted(statuses):
        responses[str(status)] = {"description": DESCRIPTIONS[status], **_json(ERROR)}
    operation = {"summary": summary, "tags": [tag], "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    if security:
        operation["security"] = [{security: []}]
    if params:
        operation["parameters"] = params
    return operation


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 128}}


def _query(name: str, required: bool = False, **schema) -> dict:
    return {"name": name, "in": "query", "required": required,
            "schema": {"type": "string", **schema}}


_DAY = {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


RECEIPT = {"type": "object",
           "required": ["version", "receipt_id", "controller", "pii_principal_id", "purpose",
                        "state", "policy_version", "time", "method", "signature"]}
SESSION = {"type": "object", "additionalProperties": False,
           "required": ["id", "current", "created_at", "last_seen_at", "device"],
           "properties": {"id": {"type": "string"}, "current": {"type": "boolean"},
                          "created_at": {"type": "string", "format": "date-time"},
                          "last_seen_at": {"type": "string", "format": "date-time"},
                          "device": {"type": "string"}}}


PASSKEY = {"type": "object", "additionalProperties": False,
           "required": ["id", "name", "created_at", "last_used_at", "synced"],
           "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                          "created_at": {"type": "string", "format": "date-time"},
                          "last_used_at": {"type": ["string", "null"]},
                          "synced": {"type": "boolean",
                                     "description": "backed up to the member's other devices"}}}
SECOND_FACTOR_REQUIRED = {
    "type": "object", "required": ["status", "token", "methods"],
    "properties": {"status": {"const": "second_factor_required"},
                   "token": {"type": "string", "description": "for POST /api/v1/session/totp, "
                             "within 5 minutes, from the same browser (visitor cookie)"},
                   "methods": {"type": "array", "items": {"enum": ["totp", "recovery_code"]}}}}
PUBLIC_KEY_OPTIONS = {"type": "object", "required": ["publicKey"], "properties": {"publicKey": {
    "type": "object", "required": ["challenge"],
    "description": "WebAuthn options, binary fields base64url (the JSON form of "
                   "PublicKeyCredentialCreationOptions or PublicKeyCredentialRequestOptions); "
                   "the challenge works once, for 5 minutes, in this browser (or session)"}}}
TOTP_STATE = {"type": "object", "required": ["totp"], "properties": {"totp": {
    "type": "object", "required": ["enabled", "enabled_at", "recovery_codes_left"],
    "properties": {"enabled": {"type": "boolean"}, "enabled_at": _TIME_OR_NULL,
                   "recovery_codes_left": {"type": "integer", "minimum": 0}}}}}
RECOVERY_CODES = {"type": "object", "required": ["recovery_codes"], "properties": {
    "recovery_codes": {"type": "array", "minItems": 10, "maxItems": 10,
                       "items": {"type": "string"},
                       "description": "shown this once; each works once"}}}


def _paths() -> dict:
    status = lambda *names: {"type": "object", "required": ["status"],  # noqa: E731
                             "properties": {"status": {"enum": list(names)}}}
    member = {"type": "object", "required": ["member"], "properties": {"member": MEMBER}}
    transaction = {"type": "object", "required": ["transaction"],
                   "properties": {"transaction": TRANSACTION}}
    cookie, key = "sessionCookie", "partnerKey"
    partner = {"tag": "partners", "security": key}
    return {
        "/healthz": {"get": _op("Liveness", {200: status("ok")}, tag="other")},
        "/r/{token}": {"get": _op(
            "A link of a promotional e-mail: redirects (302) to the target stored with the "
            "promotion and counts the click per promotion, link and variant; the token names "
            "no member, no cookie is set, nothing about the visitor is kept. An unknown or "
            "forged token: 404 (the not-found page for browsers)", {302: None}, (404,),
            params=[_path_param("token")], tag="mail")},
        "/api/v1/openapi.json": {"get": _op("This document", {200: {"type": "object"}},
                                            tag="other")},
        "/api/v1/privacy": {"get": _op("The privacy policy and its version", {200: {
            "type": "object", "required": ["policy"], "properties": {"policy": {
                "type": "object", "required": ["version", "effective_date", "sha256", "text"]}}}},
            tag="other")},
        "/api/v1/contact": {"post": _op("Write to the operator (privacy, security, general)",
                                        {202: status("sent")}, (403, 429), body=m.CONTACT,
                                        tag="other")},
        "/api/v1/ads/next": {"get": _op("The next ad of a slot for this visitor", {
            200: {"type": "object", "required": ["ad"], "properties": {"ad": {
                "type": "object",
                "required": ["id", "slot", "title", "body", "image_url", "click_url"]}}},
            204: None}, (400, 404), params=[_query("slot", True, minLength=1, maxLength=64)],
            tag="ads")},
        "/api/v1/members": {"post": _op("Register (the same answer for a known address)",
                                        {202: status("verification_sent")}, (403,),
                                        body=m.REGISTER)},
        "/api/v1/members/verify": {"post": _op(
            "Confirm an address with its e-mailed token and the password chosen at registration",
            {200: status("verified")}, (401, 403, 404, 429), body=m.VERIFY)},
        "/api/v1/session": {
            "post": _op("Log in: sets the session cookie; with two-step sign-in on, answers "
                        "second_factor_required and a token instead", {200: {
                            "oneOf": [member, SECOND_FACTOR_REQUIRED]}}, (401, 403, 429),
                        body=m.LOGIN),
            "delete": _op("Log out: the session ends server-side", {204: None}, (403,)),
        },
        "/api/v1/session/totp": {"post": _op(
            "The second step of a password sign-in: a code of the authenticator app (each "
            "works once) or a recovery code; sets the session cookie", {200: member},
            (401, 403, 404, 429), body=s.SECOND_FACTOR)},
        "/api/v1/session/passkey/options": {"post": _op(
            "Begin signing in with a passkey: options for navigator.credentials.get()",
            {200: PUBLIC_KEY_OPTIONS}, (403, 429))},
        "/api/v1/session/passkey": {"post": _op(
            "Sign in with a passkey (no password, no second step): sets the session cookie",
            {200: member}, (401, 403, 404, 429), body=s.PASSKEY_SIGN_IN)},
        "/api/v1/me/passkeys": {
            "get": _op("The member's passkeys, newest first", {200: {
                "type": "object", "required": ["passkeys"],
                "properties": {"passkeys": {"type": "array", "items": PASSKEY}}}},
                security=cookie),
            "post": _op("Add a passkey: the answer of navigator.credentials.create()",
                        {201: {"type": "object", "required": ["passkey"],
                               "properties": {"passkey": PASSKEY}}}, (404, 409),
                        body=s.ADD_PASSKEY, security=cookie),
        },
        "/api/v1/me/passkeys/options": {"post": _op(
            "Begin adding a passkey (the password again): options for "
            "navigator.credentials.create()", {200: PUBLIC_KEY_OPTIONS}, (404, 409, 429),
            body=s.PASSWORD_ONLY, security=cookie)},
        "/api/v1/me/passkeys/{passkey_id}": {"delete": _op(
            "Remove a passkey", {204: None}, (403, 404), security=cookie,
            params=[_path_param("passkey_id")])},
        "/api/v1/me/totp": {
            "get": _op("Whether two-step sign-in is on", {200: TOTP_STATE}, (404,),
                       security=cookie),
            "post": _op("Begin setting up two-step sign-in (the password again): the secret "
                        "and its otpauth URI, in force once a first code confirms it", {200: {
                            "type": "object", "required": ["secret", "otpauth_uri"],
                            "properties": {"secret": {"type": "string"},
                                           "otpauth_uri": {"type": "string"}}}},
                        (404, 409, 429), body=s.PASSWORD_ONLY, security=cookie),
            "delete": _op("Turn two-step sign-in off: the password and a code", {204: None},
                          (404, 409, 429), body=s.DISABLE_TOTP, security=cookie),
        },
        "/api/v1/me/totp/confirm": {"post": _op(
            "Turn two-step sign-in on with a first code: ten recovery codes, shown once",
            {200: RECOVERY_CODES}, (404, 409, 429), body=s.CODE_ONLY, security=cookie)},
        "/api/v1/me/totp/recovery-codes": {"post": _op(
            "Ten new recovery codes (the old ones stop working)", {200: RECOVERY_CODES},
            (404, 409, 429), body=s.PASSWORD_ONLY, security=cookie)},
        "/api/v1/me": {
            "get": _op("The signed-in member", {200: member}, security=cookie),
            "delete": _op("Erase the account and its personal data", {204: None}, (404,),
                          body=m.DELETE_ME, security=cookie),
            "patch": _op("Change the display name", {200: member}, (404,), body=m.UPDATE_ME,
                         security=cookie),
        },
        "/api/v1/me/password": {"put": _op(
            "Change the password: every other session ends; this one continues under a new "
            "cookie", {204: None}, (404, 429), body=m.CHANGE_PASSWORD, security=cookie)},
        "/api/v1/me/email": {"post": _op(
            "Change the e-mail address: a link goes to the new address (the same answer when "
            "that address is taken)", {202: status("confirmation_sent")}, (404, 429),
            body=m.CHANGE_EMAIL, security=cookie)},
        "/api/v1/me/email/confirm": {"post": _op(
            "Confirm a new address with the token mailed to it", {200: status("email_changed")},
            (403, 404, 409), body=m.TOKEN_ONLY)},
        "/api/v1/me/email/undo": {"post": _op(
            "Undo an address change from the old address: restored, every session ends, a "
            "reset link goes to it", {200: status("email_restored")}, (403, 404, 409),
            body=m.TOKEN_ONLY)},
        "/api/v1/me/sessions": {
            "get": _op("The member's active sessions", {200: {
                "type": "object", "required": ["sessions"], "properties": {"sessions": {
                    "type": "array", "items": SESSION}}}}, security=cookie),
            "delete": _op("End every session but this one", {204: None}, (403,),
                          security=cookie),
        },
        "/api/v1/me/sessions/{session_id}": {"delete": _op(
            "End one session", {204: None}, (403, 404), security=cookie,
            params=[_path_param("session_id")])},
        "/api/v1/me/consents": {"put": _op("Grant or withdraw consents", {200: {
            "type": "object", "required": ["consents"], "properties": {"consents": CONSENT_STATES}}},
            (404,), body=m.CONSENTS, security=cookie)},
        "/api/v1/me/preferences": {
            "get": _op("Promotion preferences: topics of partner promotions, how often, a "
                       "pause", {200: PREFERENCES}, (404,), security=cookie),
            "put": _op("Choose topics (by id: true or false) and how often partner promotions "
                       "may come; each change is recorded in the consent history",
                       {200: PREFERENCES}, (404,), body=m.PREFERENCES, security=cookie),
        },
        "/api/v1/me/snooze": {
            "put": _op("Pause every promotion (offers and partner promotions) for "
                       + ", ".join(SNOOZE_PERIODS) + " from now", {200: PREFERENCES}, (404,),
                       body=m.SNOOZE, security=cookie),
            "delete": _op("End the pause now", {200: PREFERENCES}, (403, 404), security=cookie),
        },
        "/api/v1/me/consents/history": {"get": _op("Consent history, oldest first", {200: {
            "type": "object", "required": ["events"],
            "properties": {"events": {"type": "array", "items": CONSENT_EVENT}}}},
            (404,), security=cookie)},
        "/api/v1/me/consents/history/{event_id}/receipt": {"get": _op(
            "One consent event as a signed receipt (JSON)", {200: RECEIPT}, (404,),
            security=cookie, params=[_path_param("event_id")])},
        "/api/v1/consent-receipts/verify": {"post": _op(
            "Check that a consent receipt is genuine and unaltered", {200: {
                "type": "object", "required": ["valid"],
                "properties": {"valid": {"type": "boolean"}}}}, body=m.VERIFY_RECEIPT,
            tag="other")},
        "/api/v1/me/policy": {
            "get": _op("The current privacy policy version, the one the member last answered, "
                       "and what changed since", {200: {
                           "type": "object", "required": ["current", "confirmed", "changes"]}},
                       (404,), security=cookie),
            "post": _op("Answer a new policy version: keep or change the choices; each is "
                        "recorded under the current version", {200: member}, (404, 409),
                        body=m.CONFIRM_POLICY, security=cookie),
        },
        "/api/v1/me/export": {"get": _op("Every piece of personal data held", {200: {
            "type": "object", "required": ["member", "consent_history", "sessions", "passkeys",
                                           "referral_clicks", "partner_transactions",
                                           "partner_contacts"],
            "properties": {"member": MEMBER}}}, (404,), security=cookie)},
        "/api/v1/password-reset": {"post": _op("Ask for a reset link (always 202)",
                                               {202: status("reset_sent_if_registered")}, (403,),
                                               body=m.RESET)},
        "/api/v1/password-reset/confirm": {"post": _op("Set a new password with the token",
                                                       {204: None}, (403, 404),
                                                       body=m.RESET_CONFIRM)},
        "/api/v1/offers": {"get": _op("Special offers and services (members only)", {200: {
            "type": "object", "required": ["offers"], "properties": {"offers": {
                "type": "array", "items": {"type": "object", "required": ["id", "title", "body"]}}}}},
            security=cookie)},
        "/api/v1/partners/{partner_id}/contact": {"post": _op(
            "Write to a partner: it receives the member's name, e-mail and message",
            {202: status("sent")}, (404, 429), body=partner_pages.CONTACT, security=cookie,
            params=[_path_param("partner_id")])},
        "/partner/v1/transactions": {
            "post": _op("Report a transaction (idempotent by order id)",
                        {201: transaction, 200: transaction}, (409, 422), body=p.TRANSACTION,
                        **partner),
            "get": _op("The partner's own transactions, paginated", {200: {
                "type": "object", "required": ["transactions", "next_cursor"],
                "properties": {"transactions": {"type": "array", "items": TRANSACTION},
                               "next_cursor": {"type": ["string", "null"]}}}}, (400,),
                params=[_query("from", True, **_DAY), _query("to", True, **_DAY),
                        _query("cursor", maxLength=2000), _query("limit", pattern="^[0-9]{1,3}$")],
                **partner),
        },
        "/partner/v1/transactions/{order_id}/reverse": {"post": _op(
            "Reverse a transaction (refund); idempotent", {200: transaction}, (404, 409),
            body=p.REVERSE, params=[_path_param("order_id")], **partner)},
        "/partner/v1/reports/daily": {"get": _op("Per day: clicks, transactions, revenue", {200: {
            "type": "object", "required": ["from", "to", "days"],
            "properties": {"from": _TIME, "to": _TIME, "days": {"type": "array", "items": {
                "type": "object", "required": ["date", "clicks", "transactions", "revenue"],
                "properties": {"date": _TIME, "clicks": _COUNT, "transactions": _COUNT,
                               "revenue": {"type": "object"}}, **_FORBIDDEN_IDENTIFIERS}}}}},
            (400,), params=[_query("from", True, **_DAY), _query("to", True, **_DAY)], **partner)},
        "/partner/v1/topics": {"get": _op(
            "The topics a promotion may name (members choose among them)", {200: TOPICS},
            **partner)},
        "/partner/v1/promotions": {"post": _op("Submit a promotion for review", {202: {
            "type": "object", "required": ["promotion"], "properties": {"promotion": {
                "type": "object", "required": ["id", "status"],
                "properties": {"status": {"const": "pending_review"}}}}}},
            body=p.PROMOTION, **partner)},
        "/partner/v1/webhook": {
            "put": _op("Set where opt-out notices are sent (https); answers a new signing "
                       "secret, shown this once (PUT again to rotate it)", {200: {
                           "type": "object", "required": ["webhook"],
                           "properties": {"webhook": {**WEBHOOK,
                                                      "required": ["url", "secret", "set_at"]}}}},
                       body=p.WEBHOOK, **partner),
            "get": _op("The partner's webhook (never its secret)", {200: {
                "type": "object", "required": ["webhook"], "properties": {"webhook": WEBHOOK}}},
                (404,), **partner),
            "delete": _op("Stop opt-out notices (they wait for a new webhook)", {204: None},
                          **partner),
        },
        "/partner/v1/promotions/{promotion_id}": {"get": _op(
            "Status, aggregate delivery counts and engagement (clicks per link, A/B variants "
            "and their winner) of the partner's own promotion", {200: {
                "type": "object", "required": ["promotion"], "properties": {"promotion": {
                    "type": "object", "required": ["id", "status", "subject", "created_at",
                                                   "counts", "engagement"],
                    "properties": {"counts": {"type": "object", "additionalProperties": _COUNT},
                                   "engagement": ENGAGEMENT,
                                   "topics": {"type": "array", "items": {"type": "string"},
                                              "description": "the topics it was submitted "
                                              "with; empty: every member who takes partner "
                                              "promotions"},
                                   "review_reason": {"type": ["string", "null"], "description":
                                                     "Why the promotion was rejected, when the "
                                                     "reviewer gave a reason."}},
                    **_FORBIDDEN_IDENTIFIERS}}}},
            (404,), params=[_path_param("promotion_id")], **partner)},
    }


@functools.lru_cache(maxsize=1)
def document() -> dict:
    """The OpenAPI document (built once per container, on first use)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION,
                 "description": "Errors are {\"error\": {\"code\", \"message\"}} with a 4xx "
                                "status (503 with Retry-After when a dependency fails). "
                                "Unknown JSON fields are refused with 400."},
        "paths": _paths(),
        "webhooks": {"optOutNotice": {"post": {
            "summary": "To the partner's webhook: unlink these click ids (a member withdrew, "
                       "sent Global Privacy Control, or was erased)",
            "description": "Header ESO-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
                           "\"<t>.<raw body>\" keyed with the webhook secret>. Refuse a "
                           "wrong signature or an old t. Answer any 2xx to acknowledge; "
                           "anything else, or no answer within 5 s, is retried.",
            "tags": ["partners"],
            "requestBody": {"required": True, **_json(NOTICE)},
            "responses": {"200": {"description": "Acknowledged (any 2xx)"}}}}},
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": {"Error": ERROR}},
    }
