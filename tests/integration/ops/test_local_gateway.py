"""The local stack's app server answers like the deployed gateway: unrouted paths get the error
model and the security headers, its access log holds no tokens, and a burst of simultaneous
clients is served, not reset."""
import http.client
import json
import threading
import time

import pytest
import requests

from devstack import localapp
from tests.integration.helpers import PASSWORD, new_email, token_from

pytestmark = pytest.mark.usefixtures("stack")

SECURITY = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
            "Content-Security-Policy")


def raw_request(server, method, path):
    """Send ``path`` exactly as written (no normalisation of ``..``)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


@pytest.mark.parametrize("method, path", [
    ("GET", "/a/b/c/d/e/f/g"),
    ("GET", "/go/../../../etc/passwd"),
    ("POST", "/api/v1/members/x/y/z/w/v"),
    ("PROPFIND", "/"),
])
def test_paths_no_route_takes_answer_in_the_error_model_with_security_headers(
        app_server, method, path):
    status, headers, body = raw_request(app_server, method, path)
    assert status == 404
    assert json.loads(body) == {"error": {"code": "not_found",
                                          "message": "There is nothing at this path."}}
    for name in SECURITY:
        assert headers.get(name), name
    assert "frame-ancestors" in headers["Content-Security-Policy"]


def test_the_local_answers_are_the_ones_the_deployed_gateway_is_given():
    """Read from infra/api.yaml, so the two cannot drift apart."""
    status, headers, body = localapp.gateway_response("MISSING_AUTHENTICATION_TOKEN", 0, "")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    assert {"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"} <= set(headers)
    status, _, body = localapp.gateway_response("DEFAULT_4XX", 400, 'a "quoted" message')
    assert json.loads(body)["error"] == {"code": "bad_request", "message": 'a "quoted" message'}


def test_the_access_log_names_routes_never_tokens(app_server, mailbox):
    email = new_email("accesslog")
    base = app_server.url
    requests.post(f"{base}/api/v1/members", json={
        "email": email, "password": PASSWORD, "consents": {"offers": True,
                                                            "partner_promotions": False}})
    token = token_from(mailbox.wait_for(email)[-1], "/verify")
    requests.get(f"{base}/verify?token={token}")
    requests.get(f"{base}/unsubscribe?token={token}x")
    requests.get(f"{base}/reset-password?token={token}y")
    raw_request(app_server, "GET", f"/no/such/deep/path/here/at/all?token={token}z")
    time.sleep(0.3)
    log = app_server.log_path.read_text(errors="replace")
    assert "GET /verify 200" in log
    assert token not in log and email not in log and email.split("@")[0] not in log


def test_sixty_four_simultaneous_registrations_of_one_address_are_all_served(app_server,
                                                                           mailbox):
    """Over real HTTP: 64 clients connect at once; each connection is accepted within a
    second (none reset or refused), every client gets the same 202, and the address gets one
    live link."""
    # One request first, as a deployed stage's containers have served before: the first
    # registration loads the password hasher and the strength checker.
    warm = requests.post(f"{app_server.url}/api/v1/members", json={
        "email": new_email("burst-warm"), "password": PASSWORD,
        "consents": {"offers": False, "partner_promotions": False}}, timeout=60)
    assert warm.status_code == 202
    email = new_email("burst-http")
    clients = 64
    barrier = threading.Barrier(clients)
    connect_seconds, statuses, failures = [], [], []

    def call(i):
        body = json.dumps({"email": email, "password": f"racing password {i:03}",
                           "consents": {"offers": True, "partner_promotions": False}})
        connection = http.client.HTTPConnection("127.0.0.1", app_server.port, timeout=60)
        barrier.wait()
        try:
            started = time.monotonic()
            connection.connect()
            connect_seconds.append(time.monotonic() - started)
            connection.request("POST", "/api/v1/members", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        except OSError as exc:  # reset, refused, timed out
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(connect_seconds) == clients and max(connect_seconds) < 1.0, max(connect_seconds)
    assert statuses == [202] * clients
    time.sleep(0.5)
    assert len(mailbox.to(email)) == 1


def raw_bytes(server, data: bytes) -> bytes:
    """Send ``data`` as it is and read the whole answer."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /verify?token=abc\r\n\r\n", b"400"),                         # HTTP/0.9
    (b"POST /api/v1/members HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n"
     b"Connection: close\r\n\r\nab", b"400"),
    (b"POST /api/v1/members HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
     b"Connection: close\r\n\r\n", b"413"),
])
def test_malformed_requests_get_a_status_line_and_the_error_model(app_server, request_bytes,
                                                                  status):
    answer = raw_bytes(app_server, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and head.split()[1] == status, answer[:200]
    assert b"X-Content-Type-Options: nosniff" in head
    assert json.loads(body)["error"]["code"]


def test_the_local_pages_are_not_routes_of_the_app_that_is_deployed():
    """/_local/… (sent mail, the demo partner's page) is served by the local server only."""
    from app import app

    assert app.routes and not [path for path in app.routes if path.startswith("/_local")]


def test_a_plain_http_landing_url_is_for_the_local_stage_only(monkeypatch):
    from chalicelib import partners
    from chalicelib.platform.errors import ValidationError

    local_page = "http://127.0.0.1:8000/_local/demo-partner/welcome"
    monkeypatch.setenv("ESO_STAGE", "local")
    assert partners.check_https_url(local_page, "landing URL") == local_page
    for url in ("http://shop.example/", "http://localhost:8000/", "http://127.0.0.1@evil.example/"):
        with pytest.raises(ValidationError):
            partners.check_https_url(url, "landing URL")
    monkeypatch.setenv("ESO_STAGE", "prod")
    with pytest.raises(ValidationError):
        partners.check_https_url(local_page, "landing URL")
