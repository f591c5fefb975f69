"""Least privilege, derived from the code: every route and event handler of the Lambda
function is exercised against the local servers while every AWS call is recorded; the IAM
actions and resources those calls need are then compared with .chalice/policy-<stage>.json
in both directions — nothing missing, nothing extra — and every resource is the stage's own."""
import contextlib
import fnmatch
import json
import re
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote, urlencode

import pyotp
import pytest

from app import app
from chalicelib import members, promotions
from chalicelib.members.models import EmailClaim
from chalicelib.platform import mail
from chalicelib.promotions.models import Delivery, Promotion
from chalicelib.web import middleware
from chalicelib.web.cookies import VISITOR_COOKIE
from devstack.servers import ROOT
from tests.integration.helpers import PASSWORD, cookie_value, new_email, post_json, token_from
from tests.integration.partner_helpers import bearer, click, new_partner, order, report
from tests.integration.webauthn_helpers import SoftAuthenticator

pytestmark = pytest.mark.usefixtures("stack")

# Needed by the Lambda runtime, not by calls the code makes: CloudWatch Logs for its output,
# the SQS event source mapping that feeds send_worker, and SSM for the stage's signing key
# (the local stage has the key inline, so no SSM call is recorded here).
_EVERY = {("logs:CreateLogGroup", "logs"), ("logs:CreateLogStream", "logs"),
          ("logs:PutLogEvents", "logs"), ("ssm:GetParameter", "parameter")}
RUNTIME = {
    "api_handler": _EVERY,
    # The sweeper (same role) plans resumed promotions into the queue on AWS: locally it
    # sends in-process, so GetQueueUrl and SendMessage are not recorded here.
    "send_worker": _EVERY | {("sqs:ReceiveMessage", "eso-sends"), ("sqs:DeleteMessage", "eso-sends"),
                             ("sqs:GetQueueAttributes", "eso-sends"),
                             ("sqs:GetQueueUrl", "eso-sends"), ("sqs:SendMessage", "eso-sends")},
    "ses_events": _EVERY,
}
# Each Lambda function has its own role and policy file (.chalice/config.json lambda_functions).
POLICY_FILES = {"api_handler": "policy-{stage}.json",
                "send_worker": "policy-{stage}-send-worker.json",
                "ses_events": "policy-{stage}-ses-events.json"}
# Reachable from the Lambda but only under conditions a journey cannot wait for; each is
# exercised by its own test: a session seen again after 5 minutes is refreshed
# (test_members: idle timeouts), and claims SES refused under throttling are released
# (test_promotions: throttling).
RARE = {"api_handler": {("dynamodb:UpdateItem", "eso-local-sessions")},
        "send_worker": {("dynamodb:DeleteItem", "eso-local-deliveries")},
        "ses_events": set()}


class Recorder:
    """Every botocore call made while the Lambda function runs (an HTTP request through the app,
    or an event handler inside ``lambda_scope()``); the tests' own operator set-up is not
    recorded."""

    def __init__(self):
        self.calls = []
        self.functions = []

    @contextlib.contextmanager
    def lambda_scope(self, function: str = "api_handler"):
        self.functions.append(function)
        try:
            yield
        finally:
            self.functions.pop()

    def __enter__(self):
        from botocore.client import BaseClient

        self._original = original = BaseClient._make_api_call
        calls, recorder = self.calls, self

        def recording(client, operation, params):
            if recorder.functions:
                calls.append((recorder.functions[-1], client.meta.service_model.service_name,
                              operation, dict(params)))
            return original(client, operation, params)

        BaseClient._make_api_call = recording
        return self

    def __exit__(self, *exc):
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original


