"""The operator CLI: ``python -m chalicelib.cli [--stage local|dev|prod] [--json] COMMAND``.

It calls the same services as the API. ``--stage local`` (the default) targets the local stack
of SPEC §8; ``dev`` and ``prod`` target AWS with that stage's settings from
``.chalice/config.json`` and the operator's own AWS credentials.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from chalicelib.errors import EsoError

CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def load_stage_environment(stage: str) -> None:
    """Apply a stage's environment from .chalice/config.json (what the Lambda function gets)."""
    config = json.loads(CONFIG.read_text())
    if stage not in config["stages"]:
        raise click.UsageError(f"unknown stage {stage!r}")
    variables = {**config.get("environment_variables", {}),
                 **config["stages"][stage].get("environment_variables", {})}
    if stage == "local":
        for name, value in LOCAL_AWS_ENV.items():
            os.environ.setdefault(name, value)
    for name, value in variables.items():
        os.environ.setdefault(name, value)


class Output:
    """Prints either readable lines or, with --json, exactly one JSON object."""

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def result(self, data: dict, text: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, default=str, sort_keys=True))
        else:
            click.echo(text)

    def progress(self, message: str) -> None:
        if not self.as_json:
            click.echo(message, err=True)


class EsoGroup(click.Group):
    """Turns domain errors into one clear line and a non-zero exit."""

    def invoke(self, ctx):
        from chalicelib.db import storage_errors

        try:
            with storage_errors():
                return super().invoke(ctx)
        except EsoError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(1)


def _one_line(exc: EsoError) -> str:
    from chalicelib.errors import UnavailableError
    from chalicelib.settings import get_settings

    if isinstance(exc, UnavailableError):
        endpoint = get_settings().dynamodb_endpoint or "AWS"
        hint = " (is the local stack running? `make run`)" if get_settings().is_local else ""
        return f"DynamoDB at {endpoint} is unreachable or throttling{hint}"
    return exc.message


