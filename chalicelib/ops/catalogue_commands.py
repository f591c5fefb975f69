"""Operator commands for what the portal offers: promotions and offers, their topics, ad slots
and ads, partners."""
from __future__ import annotations

import json
from collections import Counter

import click

from chalicelib import ads as ad_service
from chalicelib import members, promotions
from chalicelib import partners as partner_service
from chalicelib.ops.html_text import html_to_text
from chalicelib.ops.operator_commands import _cli_actor
from chalicelib.ops.output import Output, table
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.errors import NotFoundError, ValidationError
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import OFFER


def _day(moment) -> str:
    return iso(moment)[:16].replace("T", " ") if moment else "-"


# --- promotions and offers -----------------------------------------------------------------------


@click.group("promotions")
def promotions_group():
    """Partners' promotions: read, review and send."""


def _promotion_row(promotion, counts=None) -> dict:
    counts = counts or promotions.delivery_counts(promotion)
    paused = promotion.status == "paused"
    return {"id": promotion.promotion_id, "kind": promotion.kind, "status": promotion.status,
            "partner_id": promotion.partner_id, "subject": promotion.subject,
            "created_at": iso(promotion.created_at), "delivered": counts.delivered,
            "skipped": counts.skipped, "failed": counts.failed,
            "paused_reason": promotion.paused_reason if paused else None,
            "resume_at": iso(promotion.resume_at) if paused and promotion.resume_at else None,
            "topics": sorted(promotion.topics or ()),
            "send_at": iso(promotion.send_at) if promotion.send_at else None}


def status_text(row: dict) -> str:
    """A promotion's status as the operator reads it: a paused one says why and until when,
    a scheduled one when it starts (the console says the same)."""
    return promotions.status_text(row)


@promotions_group.command("list")
@click.option("--status", type=click.Choice(["pending_review", "scheduled", "approved",
                                             "rejected", "sending", "paused", "sent"]))
@click.pass_obj
def promotions_list(out: Output, status):
    """Promotions, newest first."""
    listed = promotions.list_all(status)
    counts = promotions.delivery_counts_many(listed)
    rows = [_promotion_row(p, counts[p.promotion_id]) for p in listed]
    text = table(
        ["id", "status", "kind", "partner", "created (UTC)", "delivered", "skipped", "failed",
         "subject"],
        [[r["id"], status_text(r), r["kind"], r["partner_id"], r["created_at"][:16].replace("T", " "),
          r["delivered"], r["skipped"], r["failed"], r["subject"]] for r in rows],
        right=("delivered", "skipped", "failed"), limits={"subject": 60},
        empty="no promotions")
    out.result({"promotions": rows}, text)


