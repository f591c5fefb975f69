"""Members and mail for promotion tests, through the real registration and SES server."""
import uuid

from chalicelib import members
from chalicelib.members.consent import Provenance
from chalicelib.members.models import EmailClaim
from tests.integration.helpers import PASSWORD, new_email, token_from


def make_member(mailbox, offers=True, partner_promotions=True, verified=True, tag="promo"):
    """A member created through the real registration (and verification) path."""
    email = new_email(tag)
    members.register(members.Registration(email=email, password=PASSWORD,
                                          consents={"offers": offers,
                                                    "partner_promotions": partner_promotions}),
                     Provenance("registration", "/test"))
    if verified:
        members.verify_email(token_from(mailbox.wait_for(email)[-1], "/verify"), PASSWORD)
    return email, EmailClaim.get(email).member_id


def received(mailbox, promotion, email=None):
    mails = [m for m in mailbox.all() if m["subject"] == promotion.subject]
    return [m for m in mails if email in m["destination"]["to"]] if email else mails


def recipients(mailbox, promotion):
    return sorted(address for m in received(mailbox, promotion) for address in m["destination"]["to"])


def unique_subject(label):
    return f"{label} {uuid.uuid4().hex[:10]}"


class FakeSendQueue:
    """The stage's SQS send queue and its dead-letter queue, answered inside botocore: every
    call goes through the product's real SQS client as on AWS (so a recorder of botocore calls
    sees it), and is answered before anything leaves the process. ``take()`` hands over the
    messages sent so far; ``dead`` is how many wait in the dead-letter queue."""

    QUEUE = "eso-sends"
    DEAD_LETTERS = "eso-sends-dlq"
    ACCOUNT = "arn:aws:sqs:us-east-1:123456789012:"

    def __init__(self, monkeypatch, dead: int = 0):
        self.monkeypatch = monkeypatch
        self.dead = dead
        self.messages: list = []

    def __enter__(self):
        from chalicelib.platform import aws

        self.monkeypatch.setenv("ESO_SEND_QUEUE", self.QUEUE)
        self.events = aws.sqs().meta.events
        self.events.register_first("before-parameter-build.sqs", self._keep,
                                   unique_id="eso-fake-queue-params")
        self.events.register_first("before-call.sqs", self._answer,
                                   unique_id="eso-fake-queue-answer")
        return self

    def __exit__(self, *exc):
        self.events.unregister("before-parameter-build.sqs", unique_id="eso-fake-queue-params")
        self.events.unregister("before-call.sqs", unique_id="eso-fake-queue-answer")
        self.monkeypatch.delenv("ESO_SEND_QUEUE")

    def take(self) -> list:
        """The bodies sent since the last take, as JSON text, oldest first."""
        taken, self.messages = self.messages, []
        return taken

    @staticmethod
    def _keep(params, context, **kwargs):
        context["eso_fake_params"] = dict(params)

    def _answer(self, model, context, **kwargs):
        import hashlib
        import json

        from botocore.awsrequest import AWSResponse

        params = context["eso_fake_params"]
        name = params.get("QueueName") or params.get("QueueUrl", "").rsplit("/", 1)[-1]
        if model.name == "GetQueueUrl":
            parsed = {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"}
        elif model.name == "SendMessage":
            body = params["MessageBody"]
            self.messages.append(body)
            parsed = {"MessageId": uuid.uuid4().hex,
                      "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest()}
        elif model.name == "GetQueueAttributes":
            waiting = len(self.messages) if name == self.QUEUE else self.dead
            parsed = {"Attributes": {"ApproximateNumberOfMessages": str(waiting),
                                     "ApproximateNumberOfMessagesNotVisible": "0",
                                     "ApproximateNumberOfMessagesDelayed": "0"}}
            if name == self.QUEUE:
                parsed["Attributes"]["RedrivePolicy"] = json.dumps({
                    "deadLetterTargetArn": self.ACCOUNT + self.DEAD_LETTERS,
                    "maxReceiveCount": 5})
        else:
            raise AssertionError(f"the fake send queue does not answer {model.name}")
        return AWSResponse("https://sqs.us-east-1.amazonaws.com/", 200, {}, None), parsed
