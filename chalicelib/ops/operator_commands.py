"""``operators add | list | disable``: operator accounts of the console at /admin.

The command line is where operators begin: it needs the stage's AWS credentials, which the
console never has. Each command is written to the audit log as the actor ``cli``.
"""
from __future__ import annotations

import getpass

import click

from chalicelib import operators
from chalicelib.ops.output import Output, table


def _cli_actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


@click.group("operators")
def operators_group():
    """Operator accounts of the console at /admin."""


@operators_group.command("add")
@click.option("--email", required=True, help="The operator's e-mail address.")
@click.pass_obj
def operators_add(out: Output, email):
    """Add an operator (or a pending one's new link): prints a one-time set-up link, valid
    24 hours. Give it to the operator yourself; it is not e-mailed."""
    added = operators.add(email)
    operators.record(_cli_actor(), "operator_added", target=added["operator_id"],
                     detail={"email": operators.get_operator(added["operator_id"]).email})
    out.result(added, f"operator {added['operator_id']}\n"
                      f"set-up link (valid 24 hours, works once):\n{added['setup_url']}")


@operators_group.command("list")
@click.pass_obj
def operators_list(out: Output):
    """Every operator with its status: active, pending (set-up not finished) or disabled."""
    found = operators.list_all()
    out.result({"operators": [{k: o[k] for k in ("operator_id", "email", "status")}
                              for o in found]},
               table(["operator", "email", "status", "second factors"],
                     [[o["operator_id"], o["email"], o["status"],
                       ", ".join(o["second_factors"])] for o in found],
                     empty="no operators yet: operators add --email E"))


@operators_group.command("disable")
@click.argument("operator_id")
@click.pass_obj
def operators_disable(out: Output, operator_id):
    """Disable an operator: it cannot sign in any more and its sessions end now."""
    done = operators.disable(operator_id)
    operators.record(_cli_actor(), "operator_disabled", target=operator_id,
                     detail={"email": done["email"]})
    out.result({k: done[k] for k in ("operator_id", "status", "sessions_ended")},
               f"operator {operator_id} disabled; {done['sessions_ended']} session(s) ended")
