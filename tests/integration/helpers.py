"""Helpers for member journeys against the real local servers."""
from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
import uuid

from chalicelib.web.cookies import SESSION_COOKIE

PASSWORD = "correct horse battery staple"
_counter = itertools.count()


def new_email(tag: str = "member") -> str:
    return f"{tag}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.org"


def post_json(client, path, body, headers=None, method="POST"):
    return client.http.request(method, path, body=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json", **(headers or {})})


def register(client, email, password=PASSWORD, offers=True, partner_promotions=True, headers=None):
    return post_json(client, "/api/v1/members", {
        "email": email, "password": password, "display_name": "Pat Example",
        "consents": {"offers": offers, "partner_promotions": partner_promotions}}, headers)


def token_from(mail: dict, path: str) -> str:
    match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_-]+)", mail["body"]["text"])
    assert match, f"no {path} link in: {mail['body']['text']}"
    return match.group(1)


def cookie_value(response, name=SESSION_COOKIE):
    headers = response.headers.get("set-cookie") or response.headers.get("Set-Cookie") or []
    for cookie in headers if isinstance(headers, list) else [headers]:
        if cookie.startswith(name + "="):
            return cookie.split(";")[0].split("=", 1)[1], cookie
    return None, None


def verified_member(client, mailbox, email=None, **consents):
    """Register, verify from the real e-mail, log in; returns (email, session cookie header)."""
    email = email or new_email()
    assert register(client, email, **consents).status_code == 202
    mails = mailbox.wait_for(email)
    token = token_from(mails[-1], "/verify")
    assert post_json(client, "/api/v1/members/verify",
                     {"token": token, "password": PASSWORD}).status_code == 200
    return email, login(client, email)


def login(client, email, password=PASSWORD):
    response = post_json(client, "/api/v1/session", {"email": email, "password": password})
    assert response.status_code == 200, response.body
    value, _ = cookie_value(response)
    return {"Cookie": f"{SESSION_COOKIE}={value}"}


def cli(*args, env_extra=None):
    """The operator CLI as an operator runs it (``python -m chalicelib.cli``)."""
    from devstack.servers import ROOT

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


class TableCounts(dict):
    """Items per table, counted against one fixed moment (``boundary``)."""

    boundary: int


def table_counts(stack, like: TableCounts | None = None) -> TableCounts:
    """Items per table, leaving out those whose time to live ends before a fixed moment a
    minute ahead: DynamoDB Local deletes expired items in the background, whenever it gets to
    them (other tests leave some behind). Pass the first count as ``like`` to count the second
    against the same moment; a moment that moved with the clock would drop items issued in a
    burst minutes earlier (e.g. sign-in challenges) between two counts."""
    import boto3

    from chalicelib.ops.tables import ALL_MODELS

    client = boto3.client("dynamodb", endpoint_url=stack["dynamodb"].url, region_name="us-east-1")
    boundary = like.boundary if like is not None else int(time.time()) + 60
    scans = client.get_paginator("scan")  # a page stops at 1 MB; the count is their sum
    counts = TableCounts({m.Meta.table_name: sum(page["Count"] for page in scans.paginate(
        TableName=m.Meta.table_name, Select="COUNT", ConsistentRead=True,
        FilterExpression="attribute_not_exists(expires_at) OR expires_at > :boundary",
        ExpressionAttributeValues={":boundary": {"N": str(boundary)}}))
        for m in ALL_MODELS})
    counts.boundary = boundary
    return counts
