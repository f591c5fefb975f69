"""The app served as ``chalice local`` serves it, but answering like the deployed gateway.

``python -m devstack.localapp --stage local --port P`` loads the app exactly as
``chalice local --stage local --no-autoreload`` does (the stage's environment from
``.chalice/config.json``), and changes three things that made the local stack behave
unlike a deployed stage:

- requests that match no route get the gateway responses of ``infra/api.yaml`` (status,
  headers and body, read from that file), instead of a bare 403 "Missing Authentication Token";
  so do unknown methods and requests the HTTP parser refuses;
- the access log keeps the method, the route template and the status, never the raw path or
  query string (verification and unsubscribe links carry tokens there);
- ``/_local/…`` serves the pages of ``devstack.localpages`` (sent mail to click through, the
  demo partner's landing page), which exist on the local stack only;
- the listen backlog is large enough for a burst of simultaneous clients (racing registrations,
  a partner retrying a report at once), where ``chalice local`` keeps Python's default of 5;
- every table's client and the SES client are made before the first request (``warm``): a
  Lambda container serves one request at a time, but this server starts a thread per
  connection, and PynamoDB makes a table's client on first use, so a burst of first requests
  would have each thread load botocore's models from disk at once (64 simultaneous
  registrations of a cold server took over a minute).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from http import HTTPStatus
from pathlib import Path

from chalice import local
from chalice.cli.factory import CLIFactory

from devstack import cfn, localpages

ROOT = Path(__file__).resolve().parent.parent
BACKLOG = 256
# API Gateway takes request bodies up to 10 MB and gives an integration 29 s: the local server
# refuses larger bodies at once and drops a client that stalls longer than that.
MAX_BODY_BYTES = 10 * 1024 * 1024
IDLE_TIMEOUT_S = 30
LOCAL_PAGE_BODY_BYTES = 64 * 1024  # the local pages' forms are a few fields


@functools.lru_cache(maxsize=1)
def gateway_responses() -> dict:
    """ResponseType → (status, headers, body) from the GatewayResponse resources of api.yaml."""
    responses = {}
    for resource in cfn.load(cfn.INFRA / "api.yaml")["Resources"].values():
        if resource.get("Type") != "AWS::ApiGateway::GatewayResponse":
            continue
        props = resource["Properties"]
        headers = {"Content-Type": "application/json"}
        for name, value in (props.get("ResponseParameters") or {}).items():
            # Static values are single-quoted: 'nosniff'.
            headers[name.removeprefix("gatewayresponse.header.")] = value[1:-1]
        responses[props["ResponseType"]] = (int(props.get("StatusCode") or 0), headers,
                                            props["ResponseTemplates"]["application/json"])
    return responses


def gateway_response(response_type: str, default_status: int, message: str) -> tuple:
    """The response the gateway would send; ``$context.error.messageString`` filled in."""
    status, headers, template = gateway_responses()[response_type]
    body = template.replace("$context.error.messageString", json.dumps(message))
    return status or default_status, dict(headers), body.encode("utf-8")


class GatewayRequestHandler(local.ChaliceRequestHandler):
    """chalice's handler with the gateway's answers for what reaches no route, and a log line
    that names the route, not the URL."""

    timeout = IDLE_TIMEOUT_S

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":  # the gateway speaks HTTP/1.x only
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        return True

    def _generic_handle(self) -> None:
        self._route = self._route_template()
        local_pages = getattr(self.server, "local_pages", None)
        if local_pages is not None and self.path.startswith(localpages.PREFIX):
            self._send_local_page(local_pages)
            return
        raw = (self.headers.get("content-length") or "0").strip()
        length = int(raw) if raw.isdigit() and raw.isascii() else -1
        if length < 0:
            self.close_connection = True
            self._send_gateway("DEFAULT_4XX", 400, "Invalid Content-Length")
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_gateway("DEFAULT_4XX", 413, "Request Too Long")
            return
        # No route defines OPTIONS and the API has no CORS: the deployed gateway answers an
        # OPTIONS request like an unknown path, so the local server does too.
        if self._route is None or self.command == "OPTIONS":
            if length:
                self.rfile.read(length)  # read the body so the connection stays usable
            self._route = None
            self._send_gateway("MISSING_AUTHENTICATION_TOKEN", 404, "Not found")
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _route_template(self):
        path = self.path.split("?", 1)[0]
        if not path.startswith("/"):
            return None
        try:
            return self.server.route_matcher.match_route(path).route
        except ValueError:
            return None

    def _send_local_page(self, local_pages) -> None:
        path = self.path.split("?", 1)[0]
        self._route = localpages.PREFIX + path[len(localpages.PREFIX):].split("/", 1)[0]
        raw = (self.headers.get("content-length") or "0").strip()
        length = int(raw) if raw.isdigit() and raw.isascii() else 0
        if length > LOCAL_PAGE_BODY_BYTES:
            self.close_connection = True  # the rest of the body is left unread
        body = self.rfile.read(min(length, LOCAL_PAGE_BODY_BYTES)) if length else b""
        page = local_pages.handle(self.command, self.path, body)
        self.send_response(page.status)
        for name, value in {**page.headers, "Content-Length": str(len(page.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page.body)

    def _send_gateway(self, response_type: str, default_status: int, message: str) -> None:
        status, headers, body = gateway_response(response_type, default_status, message)
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        """Unknown methods, malformed request lines, oversized headers: the gateway's JSON."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # answer with a status line and headers anyway
        if code == HTTPStatus.NOT_IMPLEMENTED:
            self._route = None
            self._send_gateway("MISSING_AUTHENTICATION_TOKEN", 404, "Not found")
        else:
            self._route = None
            self._send_gateway("DEFAULT_4XX", code if code < 500 else 400,
                               HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_
                               else "Bad request")

    def log_request(self, code="-", size="-"):
        code = getattr(code, "value", code)
        route = getattr(self, "_route", None) or "(no route)"
        sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {self.command} {route} {code}\n")

    def log_error(self, format, *args):
        """The parser's own messages quote the request line (and so the URL): keep them out."""
        sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} refused a malformed request\n")


