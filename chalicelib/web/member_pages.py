"""The members' HTML pages. Forms work without JavaScript and carry a CSRF
token; every POST answers with a page or a 303 redirect to a fixed path of this site."""
from __future__ import annotations

import json

from chalice import Blueprint, Response

from chalicelib import members, partners, privacy
from chalicelib.platform.errors import ConflictError, EsoError, NotFoundError, ValidationError
from chalicelib.platform.policy import policy_version
from chalicelib.platform.vocabulary import CONTACT_TOPICS, PARTNER_PROMOTIONS, PURPOSES
from chalicelib.web import cookies, presenters, wording
from chalicelib.web.auth import (
    check_csrf_token,
    current_session,
    gpc,
    provenance,
    session_cookie_value,
)
from chalicelib.web.errors import status_for
from chalicelib.web.http import (
    ANY_CONTENT,
    FORM,
    client_address,
    form_body,
    media_type,
    query_param,
)
from chalicelib.web.render import qr_code, redirect
from chalicelib.web.views import error_fields, form_error_page, member_page
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

# Where a login may send the browser next: fixed paths only, never a URL from the request.
NEXT_PAGES = {"/members", "/account"}
CONTACT_SENT = ("Thank you: your message is sent. We answer by e-mail, usually within two "
                "working days.")


def _form(request) -> dict:
    if media_type(request) != FORM:
        raise ValidationError("Send the form as application/x-www-form-urlencoded.")
    form = form_body(request, multiline=("message",))
    check_csrf_token(request, form)
    return form


def _signed_in(request, next_page: str):
    """(session, None) for a member; (None, a redirect to the login page) for a visitor."""
    session = current_session(request)
    return (session, None) if session else (None, redirect(f"/login?next={next_page}"))


# --- registration and verification --------------------------------------------------------------


def _topic_choices(form: dict) -> dict:
    """A form's topics: each topic the page showed (``topics_shown``), ticked or not."""
    return {t: form.get(f"topic-{t}") == "on" for t in form.get("topics_shown", "").split()}


@bp.route("/register", methods=["GET"])
def register_page():
    request = bp.current_request
    return member_page(request, "register.html", gpc=gpc(request), form={},
                       topics=members.topics.list_topics())


@bp.route("/register", methods=["POST"], content_types=ANY_CONTENT)
def register_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        topics_off = members.preferences.topics_off_at_registration(_topic_choices(form),
                                                                    gpc(request))
        members.register(
            members.Registration(
                email=form.get("email", ""), password=form.get("password", ""),
                display_name=form.get("display_name") or None,
                consents={p: form.get(p) == "on" for p in PURPOSES},
                topics_off=frozenset(topics_off)),
            provenance(request, "registration", "/register"))
    except EsoError as exc:
        form.pop("password", None)
        return form_error_page(request, "register.html", exc, gpc=gpc(request), form=form,
                               topics=members.topics.list_topics())
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
        return form_error_page(request, "verify.html", exc,
                           token=form.get("token", "") if keep else "")
    return member_page(request, "verify.html", token="", verified=True)


# --- login and logout ----------------------------------------------------------------------------


def _next_page(form: dict) -> str:
    return form.get("next") if form.get("next") in NEXT_PAGES else "/members"


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
        return form_error_page(request, "login.html", exc, next_page=_next_page(form),
                               email=form.get("email", ""))
    next_page = _next_page(form)
    if result.second_factor:
        return member_page(request, "login_second_factor.html", token=result.second_factor,
                           next_page=next_page)
    return signed_in_redirect(request, next_page, result.cookie_value, result.max_age)


def signed_in_redirect(request, next_page: str, value: str, max_age: int) -> Response:
    """The end of every sign-in by form: the pre-login session id dropped, the new cookie set,
    and the page it leads to says so."""
    members.sessions.revoke(session_cookie_value(request))
    return redirect(f"{next_page if next_page in NEXT_PAGES else '/members'}?done=logged-in",
                    headers={"Set-Cookie": cookies.session_cookie(value, max_age)})


