"""The operator CLI: ``python -m chalicelib.cli [--stage local|dev|prod] [--json] COMMAND``.

It calls the same services as the API. ``--stage local`` (the default) targets the local stack
(``make run``); ``dev`` and ``prod`` target AWS with that stage's settings from
``.chalice/config.json`` and the operator's own AWS credentials.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from chalicelib.members import consent
from chalicelib.ops import demo, tables
from chalicelib.ops.catalogue_commands import (
    ads_group,
    offers_group,
    partners_group,
    promotions_group,
    slots_group,
    topics_group,
)
from chalicelib.ops.operator_commands import operators_group
from chalicelib.ops.output import Output
from chalicelib.ops.stage_commands import deploy_group, status_command
from chalicelib.partners import transactions
from chalicelib.platform import observability
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import EsoError, UnavailableError
from chalicelib.platform.settings import get_settings
from chalicelib.reporting import html as report_html
from chalicelib.reporting import report as operator_report
from chalicelib.statistics import counters, visits

CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
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


class EsoGroup(click.Group):
    """Turns domain errors into one clear line and a non-zero exit; takes ``--json`` before
    or after the command, with the same meaning."""

    def parse_args(self, ctx, args):
        if "--json" in args[1:]:
            args = ["--json", *[a for a in args if a != "--json"]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            with storage_errors():
                return super().invoke(ctx)
        except EsoError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(1)


def _one_line(exc: EsoError) -> str:
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
    """Operate eSO: tables, demo data, partners, ad slots and ads, promotions and their topics,
    report, and a stage's status."""
    load_stage_environment(stage)
    observability.log_to(sys.stderr)  # stdout holds the result only
    ctx.obj = Output(as_json)


@main.group()
def local():
    """The local stack (what make run starts)."""


@local.command("tables")
@click.pass_obj
def local_tables(out: Output):
    """Create the tables on DynamoDB Local (idempotent)."""
    if not get_settings().is_local:
        raise click.UsageError("local tables only targets the local stack")
    created = tables.create_missing(progress=out.progress)
    indexes = tables.add_missing_indexes(progress=out.progress)
    out.result({"created": created, "indexes_added": indexes},
               f"tables ready ({len(created)} created, {len(indexes)} indexes added)")


@local.command("seed")
@click.pass_obj
def local_seed(out: Output):
    """Load the demo data into the local stack (idempotent)."""
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
    if not member_ids and not check_all:
        raise click.UsageError("give --member ID or --all")
    ids = list(member_ids) if not check_all else consent.all_member_ids()
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


@main.group("stats")
def stats_group():
    """The aggregate statistics' storage."""


@stats_group.command("migrate")
@click.pass_obj
def stats_migrate(out: Output):
    """Move counters and visit sketches written before their shards became partition keys
    (idempotent; reports read both layouts meanwhile, so it can run at any time)."""
    out.progress("moving counters of the old layout")
    moved = counters.migrate_legacy()
    out.progress("moving visit-sketch parts of the old layout")
    parts = visits.migrate_legacy()
    out.result({"counters_moved": moved, "sketch_parts_moved": parts},
               f"moved {moved} counter item(s) and {parts} visit-sketch part(s)")


# --- reports -------------------------------------------------------------------------------------


@main.command("report")
@click.option("--from", "start", required=True, help="First day, YYYY-MM-DD (UTC).")
@click.option("--to", "end", required=True, help="Last day, YYYY-MM-DD (UTC), inclusive.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write a self-contained HTML report with charts to this file.")
@click.pass_obj
def report(out: Output, start, end, html_path):
    """Aggregate figures by day, week and month, per ad and per partner: counts below K read
    <K, and a week or month shows its total where that reveals no hidden day."""
    first, last = transactions.parse_day_range(start, end)
    out.progress(f"reading the counters of {(last - first).days + 1} day(s)")
    data = operator_report.operator_report(first, last)
    text = operator_report.render_text(data)
    if html_path:
        Path(html_path).write_text(report_html.render(data), encoding="utf-8")
        data = data | {"html": str(html_path)}
        text += f"\n\nHTML report written to {html_path}"
    out.result(data, text)


for command in (promotions_group, offers_group, topics_group, slots_group, ads_group,
                partners_group, operators_group, status_command, deploy_group):
    main.add_command(command)


if __name__ == "__main__":
    main(prog_name="python -m chalicelib.cli")
