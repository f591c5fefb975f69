"""The console's ads: every declared slot with its ads, their state now and today's
impressions and clicks (the report's figures and K rule); adding, editing, scheduling,
enabling and disabling an ad, through the same catalogue as the ``ads`` commands; and a
preview of an ad drawn with the site's own markup, which shows nothing to a visitor and so
counts no impression, and whose link leads where a click would without counting one.

Each change is written to the audit log and drops this container's cache of served slots, so
the operator's next look at the site shows it (other containers within 30 seconds).
"""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import ads, partners, reporting
from chalicelib.platform import clock
from chalicelib.platform.errors import EsoError, NotFoundError, ValidationError
from chalicelib.web.admin_pages import _form, _page, _record, _signed_in
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.render import redirect

bp = Blueprint(__name__)

# The form's fields, in the order the page shows them.
FIELDS = ("slot", "title", "body", "target_url", "image_url", "partner_id", "weight",
          "frequency_cap", "starts_at", "ends_at")
# The catalogue names some fields as a person reads them; the form names them as above.
_FORM_FIELD = {"target url": "target_url", "image url": "image_url",
               "frequency cap": "frequency_cap", "start": "starts_at", "end": "ends_at",
               "partner": "partner_id"}
TIME_FORMAT = "%Y-%m-%d %H:%M"
DONE = {"created": "The ad is added. It is served within 30 seconds while it is active.",
        "edited": "Saved. Serving follows within 30 seconds.",
        "unchanged": "Nothing was changed: every field already held that value.",
        "enabled": "The ad is enabled: it is served again within 30 seconds.",
        "disabled": "The ad is disabled: it is no longer served, and its clicks lead nowhere."}


def _error_fields(exc: EsoError) -> tuple:
    if not exc.field:
        return ()
    return (_FORM_FIELD.get(exc.field, exc.field),)


def _whole_number(text: str, field: str, label: str) -> int:
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise ValidationError(f"The {label} must be a whole number.", field=field)
    return int(text)


def _time(text: str, field: str):
    text = (text or "").strip()
    return ads.parse_time(text, field) if text else None


def _time_text(moment) -> str:
    return moment.strftime(TIME_FORMAT) if moment else ""


def _parsed(form: dict) -> dict:
    """The ad as the form gives it; empty optional fields are None."""
    def optional(name):
        return (form.get(name) or "").strip() or None

    return {"slot": (form.get("slot") or "").strip(), "title": form.get("title") or "",
            "body": optional("body"), "target_url": (form.get("target_url") or "").strip(),
            "image_url": optional("image_url"), "partner_id": optional("partner_id"),
            "weight": _whole_number(form.get("weight"), "weight", "weight"),
            "frequency_cap": _whole_number(form.get("frequency_cap"), "frequency_cap",
                                           "frequency cap"),
            "starts_at": _time(form.get("starts_at"), "start"),
            "ends_at": _time(form.get("ends_at"), "end")}


def _values_of(ad) -> dict:
    """An ad as the edit form shows it."""
    return {"slot": ad.slot, "title": ad.title, "body": ad.body or "",
            "target_url": ad.target_url, "image_url": ad.image_url or "",
            "partner_id": ad.partner_id or "", "weight": str(ad.weight),
            "frequency_cap": str(ad.frequency_cap), "starts_at": _time_text(ad.starts_at),
            "ends_at": _time_text(ad.ends_at)}


def _new_values() -> dict:
    return {"slot": "home", "title": "", "body": "", "target_url": "", "image_url": "",
            "partner_id": "", "weight": "1", "frequency_cap": "5", "starts_at": "",
            "ends_at": ""}


def _form_values(form: dict) -> dict:
    return {name: form.get(name, "") for name in FIELDS}


# --- the list ------------------------------------------------------------------------------------


def _list_page(request, context, values=None, **extra):
    slots = ads.list_slots()
    listed = [(slot, ads.list_ads(slot.slot)) for slot in slots]
    now_ms = int(clock.now().timestamp() * 1000)
    figures = reporting.figures.ad_day_figures([ad.ad_id for _, found in listed for ad in found],
                                               clock.today())
    return _page(request, "admin/ads.html", operator=context, slots=listed, now_ms=now_ms,
                 figures=figures, day=clock.today().isoformat(), values=values or _new_values(),
                 active_partners=sorted(partners.list_active(), key=lambda p: p.name.lower()),
                 **extra)