@bp.route("/logout", methods=["POST"], content_types=ANY_CONTENT)
def logout_submit():
    request = bp.current_request
    try:
        _form(request)
    except EsoError as exc:
        return form_error_page(request, "message.html", exc, title="Log out")
    members.sessions.revoke(session_cookie_value(request))
    return redirect("/?done=logged-out", headers={"Set-Cookie": cookies.clear_session_cookie()})


# --- members' area and account -------------------------------------------------------------------


@bp.route("/members", methods=["GET"])
def members_page():
    request = bp.current_request
    _, to_login = _signed_in(request, "/members")
    return to_login or member_page(request, "members.html", offers=partners.offers.list_offers())


def _account(request, status_code: int = 200, error: EsoError | None = None,
             error_form: str | None = None, **context) -> Response:
    """The account page; ``error`` is shown at the form it is about (``error_form``)."""
    session = current_session(request)
    member = members.get_member(session.member_id)
    profile = presenters.member_json(member)
    events = [members.consent.event_json(e) for e in members.consent.history(member.member_id)]
    catalogue = members.topics.list_topics()
    topic_names = {t.topic_id: t.name for t in catalogue}
    if error is not None:
        context.update(error=error.message, error_fields=error_fields(error),
                       error_form=error_form)
    elif "notice" not in context:
        context["notice"] = _consent_notice(request, profile["consents"])
    gpc_note = None
    if member.gpc_applied_at is not None and not profile["consents"][PARTNER_PROMOTIONS]["granted"]:
        last = next((e for e in reversed(events) if e["purpose"] == PARTNER_PROMOTIONS), None)
        gpc_note = last["at"] if last and last["source"] == "gpc" else None
    return member_page(request, "account.html", status_code=status_code, profile=profile,
                       sessions=members.sessions.active_sessions(member.member_id,
                                                                 session.session_hash),
                       policy_changes=presenters.policy_notice_json(member)["changes"],
                       policy_version=policy_version(), gpc_note=gpc_note,
                       choices=wording.choices(profile["consents"]),
                       promotion_preferences=members.preferences.view(member, catalogue=catalogue),
                       frequency_labels=wording.FREQUENCY_LABELS,
                       snooze_labels=wording.SNOOZE_LABELS,
                       history=wording.history_entries(events, topic_names),
                       referred=partners.records.referrals_of(member.member_id),
                       partner_contacts=partners.records.contacts_of(member.member_id),
                       partner_notices=partners.notices.notices_of_member(member.member_id),
                       notice_events=wording.NOTICE_EVENTS,
                       notice_states=wording.NOTICE_STATES,
                       transaction_states=wording.TRANSACTION_STATES,
                       contact_states=wording.CONTACT_STATES,
                       **{**sign_in_methods(member), **context})


def _consent_notice(request, consents: dict) -> str | None:
    """After Allow or Stop (``?done=consent-<purpose>``): what the purpose's state is now;
    any other confirmation (``?done=logged-in``) as for every page."""
    done = query_param(request, "done") or ""
    purpose = done.removeprefix("consent-")
    if done.startswith("consent-") and purpose in PURPOSES:
        return wording.consent_notice(purpose, bool((consents.get(purpose) or {}).get("granted")))
    return wording.redirect_notice(done, signed_in=True)


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
            raise ValidationError("Choose what to allow or stop, then try again.")
        members.consent.change(session.member_id, {purpose: form["granted"] == "true"},
                       provenance(request, "preference_center", "/account"))
    except EsoError as exc:
        return _account(request, status_code=status_for(exc), error=exc,
                        error_form="preferences")
    return redirect(f"/account?done=consent-{purpose}")


@bp.route("/account/preferences", methods=["POST"], content_types=ANY_CONTENT)
def account_preferences():
    request = bp.current_request
    return _account_form("promotion-preferences", lambda session, form: members.preferences.change(
        session.member_id, provenance(request, "preference_center", "/account"),
        topic_choices=_topic_choices(form),
        frequency=members.preferences.check_frequency(form.get("frequency") or None)),
        "preferences-saved")