def needs(service, operation, params):
    """The (IAM action, resource) pairs one recorded call needs, resources as short names."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
            return {(f"dynamodb:{kinds[k]}", item[k]["TableName"])
                    for item in params["TransactItems"] for k in kinds if k in item}
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return {(f"dynamodb:{operation}", table) for table in params["RequestItems"]}
        table = params["TableName"]
        if params.get("IndexName"):
            table = f"{table}/index/{params['IndexName']}"
        return {(f"dynamodb:{operation}", table)}
    if service == "sesv2" and operation == "GetAccount":
        return {("ses:GetAccount", "*")}  # an account-wide read: SES has no resource for it
    if service == "sesv2":
        # On AWS stages every send names the stage's configuration set.
        pairs = ({(f"ses:{operation}", "identity"), (f"ses:{operation}", "configuration-set/eso-local")}
                 if operation.startswith("Send") else set())
        template = (params.get("DefaultContent", {}).get("Template", {}).get("TemplateName")
                    or params.get("TemplateName"))
        if template:
            pairs.add((f"ses:{operation}", f"template/{template}"))
        return pairs
    return {(f"{service}:{operation}", "?")}


def _arn(stage, resource):
    if resource == "*":
        return "*"
    if resource == "identity":
        return "arn:aws:ses:us-east-1:123456789012:identity/esmalloffice.example"
    if resource.startswith(("template/", "configuration-set/")):
        return "arn:aws:ses:us-east-1:123456789012:" + resource.replace("eso-local", f"eso-{stage}")
    return ("arn:aws:dynamodb:us-east-1:123456789012:table/"
            + resource.replace("eso-local-", f"eso-{stage}-"))


def _statements(policy):
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                yield statement["Sid"], action, resource


def _vid_and_csrf(client, path):
    page = client.http.get(path)
    vid = next(c.split(";")[0].split("=", 1)[1] for c in
               (page.headers["Set-Cookie"] if isinstance(page.headers["Set-Cookie"], list)
                else [page.headers["Set-Cookie"]]) if c.startswith(VISITOR_COOKIE))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode()).group(1)
    return vid, token


def form(client, path, fields, vid, token, session=None, query=""):
    cookie = f"{VISITOR_COOKIE}={vid}" + (f"; __Host-eso_session={session}" if session else "")
    return client.http.post(path + query, body=urlencode({**fields, "csrf_token": token}).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": cookie})


def own_account(client, mailbox, vid, token):
    """A member's own account: sessions, name, password, policy, receipts, address change."""
    from chalicelib.platform.policy import policy_version

    email, password = new_email("iam-own"), PASSWORD
    post_json(client, "/api/v1/members", {"email": email, "password": password,
                                          "consents": {"offers": True, "partner_promotions": True}})
    post_json(client, "/api/v1/members/verify",
              {"token": token_from(mailbox.wait_for(email)[-1], "/verify"), "password": password})

    def sign_in():
        value = cookie_value(post_json(client, "/api/v1/session",
                                       {"email": email, "password": password}))[0]
        return value, {"Cookie": f"__Host-eso_session={value}"}

    def reset_after_undo(new_password):
        """An undo leaves the password unusable until its reset link is used."""
        mail = [m for m in mailbox.to(email) if "/reset-password" in m["body"]["text"]][-1]
        post_json(client, "/api/v1/password-reset/confirm", {
            "token": token_from(mail, "/reset-password"), "password": new_password})
        return new_password

    session, member = sign_in()
    sign_in()
    others = [s for s in client.http.get("/api/v1/me/sessions", headers=member).json_body[
        "sessions"] if not s["current"]]
    client.http.delete(f"/api/v1/me/sessions/{others[0]['id']}", headers=member)
    client.http.delete("/api/v1/me/sessions", headers=member)
    form(client, "/account/sessions/end", {"session_id": "0" * 24}, vid, token, session)
    form(client, "/account/sessions/end-others", {}, vid, token, session)
    post_json(client, "/api/v1/me", {"display_name": "IAM"}, headers=member, method="PATCH")
    form(client, "/account/name", {"display_name": "IAM form"}, vid, token, session)
    client.http.get("/api/v1/me/policy", headers=member)
    post_json(client, "/api/v1/me/policy", {"version": policy_version()}, headers=member)
    form(client, "/account/policy", {"version": policy_version(), "offers": "true"}, vid, token,
         session)
    event_id = client.http.get("/api/v1/me/consents/history", headers=member).json_body[
        "events"][-1]["id"]
    receipt = client.http.get(f"/api/v1/me/consents/history/{event_id}/receipt",
                              headers=member).json_body
    client.http.get(f"/account/receipts/{event_id}", headers=member)
    post_json(client, "/api/v1/consent-receipts/verify", {"receipt": receipt})

    # An address change through the API, undone through the API ...
    moved = new_email("iam-moved")
    post_json(client, "/api/v1/me/email", {"new_email": moved, "password": password},
              headers=member)
    client.http.get("/api/v1/me/export", headers=member)  # lists the open change
    confirm = token_from(mailbox.wait_for(moved)[-1], "/email/confirm")
    client.http.get(f"/email/confirm?token={confirm}")
    post_json(client, "/api/v1/me/email/confirm", {"token": confirm})
    undo = token_from([m for m in mailbox.wait_for(email, count=4)
                       if "/email/undo" in m["body"]["text"]][-1], "/email/undo")
    client.http.get(f"/email/undo?token={undo}")
    post_json(client, "/api/v1/me/email/undo", {"token": undo})
    password = reset_after_undo("owner is back again 7")
    # ... and through the pages.
    session, member = sign_in()
    again = new_email("iam-moved-form")
    form(client, "/account/email", {"new_email": again, "password": password}, vid, token,
         session)
    confirm = token_from(mailbox.wait_for(again)[-1], "/email/confirm")
    form(client, "/email/confirm", {"token": confirm}, vid, token)
    undo = token_from([m for m in mailbox.to(email) if "/email/undo" in m["body"]["text"]][-1],
                      "/email/undo")
    form(client, "/email/undo", {"token": undo}, vid, token)
    password = reset_after_undo("owner is back once more 8")

    session, member = sign_in()
    post_json(client, "/api/v1/me/password", {"current_password": password,
                                              "new_password": "lantern orchard quietly 42"},
              headers=member, method="PUT")
    session, member = cookie_value(post_json(client, "/api/v1/session", {
        "email": email, "password": "lantern orchard quietly 42"}))[0], None
    form(client, "/account/password", {"current_password": "lantern orchard quietly 42",
                                       "new_password": "copper meadow sideways 7"},
         vid, token, session)