@promotions_group.command("show")
@click.argument("promotion_id")
@click.pass_obj
def promotions_show(out: Output, promotion_id):
    """Read a promotion as members would get it: subject, text, HTML as text, footer."""
    shown = promotions.preview(promotion_id)
    promotion = shown["promotion"]
    partner = None
    if promotion.partner_id:
        try:
            found = partner_service.get(promotion.partner_id)
        except NotFoundError:
            found = None
        partner = partner_service.presented(found, promotion.partner_id)
    html_text = _with_targets(html_to_text(shown["html"]), shown["links"])
    counts = promotions.delivery_counts(promotion)
    engagement = promotions.engagement_figures(promotion, counts)
    others = [promotions.preview(promotion_id, variant=v)
              for v in range(1, len(promotion.variants or ()))]
    data = _promotion_row(promotion, counts) | {
        "partner": partner, "from": shown["from"], "subject": shown["subject"],
        "text": shown["text"], "html": shown["html"], "html_text": html_text,
        "footer": shown["footer"], "headers": shown["headers"],
        "has_own_html": promotion.html is not None, "links": shown["links"],
        "variant": shown["variant"],
        "variants": [{"variant": o["variant"], "subject": o["subject"], "text": o["text"],
                      "html": o["html"], "html_text": _with_targets(html_to_text(o["html"]),
                                                                    o["links"])}
                     for o in ([shown] if others else []) + others],
        "engagement": engagement}
    who = (f"partner {promotion.partner_id} ({partner['name']})" if partner
           else "eSmallOffice's own offer")
    names = members.topics.topic_names() if promotion.topics else {}
    audience = (", ".join(f"{names.get(t, t)} ({t})" for t in sorted(promotion.topics))
                + ": members who take one of these topics" if promotion.topics
                else "none: every member who takes partner promotions"
                if promotion.kind == "partner" else "none (an offer goes to every member who "
                "takes eSO's offers)")
    rule = "─" * 72
    lines = [
        f"promotion {promotion.promotion_id}: {status_text(data)}, {who}, "
        f"created {_day(promotion.created_at)} UTC",
        f"From:    {shown['from']}",
        f"Subject: {shown['subject']}",
        f"Topics:  {audience}",
        *[f"{name}: {value}" for name, value in shown["headers"].items()],
        "(each member's unsubscribe and pause links carry their own tokens where [...] is shown)",
        "", rule, "Text part, as members get it", rule, shown["text"].rstrip(),
        "", rule, "HTML part, as text (links as \"text (url)\")"
        + ("" if promotion.html is not None else "; the partner sent no HTML: it is the text"),
        rule, html_text, "", rule,
        "Footer members get (ends the text part above; the HTML part says the same, as links)",
        rule, shown["footer"]]
    if shown["links"]:
        lines += ["", rule, "Links: each goes through its /r/ address (the same for every "
                  "member; a click is counted, not who clicked)", rule,
                  *(f"{link['link']:>3}. {link['target']}\n     {link['url']}"
                    for link in shown["links"])]
    for other in others:
        lines += ["", rule, f"Variant {other['variant']}: subject and text part", rule,
                  f"Subject: {other['subject']}", other["text"].rstrip()]
    lines += ["", rule, "Engagement (figures below K read <K; a breakdown is withheld (-) "
              "until each of its figures reaches K)", rule, *_engagement_lines(engagement)]
    out.result(data, "\n".join(lines))


def _with_targets(html_text: str, links: list) -> str:
    """The HTML part as text, each link written with the target it leads to (its /r/ address
    is listed under Links)."""
    for link in links:
        html_text = html_text.replace(link["url"], link["target"])
    return html_text


def _engagement_lines(engagement: dict) -> list:
    def cell(value):
        return "-" if value is None else str(value)

    lines = [f"clicks: {cell(engagement['clicks'])}"]
    lines += [f"  link {link['link']}: {cell(link['clicks'])} clicks  {link['url']}"
              for link in engagement["links"]]
    for variant in engagement["variants"]:
        lines.append(f"variant {variant['variant']}: {cell(variant['delivered'])} delivered, "
                     f"{cell(variant['clicks'])} clicks  ({variant['subject']})")
    winner = engagement["winner"]
    if winner:
        lines.append(f"winner: variant {winner['variant']} "
                     f"({winner['clicks_per_delivered']} clicks per delivered message)")
    elif engagement["winner_status"] != "no_variants":
        lines.append("winner: " + {"waiting": "not yet (every variant needs K recipients and K "
                                              "clicks)", "tie": "none: a tie"}[
            engagement["winner_status"]])
    return lines


def _forecast(out: Output, promotion_id: str) -> dict:
    """Announce, before anything is sent, a promotion larger than the SES quota allows now."""
    found = promotions.forecast(promotion_id)
    warning = found.warning()
    if warning:
        out.progress(f"warning: {warning}")
    return {"audience": found.audience, "quota_remaining": found.remaining,
            "quota_per_24_hours": found.max_24_hour_send, "fits_in_quota": found.fits,
            "finishes_at": iso(found.finishes_at), "warning": warning}


