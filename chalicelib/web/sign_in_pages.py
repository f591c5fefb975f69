"""The HTML forms of the ways to sign in beyond the password: the second step of a password
sign-in, removing a passkey, setting up and turning off two-step sign-in. They work without
JavaScript; adding a passkey and signing in with one need the browser's WebAuthn, so those
pages call the JSON API from ``static/passkeys.js``."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import members
from chalicelib.platform.errors import EsoError
from chalicelib.web.errors import status_for
from chalicelib.web.http import ANY_CONTENT, client_address
from chalicelib.web.member_pages import NEXT_PAGES, _account, _form, _signed_in, signed_in_redirect
from chalicelib.web.render import redirect
from chalicelib.web.views import member_page
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)


@bp.route("/login/second-factor", methods=["POST"], content_types=ANY_CONTENT)
def second_factor_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        member, value, max_age = members.totp.complete_sign_in(
            form.get("token", ""), form.get("code", ""), visitor_id(request),
            request.headers.get("user-agent"))
    except EsoError as exc:
        next_page = form.get("next") if form.get("next") in NEXT_PAGES else "/members"
        if exc.code == "invalid_code":  # the step still stands: ask for the code again
            return member_page(request, "login_second_factor.html", status_code=status_for(exc),
                               error=exc.message, token=form.get("token", ""),
                               next_page=next_page)
        return member_page(request, "login.html", status_code=status_for(exc), error=exc.message,
                           next_page=next_page, email="")
    return signed_in_redirect(request, form.get("next", "/members"), value, max_age)


def _account_change(request, change, error_key: str):
    """Run ``change(session, form)`` for a signed-in member's form; the account page again,
    with the error beside the form that caused it, or with what ``change`` returned."""
    session, to_login = _signed_in(request, "/account")
    if to_login:
        return to_login
    try:
        shown = change(session, _form(request)) or {}
    except EsoError as exc:
        return _account(request, status_code=status_for(exc), **{error_key: exc.message})
    return _account(request, **shown) if shown else redirect("/account")


@bp.route("/account/passkeys/{passkey_id}/delete", methods=["POST"], content_types=ANY_CONTENT)
def passkey_remove(passkey_id):
    def change(session, form):
        if not members.passkeys.remove(session.member_id, passkey_id):
            return {"passkey_error": "That passkey was already removed."}
    return _account_change(bp.current_request, change, "passkey_error")


@bp.route("/account/totp", methods=["POST"], content_types=ANY_CONTENT)
def totp_begin():
    request = bp.current_request

    def change(session, form):
        members.totp.begin_setup(session.member_id, form.get("password", ""),
                                 source=client_address(request))
    return _account_change(request, change, "totp_error")


@bp.route("/account/totp/confirm", methods=["POST"], content_types=ANY_CONTENT)
def totp_confirm():
    def change(session, form):
        return {"recovery_codes": members.totp.confirm_setup(session.member_id,
                                                             form.get("code", ""))}
    return _account_change(bp.current_request, change, "totp_error")


@bp.route("/account/totp/disable", methods=["POST"], content_types=ANY_CONTENT)
def totp_disable():
    request = bp.current_request

    def change(session, form):
        members.totp.disable(session.member_id, form.get("password", ""), form.get("code", ""),
                             source=client_address(request))
    return _account_change(request, change, "totp_error")


@bp.route("/account/totp/recovery-codes", methods=["POST"], content_types=ANY_CONTENT)
def totp_recovery_codes():
    request = bp.current_request

    def change(session, form):
        return {"recovery_codes": members.totp.replace_recovery_codes(
            session.member_id, form.get("password", ""), source=client_address(request))}
    return _account_change(request, change, "totp_error")
