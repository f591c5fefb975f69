"""The local stack: tables on DynamoDB Local, the CLI, the SES server."""
import json

import boto3

from tests.integration.helpers import cli


def dynamodb(stack):
    return boto3.client("dynamodb", endpoint_url=stack["dynamodb"].url, region_name="us-east-1")


def test_tables_exist_with_their_indexes_and_ttl(stack):
    client = dynamodb(stack)
    names = client.list_tables()["TableNames"]
    for suffix in ("members", "email-claims", "consent-events", "sessions", "tokens", "rate-limits",
                   "stats"):
        assert f"eso-local-{suffix}" in names
    sessions = client.describe_table(TableName="eso-local-sessions")["Table"]
    assert [i["IndexName"] for i in sessions["GlobalSecondaryIndexes"]] == ["member-sessions"]
    ttl = client.describe_time_to_live(TableName="eso-local-sessions")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_cli_local_tables_and_seed_are_idempotent(stack):
    first = cli("--json", "local", "tables")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"created": [], "indexes_added": []}
    for _ in range(2):
        seeded = cli("--json", "local", "seed")
        assert seeded.returncode == 0, seeded.stderr
        json.loads(seeded.stdout)


def test_cli_reports_an_unreachable_dynamodb_in_one_line(stack):
    result = cli("local", "tables", env_extra={"ESO_DYNAMODB_PORT": "1"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "DynamoDB" in result.stderr


def test_the_ses_server_receives_mail_sent_through_sesv2(stack, mailbox):
    from chalicelib.platform.aws import sesv2

    sesv2().send_email(
        FromEmailAddress="no-reply@esmalloffice.example",
        Destination={"ToAddresses": ["stack-check@example.org"]},
        Content={"Simple": {"Subject": {"Data": "stack check"},
                            "Body": {"Text": {"Data": "hello"}}}})
    received = mailbox.wait_for("stack-check@example.org")
    assert received and received[0]["subject"] == "stack check"


def test_seed_creates_a_verified_demo_member_once(stack, mailbox):
    from chalicelib.members.models import EmailClaim, Member
    from chalicelib.ops.demo import DEMO_MEMBER

    assert cli("local", "seed").returncode == 0
    # No confirmation link to a member that is confirmed already (other tests may send the
    # demo member promotions or notices).
    assert [m for m in mailbox.to(DEMO_MEMBER["email"])
            if "/verify?token=" in m["body"]["text"]] == []
    claim = EmailClaim.get(DEMO_MEMBER["email"])
    assert Member.get(claim.member_id).email_verified is True
    assert cli("local", "seed").returncode == 0
    assert len(list(Member.scan(Member.email == DEMO_MEMBER["email"]))) == 1


def test_cli_consent_verify_reports_intact_and_tampered_histories(stack):
    from chalicelib.members.models import ConsentEvent, EmailClaim
    from chalicelib.ops.demo import DEMO_MEMBER

    cli("local", "seed")
    member_id = EmailClaim.get(DEMO_MEMBER["email"]).member_id
    ok = cli("--json", "consent", "verify", "--member", member_id)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"checked": 1, "problems": [], "intact": True}
    event = list(ConsentEvent.query(member_id))[-1]
    event.update(actions=[ConsentEvent.source.set("preference_center")])
    bad = cli("consent", "verify", "--member", member_id)
    assert bad.returncode == 1
    assert "does not match the chain" in bad.stdout
    event.update(actions=[ConsentEvent.source.set("registration")])
    assert cli("consent", "verify", "--all").returncode == 0


def test_json_is_accepted_before_or_after_the_command(stack):
    before = cli("--json", "partners", "add", "--name", "Json Before",
                 "--landing-url", "https://before.example/")
    after = cli("partners", "add", "--name", "Json After",
                "--landing-url", "https://after.example/", "--json")
    for result in (before, after):
        assert result.returncode == 0, result.stderr
        assert set(json.loads(result.stdout)) == {"partner_id", "api_key"}


def test_seed_points_an_older_demo_partner_at_the_local_demo_pages(stack):
    from chalicelib import partners
    from chalicelib.ops import demo

    demo.seed()
    partners.edit(demo.DEMO_PARTNER_ID, landing_url="https://shop.demo-partner.example/welcome")
    demo.seed()
    landing = partners.get(demo.DEMO_PARTNER_ID).landing_url
    assert landing == (f"http://127.0.0.1:{stack['env']['ESO_APP_PORT']}"
                       "/_local/demo-partner/welcome?src=eso")
