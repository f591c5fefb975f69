"""DynamoDB and SES calls per member operation, and the cost of argon2id at login.

    python -m bench.members

Each operation runs through the app in-process (chalice.test.Client) against a private
DynamoDB Local and SES server; every botocore call is counted. Target: an authenticated
request costs at most one DynamoDB read for the session check.
"""
from __future__ import annotations

import json
import re
import sys
import time
import urllib.request

from bench.common import ROOT, AwsCalls, local_stack, percentiles

PASSWORD = "correct horse battery staple"
RUNS = 15


def _post(client, path, body, headers=None, method="POST"):
    return client.http.request(method, path, body=json.dumps(body).encode(),
                               headers={"Content-Type": "application/json", **(headers or {})})


def _token(ses_url: str, email: str) -> str:
    with urllib.request.urlopen(ses_url + "/store") as response:
        mails = [m for m in json.loads(response.read())["emails"]
                 if email in m["destination"]["to"]]
    return re.search(r"/verify\?token=([A-Za-z0-9_-]+)", mails[-1]["body"]["text"]).group(1)


def measure() -> list:
    from chalice.test import Client

    rows = {}
    with local_stack() as env, AwsCalls() as aws:
        from app import app

        ses_url = f"http://127.0.0.1:{env['ESO_SES_PORT']}"
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            samples = {name: [] for name in ("register", "verify", "login",
                                             "authenticated GET /api/v1/me",
                                             "GET /api/v1/me/sessions", "PATCH /api/v1/me",
                                             "PUT /api/v1/me/password")}
            calls = {}

            def timed(name, fn):
                aws.reset()
                started = time.perf_counter()
                response = fn()
                samples[name].append((time.perf_counter() - started) * 1000)
                calls[name] = (aws.count("dynamodb"), aws.count("sesv2"), aws.by_operation("dynamodb"))
                assert response.status_code < 300, (name, response.status_code, response.body)
                return response

            for i in range(RUNS):
                email = f"bench-{i}-{time.time_ns()}@example.org"
                timed("register", lambda: _post(client, "/api/v1/members", {
                    "email": email, "password": PASSWORD,
                    "consents": {"offers": True, "partner_promotions": True}}))
                token = _token(ses_url, email)
                timed("verify", lambda: _post(client, "/api/v1/members/verify",
                                                          {"token": token, "password": PASSWORD}))
                login = timed("login", lambda: _post(client, "/api/v1/session",
                                                    {"email": email, "password": PASSWORD}))
                cookie = [c for c in login.headers["Set-Cookie"] if c.startswith("__Host-eso_session")][0].split(";")[0]
                timed("authenticated GET /api/v1/me",
                      lambda: client.http.get("/api/v1/me", headers={"Cookie": cookie}))
                timed("GET /api/v1/me/sessions",
                      lambda: client.http.get("/api/v1/me/sessions", headers={"Cookie": cookie}))
                timed("PATCH /api/v1/me", lambda: _post(
                    client, "/api/v1/me", {"display_name": f"Bench {i}"}, {"Cookie": cookie},
                    method="PATCH"))
                timed("PUT /api/v1/me/password", lambda: _post(
                    client, "/api/v1/me/password",
                    {"current_password": PASSWORD, "new_password": "lantern orchard quietly 42"},
                    {"Cookie": cookie}, method="PUT"))
    for name, values in samples.items():
        median, p95 = percentiles(values)
        ddb, ses, ops = calls[name]
        reads = sum(n for op, n in ops.items() if op in ("GetItem", "Query", "BatchGetItem", "Scan"))
        row = {"operation": f"member: {name}", "dynamodb_calls": ddb, "ses_calls": ses,
               "items_read": None, "median_ms": median, "p95_ms": p95, "detail": ops}
        if name.startswith("authenticated"):
            # One read for the session; GET /me then reads the member it shows.
            row.update({"target": "session check <= 1 read", "ok": reads - 1 <= 1})
        rows[name] = row
    rows["argon2"] = _argon2_row()
    return list(rows.values())


def _argon2_row() -> dict:
    from chalicelib.members import passwords

    hashed = passwords.hash_password(PASSWORD)
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        passwords.verify_password(hashed, PASSWORD)
        samples.append((time.perf_counter() - started) * 1000)
    median, p95 = percentiles(samples)
    return {"operation": "argon2id verify (m=19 MiB, t=2, p=1)", "median_ms": median,
            "p95_ms": p95}


def main() -> int:
    for row in measure():
        detail = row.pop("detail", None)
        print(row, detail or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