def _send(out: Output, promotion_id: str) -> dict:
    forecast = _forecast(out, promotion_id)
    where = "the send queue" if get_settings().send_queue else "SES (in-process)"
    batches = promotions.dispatch(
        promotion_id, progress=lambda n: out.progress(f"{n} batch(es) handed to {where}"))
    return _promotion_row(promotions.get(promotion_id)) | {"batches": batches,
                                                           "forecast": forecast}


def _sent_line(row: dict) -> str:
    line = f"{row['batches']} batch(es), {row['delivered']} delivered, {row['skipped']} skipped"
    if row["status"] == "paused":
        line += f"; {status_text(row)}"
    return line


def _audit(action: str, promotion_id: str, **detail) -> None:
    from chalicelib import operators

    operators.record(_cli_actor(), action, target=promotion_id, detail=detail or None)


@promotions_group.command("approve")
@click.argument("promotion_id")
@click.pass_obj
def promotions_approve(out: Output, promotion_id):
    """Approve a pending (or scheduled) promotion and send it now to the members who may
    receive it."""
    promotions.approve(promotion_id)
    _audit("promotion_approved", promotion_id)
    row = _send(out, promotion_id)
    out.result(row, f"approved {promotion_id}: {_sent_line(row)}")


def _utc_time(value: str):
    """``2026-12-01T09:00Z`` or ``2026-12-01 09:00`` (UTC) as an aware datetime."""
    from datetime import datetime, timezone

    text = value.strip().replace(" ", "T")
    if text.endswith(("Z", "z")):
        text = text[:-1]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("Give the time as YYYY-MM-DDTHH:MMZ (UTC), e.g. "
                              "2026-12-01T09:00Z.", field="at") from None
    if moment.tzinfo is not None and moment.utcoffset():
        raise ValidationError("Give the time in UTC (ending in Z).", field="at")
    return moment.replace(tzinfo=timezone.utc)


@promotions_group.command("schedule")
@click.argument("promotion_id")
@click.option("--at", "send_at", required=True,
              help="When sending starts, in UTC: YYYY-MM-DDTHH:MMZ (10 minutes to 90 days ahead).")
@click.pass_obj
def promotions_schedule(out: Output, promotion_id, send_at):
    """Approve a pending promotion to be sent at a later time (or move a scheduled one's
    time); the stage's sweeper starts it when the time comes."""
    moment = promotions.check_send_at(_utc_time(send_at), clock.now())
    forecast = _forecast(out, promotion_id)
    promotion = promotions.schedule(promotion_id, moment)
    _audit("promotion_scheduled", promotion_id, send_at=iso(promotion.send_at))
    row = _promotion_row(promotion) | {"forecast": forecast}
    out.result(row, f"scheduled {promotion_id}: {status_text(row)}")


@promotions_group.command("reject")
@click.argument("promotion_id")
@click.option("--reason", default=None,
              help="Why, in a sentence the partner reads with the promotion's status.")
@click.pass_obj
def promotions_reject(out: Output, promotion_id, reason):
    """Reject a pending (or scheduled) promotion; nothing is sent."""
    promotion = promotions.reject(promotion_id, reason=reason)
    row = _promotion_row(promotion)
    _audit("promotion_rejected", promotion_id,
           **({"reason": promotion.review_reason} if promotion.review_reason else {}))
    out.result(row | {"status": "rejected"}, f"rejected {promotion_id}")


@click.group("offers")
def offers_group():
    """eSO's own offers to members who keep "Contact me with special offers and services"."""


@offers_group.command("send")
@click.option("--subject", required=True)
@click.option("--text", required=True, help="The plain-text body.")
@click.option("--html", help="An HTML body (optional).")
@click.option("--variants", "variants_file", type=click.File("r", encoding="utf-8"),
              help='A JSON file of 2-3 A/B variants, e.g. [{"subject": "…"}, {"subject": "…"}]: '
                   "members are split evenly between them.")
