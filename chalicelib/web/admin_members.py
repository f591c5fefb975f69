"""Member support in the console: look up one member by the exact address, see the account's
state and consent history, resend the confirmation, sign the member out everywhere, stop all
promotional mail to the address, and erase the account at the member's request.

The address travels only in POST bodies, never in a URL: the lookup answers with a redirect to
``/admin/members/<view>``, where the view names the member's id, an expiry and a signature bound
to this operator's session. So a member's page opens only for the operator who looked the
member up, in that session and for ``VIEW_MINUTES``; without it there is no way in but another
lookup, and lookups are counted and audited (``operators.support``). Every action is written
to the audit log with the member's id; suppressing and erasing ask for the second factor again,
and erasing also for the member's address typed out.
"""
from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint

from chalicelib import members, operators, privacy
from chalicelib.platform import clock
from chalicelib.platform.crypto import equal, sign
from chalicelib.platform.errors import EsoError, NotFoundError, ValidationError
from chalicelib.web import wording
from chalicelib.web.admin_auth import request_id
from chalicelib.web.admin_pages import _form, _page, _reconfirm, _record, _signed_in
from chalicelib.web.auth import request_origin
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.render import redirect

bp = Blueprint(__name__)

VIEW_MINUTES = 30
_VIEW = "admin-member-view"
LOOKUP_DONE = {"erased": "The account is erased: everything that named the member is gone. "
                         "The audit log keeps only the member's former id."}
DONE = {"confirmation-sent": "A new confirmation link is on its way to the member; the old "
                             "link no longer works.",
        "sessions-ended": "The member is signed out everywhere.",
        "suppressed": "No promotional e-mail goes to this address any more; the member's "
                      "consent history says so."}


# --- the view token -------------------------------------------------------------------------


def _view_of(context, member_id: str) -> str:
    """The path segment of a member's page: id, expiry and a MAC bound to this session."""
    expires = int((clock.now() + timedelta(minutes=VIEW_MINUTES)).timestamp())
    mac = sign(_VIEW, f"{context.session_hash}\x00{member_id}\x00{expires}")
    return f"{member_id}.{expires}.{mac}"


def _member_of(context, view: str) -> str | None:
    """The member id a view names, if it is this session's and has not expired."""
    parts = (view or "").split(".")
    if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()) or len(view) > 200:
        return None
    member_id, expires, mac = parts
    expected = sign(_VIEW, f"{context.session_hash}\x00{member_id}\x00{expires}")
    if not equal(expected, mac) or clock.now().timestamp() >= int(expires):
        return None
    return member_id


# --- finding a member --------------------------------------------------------------------------


def _lookup_page(request, context, status_code: int = 200, **extra):
    return _page(request, "admin/members.html", status_code=status_code, operator=context,
                 limit=operators.support.LOOKUPS_PER_HOUR, minutes=VIEW_MINUTES, **extra)


@bp.route("/admin/members", methods=["GET"])
def members_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    done = query_param(request, "done") or ""
    notice = LOOKUP_DONE.get(done)
    if done == "expired":
        notice = "That member's page has expired: look the member up again."
    return _lookup_page(request, context, done=notice)


@bp.route("/admin/members", methods=["POST"], content_types=ANY_CONTENT)
def member_lookup():
    request = bp.current_request
    form = _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        member_id = operators.support.find_member(
            context.operator_id, form.get("email", ""), actor_email=context.email,
            request_id=request_id(request))
        if member_id is None:
            raise NotFoundError("No member has this address. Check it letter by letter: "
                                "only the whole, exact address finds a member.",
                                field="email")
    except EsoError as exc:
        return _lookup_page(request, context, exc=exc, email=form.get("email", ""),
                            error_fields=(exc.field,) if exc.field else ())
    return redirect(f"/admin/members/{_view_of(context, member_id)}")


# --- one member --------------------------------------------------------------------------------


