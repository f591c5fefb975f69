"""Observability without leaks: a whole journey's log lines and metrics carry a correlation id
and never an e-mail address, password, token, session cookie or API key."""
import json
import logging
import re

import pytest

from chalicelib import partners, promotions
from chalicelib.members.models import EmailClaim
from tests.integration.helpers import (
    PASSWORD,
    cookie_value,
    new_email,
    post_json,
    register,
    token_from,
)
from tests.integration.partner_helpers import (
    WebhookReceiver,
    bearer,
    click,
    new_partner,
    order,
    report,
)

pytestmark = pytest.mark.usefixtures("stack")


class Collect(logging.Handler):
    def __init__(self, formatter):
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_a_whole_journey_logs_no_personal_data_or_secrets(client, mailbox, capsys):
    from chalicelib.platform.observability import get_logger

    logger = get_logger()
    collect = Collect(logger.registered_formatter)
    logging.getLogger("eso").addHandler(collect)
    logging.getLogger().addHandler(collect)
    try:
        email, new_password = new_email("logs"), "another long secret 42"
        secrets = {"email": email, "password": PASSWORD, "new password": new_password,
                   "local part": email.split("@")[0]}
        register(client, email)
        verify_token = token_from(mailbox.wait_for(email)[-1], "/verify")
        secrets["verify token"] = verify_token
        client.http.get(f"/verify?token={verify_token}")
        post_json(client, "/api/v1/members/verify", {"token": verify_token, "password": PASSWORD})
        post_json(client, "/api/v1/session", {"email": email, "password": "wrong password here"})
        login = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD})
        session, _ = cookie_value(login)
        secrets["session cookie"] = session
        headers = {"Cookie": f"__Host-eso_session={session}"}
        client.http.get("/api/v1/me", headers=headers)
        post_json(client, "/api/v1/me/consents", {"offers": False}, headers=headers, method="PUT")
        post_json(client, "/api/v1/me/consents", {"offers": True}, headers=headers, method="PUT")

        partner_id, api_key = new_partner("Logs")
        secrets["api key"] = api_key
        click_id = click(client, partner_id, headers=headers)
        report(client, api_key, order(click_id))
        client.http.get("/partner/v1/transactions", headers=bearer(api_key + "x"))  # a 401

        # The partner's webhook, and a withdrawal told to it in a signed notice.
        receiver = WebhookReceiver()
        try:
            hook = post_json(client, "/partner/v1/webhook", {"url": receiver.url("/logs")},
                             bearer(api_key), method="PUT")
            secrets["webhook secret"] = hook.json_body["webhook"]["secret"]
            secrets["sealed webhook secret"] = partners.get(partner_id).webhook_secret
            client.http.get("/partner/v1/webhook", headers=bearer(api_key))
            post_json(client, "/api/v1/me/consents", {"partner_promotions": False},
                      headers=headers, method="PUT")
            partners.notices.run()
            [notice] = receiver.at("/logs")
            secrets["notice signature"] = notice["headers"]["ESO-Signature"].split("v1=")[1]
            client.http.delete("/partner/v1/webhook", headers=bearer(api_key))
        finally:
            receiver.close()

        member_id = EmailClaim.get(email).member_id
        unsubscribe = promotions.unsubscribe_token(member_id, "offers")
        secrets["unsubscribe token"] = unsubscribe
        offer = promotions.create("offer", "Logged offer", "Body: https://shop.example/logged")
        promotions.dispatch(offer.promotion_id)
        sent = [m for m in mailbox.wait_for(email, count=2) if m["subject"] == "Logged offer"][-1]
        click_token = re.search(r"/r/([\w.-]+)", sent["body"]["text"]).group(1)
        secrets["promotion link token"] = click_token
        client.http.get(f"/r/{click_token}")
        client.http.get(f"/r/{click_token[:-2]}xx")  # a forged one: the not-found answer
        client.http.get(f"/unsubscribe?token={unsubscribe}")
        client.http.post(f"/unsubscribe?token={unsubscribe}", body=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        pause = promotions.snooze_token(member_id)
        secrets["pause token"] = pause
        client.http.get(f"/snooze?token={pause}&period=one_month")
        client.http.post(f"/snooze?token={pause}&period=one_month", body=b"",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        client.http.get("/api/v1/me/preferences", headers=headers)
        post_json(client, "/api/v1/me/preferences", {"frequency": "day"}, headers=headers,
                  method="PUT")
        post_json(client, "/api/v1/me/snooze", {"period": "two_weeks"}, headers=headers,
                  method="PUT")
        client.http.delete("/api/v1/me/snooze", headers=headers)
        client.http.get("/partner/v1/topics", headers=bearer(api_key))

        post_json(client, "/api/v1/password-reset", {"email": email})
        reset = [m for m in mailbox.wait_for(email, count=3) if "Reset" in m["subject"]][-1]
        reset_token = token_from(reset, "/reset-password")
        secrets["reset token"] = reset_token
        post_json(client, "/api/v1/password-reset/confirm", {"token": reset_token, "password": new_password})
        post_json(client, "/api/v1/contact", {"email": email, "topic": "privacy", "message": "hi"})
        login = post_json(client, "/api/v1/session", {"email": email, "password": new_password})
        headers = {"Cookie": f"__Host-eso_session={cookie_value(login)[0]}"}
        post_json(client, "/api/v1/me", {"password": new_password}, headers=headers, method="DELETE")
    finally:
        logging.getLogger("eso").removeHandler(collect)
        logging.getLogger().removeHandler(collect)

    printed = capsys.readouterr()
    text = "\n".join(collect.lines) + printed.out + printed.err
    requests = [json.loads(line) for line in collect.lines if '"message":"request"' in line]
    assert len(requests) >= 15                           # the journey was logged...
    assert all(r.get("correlation_id") for r in requests)  # ...each line with its request id
    for metric in ("Registrations", "Verifications", "PromotionsSent", "PartnerReports"):
        assert metric in text  # EMF metrics were written
    for what, value in secrets.items():
        assert value not in text, f"the {what} appears in the logs"
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text.replace("@example.org\"", "")), \
        "an e-mail address appears in the logs"