@click.pass_obj
def offers_send(out: Output, subject, text, html, variants_file):
    """Send an offer now to every verified member who consents to offers."""
    variants = None
    if variants_file is not None:
        try:
            variants = json.load(variants_file)
        except ValueError:
            raise ValidationError("The variants file is not JSON: give a list of 2-3 objects "
                                  "with a subject, text and/or html.", field="variants") from None
    promotion = promotions.create(OFFER, subject, text, html, variants=variants)
    row = _send(out, promotion.promotion_id)
    out.result({"promotion_id": promotion.promotion_id} | row,
               f"offer {promotion.promotion_id}: {_sent_line(row)}")


@promotions_group.command("reconcile")
@click.pass_obj
def promotions_reconcile(out: Output):
    """Start the scheduled promotions whose time came (and approvals whose start was lost),
    resume promotions paused for the SES
    daily quota once it allows, and settle claims a dead worker left over an hour ago (the
    stage's schedule does all three every 5 minutes)."""
    started = promotions.start_due() + promotions.restart_lost()
    resumed = promotions.resume_due()
    settled = promotions.reconcile_claims()
    out.result({"started": started, "resumed": resumed, "confirmed": settled.confirmed,
                "resent": settled.resent, "failed": settled.failed},
               f"started {len(started)} scheduled promotion(s)"
               + "".join(f"\n  {p}" for p in started)
               + f"\nresumed {len(resumed)} promotion(s)" + "".join(f"\n  {p}" for p in resumed)
               + f"\nclaims settled: {settled.confirmed} confirmed sent by SES events, "
                 f"{settled.resent} sent again, {settled.failed} given up as failed")


# --- topics --------------------------------------------------------------------------------------


@click.group("topics")
def topics_group():
    """Topics of partner promotions: members choose among them, promotions name them."""


@topics_group.command("add")
@click.option("--name", required=True, help="The topic's name, as members see it (1-40 "
              "characters); its id is made from it.")
@click.pass_obj
def topics_add(out: Output, name):
    """Declare a topic (on for every member who takes partner promotions, until they turn it
    off)."""
    topic = members.topics.add_topic(name)
    out.result(topic.as_record(),
               f"topic {topic.topic_id} added ({topic.name}): partners name it in a promotion's "
               f"topics; members who take partner promotions have it on until they turn it off")


@topics_group.command("list")
@click.pass_obj
def topics_list(out: Output):
    """Every topic, by name."""
    found = members.topics.list_topics()
    text = table(["topic", "name", "added (UTC)"],
                 [[t.topic_id, t.name, _day(t.created_at)] for t in found],
                 empty="no topics: partner promotions go to every member who takes them")
    out.result({"topics": [t.as_record() for t in found]}, text)


# --- ad slots ------------------------------------------------------------------------------------


@click.group("slots")
def slots_group():
    """Ad slots: the places pages and widgets show ads (home always exists)."""


@slots_group.command("add")
@click.option("--name", required=True,
              help="The slot's name: 1-32 lower-case letters, digits, '-' or '_'.")
@click.option("--description", default=None, help="Where it is shown (for operators).")
@click.pass_obj
def slots_add(out: Output, name, description):
    """Declare a slot, so ads can be added to it and served from it."""
    slot = ad_service.declare_slot(name, description)
    out.result(slot.as_record(),
               f"slot {slot.slot} declared: add ads with `ads add --slot {slot.slot} …`; "
               f"pages and widgets ask /api/v1/ads/next?slot={slot.slot}")


@slots_group.command("list")
@click.pass_obj
def slots_list(out: Output):
    """Every slot with its number of ads (also slots that hold ads but are not declared)."""
    slots = ad_service.list_slots()
    found = ad_service.list_ads()
    total = Counter(ad.slot for ad in found)
    active = Counter(ad.slot for ad in found if ad.active)
    records = [s.as_record() | {"declared": True} for s in slots]
    declared = {s.slot for s in slots}
    # Ads in a slot nobody declared (added before slots were declared) are never served.
    records += [{"slot": name, "description": None, "built_in": False, "declared": False,
                 "created_at": None} for name in sorted(set(total) - declared)]
    for record in records:
        record |= {"ads": total[record["slot"]], "active_ads": active[record["slot"]]}
    text = table(
        ["slot", "ads", "active", "declared", "description"],
        [[r["slot"], r["ads"], r["active_ads"],
          "built in" if r["built_in"] else "yes" if r["declared"] else "NO: not served",
          r["description"]] for r in records],
        right=("ads", "active"), limits={"description": 60})
    out.result({"slots": records}, text)


