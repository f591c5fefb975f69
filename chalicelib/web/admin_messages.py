"""The console's Messages: what people wrote with the contact form (also mailed to the
operator), newest first, a page at a time; each message on its own page, its text shown as
text; marked read, answered or unread again, each change written to the audit log."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import members
from chalicelib.platform.errors import EsoError, NotFoundError
from chalicelib.web.admin_pages import _form, _page, _record, _signed_in
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.render import redirect

bp = Blueprint(__name__)

STATUS_DONE = {"read": "Marked as read.", "answered": "Marked as answered.",
               "unread": "Marked as unread."}


@bp.route("/admin/messages", methods=["GET"])
def messages_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    cursor = query_param(request, "cursor")
    try:
        found, following = members.messages.page(cursor)
    except EsoError as exc:
        return _page(request, "admin/message.html", exc=exc, operator=context,
                     title="Messages")
    return _page(request, "admin/messages.html", operator=context, messages=found,
                 following=following, first_page=not cursor,
                 retention_days=members.messages.RETENTION.days)


@bp.route("/admin/messages/{message_id}", methods=["GET"])
def contact_message_page(message_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    message = members.messages.get(message_id)
    return _page(request, "admin/contact_message.html", operator=context, message=message,
                 done=STATUS_DONE.get(query_param(request, "done") or ""))


@bp.route("/admin/messages/{message_id}/status", methods=["POST"], content_types=ANY_CONTENT)
def contact_message_status(message_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        status = _form(request).get("status", "")
        message = members.messages.mark(message_id, status, context.operator_id)
    except EsoError as exc:
        if exc.code == "not_found":
            raise
        try:
            message = members.messages.get(message_id)
        except NotFoundError:  # a refused body names no message to show again
            return _page(request, "admin/message.html", exc=exc, operator=context,
                         title="Messages")
        return _page(request, "admin/contact_message.html", exc=exc, operator=context,
                     message=message, done=None)
    _record(request, context, "message_marked", target=message.message_id, status=status)
    return redirect(f"/admin/messages/{message.message_id}?done={status}")
