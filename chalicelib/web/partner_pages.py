"""Members and visitors meet partners: the referral redirect and writing to a partner.

``GET /go/<partner>`` sends the browser to the partner's registered landing URL only (never a
URL from the request). Writing to a partner is two steps without JavaScript: the member writes,
then sees exactly what the partner will receive and confirms. The JSON API does the same
sharing for clients that show their own confirmation. Services load on first use (cold start).
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import partners
from chalicelib.partners.limits import MAX_MESSAGE
from chalicelib.platform.errors import EsoError, NotFoundError
from chalicelib.web.auth import current_session, gpc, require_session
from chalicelib.web.errors import status_for
from chalicelib.web.fallback import not_found
from chalicelib.web.http import ANY_CONTENT, json_body, json_response
from chalicelib.web.member_pages import _form as read_form
from chalicelib.web.render import redirect
from chalicelib.web.views import error_fields, member_page
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

CONTACT = {"type": "object", "additionalProperties": False, "required": ["message"],
           "properties": {"message": {"type": "string", "maxLength": MAX_MESSAGE,
                                      "x-multiline": True}}}


@bp.route("/go/{partner_id}", methods=["GET"])
def go(partner_id):
    request = bp.current_request
    session = current_session(request)
    try:
        target = partners.referrals.record_click(partner_id, visitor_id(request),
                                                 _linked_member(request, session))
    except NotFoundError:
        return not_found()
    return Response(body="", status_code=302,
                    headers={"Location": target, "Cache-Control": "no-store"})


def _linked_member(request, session):
    """The member a click is linked to: the signed-in member, unless they said no to partners
    (partner promotions withdrawn, or Global Privacy Control): partners are asked to unlink
    the clicks of such a member, so a click after the "no" is recorded as a visitor's."""
    if session is None or gpc(request):
        return None
    from chalicelib import members
    from chalicelib.platform.vocabulary import PARTNER_PROMOTIONS

    try:
        member = members.get_member(session.member_id)
    except NotFoundError:
        return None
    return member.member_id if members.consent.is_granted(member, PARTNER_PROMOTIONS) else None


@bp.route("/api/v1/partners/{partner_id}/contact", methods=["POST"], content_types=ANY_CONTENT)
def contact_partner_api(partner_id):
    request = bp.current_request
    session = require_session(request)
    message = json_body(request, CONTACT)["message"]
    partners.contacts.send(session.member_id, partner_id, message)
    return json_response({"status": "sent"}, 202)


def _contact_page(request, partner_id: str, step: str, message: str = "",
                  error: EsoError | None = None) -> Response:
    session = current_session(request)
    try:
        shared = partners.contacts.preview(session.member_id, partner_id)
    except NotFoundError:
        return not_found()
    return member_page(request, "partner_contact.html",
                       status_code=status_for(error) if error else 200, step=step,
                       shared={**shared, "message": message}, partner_id=partner_id,
                       error=error.message if error else None,
                       error_fields=error_fields(error) if error else ())


@bp.route("/partners/{partner_id}/contact", methods=["GET"])
def contact_partner_page(partner_id):
    request = bp.current_request
    if current_session(request) is None:
        return redirect("/login?next=/members")
    return _contact_page(request, partner_id, "write")


@bp.route("/partners/{partner_id}/contact", methods=["POST"], content_types=ANY_CONTENT)
def contact_partner_submit(partner_id):
    request = bp.current_request
    session = current_session(request)
    if session is None:
        return redirect("/login?next=/members")
    form = {}
    try:
        form = read_form(request)
        if form.get("action") == "edit":
            return _contact_page(request, partner_id, "write", form.get("message", ""))
        message = partners.contacts.clean_message(form.get("message", ""))
        if form.get("action") != "send":
            return _contact_page(request, partner_id, "review", message)
        record = partners.contacts.send(session.member_id, partner_id, message)
    except EsoError as exc:
        if isinstance(exc, NotFoundError):
            return not_found()
        return _contact_page(request, partner_id, "write", form.get("message", ""), exc)
    return member_page(request, "message.html", title="Message sent",
                       text=f"Your message is sent: {record.partner_name} received your name, "
                            f"e-mail address and message, and will answer you by e-mail. Your "
                            f"account lists what you shared and when.",
                       link=("/account#partners", "See it in your account"))