# --- ads -----------------------------------------------------------------------------------------


@click.group("ads")
def ads_group():
    """Ads in the declared slots."""


def _slot_hint(exc: ValidationError, slot: str) -> ValidationError:
    if exc.code != "unknown_slot":
        return exc
    return ValidationError(f"{exc.message} (declare it first: slots add --name {slot})",
                           code=exc.code, field=exc.field)


def _time_or_clear(text, name):
    """An option's time: None when not given, "" → clear, else ISO 8601."""
    if text is None:
        return None
    return "" if text == "" else ad_service.parse_time(text, name)


@ads_group.command("add")
@click.option("--slot", required=True, help="A declared slot (see `slots list`), e.g. home.")
@click.option("--title", required=True)
@click.option("--target-url", required=True, help="Where a click goes (http/https).")
@click.option("--body", default=None, help="A line of text under the title.")
@click.option("--image-url", default=None, help="An image (https) shown beside the text.")
@click.option("--partner", "partner_id", default=None,
              help="The owning partner: clicks then go through its referral route.")
@click.option("--weight", type=int, default=1, show_default=True,
              help="Relative chance among equally fresh ads.")
@click.option("--frequency-cap", type=int, default=5, show_default=True,
              help="Times one visitor may see it in 24 hours.")
@click.option("--starts-at", "--start", "start", default=None,
              help="ISO 8601 date/time it starts (UTC if no zone).")
@click.option("--ends-at", "--end", "end", default=None,
              help="ISO 8601 date/time it ends (UTC if no zone).")
@click.pass_obj
def ads_add(out: Output, slot, title, target_url, body, image_url, partner_id, weight,
            frequency_cap, start, end):
    """Add an ad to a declared slot."""
    try:
        ad = ad_service.create_ad(
            slot=slot, title=title, target_url=target_url, body=body, image_url=image_url,
            partner_id=partner_id, weight=weight, frequency_cap=frequency_cap,
            starts_at=ad_service.parse_time(start, "start") if start else None,
            ends_at=ad_service.parse_time(end, "end") if end else None)
    except ValidationError as exc:
        raise _slot_hint(exc, slot) from None
    out.result({"ad_id": ad.ad_id}, f"ad {ad.ad_id} added to slot {ad.slot}")


@ads_group.command("list")
@click.option("--slot", default=None, help="Only this slot's ads.")
@click.pass_obj
def ads_list(out: Output, slot):
    """List ads (active or not)."""
    found = ad_service.list_ads(slot)
    now_ms = int(clock.now().timestamp() * 1000)
    text = table(
        ["ad", "slot", "status", "weight", "cap", "partner", "starts (UTC)", "ends (UTC)",
         "title"],
        [[ad.ad_id, ad.slot, ad.state(now_ms), ad.weight, ad.frequency_cap,
          ad.partner_id, _day(ad.starts_at), _day(ad.ends_at), ad.title] for ad in found],
        right=("weight", "cap"), limits={"title": 60}, empty="no ads")
    out.result({"ads": [ad.as_record() for ad in found]}, text)


def _record_lines(record: dict) -> str:
    """One "name  value" line per field, names padded to the longest."""
    pad = max(len(name) for name in record)
    return "\n".join(f"  {name:<{pad}}  {'-' if value is None else value}"
                     for name, value in record.items())


