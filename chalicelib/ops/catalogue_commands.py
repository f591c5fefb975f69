"""Operator commands for what the portal offers: promotions and offers, ads, partners."""
from __future__ import annotations

import click

from chalicelib import ads as ad_service
from chalicelib import partners as partner_service
from chalicelib import promotions
from chalicelib.ops.output import Output
from chalicelib.platform.clock import iso
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import OFFER


@click.group("promotions")
def promotions_group():
    """Partners' promotions: review and send."""


def _promotion_row(promotion) -> dict:
    return {"id": promotion.promotion_id, "kind": promotion.kind, "status": promotion.status,
            "partner_id": promotion.partner_id, "subject": promotion.subject,
            "created_at": iso(promotion.created_at), "delivered": int(promotion.delivered),
            "skipped": int(promotion.skipped), "failed": int(promotion.failed)}


@promotions_group.command("list")
@click.option("--status", type=click.Choice(["pending_review", "approved", "rejected",
                                             "sending", "sent"]))
@click.pass_obj
def promotions_list(out: Output, status):
    """Promotions, newest first."""
    rows = [_promotion_row(p) for p in promotions.list_all(status)]
    lines = [f"{r['id']}  {r['status']:<14} {r['kind']:<7} delivered={r['delivered']:<6} "
             f"{r['subject']}" for r in rows]
    out.result({"promotions": rows}, "\n".join(lines) or "no promotions")


def _send(out: Output, promotion_id: str) -> dict:
    where = "the send queue" if get_settings().send_queue else "SES (in-process)"
    batches = promotions.dispatch(
        promotion_id, progress=lambda n: out.progress(f"{n} batch(es) handed to {where}"))
    return _promotion_row(promotions.get(promotion_id)) | {"batches": batches}


@promotions_group.command("approve")
@click.argument("promotion_id")
@click.pass_obj
def promotions_approve(out: Output, promotion_id):
    """Approve a pending promotion and send it to the members who may receive it."""
    promotions.approve(promotion_id)
    row = _send(out, promotion_id)
    out.result(row, f"approved {promotion_id}: {row['batches']} batch(es), "
                    f"{row['delivered']} delivered, {row['skipped']} skipped")


@promotions_group.command("reject")
@click.argument("promotion_id")
@click.pass_obj
def promotions_reject(out: Output, promotion_id):
    """Reject a pending promotion; nothing is sent."""
    row = _promotion_row(promotions.reject(promotion_id))
    out.result(row | {"status": "rejected"}, f"rejected {promotion_id}")


@click.group("offers")
def offers_group():
    """eSO's own offers to members who keep "Contact me with special offers and services"."""


@offers_group.command("send")
@click.option("--subject", required=True)
@click.option("--text", required=True, help="The plain-text body.")
@click.option("--html", help="An HTML body (optional).")
@click.pass_obj
def offers_send(out: Output, subject, text, html):
    """Send an offer now to every verified member who consents to offers."""
    promotion = promotions.create(OFFER, subject, text, html)
    row = _send(out, promotion.promotion_id)
    out.result({"promotion_id": promotion.promotion_id} | row,
               f"offer {promotion.promotion_id}: {row['batches']} batch(es), "
               f"{row['delivered']} delivered, {row['skipped']} skipped")


@click.group("ads")
def ads_group():
    """Ads and their slots."""


@ads_group.command("add")
@click.option("--slot", required=True, help="Where the ad is shown, e.g. home.")
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
@click.option("--start", default=None, help="ISO 8601 date/time it starts (UTC if no zone).")
@click.option("--end", default=None, help="ISO 8601 date/time it ends (UTC if no zone).")
@click.pass_obj
def ads_add(out: Output, slot, title, target_url, body, image_url, partner_id, weight,
            frequency_cap, start, end):
    """Add an ad to a slot."""
    ad = ad_service.create_ad(
        slot=slot, title=title, target_url=target_url, body=body, image_url=image_url,
        partner_id=partner_id, weight=weight, frequency_cap=frequency_cap,
        starts_at=ad_service.parse_time(start, "start") if start else None,
        ends_at=ad_service.parse_time(end, "end") if end else None)
    out.result({"ad_id": ad.ad_id}, f"ad {ad.ad_id} added to slot {ad.slot}")


@ads_group.command("list")
@click.option("--slot", default=None, help="Only this slot's ads.")
@click.pass_obj
def ads_list(out: Output, slot):
    """List ads (active or not)."""
    found = ad_service.list_ads(slot)
    lines = [f"{ad.ad_id}  {ad.slot}  {'active' if ad.active else 'disabled'}  "
             f"w={ad.weight} cap={ad.frequency_cap}  {ad.title}" for ad in found]
    out.result({"ads": [ad.as_record() for ad in found]}, "\n".join(lines) or "no ads")


@ads_group.command("disable")
@click.argument("ad_id")
@click.pass_obj
def ads_disable(out: Output, ad_id):
    """Stop showing an ad and stop redirecting its clicks."""
    ad = ad_service.disable_ad(ad_id)
    out.result({"ad_id": ad.ad_id, "active": ad.active}, f"ad {ad.ad_id} disabled")


# --- partners ------------------------------------------------------------------------------------


@click.group("partners")
def partners_group():
    """Marketing partners and their API keys."""


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


@partners_group.command("list")
@click.pass_obj
def partners_list(out: Output):
    """Every partner, active or disabled."""
    found = partner_service.list_all()
    lines = [f"{p.partner_id}  {p.status:<8}  {p.name}  {p.landing_url}" for p in found]
    out.result({"partners": [partner_service.partner_json(p) for p in found]},
               "\n".join(lines) or "no partners")