@bp.route("/account/snooze", methods=["POST"], content_types=ANY_CONTENT)
def account_snooze():
    request = bp.current_request
    return _account_form("snooze", lambda session, form: members.preferences.snooze(
        session.member_id, form.get("period", ""),
        provenance(request, "preference_center", "/account")), "snoozed")


@bp.route("/account/snooze/end", methods=["POST"], content_types=ANY_CONTENT)
def account_end_snooze():
    request = bp.current_request
    return _account_form("snooze", lambda session, form: members.preferences.end_snooze(
        session.member_id, provenance(request, "preference_center", "/account")),
        "snooze-ended")


def _account_form(error_form: str, action, done: str, field_names: dict | None = None,
                  headers_from=None):
    """A form of the account page: the action with the form's fields, then a redirect to the
    page with its confirmation; an error shows the page again at that form."""
    request = bp.current_request
    session, to_login = _signed_in(request, "/account")
    if to_login:
        return to_login
    try:
        result = action(session, _form(request))
    except EsoError as exc:
        if field_names and exc.field in field_names:
            exc.field = field_names[exc.field]  # the input's id on this page
        return _account(request, status_code=status_for(exc), error=exc, error_form=error_form)
    response = redirect(f"/account?done={done}")
    if headers_from is not None:
        response.headers.update(headers_from(result))
    return response


@bp.route("/account/name", methods=["POST"], content_types=ANY_CONTENT)
def account_name():
    return _account_form("name", lambda session, form: members.change_display_name(
        session.member_id, form.get("display_name", "")), "name-changed")


@bp.route("/account/password", methods=["POST"], content_types=ANY_CONTENT)
def account_password():
    request = bp.current_request
    return _account_form(
        "password", lambda session, form: members.change_password(
            session.member_id, form.get("current_password", ""), form.get("new_password", ""),
            request.headers.get("user-agent"), source=client_address(request)),
        "password-changed",
        headers_from=lambda result: {"Set-Cookie": cookies.session_cookie(*result)})


@bp.route("/account/email", methods=["POST"], content_types=ANY_CONTENT)
def account_email():
    request = bp.current_request
    return _account_form("email", lambda session, form: members.email_change.request_change(
        session.member_id, form.get("new_email", ""), form.get("password", ""),
        source=client_address(request)), "email-link-sent",
        field_names={"password": "email_password"})


@bp.route("/account/sessions/end", methods=["POST"], content_types=ANY_CONTENT)
def account_end_session():
    def end(session, form):
        if not members.sessions.revoke_by_id(session.member_id, form.get("session_id", "")):
            raise NotFoundError("That session has ended already.")
    return _account_form("sessions", end, "session-ended")


@bp.route("/account/sessions/end-others", methods=["POST"], content_types=ANY_CONTENT)
def account_end_other_sessions():
    return _account_form("sessions", lambda session, form: members.sessions.revoke_others(
        session.member_id, session.session_hash), "sessions-ended")


@bp.route("/account/policy", methods=["POST"], content_types=ANY_CONTENT)
def account_policy():
    request = bp.current_request

    def answer(session, form):
        if form.get("version") != policy_version():
            raise ConflictError("The privacy policy changed again while you were reading. "
                                "Read the new changes and answer again.",
                                code="policy_changed")
        members.consent.confirm_policy(
            session.member_id, {p: form.get(p) == "true" for p in PURPOSES},
            provenance(request, "policy_update", "/account"))
    return _account_form("policy", answer, "policy-answered")


