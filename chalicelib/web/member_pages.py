"""The members' HTML pages. Forms work without JavaScript and carry a CSRF
token; every POST answers with a page or a 303 redirect to a fixed path of this site."""
from __future__ import annotations

import json

from chalice import Blueprint, Response

from chalicelib import members, partners, privacy
from chalicelib.platform.errors import EsoError, ValidationError
from chalicelib.platform.vocabulary import CONTACT_TOPICS, PURPOSES
from chalicelib.web import cookies, presenters
from chalicelib.web.auth import (
    check_csrf_token,
    current_session,
    provenance,
    session_cookie_value,
)
from chalicelib.web.errors import status_for
from chalicelib.web.http import ANY_CONTENT, FORM, client_address, form_body, media_type
from chalicelib.web.members_api import gpc
from chalicelib.web.render import qr_code, redirect
from chalicelib.web.views import member_page
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

# Where a login may send the browser next: fixed paths only, never a URL from the request.
NEXT_PAGES = {"/members", "/account"}


def _form(request) -> dict:
    if media_type(request) != FORM:
        raise ValidationError("send the form as application/x-www-form-urlencoded")
    form = form_body(request, multiline=("message",))
    check_csrf_token(request, form)
    return form


def _error_page(request, template: str, exc: EsoError, **context) -> Response:
    return member_page(request, template, status_code=status_for(exc), error=exc.message,
                       **context)


def _signed_in(request, next_page: str):
    """(session, None) for a member; (None, a redirect to the login page) for a visitor."""
    session = current_session(request)
    return (session, None) if session else (None, redirect(f"/login?next={next_page}"))


# --- registration and verification --------------------------------------------------------------


@bp.route("/register", methods=["GET"])
def register_page():
    request = bp.current_request
    return member_page(request, "register.html", gpc=gpc(request), form={})


@bp.route("/register", methods=["POST"], content_types=ANY_CONTENT)
def register_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        members.register(
            members.Registration(
                email=form.get("email", ""), password=form.get("password", ""),
                display_name=form.get("display_name") or None,
                consents={p: form.get(p) == "on" for p in PURPOSES}),
            provenance(request, "registration", "/register"))
    except EsoError as exc:
        form.pop("password", None)
        return _error_page(request, "register.html", exc, gpc=gpc(request), form=form)
    return member_page(request, "registered.html")


@bp.route("/verify", methods=["GET"])
def verify_page():
    request = bp.current_request
    token = (request.query_params or {}).get("token", "")
    state = members.link_state(token) if token else "invalid"
    return member_page(request, "verify.html", token=token if state == "usable" else "",
                       link_state=state if token else None)


@bp.route("/verify", methods=["POST"], content_types=ANY_CONTENT)
def verify_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        members.verify_email(form.get("token", ""), form.get("password", ""),
                             source=client_address(request))
    except EsoError as exc:
        # A missing or wrong password leaves the link usable: show the form again.
        keep = exc.code in ("password_required", "invalid_credentials", "too_many_attempts")
        return _error_page(request, "verify.html", exc,
                           token=form.get("token", "") if keep else "")
    return member_page(request, "verify.html", token="", verified=True)


# --- login and logout ----------------------------------------------------------------------------


@bp.route("/login", methods=["GET"])
def login_page():
    request = bp.current_request
    next_page = (request.query_params or {}).get("next", "/members")
    return member_page(request, "login.html", next_page=next_page if next_page in NEXT_PAGES
                       else "/members", email="")


@bp.route("/login", methods=["POST"], content_types=ANY_CONTENT)
def login_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        result = members.login(form.get("email", ""), form.get("password", ""),
                               request.headers.get("user-agent"),
                               source=client_address(request), browser=visitor_id(request))
    except EsoError as exc:
        return _error_page(request, "login.html", exc, next_page="/members",
                           email=form.get("email", ""))
    next_page = form.get("next") if form.get("next") in NEXT_PAGES else "/members"
    if result.second_factor:
        return member_page(request, "login_second_factor.html", token=result.second_factor,
                           next_page=next_page)
    return signed_in_redirect(request, next_page, result.cookie_value, result.max_age)


def signed_in_redirect(request, next_page: str, value: str, max_age: int) -> Response:
    """The end of every sign-in by form: the pre-login session id dropped, the new cookie set."""
    members.sessions.revoke(session_cookie_value(request))
    return redirect(next_page if next_page in NEXT_PAGES else "/members",
                    headers={"Set-Cookie": cookies.session_cookie(value, max_age)})


@bp.route("/logout", methods=["POST"], content_types=ANY_CONTENT)
def logout_submit():
    request = bp.current_request
    try:
        _form(request)
    except EsoError as exc:
        return _error_page(request, "message.html", exc, title="Log out")
    members.sessions.revoke(session_cookie_value(request))
    return redirect("/", headers={"Set-Cookie": cookies.clear_session_cookie()})