@ads_group.command("edit")
@click.argument("ad_id")
@click.option("--title", default=None)
@click.option("--body", default=None, help='A line of text under the title ("" removes it).')
@click.option("--target-url", default=None, help="Where a click goes (http/https).")
@click.option("--image-url", default=None, help='An image (https) ("" removes it).')
@click.option("--weight", type=int, default=None, help="Relative chance, 1-1000.")
@click.option("--frequency-cap", type=int, default=None,
              help="Times one visitor may see it in 24 hours, 1-50.")
@click.option("--starts-at", "--start", "start", default=None,
              help='ISO 8601 date/time it starts ("" removes the start).')
@click.option("--ends-at", "--end", "end", default=None,
              help='ISO 8601 date/time it ends ("" removes the end).')
@click.option("--slot", default=None, help="Move it to another declared slot.")
@click.pass_obj
def ads_edit(out: Output, ad_id, title, body, target_url, image_url, weight, frequency_cap,
             start, end, slot):
    """Change only the given fields of an ad (checked as for a new one)."""
    given = {"title": title, "body": body, "target_url": target_url, "image_url": image_url,
             "weight": weight, "frequency_cap": frequency_cap,
             "starts_at": _time_or_clear(start, "start"), "ends_at": _time_or_clear(end, "end"),
             "slot": slot}
    clearable = ("body", "image_url", "starts_at", "ends_at")
    changes = {name: (None if value == "" and name in clearable else value)
               for name, value in given.items() if value is not None}
    try:
        ad, changed = ad_service.edit_ad(ad_id, **changes)
    except ValidationError as exc:
        raise _slot_hint(exc, slot) from None
    record = ad.as_record()
    out.result(record | {"changed": changed},
               f"ad {ad.ad_id}: changed {', '.join(changed)} (serving follows within 30 s)\n"
               + _record_lines(record))


@ads_group.command("disable")
@click.argument("ad_id")
@click.pass_obj
def ads_disable(out: Output, ad_id):
    """Stop showing an ad and stop redirecting its clicks."""
    ad = ad_service.disable_ad(ad_id)
    out.result({"ad_id": ad.ad_id, "active": ad.active}, f"ad {ad.ad_id} disabled")


@ads_group.command("enable")
@click.argument("ad_id")
@click.pass_obj
def ads_enable(out: Output, ad_id):
    """Show a disabled ad again (its clicks redirect again)."""
    ad = ad_service.enable_ad(ad_id)
    out.result({"ad_id": ad.ad_id, "active": ad.active},
               f"ad {ad.ad_id} enabled (serving follows within 30 s)")


# --- partners ------------------------------------------------------------------------------------


@click.group("partners")
def partners_group():
    """Marketing partners, their API keys, and the notices that tell them of opt-outs."""


def _key_text(partner_id: str, api_key: str, what: str) -> str:
    return (f"partner {partner_id} {what}\n"
            f"API key (shown once, store it now): {api_key}")


@partners_group.command("add")
@click.option("--name", required=True, help="The partner's name, as members see it.")
@click.option("--landing-url", required=True, help="https:// page referrals are sent to.")
@click.option("--privacy-policy-url", help="https:// page of the partner's privacy policy.")
@click.option("--contact-email", help="Where members' messages to the partner go.")
@click.option("--description", help="One line members see on the partner's offer.")
@click.option("--id", "partner_id", help="A chosen partner id (default: a random one).")
@click.pass_obj
def partners_add(out: Output, name, landing_url, privacy_policy_url, contact_email, description,
                 partner_id):
    """Register a partner; prints its id and API key (shown once)."""
    new = partner_service.create(name, landing_url, privacy_policy_url=privacy_policy_url,
                                 contact_email=contact_email, description=description,
                                 partner_id=partner_id)
    text = _key_text(new.partner_id, new.api_key, "created")
    if not privacy_policy_url:
        text += "\nnote: without a privacy-policy URL the partner is not shown to members"
    out.result({"partner_id": new.partner_id, "api_key": new.api_key}, text)


