"""The operator console at /admin: setting up from a one-time link, signing in (password, then
a passkey or a code from an authenticator app), sign-out, the Today page and the audit log.

Every page is for operators only and every action is written to the audit log. Forms carry a
CSRF token; the middleware refuses any /admin request that names another site and any
state-changing one that names none. The passkey ceremonies are JSON (``static/admin.js``);
their errors are JSON too.
"""
from __future__ import annotations

import re
from datetime import timedelta

from chalice import Blueprint, Response

from chalicelib import members, operators, promotions, reporting
from chalicelib.platform import clock
from chalicelib.platform.errors import (
    AuthenticationError,
    EsoError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from chalicelib.web import cookies
from chalicelib.web.admin_auth import admin_cookie_value, current_operator, request_id
from chalicelib.web.auth import check_csrf_token, csrf_token
from chalicelib.web.errors import json_error, status_for
from chalicelib.web.http import (
    ANY_CONTENT,
    FORM,
    client_address,
    form_body,
    json_body,
    json_response,
    media_type,
    query_param,
)
from chalicelib.web.render import page, qr_code, redirect

bp = Blueprint(__name__)

CREDENTIAL_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["credential"],
    "properties": {"credential": {"type": "object"},
                   "name": {"type": "string", "maxLength": 60}},
}
EMPTY_SCHEMA = {"type": "object", "additionalProperties": False, "properties": {}}


def _page(request, template: str, status_code: int = 200, headers: dict | None = None,
          exc: EsoError | None = None, **context) -> Response:
    """A console page; given the error it answers, its status, message and Retry-After."""
    context.setdefault("operator", None)
    if exc is not None:
        status_code = status_for(exc)
        context.setdefault("error", exc.message)
        if isinstance(exc, (RateLimitedError, UnavailableError)):
            headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    return page(template, status_code=status_code, headers=headers, member=False,
                csrf_token=csrf_token(request), **context)


def _form(request) -> dict:
    if media_type(request) != FORM:
        raise ValidationError("Send the form as application/x-www-form-urlencoded.")
    form = form_body(request, multiline=("reason",))
    check_csrf_token(request, form)
    return form


def _with_cookie(response: Response, value: str, max_age: int) -> Response:
    cookies.add_set_cookie(response, cookies.admin_cookie(value, max_age))
    return response


def _record(request, context, action: str, target: str | None = None, **detail) -> None:
    operators.audit.record(context.operator_id, action, actor_email=context.email, target=target,
                 request_id=request_id(request), detail=detail or None)


def _signed_in(request):
    """(operator context, None), or (None, where to go instead)."""
    context = current_operator(request)
    if context is None or context.stage != operators.sessions.SIGNED_IN:
        return None, redirect("/admin/sign-in")
    return context, None


def _at_stage(request, stage: str):
    context = current_operator(request)
    if context is None or context.stage != stage:
        return None
    return context


def _json_body(request, schema: dict) -> dict:
    if not request.raw_body:
        return {}
    return json_body(request, schema)


def _json_step(request, stage: str, work) -> Response:
    """A passkey ceremony's JSON step for a session at ``stage``; errors as JSON."""
    try:
        context = _at_stage(request, stage)
        if context is None:
            raise AuthenticationError("This step has expired; start again.",
                                      code="not_authenticated")
        return work(context)
    except EsoError as exc:
        return json_error(exc)


def _passkey_options(stage: str, make_options) -> Response:
    """The options of a passkey ceremony, for a session at ``stage`` (an empty JSON body)."""
    request = bp.current_request

    def work(context):
        _json_body(request, EMPTY_SCHEMA)
        return json_response({"publicKey": make_options(context)})
    return _json_step(request, stage, work)


# --- setting up from the link ----------------------------------------------------------------------


@bp.route("/admin/setup", methods=["GET"])
def setup_page():
    request = bp.current_request
    token = query_param(request, "token") or ""
    try:
        operator = operators.operator_of_link(token)
    except EsoError as exc:
        return _page(request, "admin/message.html", exc=exc,
                     title="Set-up link")
    return _page(request, "admin/setup.html", token=token, email=operator.email)


@bp.route("/admin/setup", methods=["POST"], content_types=ANY_CONTENT)
def setup_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        operator, value, max_age = operators.use_link(
            form.get("token", ""), form.get("password", ""), request.headers.get("user-agent"))
    except EsoError as exc:
        if exc.code == "weak_password":
            return _page(request, "admin/setup.html", exc=exc,
                         token=form.get("token", ""), error_fields=("password",),
                         email="")
        return _page(request, "admin/message.html", exc=exc,
                     title="Set-up link")
    operators.audit.record(operator.operator_id, "password_set", actor_email=operator.email,
                 target=operator.operator_id, request_id=request_id(request))
    return _with_cookie(redirect("/admin/setup/second-factor"), value, max_age)