# --- members' area and account -------------------------------------------------------------------


@bp.route("/members", methods=["GET"])
def members_page():
    request = bp.current_request
    _, to_login = _signed_in(request, "/members")
    return to_login or member_page(request, "members.html", offers=partners.offers.list_offers())


def _account(request, status_code: int = 200, **context) -> Response:
    session = current_session(request)
    member = members.get_member(session.member_id)
    return member_page(request, "account.html", status_code=status_code,
                       profile=presenters.member_json(member),
                       history=[members.consent.event_json(e) for e in members.consent.history(member.member_id)],
                       referred=partners.records.referrals_of(member.member_id),
                       partner_contacts=partners.records.contacts_of(member.member_id),
                       **{**sign_in_methods(member), **context})


def sign_in_methods(member) -> dict:
    """The account page's passkeys and two-step sign-in: the list, the state, and a set-up
    waiting for its first code (its secret and QR code)."""
    setup = members.totp.pending_setup(member)
    return {"passkeys": members.passkeys.list_for_member(member.member_id),
            "totp": members.totp.status(member), "totp_setup": setup,
            "totp_qr": qr_code(setup["otpauth_uri"]) if setup else None}


@bp.route("/account", methods=["GET"])
def account_page():
    request = bp.current_request
    _, to_login = _signed_in(request, "/account")
    return to_login or _account(request)


@bp.route("/account/consents", methods=["POST"], content_types=ANY_CONTENT)
def account_consents():
    request = bp.current_request
    session, to_login = _signed_in(request, "/account")
    if to_login:
        return to_login
    try:
        form = _form(request)
        purpose = form.get("purpose")
        if purpose not in PURPOSES or form.get("granted") not in ("true", "false"):
            raise ValidationError("choose a purpose and whether you agree")
        members.consent.change(session.member_id, {purpose: form["granted"] == "true"},
                       provenance(request, "preference_center", "/account"))
    except EsoError as exc:
        return _account(request, status_code=status_for(exc), error=exc.message)
    return redirect("/account")


@bp.route("/account/export", methods=["GET"])
def account_export():
    request = bp.current_request
    session, to_login = _signed_in(request, "/account")
    if to_login:
        return to_login
    return Response(body=json.dumps(privacy.export_member(session.member_id), indent=2),
                    status_code=200, headers={
                        "Content-Type": "application/json", "Cache-Control": "no-store",
                        "Content-Disposition": 'attachment; filename="eso-my-data.json"'})


@bp.route("/account/delete", methods=["POST"], content_types=ANY_CONTENT)
def account_delete():
    request = bp.current_request
    session, to_login = _signed_in(request, "/account")
    if to_login:
        return to_login
    try:
        form = _form(request)
        privacy.delete_account(session.member_id, form.get("password", ""))
    except EsoError as exc:
        return _account(request, status_code=status_for(exc), delete_error=exc.message)
    return member_page(request, "message.html", signed_in=False, title="Account deleted",
                       headers={"Set-Cookie": cookies.clear_session_cookie()},
                       text="Your account and the personal data we held about you are deleted. "
                            "We will not e-mail you again.")


# --- password reset ------------------------------------------------------------------------------


@bp.route("/reset-password", methods=["GET"])
def reset_page():
    request = bp.current_request
    return member_page(request, "reset_password.html",
                       token=(request.query_params or {}).get("token", ""))


@bp.route("/reset-password", methods=["POST"], content_types=ANY_CONTENT)
def reset_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        if form.get("token"):
            members.confirm_password_reset(form["token"], form.get("password", ""),
                                           source=client_address(request))
            return member_page(request, "message.html", signed_in=False, title="Password changed",
                               headers={"Set-Cookie": cookies.clear_session_cookie()},
                               text="Your new password is set and every session was signed out. "
                                    "You can log in now.", link=("/login", "Log in"))
        members.request_password_reset(form.get("email", ""))
    except EsoError as exc:
        return _error_page(request, "reset_password.html", exc, token=form.get("token", ""))
    return member_page(request, "message.html", title="Check your inbox",
                       text="If this address has an account, we sent it a link to choose a new "
                            "password. The link works once, for one hour.")


# --- contact -------------------------------------------------------------------------------------


@bp.route("/contact", methods=["GET"])
def contact_page():
    return member_page(bp.current_request, "contact.html", form={}, topics=CONTACT_TOPICS)


@bp.route("/contact", methods=["POST"], content_types=ANY_CONTENT)
def contact_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        members.contact.submit(form.get("email", ""), form.get("topic", ""), form.get("message", ""),
                       client_address(request))
    except EsoError as exc:
        return _error_page(request, "contact.html", exc, form=form, topics=CONTACT_TOPICS)
    return member_page(request, "message.html", title="Message sent",
                       text="Thank you. We answer privacy and security questions by e-mail, "
                            "usually within two working days.")
