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


if __name__ == "__main__":
    main(prog_name="python -m chalicelib.cli")