@bp.route("/account/receipts/{event_id}", methods=["GET"])
def account_receipt(event_id):
    request = bp.current_request
    session, to_login = _signed_in(request, "/account")
    if to_login:
        return to_login
    member = members.get_member(session.member_id)
    receipt = members.receipts.for_member(session.member_id, member.email, event_id)
    return Response(body=json.dumps(receipt, indent=2), status_code=200, headers={
        "Content-Type": "application/json", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="consent-receipt-{event_id}.json"'})


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
        privacy.delete_account(session.member_id, form.get("password", ""),
                               source=client_address(request))
    except EsoError as exc:
        return _account(request, status_code=status_for(exc), error=exc, error_form="delete")
    return member_page(request, "message.html", signed_in=False, title="Account deleted",
                       headers={"Set-Cookie": cookies.clear_session_cookie()},
                       text="Your account and the personal data we held about you are deleted. "
                            "We will not e-mail you again. You are welcome to register again "
                            "at any time.")


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
                               text="Your new password is set, and every session was logged "
                                    "out. Log in now with the new password.",
                               link=("/login", "Log in"))
        members.request_password_reset(form.get("email", ""))
    except EsoError as exc:
        return form_error_page(request, "reset_password.html", exc, token=form.get("token", ""),
                               email=form.get("email", ""))
    return member_page(request, "message.html", title="Check your inbox",
                       text="If this address has an account, we sent it a link to choose a new "
                            "password. Open the link within an hour; it works once.")


# --- contact -------------------------------------------------------------------------------------


@bp.route("/contact", methods=["GET"])
def contact_page():
    """The contact form; ``?offer=<id>`` of one of eSO's own offers starts a question about it."""
    request = bp.current_request
    offer = partners.offers.eso_offer(query_param(request, "offer") or "")
    form = {}
    session = current_session(request)
    if session is not None:
        form["email"] = members.get_member(session.member_id).email
    if offer is not None:
        form.update(topic="general",
                    message=f"I would like to know more about your offer “{offer['title']}”.")
    return member_page(request, "contact.html", form=form, topics=CONTACT_TOPICS, offer=offer)


@bp.route("/contact", methods=["POST"], content_types=ANY_CONTENT)
def contact_submit():
    request = bp.current_request
    form = {}
    try:
        form = _form(request)
        members.contact.submit(form.get("email", ""), form.get("topic", ""), form.get("message", ""),
                       client_address(request))
    except EsoError as exc:
        return form_error_page(request, "contact.html", exc, form=form, topics=CONTACT_TOPICS,
                               offer=None)
    return member_page(request, "message.html", title="Message sent", text=CONTACT_SENT)


# --- e-mail address change -----------------------------------------------------------------------
# Opening a link shows a form; only its POST acts (a mail scanner that opens links changes
# nothing).

_EMAIL_CHANGE_STEPS = {"confirm": lambda token: members.email_change.confirm_change(token),
                       "undo": lambda token: members.email_change.undo_change(token)}


def _email_change_page(mode: str):
    request = bp.current_request
    token = (request.query_params or {}).get("token", "")
    return member_page(request, "email_change.html", mode=mode, token=token, done=False)


def _email_change_submit(mode: str):
    request = bp.current_request
    try:
        form = _form(request)
        _EMAIL_CHANGE_STEPS[mode](form.get("token", ""))
    except EsoError as exc:
        return form_error_page(request, "email_change.html", exc, mode=mode, token="", done=False)
    headers = {"Set-Cookie": cookies.clear_session_cookie()} if mode == "undo" else {}
    page = member_page(request, "email_change.html", mode=mode, token="", done=True)
    page.headers.update(headers)
    return page


@bp.route("/email/confirm", methods=["GET"])
def email_confirm_page():
    return _email_change_page("confirm")


@bp.route("/email/confirm", methods=["POST"], content_types=ANY_CONTENT)
def email_confirm_submit():
    return _email_change_submit("confirm")


@bp.route("/email/undo", methods=["GET"])
def email_undo_page():
    return _email_change_page("undo")


@bp.route("/email/undo", methods=["POST"], content_types=ANY_CONTENT)
def email_undo_submit():
    return _email_change_submit("undo")