def _member_page(request, context, view: str, member_id: str, status_code: int = 200, **extra):
    shown = members.support.overview(member_id)
    return _page(request, "admin/member.html", status_code=status_code, operator=context,
                 account=shown, view=view, history=wording.history_entries(shown["history"]),
                 purposes=[(wording.PURPOSE_TITLES[p], shown["consents"][p])
                           for p in wording.PURPOSE_TITLES],
                 **extra)


def _opened(request, view: str):
    """(operator context, member id, None), or (None, None, where to go instead)."""
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return None, None, elsewhere
    member_id = _member_of(context, view)
    if member_id is None:
        return None, None, redirect("/admin/members?done=expired")
    return context, member_id, None


@bp.route("/admin/members/{view}", methods=["GET"])
def member_page(view):
    request = bp.current_request
    context, member_id, elsewhere = _opened(request, view)
    if elsewhere:
        return elsewhere
    try:
        return _member_page(request, context, view, member_id,
                            done=DONE.get(query_param(request, "done") or ""))
    except NotFoundError:  # erased since the lookup
        return _gone(request, context)


def _gone(request, context):
    return _lookup_page(request, context, exc=NotFoundError(
        "That member's account no longer exists: it was erased."))


def _action(view: str, work, dangerous: bool = False):
    """A POST about the member of ``view``: CSRF first, then the session and the view, then
    (``dangerous``) the second factor again, then ``work(context, member_id, form)``; an error
    shows the member's page with it."""
    request = bp.current_request
    form = _form(request)
    context, member_id, elsewhere = _opened(request, view)
    if elsewhere:
        return elsewhere
    if dangerous:
        ask = _reconfirm(context, f"member:{view}")
        if ask:
            return ask
    try:
        return work(context, member_id, form)
    except EsoError as exc:
        try:
            return _member_page(request, context, view, member_id, exc=exc,
                                error_fields=(exc.field,) if exc.field else ())
        except NotFoundError:
            return _gone(request, context)


@bp.route("/admin/members/{view}/resend-confirmation", methods=["POST"],
          content_types=ANY_CONTENT)
def member_resend_confirmation(view):
    request = bp.current_request

    def work(context, member_id, form):
        members.resend_confirmation(member_id)
        _record(request, context, "confirmation_resent", target=member_id)
        return redirect(f"/admin/members/{view}?done=confirmation-sent")
    return _action(view, work)


@bp.route("/admin/members/{view}/end-sessions", methods=["POST"], content_types=ANY_CONTENT)
def member_end_sessions(view):
    request = bp.current_request

    def work(context, member_id, form):
        ended = members.support.end_sessions(member_id)
        _record(request, context, "member_sessions_ended", target=member_id, count=ended)
        return redirect(f"/admin/members/{view}?done=sessions-ended")
    return _action(view, work)


@bp.route("/admin/members/{view}/suppress", methods=["POST"], content_types=ANY_CONTENT)
def member_suppress(view):
    request = bp.current_request

    def work(context, member_id, form):
        members.support.suppress(member_id, page="/admin/members",
                                 origin=request_origin(request))
        _record(request, context, "member_suppressed", target=member_id)
        return redirect(f"/admin/members/{view}?done=suppressed")
    return _action(view, work, dangerous=True)


@bp.route("/admin/members/{view}/erase", methods=["POST"], content_types=ANY_CONTENT)
def member_erase(view):
    request = bp.current_request

    def work(context, member_id, form):
        address = members.get_member(member_id).email
        typed = (form.get("confirm_email") or "").strip()
        try:
            matches = members.normalize_email(typed) == address
        except ValidationError:
            matches = False
        if not matches:
            raise ValidationError("Type the member's address exactly as shown to erase the "
                                  "account.", code="confirmation_mismatch",
                                  field="confirm_email")
        privacy.erase_on_request(member_id)
        _record(request, context, "member_erased", target=member_id)
        return redirect("/admin/members?done=erased")
    return _action(view, work, dangerous=True)