@bp.route("/admin/setup/second-factor", methods=["GET"])
def setup_factor_page():
    request = bp.current_request
    context = _at_stage(request, operators.sessions.SETUP)
    if context is None:
        return redirect("/admin/sign-in")
    app = operators.factors.totp_setup(context)
    return _page(request, "admin/setup_factor.html", secret=app["secret"],
                 qr=qr_code(app["otpauth_uri"]), email=context.email)


def _enrolled(request, context, method: str) -> tuple:
    """The first factor is in: record it, and begin the signed-in session."""
    _record(request, context, "second_factor_added", target=context.operator_id, method=method)
    value, max_age = operators.sessions.promote(context, request.headers.get("user-agent"))
    _record(request, context, "signed_in", method=method)
    return value, max_age


@bp.route("/admin/setup/totp", methods=["POST"], content_types=ANY_CONTENT)
def setup_totp_submit():
    request = bp.current_request
    context = _at_stage(request, operators.sessions.SETUP)
    if context is None:
        return redirect("/admin/sign-in")
    try:
        shown = operators.factors.totp_confirm(context, _form(request).get("code", ""))
    except EsoError as exc:
        app = operators.factors.totp_setup(context) if exc.code == "invalid_code" else None
        if app is None:
            return _page(request, "admin/message.html", exc=exc,
                         title="Set-up")
        return _page(request, "admin/setup_factor.html", exc=exc,
                     secret=app["secret"], qr=qr_code(app["otpauth_uri"]), email=context.email,
                     error_fields=("code",))
    value, max_age = _enrolled(request, context, "totp")
    return _with_cookie(_page(request, "admin/recovery_codes.html", recovery_codes=shown or [],
                              operator=context), value, max_age)


@bp.route("/admin/setup/passkey/options", methods=["POST"], content_types=ANY_CONTENT)
def setup_passkey_options():
    return _passkey_options(operators.sessions.SETUP, operators.factors.registration_options)


@bp.route("/admin/setup/passkey", methods=["POST"], content_types=ANY_CONTENT)
def setup_passkey_submit():
    request = bp.current_request

    def work(context):
        body = json_body(request, CREDENTIAL_SCHEMA)
        shown = operators.factors.register(context, body["credential"], body.get("name"))
        value, max_age = _enrolled(request, context, "passkey")
        return _with_cookie(json_response({"recovery_codes": shown or [], "next": "/admin"}),
                            value, max_age)
    return _json_step(request, operators.sessions.SETUP, work)


# --- signing in ------------------------------------------------------------------------------------


@bp.route("/admin/sign-in", methods=["GET"])
def sign_in_page():
    request = bp.current_request
    context = current_operator(request)
    if context is not None and context.stage == operators.sessions.SIGNED_IN:
        return redirect("/admin")
    return _page(request, "admin/sign_in.html", email="")


@bp.route("/admin/sign-in", methods=["POST"], content_types=ANY_CONTENT)
def sign_in_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        operator, value, max_age = operators.password_step(
            form.get("email", ""), form.get("password", ""), client_address(request),
            request.headers.get("user-agent"))
    except EsoError as exc:
        return _page(request, "admin/sign_in.html", exc=exc,
                     email=form.get("email", ""),
                     error_fields=("email", "password") if exc.code == "invalid_credentials"
                     else ())
    operators.sessions.revoke(admin_cookie_value(request))  # whatever this browser held before
    return _with_cookie(redirect("/admin/sign-in/second-factor"), value, max_age)


@bp.route("/admin/sign-in/second-factor", methods=["GET"])
def second_factor_page():
    request = bp.current_request
    context = _at_stage(request, operators.sessions.PASSWORD)
    if context is None:
        return redirect("/admin/sign-in")
    return _page(request, "admin/second_factor.html", has_passkey=context.has_passkey,
                 has_totp=context.has_totp)


def _refused_second_factor(request, context, exc: EsoError) -> None:
    operators.audit.record(context.operator_id, "second_factor_refused", actor_email=context.email,
                 request_id=request_id(request), detail={"reason": exc.code})


def _code_refused(request, context, exc: EsoError, template: str, **extra) -> Response:
    """A wrong code (app or recovery): recorded, and ``template`` again; when the session's
    tries are spent, the sign-in starts again."""
    _refused_second_factor(request, context, exc)
    if exc.code == "too_many_attempts":
        return _page(request, "admin/sign_in.html", exc=exc, email="")
    return _page(request, template, exc=exc, has_passkey=context.has_passkey,
                 has_totp=context.has_totp, error_fields=("code",), **extra)


