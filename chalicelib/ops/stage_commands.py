"""Operator commands about a stage as deployed: is it well, and the step that completes
``chalice deploy``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chalicelib.ops import infra
from chalicelib.ops import status as stage_status
from chalicelib.ops.output import Output
from chalicelib.platform import monitoring
from chalicelib.platform.errors import NotFoundError
from chalicelib.platform.settings import get_settings

PROJECT = Path(__file__).resolve().parents[2]


@click.command("status")
@click.pass_obj
def status_command(out: Output):
    """Alarms, queue depths, alarm e-mail, the SES account and sending domain; exit 1 on a
    problem."""
    status = stage_status.stage_status()
    out.result(status, stage_status.render_text(status))
    if status["problems"]:
        sys.exit(1)


@click.group("deploy")
def deploy_group():
    """Steps of a deployment that the Chalice CLI does not take."""


@deploy_group.command("gateway-responses")
@click.pass_obj
def deploy_gateway_responses(out: Output):
    """After `chalice deploy`: give the stage's REST API the gateway responses of
    infra/api.yaml (an unknown path answers eSO's 404) and redeploy its API stage."""
    settings = get_settings()
    responses = infra.gateway_responses()
    types = [r["ResponseType"] for r in responses]
    if settings.is_local:
        out.result({"stage": settings.stage, "rest_api_id": None, "api_stage": None,
                    "responses": types, "applied": False},
                   "nothing to do on the local stack: its app server answers with the gateway "
                   "responses of infra/api.yaml itself")
        return
    rest_api_id, api_stage = _deployed_rest_api(settings.stage)
    monitoring.put_gateway_responses(rest_api_id, responses, api_stage)
    out.result({"stage": settings.stage, "rest_api_id": rest_api_id, "api_stage": api_stage,
                "responses": types, "applied": True},
               f"REST API {rest_api_id}: {len(types)} gateway responses ({', '.join(types)}), "
               f"stage {api_stage!r} redeployed")


# The functions of the app by their name in .chalice/config.json; `chalice deploy` names the
# API's function after the app and stage alone.
FUNCTIONS = ("api_handler", "send_worker", "ses_events")


@deploy_group.command("log-retention")
@click.pass_obj
def deploy_log_retention(out: Output):
    """After `chalice deploy`: keep each function's logs as long as .chalice/config.json says
    (Chalice sets it on its workers' log groups but names the API function's group wrongly)."""
    settings = get_settings()
    groups = log_retention(settings.stage)
    if settings.is_local:
        out.result({"stage": settings.stage, "log_groups": groups, "applied": False},
                   "nothing to do on the local stack: its logs are files under .local/logs/")
        return
    for name, days in groups.items():
        monitoring.keep_logs(name, days)
    out.result({"stage": settings.stage, "log_groups": groups, "applied": True},
               "\n".join(f"{name}: kept {days} days" for name, days in groups.items()))


def log_retention(stage: str) -> dict:
    """{log group: days} of every function of ``stage``, from .chalice/config.json."""
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    app, stage_config = config["app_name"], config["stages"].get(stage, {})
    groups = {}
    for function in FUNCTIONS:
        chain = [stage_config.get("lambda_functions", {}).get(function, {}), stage_config,
                 config.get("lambda_functions", {}).get(function, {}), config]
        days = next((level["log_retention_in_days"] for level in chain
                     if "log_retention_in_days" in level), None)
        name = f"{app}-{stage}" if function == "api_handler" else f"{app}-{stage}-{function}"
        if days:
            groups[f"/aws/lambda/{name}"] = days
    return groups


def _deployed_rest_api(stage: str) -> tuple:
    """The REST API that `chalice deploy` recorded for the stage, and its API Gateway stage."""
    record = PROJECT / ".chalice" / "deployed" / f"{stage}.json"
    if not record.exists():
        raise NotFoundError(f"no `chalice deploy --stage {stage}` recorded in "
                            f"{record.relative_to(PROJECT)}: run it first, from this directory "
                            f"(a stage deployed with `chalice package` has its gateway "
                            f"responses in its template already)")
    resources = json.loads(record.read_text()).get("resources", [])
    rest_api = next((r for r in resources if r.get("resource_type") == "rest_api"), None)
    if rest_api is None:
        raise NotFoundError(f"{record.relative_to(PROJECT)} records no REST API")
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    api_stage = (config["stages"][stage].get("api_gateway_stage")
                 or config.get("api_gateway_stage") or "api")
    return rest_api["rest_api_id"], api_stage