def journey(client, mailbox, lambda_scope):
    """Every route and both event handlers, as a member, a visitor and a partner use them."""
    today = date.today().isoformat()
    from chalicelib.platform.assets import asset_url

    for path in ("/", "/privacy", "/healthz", "/api/v1/privacy", "/api/v1/openapi.json",
                 asset_url("site.css"), "/favicon.ico", "/register",
                 "/login", "/contact", "/reset-password", "/verify", "/members", "/account"):
        client.http.get(path)
    from chalicelib import ads

    slot = "iam-" + new_email("x").split("-")[1]
    ads.declare_slot(slot)  # the operator's part: the journey records only the Lambda's calls
    ads.create_ad(slot=slot, title="IAM", target_url="https://example.com/iam")
    first = client.http.get(f"/api/v1/ads/next?slot={slot}")       # a new visitor: no state read
    ad = first.json_body["ad"]
    vid = first.headers["Set-Cookie"].split(";")[0]
    client.http.get(f"/api/v1/ads/next?slot={slot}", headers={"Cookie": vid})  # returning: read
    client.http.get(ad["click_url"])

    vid, token = _vid_and_csrf(client, "/register")
    email = new_email("iam")
    form(client, "/register", {"email": email, "password": PASSWORD, "offers": "on",
                               "partner_promotions": "on"}, vid, token)
    verify_token = token_from(mailbox.wait_for(email)[-1], "/verify")
    client.http.get(f"/verify?token={verify_token}")
    form(client, "/verify", {"token": verify_token, "password": PASSWORD}, vid, token)
    form(client, "/login", {"email": email, "password": PASSWORD}, vid, token)
    session = cookie_value(post_json(client, "/api/v1/session",
                                     {"email": email, "password": PASSWORD}))[0]
    member = {"Cookie": f"__Host-eso_session={session}"}
    for path in ("/members", "/account", "/account/export", "/api/v1/me", "/api/v1/offers",
                 "/api/v1/me/consents/history", "/api/v1/me/export"):
        client.http.get(path, headers=member)
    form(client, "/account/consents", {"purpose": "offers", "granted": "false"}, vid, token, session)
    post_json(client, "/api/v1/me/consents", {"offers": True}, headers=member, method="PUT")

    second = new_email("iam-api")
    post_json(client, "/api/v1/members", {"email": second, "password": PASSWORD,
                                          "consents": {"offers": True, "partner_promotions": True}})
    post_json(client, "/api/v1/members/verify",
              {"token": token_from(mailbox.wait_for(second)[-1], "/verify"), "password": PASSWORD})

    partner_id, key = new_partner("IAM", contact_email="iam-partner@shop.example")
    click(client, partner_id, member)
    client.http.get(f"/partners/{partner_id}/contact", headers={
        "Cookie": f"{VISITOR_COOKIE}={vid}; __Host-eso_session={session}"})
    form(client, f"/partners/{partner_id}/contact", {"message": "Hello", "confirm": "yes"},
         vid, token, session)
    post_json(client, f"/api/v1/partners/{partner_id}/contact", {"message": "Hi"}, headers=member)
    click_id = click(client, partner_id, member)
    report(client, key, order(click_id, "IAM-1"))
    report(client, key, order(click_id, "IAM-1"))
    client.http.get(f"/partner/v1/transactions?from={today}&to={today}", headers=bearer(key))
    client.http.get(f"/partner/v1/reports/daily?from={today}&to={today}", headers=bearer(key))
    post_json(client, "/partner/v1/transactions/IAM-1/reverse", {"reason": "refund"}, bearer(key))
    promotion_id = post_json(client, "/partner/v1/promotions", {"subject": "IAM deal", "text": "x"},
                             bearer(key)).json_body["promotion"]["id"]
    client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key))

    # The send worker and the bounce handler, as SQS and SNS invoke them.
    promotions.approve(promotion_id)
    member_ids = [EmailClaim.get(e).member_id for e in (email, second)]
    with lambda_scope("send_worker"):
        client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
            message_bodies=[json.dumps({"promotion_id": promotion_id, "member_ids": member_ids})],
            queue_name="eso-sends"))
    # The sweeper (the send worker's role) resumes promotions paused for the daily quota: one
    # of each purpose, so both audience indexes are read.
    # It also settles a claim a dead worker left two hours ago: no SES event came, so it is
    # claimed again in place and sent again.
    offer = promotions.create("offer", "IAM offer", "x")
    for paused in (promotion_id, offer.promotion_id):
        Promotion.get(paused).update(actions=[
            Promotion.status.set("paused"), Promotion.paused_reason.set("daily_quota"),
            Promotion.resume_at.set(datetime(2026, 1, 1, tzinfo=timezone.utc))])
    stale = datetime.now(timezone.utc) - timedelta(hours=2)
    Delivery(offer.promotion_id, member_ids[0], status="claimed", attempt="dead", at=stale,
             expires_at=stale + timedelta(days=1)).save()
    with lambda_scope("send_worker"):
        client.lambda_.invoke("send_sweeper", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={},
            resources=["arn:aws:events:us-east-1:123456789012:rule/eso-local-send_sweeper"]))
    assert promotions.get(offer.promotion_id).status == "sent"
    assert Delivery.get(offer.promotion_id, member_ids[0]).status == "sent"
    # SES's Send event for a message whose worker died before the ledger update.
    Delivery(promotion_id, "iam-claimed", status="claimed", attempt="dead", at=stale,
             expires_at=stale + timedelta(days=1)).save()
    with lambda_scope("ses_events"):
        client.lambda_.invoke("ses_events", client.events.generate_sns_event(message=json.dumps(
            {"eventType": "Send", "mail": {"messageId": "iam-message", "tags": {
                "eso-promotion": [promotion_id], "eso-member": ["iam-claimed"]}}, "send": {}})))
    assert Delivery.get(promotion_id, "iam-claimed").confirmed_message_id == "iam-message"
    with lambda_scope("ses_events"):
        client.lambda_.invoke("ses_events", client.events.generate_sns_event(message=json.dumps(
            {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": second}]}})))
    unsubscribe = promotions.unsubscribe_token(member_ids[0], "partner_promotions")
    client.http.get(f"/unsubscribe?token={unsubscribe}")
    client.http.post(f"/unsubscribe?token={quote(unsubscribe)}", body=b"List-Unsubscribe=One-Click",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})

    sign_in_methods(client, mailbox, vid, token)

    post_json(client, "/api/v1/contact", {"email": email, "topic": "security", "message": "?"})
    form(client, "/contact", {"email": email, "topic": "privacy", "message": "?"}, vid, token)
    post_json(client, "/api/v1/password-reset", {"email": email})
    form(client, "/reset-password", {"email": second}, vid, token)
    reset = [m for m in mailbox.wait_for(email, count=2) if "Reset" in m["subject"]][-1]
    post_json(client, "/api/v1/password-reset/confirm",
              {"token": token_from(reset, "/reset-password"), "password": "new password 12345"})
    reset2 = [m for m in mailbox.wait_for(second, count=2) if "Reset" in m["subject"]][-1]
    form(client, "/reset-password", {"token": token_from(reset2, "/reset-password"),
                                     "password": "new password 67890"}, vid, token)

    session = cookie_value(post_json(client, "/api/v1/session",
                                     {"email": email, "password": "new password 12345"}))[0]
    member = {"Cookie": f"__Host-eso_session={session}"}
    client.http.delete("/api/v1/session", headers=member)
    session = cookie_value(post_json(client, "/api/v1/session",
                                     {"email": email, "password": "new password 12345"}))[0]
    form(client, "/logout", {}, vid, token, session)
    session = cookie_value(post_json(client, "/api/v1/session",
                                     {"email": email, "password": "new password 12345"}))[0]
    member = {"Cookie": f"__Host-eso_session={session}"}
    for path in ("/account", "/api/v1/me/export"):  # now with referrals, contacts, promotions
        client.http.get(path, headers=member)
    own_account(client, mailbox, vid, token)
    operator_console(client)
    post_json(client, "/api/v1/password-reset", {"email": email})  # a token left outstanding
    post_json(client, "/api/v1/me", {"password": "new password 12345"}, headers=member,
              method="DELETE")
    session = cookie_value(post_json(client, "/api/v1/session",
                                     {"email": second, "password": "new password 67890"}))[0]
    form(client, "/account/delete", {"password": "new password 67890"}, vid, token, session)


def sign_in_methods(client, mailbox, vid, token):
    """Passkeys and two-step sign-in, by API and by form, ending with the member's deletion
    while a passkey and a sign-in waiting for its code are still there."""
    email = new_email("iam-2fa")
    post_json(client, "/api/v1/members", {"email": email, "password": PASSWORD,
                                          "consents": {"offers": False, "partner_promotions": False}})
    post_json(client, "/api/v1/members/verify",
              {"token": token_from(mailbox.wait_for(email)[-1], "/verify"), "password": PASSWORD})
    session = cookie_value(post_json(client, "/api/v1/session",
                                     {"email": email, "password": PASSWORD}))[0]
    member = {"Cookie": f"__Host-eso_session={session}; {VISITOR_COOKIE}={vid}"}
    visitor = {"Cookie": f"{VISITOR_COOKIE}={vid}"}  # signing in again, the same browser
    device = SoftAuthenticator(members.passkeys.relying_party()[1])
    added = []
    for _ in range(2):
        options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, member)
        added.append(post_json(client, "/api/v1/me/passkeys", {"credential": device.create(
            options.json_body["publicKey"])}, member).json_body["passkey"])
    challenge = post_json(client, "/api/v1/session/passkey/options", None, visitor).json_body
    post_json(client, "/api/v1/session/passkey", {"credential": device.get(
        challenge["publicKey"], credential_id=list(device.credentials)[0])}, visitor)
    client.http.get("/api/v1/me/passkeys", headers=member)
    post_json(client, f"/api/v1/me/passkeys/{added[0]['id']}", None, member, method="DELETE")
    form(client, f"/account/passkeys/{added[1]['id']}/delete", {}, vid, token, session)
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, member)
    post_json(client, "/api/v1/me/passkeys", {"credential": device.create(
        options.json_body["publicKey"])}, member)

    secret = post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, member).json_body["secret"]
    app_code = lambda ahead=0: pyotp.TOTP(secret).at(time.time() + 30 * ahead)  # noqa: E731
    codes = post_json(client, "/api/v1/me/totp/confirm", {"code": app_code()},
                      member).json_body["recovery_codes"]
    client.http.get("/api/v1/me/totp", headers=member)
    codes = post_json(client, "/api/v1/me/totp/recovery-codes", {"password": PASSWORD},
                      member).json_body["recovery_codes"]
    waiting = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD}, visitor)
    post_json(client, "/api/v1/session/totp", {"token": waiting.json_body["token"],
                                               "code": app_code(1)}, visitor)
    page = form(client, "/login", {"email": email, "password": PASSWORD}, vid, token)
    step = re.search(r'name="token" value="([^"]+)"', page.body.decode()).group(1)
    form(client, "/login/second-factor", {"token": step, "code": codes[0]}, vid, token)
    post_json(client, "/api/v1/me/totp", {"password": PASSWORD, "code": codes[1]}, member,
              method="DELETE")
    form(client, "/account/totp", {"password": PASSWORD}, vid, token, session)
    page = client.http.get("/account", headers=member)  # the set-up's key and QR code
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.body.decode()).group(1)
    form(client, "/account/totp/confirm", {"code": app_code()}, vid, token, session)
    page = form(client, "/account/totp/recovery-codes", {"password": PASSWORD}, vid, token, session)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page.body.decode())
    form(client, "/account/totp/disable", {"password": PASSWORD, "code": codes[0]}, vid, token,
         session)
    form(client, "/account/totp", {"password": PASSWORD}, vid, token, session)
    page = client.http.get("/account", headers=member)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.body.decode()).group(1)
    form(client, "/account/totp/confirm", {"code": app_code()}, vid, token, session)
    post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD}, visitor)
    post_json(client, "/api/v1/me", {"password": PASSWORD}, headers=member, method="DELETE")


