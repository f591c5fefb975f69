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
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD.")
@click.pass_obj
def report(out: Output, start, end):
    """Per-day partner figures (counts below K shown as <K)."""
    from chalicelib import referrals

    first, last = referrals.parse_day_range(start, end)
    rows = referrals.operator_report(first, last)
    lines = ["partner           day         clicks  transactions  reversals  revenue"]
    for partner in rows:
        for day in partner["days"]:
            revenue = ", ".join(f"{v} {c}" for c, v in day["revenue"].items()) or "-"
            lines.append(f"{partner['partner_id']:<16}  {day['date']}  {day['clicks']!s:>6}  "
                         f"{day['transactions']!s:>12}  {day['reversals']!s:>9}  {revenue}")
    out.result({"from": first.isoformat(), "to": last.isoformat(), "partners": rows},
               "\n".join(lines) if rows else "no partners")


if __name__ == "__main__":
    main(prog_name="python -m chalicelib.cli")
