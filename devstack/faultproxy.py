"""An HTTP fault proxy for the local servers: forwards to DynamoDB Local or the SES server and
answers chosen operations with AWS's own throttling errors instead, a set number of times or
until cleared. Used by the fault tests; binds to 127.0.0.1 on a free port.
"""
from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from devstack.servers import free_port

DYNAMODB_THROTTLE = (400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps({
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "The level of configured provisioned throughput for the table was exceeded."}))
SES_THROTTLE = (429, {"Content-Type": "application/json",
                      "x-amzn-ErrorType": "TooManyRequestsException"},
                json.dumps({"message": "Maximum sending rate exceeded."}))


SES_DAILY_QUOTA = (400, {"Content-Type": "application/json",
                         "x-amzn-ErrorType": "ThrottlingException"},
                   json.dumps({"message": "Daily message quota exceeded."}))


class DailyQuota:
    """An SES account with a 24-hour quota of ``limit`` messages: sends that would pass it are
    refused with SES's own error, GetAccount reports it; ``new_day`` empties the window."""

    def __init__(self, limit: int):
        self.limit, self.sent, self.refused = limit, 0, 0

    def new_day(self, limit: int | None = None) -> None:
        """The 24-hour window moved on; ``limit``: the account's quota from now on."""
        self.sent, self.refused = 0, 0
        if limit is not None:
            self.limit = limit

    def account(self) -> dict:
        sent = self.limit if self.refused else self.sent
        return {"SendingEnabled": True, "ProductionAccessEnabled": True,
                "EnforcementStatus": "HEALTHY",
                "SendQuota": {"Max24HourSend": self.limit, "MaxSendRate": 1000,
                              "SentLast24Hours": sent}}


class Rule:
    """Fail requests for which ``matches(method, path, target)`` holds, ``times`` times
    (``None``: until cleared), with ``reply`` = (status, headers, body)."""

    def __init__(self, matches, reply, times=None):
        self.matches, self.reply, self.remaining, self.hits = matches, reply, times, 0


class FaultProxy:
    def __init__(self, target_url: str):
        self.target = urlsplit(target_url)
        self.port = free_port()
        self.rules: list = []
        self.quota = None
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = proxy._fault_for(self.command, self.path,
                                         self.headers.get("X-Amz-Target", ""))
                if reply is None:
                    reply = proxy._quota_reply(self.command, self.path, body)
                if reply is None:
                    reply = proxy._forward(self.command, self.path, dict(self.headers), body)
                status, headers, payload = reply
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def fail(self, matches, reply, times=None) -> Rule:
        rule = Rule(matches, reply, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def throttle_dynamodb(self, *operations: str, times=None) -> Rule:
        wanted = {f"DynamoDB_20120810.{op}" for op in operations}
        return self.fail(lambda method, path, target: target in wanted, DYNAMODB_THROTTLE, times)

    def throttle_ses(self, path_part: str, times=None) -> Rule:
        return self.fail(lambda method, path, target: path_part in path, SES_THROTTLE, times)

    def daily_quota(self, limit: int) -> DailyQuota:
        """From now on, SES answers as an account with a 24-hour quota of ``limit``."""
        self.quota = DailyQuota(limit)
        return self.quota

    def _quota_reply(self, method, path, body):
        quota = self.quota
        if quota is None:
            return None
        if method == "GET" and path.rstrip("/").endswith("/v2/email/account"):
            return 200, {"Content-Type": "application/json"}, json.dumps(quota.account())
        if method != "POST" or not path.rstrip("/").endswith(("/v2/email/outbound-bulk-emails",
                                                              "/v2/email/outbound-emails")):
            return None
        count = (len(json.loads(body or b"{}").get("BulkEmailEntries", []))
                 if path.rstrip("/").endswith("bulk-emails") else 1)
        with self._lock:
            if quota.sent + count > quota.limit:
                quota.refused += 1
                return SES_DAILY_QUOTA
            quota.sent += count
        return None

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def _fault_for(self, method, path, target):
        with self._lock:
            for rule in self.rules:
                if rule.remaining != 0 and rule.matches(method, path, target):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.reply
        return None

    def _forward(self, method, path, headers, body):
        with self._lock:
            self.forwarded += 1
        connection = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        try:
            headers = {k: v for k, v in headers.items() if k.lower() != "host"}
            headers["Host"] = f"{self.target.hostname}:{self.target.port}"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()