def operator_console(client):
    """The console at /admin: set-up with an app and with a passkey, sign-in both ways, the
    pages, the audit export, sign-out; the operators are added as the CLI does (not recorded)."""
    from chalicelib import operators
    from tests.integration.operator_helpers import OPERATOR_PASSWORD, Browser, token_of

    with_app, with_key = new_email("iam-operator"), new_email("iam-operator-key")
    links = {email: token_of(operators.add(email)["setup_url"]) for email in (with_app, with_key)}
    setup = Browser(client)
    setup.get(f"/admin/setup?token={links[with_app]}")
    setup.form("/admin/setup", {"token": links[with_app], "password": OPERATOR_PASSWORD})
    page = setup.get("/admin/setup/second-factor").body.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    setup.form("/admin/setup/totp", {"code": pyotp.TOTP(secret).now()})
    for path in ("/admin", "/admin/audit", f"/admin/audit/export?from={date.today()}&to={date.today()}",
                 "/assets/admin.js", "/assets/admin.css"):
        setup.get(path)
    setup.form("/admin/sign-out", {})
    browser = Browser(client)
    browser.get("/admin/sign-in")
    browser.form("/admin/sign-in", {"email": with_app, "password": OPERATOR_PASSWORD})
    browser.get("/admin/sign-in/second-factor")
    browser.form("/admin/sign-in/totp", {"code": pyotp.TOTP(secret).at(time.time() + 30)})

    device = SoftAuthenticator(members.passkeys.relying_party()[1])
    keyed = Browser(client)
    keyed.form("/admin/setup", {"token": links[with_key], "password": OPERATOR_PASSWORD})
    options = keyed.json("/admin/setup/passkey/options").json_body["publicKey"]
    keyed.json("/admin/setup/passkey", {"credential": device.create(options)})
    keyed = Browser(client)
    keyed.form("/admin/sign-in", {"email": with_key, "password": OPERATOR_PASSWORD})
    challenge = keyed.json("/admin/sign-in/passkey/options").json_body["publicKey"]
    keyed.json("/admin/sign-in/passkey", {"credential": device.get(challenge)})
    keyed.get("/admin")
    keyed.get("/admin/confirm?next=audit")  # re-authentication before a dangerous action
    challenge = keyed.json("/admin/confirm/passkey/options").json_body["publicKey"]
    keyed.json("/admin/confirm/passkey", {"credential": device.get(challenge)})
    browser.form("/admin/confirm/totp", {"code": pyotp.TOTP(secret).at(time.time() + 30),
                                         "next": "audit"})
    partner_id, _ = new_partner("IAM review")
    pending = promotions.create("partner", "IAM review", "x", partner_id=partner_id).promotion_id
    browser.get("/admin/promotions")
    browser.get(f"/admin/promotions/{pending}")
    browser.form(f"/admin/promotions/{pending}/reject", {"reason": "Needs an end date."})