def _check_passkey(request, context) -> None:
    """Check the passkey answer in the JSON body as the second factor (a refusal recorded)."""
    body = json_body(request, CREDENTIAL_SCHEMA)
    try:
        operators.factors.check_passkey(context, body["credential"])
    except EsoError as exc:
        _refused_second_factor(request, context, exc)
        raise


@bp.route("/admin/sign-in/totp", methods=["POST"], content_types=ANY_CONTENT)
def second_factor_totp():
    request = bp.current_request
    context = _at_stage(request, operators.sessions.PASSWORD)
    if context is None:
        return redirect("/admin/sign-in")
    try:
        method = operators.factors.check_code(context, _form(request).get("code", ""))
    except EsoError as exc:
        return _code_refused(request, context, exc, "admin/second_factor.html")
    value, max_age = operators.sessions.promote(context, request.headers.get("user-agent"))
    _record(request, context, "signed_in", method=method)
    return _with_cookie(redirect("/admin"), value, max_age)


@bp.route("/admin/sign-in/passkey/options", methods=["POST"], content_types=ANY_CONTENT)
def second_factor_passkey_options():
    return _passkey_options(operators.sessions.PASSWORD, operators.factors.sign_in_options)


@bp.route("/admin/sign-in/passkey", methods=["POST"], content_types=ANY_CONTENT)
def second_factor_passkey():
    request = bp.current_request

    def work(context):
        _check_passkey(request, context)
        value, max_age = operators.sessions.promote(context, request.headers.get("user-agent"))
        _record(request, context, "signed_in", method="passkey")
        return _with_cookie(json_response({"next": "/admin"}), value, max_age)
    return _json_step(request, operators.sessions.PASSWORD, work)


@bp.route("/admin/sign-out", methods=["POST"], content_types=ANY_CONTENT)
def sign_out():
    request = bp.current_request
    _form(request)
    context = current_operator(request)
    operators.sessions.revoke(admin_cookie_value(request))
    if context is not None:
        _record(request, context, "signed_out")
    response = redirect("/admin/sign-in")
    cookies.add_set_cookie(response, cookies.clear_admin_cookie())
    return response


# --- the console -------------------------------------------------------------------------------------


@bp.route("/admin", methods=["GET"])
def today_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    today = clock.today()
    return _page(request, "admin/today.html", operator=context, day=today.isoformat(),
                 figures=reporting.day_figures(today),
                 pending_reviews=promotions.review_count(),
                 sending=promotions.sending_overview(),
                 unread_messages=members.messages.unread_count())


@bp.route("/admin/audit", methods=["GET"])
def audit_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    today = clock.today()
    try:
        day = operators.audit.parse_day(query_param(request, "day"), "day", today)
    except EsoError as exc:
        return _page(request, "admin/message.html", exc=exc,
                     operator=context, title="Audit log")
    return _page(request, "admin/audit.html", operator=context, day=day.isoformat(),
                 previous=(day - timedelta(days=1)).isoformat(),
                 following=(day + timedelta(days=1)).isoformat() if day < today else None,
                 entries=operators.audit.entries_of_day(day), export_from=(today - timedelta(days=6)).isoformat(),
                 export_to=today.isoformat())


@bp.route("/admin/audit/export", methods=["GET"])
def audit_export():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    if not operators.sessions.recently_verified(context):
        return redirect("/admin/confirm?next=audit")
    today = clock.today()
    try:
        first = operators.audit.parse_day(query_param(request, "from"), "from", today)
        last = operators.audit.parse_day(query_param(request, "to"), "to", today)
        entries = operators.audit.entries_between(first, last)
    except EsoError as exc:
        return _page(request, "admin/message.html", exc=exc,
                     operator=context, title="Audit log")
    _record(request, context, "audit_exported", **{"from": first.isoformat(),
                                                   "to": last.isoformat(), "rows": len(entries)})
    return Response(body=operators.audit.as_csv(entries), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="eso-audit-{first}-{last}.csv"'})


# --- re-authentication before dangerous actions -------------------------------------------------------

# Where a confirmation may send the browser back to: fixed pages only, never a URL from the
# request ...
CONFIRM_NEXT = {"audit": "/admin/audit", "today": "/admin"}
# ... or the console's page of one object, named "<kind>:<id>": a fixed path and an id of
# plain characters only (no "/", "?", "#" or "%"), so the way back cannot leave that page.
CONFIRM_NEXT_OBJECT = {"ad": "/admin/ads/", "partner": "/admin/partners/",
                       "member": "/admin/members/", "promotion": "/admin/promotions/"}
_OBJECT_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,159}")


