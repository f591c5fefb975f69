"""The hand-written IAM policy allows every DynamoDB call the partner paths make, and the
paths make the calls their design promises (no Scan, two calls per transaction report)."""
import fnmatch
import json
from datetime import date

import pytest

from bench.dynamodb_calls import recording
from chalicelib.partners import transactions
from devstack.servers import ROOT
from tests.integration.helpers import PASSWORD, post_json, verified_member
from tests.integration.partner_helpers import bearer, click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")


def allowed(policy: dict, action: str, table: str) -> bool:
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if f"dynamodb:{action}" in actions and any(fnmatch.fnmatchcase(arn, r) for r in resources):
            return True
    return False


def test_every_call_of_the_partner_paths_is_allowed_by_both_stage_policies(client, mailbox):
    partner_id, key = new_partner()
    email, member = verified_member(client, mailbox)
    today = date.today().isoformat()
    with recording() as calls:
        client.http.get("/members", headers=member)
        click_id = click(client, partner_id, member)
        assert report(client, key, order(click_id, "POL-1")).status_code == 201
        assert report(client, key, order(click_id, "POL-1")).status_code == 200
        client.http.get(f"/partner/v1/transactions?from={today}&to={today}", headers=bearer(key))
        client.http.get(f"/partner/v1/reports/daily?from={today}&to={today}", headers=bearer(key))
        post_json(client, "/partner/v1/transactions/POL-1/reverse", {"reason": "r"}, bearer(key))
        assert post_json(client, f"/api/v1/partners/{partner_id}/contact", {"message": "hi"},
                         member).status_code == 202
        client.http.get("/account", headers=member)
        client.http.get("/api/v1/me/export", headers=member)
        client.http.request("DELETE", "/api/v1/me", body=json.dumps({"password": PASSWORD}).encode(),
                            headers={**member, "Content-Type": "application/json"})
    used = {pair for call in calls.calls for pair in call.resources()}
    assert "Scan" not in calls.operations()
    tables = {table for _, table in used}
    assert {"eso-local-partners/index/active-partners", "eso-local-partner-keys",
            "eso-local-referral-clicks", "eso-local-partner-transactions/index/partner-occurred",
            "eso-local-partner-contacts", "eso-local-stats"} <= tables  # the recording saw them
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
        refused = sorted((action, table) for action, table in used
                         if not allowed(policy, action, table.replace("eso-local-", f"eso-{stage}-")))
        assert refused == [], f"policy-{stage}.json lacks {refused}"


def test_a_transaction_report_is_two_dynamodb_calls(client):
    partner_id, _ = new_partner()
    click_id = click(client, partner_id)
    with recording() as calls:
        transactions.report_transaction(partner_id, transactions.Report(click_id, "TWO-1", "5.00", "USD"))
    assert calls.operations() == ["GetItem", "TransactWriteItems"]