def test_the_stage_policies_allow_exactly_what_the_lambda_calls(client, mailbox, monkeypatch):
    served = set()
    original_log = middleware._log_request

    def log_and_note(request, response, started, request_id):
        served.add((request.context.get("resourcePath"), request.method))
        return original_log(request, response, started, request_id)

    monkeypatch.setattr(middleware, "_log_request", log_and_note)
    recorder = Recorder()
    original_call = type(app).__call__

    def invoked(self, event, context):
        with recorder.lambda_scope():
            return original_call(self, event, context)

    monkeypatch.setattr(type(app), "__call__", invoked)
    from chalicelib import ads
    from chalicelib.statistics import visits

    # A cold container: the per-container caches start empty, as after a deployment.
    ads.slot_cache.clear()
    visits._copy.clear()
    mail.forget_created_templates()
    with recorder:
        journey(client, mailbox, recorder.lambda_scope)

    routes = {(path, method) for path, methods in app.routes.items() if not path.startswith("/{p")
              for method in methods}
    assert routes - served == set(), "the journey must exercise every route"

    used = {function: set(pairs) for function, pairs in RARE.items()}
    for function, service, operation, params in recorder.calls:
        used[function] |= needs(service, operation, params)
    everything = set().union(*used.values())
    assert {a.split(":")[0] for a, _ in everything} == {"dynamodb", "ses"}
    # The one Scan: the sweeper reads the promotions table (one small item per promotion) for
    # the paused ones.
    assert not any(a in ("dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:CreateTable")
                   for a, r in everything if (a, r) != ("dynamodb:Scan", "eso-local-promotions"))
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())

    for stage in ("dev", "prod"):
        stage_config = config["stages"][stage]
        assert stage_config["iam_policy_file"] == POLICY_FILES["api_handler"].format(stage=stage)
        for function in ("send_worker", "ses_events"):
            assert (stage_config["lambda_functions"][function]["iam_policy_file"]
                    == POLICY_FILES[function].format(stage=stage))
        assert (stage_config["lambda_functions"]["send_sweeper"]["iam_policy_file"]
                == POLICY_FILES["send_worker"].format(stage=stage))
        for function, file_name in POLICY_FILES.items():
            name = file_name.format(stage=stage)
            policy = json.loads((ROOT / ".chalice" / name).read_text())
            grants = list(_statements(policy))
            missing = sorted((a, r) for a, r in used[function] if not any(
                a == action and fnmatch.fnmatchcase(_arn(stage, r), resource)
                for _, action, resource in grants))
            assert missing == [], f"{name} lacks {missing}"

            unused = []
            for sid, action, resource in grants:
                if any(action == a and (r in resource or (r == "eso-sends" and resource.endswith(":eso-sends")))
                       for a, r in RUNTIME[function]):
                    continue
                if not any(action == a and fnmatch.fnmatchcase(_arn(stage, r), resource)
                           for a, r in used[function]):
                    unused.append((sid, action, resource))
            assert unused == [], (
                f"{name} grants what {function} never called in this run: {unused}. Either a "
                f"grant outlived the code that needed it, or code that should make that call "
                f"stopped making it (e.g. a step of erasure removed): find out which before "
                f"removing the grant.")

            for sid, action, resource in grants:
                if resource == "*":  # only account-wide reads that have no resource
                    assert action == "ses:GetAccount", (sid, action)
                    continue
                assert "*" not in resource.split(":")[2], (sid, resource)  # never all services
                if action.startswith("dynamodb:"):
                    assert f":table/eso-{stage}-" in resource and not resource.endswith("/*"), (sid, resource)
                if action.startswith("ses:") and "configuration-set" in resource:
                    assert resource.endswith(f"configuration-set/eso-{stage}"), (sid, resource)
                if action.startswith("ses:") and "template" in resource:
                    assert f"template/eso-{stage}-promotion-" in resource, (sid, resource)