@partners_group.command("edit")
@click.argument("partner_id")
@click.option("--name", default=None, help="The partner's name, as members see it.")
@click.option("--landing-url", default=None, help="https:// page referrals are sent to.")
@click.option("--privacy-policy-url", default=None,
              help='https:// page of its privacy policy ("" removes it: then not shown to members).')
@click.option("--contact-email", default=None,
              help='Where members\' messages go ("" removes it).')
@click.option("--description", default=None, help='One line members see ("" removes it).')
@click.pass_obj
def partners_edit(out: Output, partner_id, name, landing_url, privacy_policy_url, contact_email,
                  description):
    """Change only the given fields of a partner (checked as for a new one)."""
    given = {"name": name, "landing_url": landing_url, "privacy_policy_url": privacy_policy_url,
             "contact_email": contact_email, "description": description}
    clearable = ("privacy_policy_url", "contact_email", "description")
    changes = {field: (None if value == "" and field in clearable else value)
               for field, value in given.items() if value is not None}
    partner, changed = partner_service.edit(partner_id, **changes)
    record = partner_service.partner_json(partner)
    text = f"partner {partner.partner_id}: changed {', '.join(changed)}\n" + _record_lines(record)
    if not partner.privacy_policy_url:
        text += "\nnote: without a privacy-policy URL the partner is not shown to members"
    out.result(record | {"changed": changed}, text)


@partners_group.command("rotate-key")
@click.argument("partner_id")
@click.pass_obj
def partners_rotate_key(out: Output, partner_id):
    """Issue a new API key; the old one stops working at once."""
    new = partner_service.rotate_key(partner_id)
    out.result({"partner_id": new.partner_id, "api_key": new.api_key},
               _key_text(new.partner_id, new.api_key, "has a new key; the old one no longer works"))


@partners_group.command("disable")
@click.argument("partner_id")
@click.pass_obj
def partners_disable(out: Output, partner_id):
    """Disable a partner: its key, referral link and offer stop at once."""
    partner = partner_service.disable(partner_id)
    out.result({"partner_id": partner.partner_id, "status": partner.status},
               f"partner {partner.partner_id} disabled")


@partners_group.command("enable")
@click.argument("partner_id")
@click.pass_obj
def partners_enable(out: Output, partner_id):
    """Enable a disabled partner again, with a new API key (shown once; the old key stays dead)."""
    new = partner_service.enable(partner_id)
    if new is None:
        out.result({"partner_id": partner_id, "status": "active", "api_key": None},
                   f"partner {partner_id} is already active; its key is unchanged")
        return
    out.result({"partner_id": new.partner_id, "status": "active", "api_key": new.api_key},
               _key_text(new.partner_id, new.api_key,
                         "enabled: its referral link and offer work again"))


@partners_group.command("notify")
@click.pass_obj
def partners_notify(out: Output):
    """Tell partners of members' opt-outs now: waiting requests become signed notices, and the
    notices due are POSTed to the partners' webhooks (the stage's schedule does both every 5
    minutes)."""
    out.progress("recording and delivering notices to partners")
    done = partner_service.notices.run()
    out.result(done, f"{done['requests']} opt-out(s) taken, {done['notices_recorded']} notice(s) "
                     f"recorded; delivered: {done['acknowledged']} acknowledged, "
                     f"{done['failed']} failed (tried again later), {done['waiting']} waiting "
                     f"for a partner's webhook")


@partners_group.command("list")
@click.pass_obj
def partners_list(out: Output):
    """Every partner, active or disabled."""
    found = partner_service.list_all()
    text = table(
        ["partner", "status", "created (UTC)", "name", "privacy policy", "contact", "landing url"],
        [[p.partner_id, p.status, _day(p.created_at), p.name,
          "yes" if p.privacy_policy_url else "NO: not shown", p.contact_email, p.landing_url]
         for p in found],
        limits={"name": 30, "contact": 32, "landing url": 60}, empty="no partners")
    out.result({"partners": [partner_service.partner_json(p) for p in found]}, text)