@click.group(cls=EsoGroup)
@click.option("--stage", type=click.Choice(["local", "dev", "prod"]), default="local",
              show_default=True, help="Which deployment to administer.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def main(ctx, stage, as_json):
    """Operate eSO: tables, demo data, partners, ads, promotions, reports."""
    load_stage_environment(stage)
    ctx.obj = Output(as_json)


@main.group()
def local():
    """The local stack (SPEC §8)."""


@local.command("tables")
@click.pass_obj
def local_tables(out: Output):
    """Create the tables on DynamoDB Local (idempotent)."""
    from chalicelib import tables
    from chalicelib.settings import get_settings

    if not get_settings().is_local:
        raise click.UsageError("local tables only targets the local stack")
    created = tables.create_missing(progress=out.progress)
    out.result({"created": created}, f"tables ready ({len(created)} created)")


@local.command("seed")
@click.pass_obj
def local_seed(out: Output):
    """Load the demo data into the local stack (idempotent)."""
    from chalicelib import demo
    from chalicelib.settings import get_settings

    if not get_settings().is_local:
        raise click.UsageError("local seed only targets the local stack")
    summary = demo.seed(progress=out.progress)
    out.result(summary, "demo data ready: " + ", ".join(f"{k}={v}" for k, v in summary.items()))


@main.group("consent")
def consent_group():
    """Consent records."""


@consent_group.command("verify")
@click.option("--member", "member_ids", multiple=True, help="A member id (repeatable).")
@click.option("--all", "check_all", is_flag=True, help="Every member (reads the whole table).")
@click.pass_obj
def consent_verify(out: Output, member_ids, check_all):
    """Check that consent histories are intact: chain, sequence and current state."""
    from chalicelib import consent
    from chalicelib.models import Member

    if not member_ids and not check_all:
        raise click.UsageError("give --member ID or --all")
    ids = list(member_ids) if not check_all else (m.member_id for m in Member.scan(
        attributes_to_get=["member_id"]))
    checked, problems = 0, []
    for member_id in ids:
        checked += 1
        problems.extend(consent.verify_chain(member_id))
        if checked % 500 == 0:
            out.progress(f"checked {checked} members")
    out.result({"checked": checked, "problems": problems, "intact": not problems},
               "\n".join(problems + [f"checked {checked} member(s): "
                                      f"{'all intact' if not problems else f'{len(problems)} problem(s)'}"]))
    if problems:
        sys.exit(1)


@main.group("promotions")
def promotions_group():
    """Partners' promotions: review and send."""


def _promotion_row(promotion) -> dict:
    return {"id": promotion.promotion_id, "kind": promotion.kind, "status": promotion.status,
            "partner_id": promotion.partner_id, "subject": promotion.subject,
            "created_at": promotion.created_at.isoformat(), "delivered": int(promotion.delivered),
            "skipped": int(promotion.skipped), "failed": int(promotion.failed)}


@promotions_group.command("list")
@click.option("--status", type=click.Choice(["pending_review", "approved", "rejected",
                                             "sending", "sent"]))
@click.pass_obj
def promotions_list(out: Output, status):
    """Promotions, newest first."""
    from chalicelib import promotions

    rows = [_promotion_row(p) for p in promotions.list_all(status)]
    lines = [f"{r['id']}  {r['status']:<14} {r['kind']:<7} delivered={r['delivered']:<6} "
             f"{r['subject']}" for r in rows]
    out.result({"promotions": rows}, "\n".join(lines) or "no promotions")


def _send(out: Output, promotion_id: str) -> dict:
    from chalicelib import promotions
    from chalicelib.settings import get_settings

    where = "the send queue" if get_settings().send_queue else "SES (in-process)"
    batches = promotions.dispatch(
        promotion_id, progress=lambda n: out.progress(f"{n} batch(es) handed to {where}"))
    return _promotion_row(promotions.get(promotion_id)) | {"batches": batches}


@promotions_group.command("approve")
@click.argument("promotion_id")
@click.pass_obj
def promotions_approve(out: Output, promotion_id):
    """Approve a pending promotion and send it to the members who may receive it."""
    from chalicelib import promotions

    promotions.approve(promotion_id)
    row = _send(out, promotion_id)
    out.result(row, f"approved {promotion_id}: {row['batches']} batch(es), "
                    f"{row['delivered']} delivered, {row['skipped']} skipped")


@promotions_group.command("reject")
@click.argument("promotion_id")
@click.pass_obj
def promotions_reject(out: Output, promotion_id):
    """Reject a pending promotion; nothing is sent."""
    from chalicelib import promotions

    row = _promotion_row(promotions.reject(promotion_id))
    out.result(row | {"status": "rejected"}, f"rejected {promotion_id}")


@main.group("offers")
def offers_group():
    """eSO's own offers to members who keep "Contact me with special offers and services"."""


@offers_group.command("send")
@click.option("--subject", required=True)
@click.option("--text", required=True, help="The plain-text body.")
@click.option("--html", help="An HTML body (optional).")
@click.pass_obj
def offers_send(out: Output, subject, text, html):
    """Send an offer now to every verified member who consents to offers."""
    from chalicelib import promotions

    promotion = promotions.create("offer", subject, text, html)
    row = _send(out, promotion.promotion_id)
    out.result({"promotion_id": promotion.promotion_id} | row,
               f"offer {promotion.promotion_id}: {row['batches']} batch(es), "
               f"{row['delivered']} delivered, {row['skipped']} skipped")
@main.group()
def ads():
    """Ads and their slots (SPEC §4)."""


@ads.command("add")
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
    from chalicelib import ads as ad_service

    ad = ad_service.create_ad(
        slot=slot, title=title, target_url=target_url, body=body, image_url=image_url,
        partner_id=partner_id, weight=weight, frequency_cap=frequency_cap,
        starts_at=ad_service.parse_time(start, "start") if start else None,
        ends_at=ad_service.parse_time(end, "end") if end else None)
    out.result({"ad_id": ad.ad_id}, f"ad {ad.ad_id} added to slot {ad.slot}")


@ads.command("list")
@click.option("--slot", default=None, help="Only this slot's ads.")
@click.pass_obj
def ads_list(out: Output, slot):
    """List ads (active or not)."""
    from chalicelib import ads as ad_service

    found = ad_service.list_ads(slot)
    lines = [f"{ad.ad_id}  {ad.slot}  {'active' if ad.active else 'disabled'}  "
             f"w={ad.weight} cap={ad.frequency_cap}  {ad.title}" for ad in found]
    out.result({"ads": [ad.as_record() for ad in found]}, "\n".join(lines) or "no ads")


@ads.command("disable")
@click.argument("ad_id")
@click.pass_obj
def ads_disable(out: Output, ad_id):
    """Stop showing an ad and stop redirecting its clicks."""
    from chalicelib import ads as ad_service

    ad = ad_service.disable_ad(ad_id)
    out.result({"ad_id": ad.ad_id, "active": ad.active}, f"ad {ad.ad_id} disabled")


# --- partners ------------------------------------------------------------------------------------


@main.group()
def partners():
    """Marketing partners and their API keys."""


def _key_text(partner_id: str, api_key: str, what: str) -> str:
    return (f"partner {partner_id} {what}\n"
            f"API key (shown once, store it now): {api_key}")


@partners.command("add")
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
    from chalicelib import partners as service

    new = service.create(name, landing_url, privacy_policy_url=privacy_policy_url,
                         contact_email=contact_email, description=description,
                         partner_id=partner_id)
    text = _key_text(new.partner_id, new.api_key, "created")
    if not privacy_policy_url:
        text += "\nnote: without a privacy-policy URL the partner is not shown to members"
    out.result({"partner_id": new.partner_id, "api_key": new.api_key}, text)


@partners.command("rotate-key")
@click.argument("partner_id")
@click.pass_obj
def partners_rotate_key(out: Output, partner_id):
    """Issue a new API key; the old one stops working at once."""
    from chalicelib import partners as service

    new = service.rotate_key(partner_id)
    out.result({"partner_id": new.partner_id, "api_key": new.api_key},
               _key_text(new.partner_id, new.api_key, "has a new key; the old one no longer works"))


@partners.command("disable")
@click.argument("partner_id")
@click.pass_obj
def partners_disable(out: Output, partner_id):
    """Disable a partner: its key, referral link and offer stop at once."""
    from chalicelib import partners as service

    partner = service.disable(partner_id)
    out.result({"partner_id": partner.partner_id, "status": partner.status},
               f"partner {partner.partner_id} disabled")


@partners.command("list")
@click.pass_obj
def partners_list(out: Output):
    """Every partner, active or disabled."""
    from chalicelib import partners as service

    found = service.list_all()
    lines = [f"{p.partner_id}  {p.status:<8}  {p.name}  {p.landing_url}" for p in found]
    out.result({"partners": [service.partner_json(p) for p in found]},
               "\n".join(lines) or "no partners")


# --- reports -------------------------------------------------------------------------------------


@main.command("report")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (UTC).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (UTC), inclusive.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write a self-contained HTML report with charts to this file.")
@click.pass_obj
def report(out: Output, start, end, html_path):
    """Every daily aggregate figure, per ad and per partner (counts below K shown as <K)."""
    from chalicelib import referrals, reports

    first, last = referrals.parse_day_range(start, end)
    out.progress(f"reading the counters of {(last - first).days + 1} day(s)")
    data = reports.operator_report(first, last)
    text = reports.render_text(data)
    if html_path:
        from chalicelib import report_html

        Path(html_path).write_text(report_html.render(data), encoding="utf-8")
        data = data | {"html": str(html_path)}
        text += f"\n\nHTML report written to {html_path}"
    out.result(data, text)


if __name__ == "__main__":
    main(prog_name="python -m chalicelib.cli")