def _object_page(value) -> str | None:
    kind, _, object_id = (value if isinstance(value, str) else "").partition(":")
    if kind in CONFIRM_NEXT_OBJECT and _OBJECT_ID.fullmatch(object_id):
        return CONFIRM_NEXT_OBJECT[kind] + object_id
    return None


def _confirm_next(value) -> str:
    return CONFIRM_NEXT.get(value or "") or _object_page(value) or "/admin"


def _next_key(value) -> str:
    return value if value in CONFIRM_NEXT or _object_page(value) else "today"


def _reconfirm(context, next_key: str) -> Response | None:
    """None when the operator showed a second factor within the last 10 minutes; else the way
    to show it again, back to ``next_key`` afterwards (dangerous actions call this first)."""
    if operators.sessions.recently_verified(context):
        return None
    return redirect(f"/admin/confirm?next={next_key}")


@bp.route("/admin/confirm", methods=["GET"])
def confirm_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    return _page(request, "admin/confirm.html", operator=context,
                 next_key=_next_key(query_param(request, "next")),
                 has_passkey=context.has_passkey, has_totp=context.has_totp)


@bp.route("/admin/confirm/totp", methods=["POST"], content_types=ANY_CONTENT)
def confirm_totp():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    form = {}
    try:
        form = _form(request)
        method = operators.factors.check_code(context, form.get("code", ""))
    except EsoError as exc:
        return _code_refused(request, context, exc, "admin/confirm.html", operator=context,
                             next_key=_next_key(form.get("next")))
    operators.sessions.mark_verified(context.session_hash)
    _record(request, context, "identity_confirmed", method=method)
    return redirect(_confirm_next(form.get("next")))


@bp.route("/admin/confirm/passkey/options", methods=["POST"], content_types=ANY_CONTENT)
def confirm_passkey_options():
    return _passkey_options(operators.sessions.SIGNED_IN, operators.factors.sign_in_options)


@bp.route("/admin/confirm/passkey", methods=["POST"], content_types=ANY_CONTENT)
def confirm_passkey():
    request = bp.current_request

    def work(context):
        _check_passkey(request, context)
        operators.sessions.mark_verified(context.session_hash)
        _record(request, context, "identity_confirmed", method="passkey")
        return json_response({"next": _confirm_next(query_param(request, "next"))})
    return _json_step(request, operators.sessions.SIGNED_IN, work)


# --- promotions: the review queue ---------------------------------------------------------------------


@bp.route("/admin/promotions", methods=["GET"])
def promotions_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    done = ("The promotion is rejected; the partner sees your reason."
            if query_param(request, "done") == "rejected" else None)
    return _page(request, "admin/promotions.html", operator=context, done=done,
                 queue=promotions.review_queue())


# What the promotion page says after an action (``?done=``): fixed texts only.
PROMOTION_DONE = {
    "test-sent": "The test message is on its way to your address.",
    "sent": "Approved and sent to the members who may receive it.",
    "queued": "Approved: the send worker is sending it now. Its progress shows below.",
    "scheduled": "Approved and scheduled: it starts at the time shown below.",
}


def _review_page(request, context, promotion_id: str, **extra) -> Response:
    shown = promotions.preview(promotion_id)
    others = [promotions.preview(promotion_id, variant=v)
              for v in range(1, len(shown["promotion"].variants or ()))]
    names = members.topics.topic_names() if shown["promotion"].topics else {}
    return _page(request, "admin/promotion.html", operator=context, preview=shown,
                 promotion=shown["promotion"], other_variants=others, topic_names=names,
                 progress=promotions.progress_of(shown["promotion"]),
                 **extra)


@bp.route("/admin/promotions/{promotion_id}", methods=["GET"])
def promotion_page(promotion_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    return _review_page(request, context, promotion_id,
                        done=PROMOTION_DONE.get(query_param(request, "done") or ""))


@bp.route("/admin/promotions/{promotion_id}/reject", methods=["POST"], content_types=ANY_CONTENT)
def promotion_reject(promotion_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    form = {}
    try:
        form = _form(request)
        reason = form.get("reason", "")
        if not reason.strip():
            raise ValidationError("Give the partner a reason: they read it.", field="reason")
        promotion = promotions.reject(promotion_id, reason=reason)
    except EsoError as exc:
        if exc.code == "not_found":
            raise
        return _review_page(request, context, promotion_id, exc=exc, reason=form.get("reason", ""),
                            error_fields=(exc.field,) if exc.field else ())
    _record(request, context, "promotion_rejected", target=promotion.promotion_id,
            reason=" ".join(form.get("reason", "").split()))
    return redirect("/admin/promotions?done=rejected")
