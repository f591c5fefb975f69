"""Helpers for partner journeys: a partner with a key, a referral click, a transaction report."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from chalicelib import partners
from tests.integration.helpers import post_json

LANDING = "https://shop.example/landing?src=eso&lang=en"


def new_partner(name: str = "Shop", contact_email: str | None = None, **options):
    """A fresh active partner; returns (partner id, API key)."""
    tag = uuid.uuid4().hex[:8]
    created = partners.create(
        f"{name} {tag}", options.pop("landing_url", LANDING),
        privacy_policy_url=options.pop("privacy_policy_url", f"https://shop.example/{tag}/privacy"),
        contact_email=contact_email or f"partner-{tag}@shop.example", **options)
    return created.partner_id, created.api_key


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def click(client, partner_id: str, headers=None) -> str:
    """Follow the referral link; returns the click id the partner receives."""
    response = client.http.get(f"/go/{partner_id}", headers=headers or {})
    assert response.status_code == 302, response.body
    return parse_qs(urlsplit(response.headers["Location"]).query)["eso_click"][0]


def report(client, key: str, body: dict):
    return post_json(client, "/partner/v1/transactions", body, bearer(key))


def order(click_id: str, order_id: str | None = None, amount: str = "12.50",
          currency: str = "USD", **extra) -> dict:
    return {"click_id": click_id, "order_id": order_id or f"ord-{uuid.uuid4().hex[:12]}",
            "amount": amount, "currency": currency, **extra}


class WebhookReceiver:
    """A partner's webhook on this machine: an HTTP server on 127.0.0.1 (a free port) that
    records every POST (path, headers, raw body) and answers each path from a script of
    statuses (then 204), after an optional delay."""

    def __init__(self, delay: float = 0.0):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list = []
        self.scripts: dict = {}
        self.delay = delay
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body})
                    script = receiver.scripts.setdefault(self.path, [])
                    status = script.pop(0) if script else 204
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list:
        return [r for r in self.received if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signature_ok(secret: str, headers: dict, body: bytes) -> bool:
    """The partner's check of ESO-Signature, as the partner API documentation shows it."""
    import hashlib
    import hmac

    fields = dict(part.split("=", 1) for part in headers["ESO-Signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])