class GatewayServer(local.ThreadedHTTPServer):
    request_queue_size = BACKLOG


def create_server(stage: str, host: str, port: int, project_dir: Path = ROOT):
    # As the chalice CLI does: the stage's environment goes into this process's environment.
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    factory = CLIFactory(str(project_dir), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    # As chalice.local.create_local_server does: the app's current request becomes
    # thread-local, or simultaneous requests would read each other's headers and bodies.
    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
    app.__class__ = local.CustomLocalChalice
    server = local.LocalDevServer(app, config, host, port, handler_cls=GatewayRequestHandler,
                                  server_cls=GatewayServer)
    server.server.route_matcher = local.RouteMatcher(list(app.routes))
    if stage == "local":
        server.server.local_pages = localpages.LocalPages(
            app_url=f"http://127.0.0.1:{port}",
            ses_url=f"http://127.0.0.1:{os.environ.get('ESO_SES_PORT', '8200')}",
            state=localpages.state_dir())
    return server


def warm(progress=lambda message: None) -> None:
    """Make the clients every request needs once, before requests arrive."""
    from chalicelib.ops.tables import ALL_MODELS
    from chalicelib.platform import aws

    started = time.monotonic()
    try:
        for model in ALL_MODELS:
            model.exists()          # DescribeTable: makes and keeps the table's client
        aws.sesv2()
    except Exception as exc:  # the stack is not up yet: requests will make them as they come
        progress(f"clients not made in advance ({type(exc).__name__})")
        return
    progress(f"clients ready in {time.monotonic() - started:.1f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    import logging

    # As chalice local does: the app's log lines go to stdout, one per line.
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    server = create_server(args.stage, args.host, args.port)
    if args.stage == "local":
        warm(progress=lambda message: print(message, flush=True))
    server.serve_forever()


if __name__ == "__main__":
    main()