@bp.route("/admin/ads", methods=["GET"])
def ads_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    return _list_page(request, context)


@bp.route("/admin/ads", methods=["POST"], content_types=ANY_CONTENT)
def ad_create():
    request = bp.current_request
    form = _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        ad = ads.create_ad(**_parsed(form))
    except EsoError as exc:
        return _list_page(request, context, values=_form_values(form), exc=exc,
                          error_fields=_error_fields(exc))
    ads.slot_cache.clear()
    _record(request, context, "ad_created", target=ad.ad_id, slot=ad.slot)
    return redirect(f"/admin/ads/{ad.ad_id}?done=created")


# --- one ad --------------------------------------------------------------------------------------


def _preview_href(ad) -> str:
    """Where the preview's link goes: where a click on the site ends (the ad's target, or its
    partner's landing page), reached directly, so that nothing is counted."""
    if ad.partner_id:
        try:
            return partners.get(ad.partner_id).landing_url
        except NotFoundError:
            return ad.target_url
    return ad.target_url


def _ad_page(request, context, ad_id: str, values=None, status_code: int = 200, **extra):
    ad = ads.get_ad(ad_id)
    today = clock.today()
    return _page(request, "admin/ad.html", status_code=status_code, operator=context, ad=ad,
                 state=ad.state(int(clock.now().timestamp() * 1000)),
                 declared=ads.is_declared(ad.slot), slots=ads.list_slots(),
                 figures=reporting.figures.ad_day_figures([ad.ad_id], today)[ad.ad_id],
                 day=today.isoformat(), preview_href=_preview_href(ad),
                 values=values or _values_of(ad), **extra)


@bp.route("/admin/ads/{ad_id}", methods=["GET"])
def ad_page(ad_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    return _ad_page(request, context, ad_id, done=DONE.get(query_param(request, "done") or ""))


def _changes(current, form: dict) -> dict:
    """The fields the form changes. Times are compared as the form shows them (to the
    minute), so an unchanged schedule is not written again."""
    given = _parsed(form)
    given.pop("partner_id")  # an ad's partner is fixed when it is added
    shown = _values_of(current)
    changes = {}
    for name, value in given.items():
        if name in ("starts_at", "ends_at"):
            if (form.get(name) or "").strip() != shown[name]:
                changes[name] = value
        elif value != getattr(current, name):
            changes[name] = value
    return changes


@bp.route("/admin/ads/{ad_id}", methods=["POST"], content_types=ANY_CONTENT)
def ad_edit(ad_id):
    request = bp.current_request
    form = _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    current = ads.get_ad(ad_id)
    try:
        changes = _changes(current, form)
        if changes:
            ad, changed = ads.edit_ad(ad_id, **changes)
    except EsoError as exc:
        if isinstance(exc, NotFoundError):
            raise
        values = _values_of(current) | {k: v for k, v in _form_values(form).items()
                                        if k != "partner_id"}
        return _ad_page(request, context, ad_id, values=values, exc=exc,
                        error_fields=_error_fields(exc))
    if not changes:
        return redirect(f"/admin/ads/{ad_id}?done=unchanged")
    ads.slot_cache.clear()
    _record(request, context, "ad_edited", target=ad.ad_id, fields=" ".join(changed))
    return redirect(f"/admin/ads/{ad_id}?done=edited")


def _switch(ad_id: str, action: str, change):
    request = bp.current_request
    _form(request)
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        ad = change(ad_id)
    except EsoError as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _ad_page(request, context, ad_id, exc=exc)
    ads.slot_cache.clear()
    _record(request, context, f"ad_{action}", target=ad.ad_id)
    return redirect(f"/admin/ads/{ad_id}?done={action}")


@bp.route("/admin/ads/{ad_id}/enable", methods=["POST"], content_types=ANY_CONTENT)
def ad_enable(ad_id):
    return _switch(ad_id, "enabled", ads.enable_ad)


@bp.route("/admin/ads/{ad_id}/disable", methods=["POST"], content_types=ANY_CONTENT)
def ad_disable(ad_id):
    return _switch(ad_id, "disabled", ads.disable_ad)
