"""The console's marketing partners: the list, adding one, editing its name, landing page,
privacy policy, contact address and description, disabling and enabling it, a new API key, and
its figures under the report's K rule; through the same registry as the ``partners`` commands.

An API key is shown once, on the page that answers the request that made it (never behind a
redirect or in a URL; every page is ``no-store``); only its SHA-256 is kept. Whatever stops a
partner or hands out a key for an existing one (disable, enable, a new key) asks for the
operator's second factor again. Each action is written to the audit log, never the key.
"""
from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint

from chalicelib import partners, reporting
from chalicelib.platform import clock
from chalicelib.platform.errors import EsoError, NotFoundError
from chalicelib.web.admin_pages import _form, _page, _reconfirm, _record, _signed_in
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.render import redirect

bp = Blueprint(__name__)

FIELDS = ("name", "landing_url", "privacy_policy_url", "contact_email", "description")
OPTIONAL = ("privacy_policy_url", "contact_email", "description")
# The registry names some fields as a person reads them; the form names them as above.
_FORM_FIELD = {"landing URL": "landing_url", "privacy-policy URL": "privacy_policy_url",
               "email": "contact_email"}
FIGURE_DAYS = 28
DONE = {"edited": "Saved.",
        "unchanged": "Nothing was changed: every field already held that value.",
        "disabled": "The partner is disabled: its API key, referral link and offer stopped "
                    "working now."}


def _error_fields(exc: EsoError) -> tuple:
    return (_FORM_FIELD.get(exc.field, exc.field),) if exc.field else ()


def _given(form: dict) -> dict:
    """The partner as the form gives it; an empty optional field is None (cleared)."""
    return {name: ((form.get(name) or "").strip() or None) if name in OPTIONAL
            else form.get(name) or "" for name in FIELDS}


def _values_of(partner) -> dict:
    return {name: getattr(partner, name) or "" for name in FIELDS}


def _list_page(request, context, values=None, **extra):
    found = sorted(partners.list_all(), key=lambda p: (p.status != "active", p.name.lower()))
    return _page(request, "admin/partners.html", operator=context, partners=found,
                 values=values or dict.fromkeys(FIELDS, ""), **extra)


def _key_page(request, context, partner_id: str, api_key: str, what: str):
    """The one page that shows a new key (the answer to the POST that made it)."""
    return _page(request, "admin/partner_key.html", operator=context,
                 partner=partners.get(partner_id), api_key=api_key, what=what)


@bp.route("/admin/partners", methods=["GET"])
def partners_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    return _list_page(request, context)


@bp.route("/admin/partners", methods=["POST"], content_types=ANY_CONTENT)
def partner_create():
    request = bp.current_request
    form = _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        new = partners.create(**_given(form))
    except EsoError as exc:
        return _list_page(request, context, values={n: form.get(n, "") for n in FIELDS},
                          exc=exc, error_fields=_error_fields(exc))
    _record(request, context, "partner_created", target=new.partner_id)
    return _key_page(request, context, new.partner_id, new.api_key, "created")


def _partner_page(request, context, partner_id: str, values=None, status_code: int = 200,
                  **extra):
    partner = partners.get(partner_id)
    today = clock.today()
    figures = reporting.figures.partner_figures(
        partner, today - timedelta(days=FIGURE_DAYS - 1), today, today)
    return _page(request, "admin/partner.html", status_code=status_code, operator=context,
                 partner=partner, values=values or _values_of(partner), figures=figures,
                 **extra)


@bp.route("/admin/partners/{partner_id}", methods=["GET"])
def partner_page(partner_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    return _partner_page(request, context, partner_id,
                         done=DONE.get(query_param(request, "done") or ""))


@bp.route("/admin/partners/{partner_id}", methods=["POST"], content_types=ANY_CONTENT)
def partner_edit(partner_id):
    request = bp.current_request
    form = _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    current = partners.get(partner_id)
    changes = {name: value for name, value in _given(form).items()
               if value != getattr(current, name)}
    if not changes:
        return redirect(f"/admin/partners/{partner_id}?done=unchanged")
    try:
        _, changed = partners.edit(partner_id, **changes)
    except EsoError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _partner_page(request, context, partner_id,
                             values={n: form.get(n, "") for n in FIELDS}, exc=exc,
                             error_fields=_error_fields(exc))
    _record(request, context, "partner_edited", target=partner_id, fields=" ".join(changed))
    return redirect(f"/admin/partners/{partner_id}?done=edited")


def _dangerous(partner_id: str, work):
    """A POST that needs the second factor again: CSRF first, then the session, then the
    confirmation (back to the partner's page), then ``work(context)``."""
    request = bp.current_request
    _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    partners.get(partner_id)  # an unknown partner is 404 before anything is asked
    ask = _reconfirm(context, f"partner:{partner_id}")
    if ask:
        return ask
    try:
        return work(context)
    except EsoError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _partner_page(request, context, partner_id, exc=exc)


@bp.route("/admin/partners/{partner_id}/rotate-key", methods=["POST"], content_types=ANY_CONTENT)
def partner_rotate_key(partner_id):
    request = bp.current_request

    def work(context):
        new = partners.rotate_key(partner_id)
        _record(request, context, "partner_key_rotated", target=partner_id)
        return _key_page(request, context, partner_id, new.api_key, "rotated")
    return _dangerous(partner_id, work)


@bp.route("/admin/partners/{partner_id}/disable", methods=["POST"], content_types=ANY_CONTENT)
def partner_disable(partner_id):
    request = bp.current_request

    def work(context):
        partners.disable(partner_id)
        _record(request, context, "partner_disabled", target=partner_id)
        return redirect(f"/admin/partners/{partner_id}?done=disabled")
    return _dangerous(partner_id, work)


@bp.route("/admin/partners/{partner_id}/enable", methods=["POST"], content_types=ANY_CONTENT)
def partner_enable(partner_id):
    request = bp.current_request

    def work(context):
        new = partners.enable(partner_id)
        if new is None:  # already active: its key is unchanged, and none is shown
            return redirect(f"/admin/partners/{partner_id}?done=unchanged")
        _record(request, context, "partner_enabled", target=partner_id)
        return _key_page(request, context, partner_id, new.api_key, "enabled")
    return _dangerous(partner_id, work)
