"""Shared fixtures: the local servers on free ports, the app, mail, a browser.

Unit tests need none of the servers. Integration tests get DynamoDB Local (in memory) and the
local SES server, started once per session on free ports and stopped after. Browser tests also
get ``chalice local --stage local`` on a free port and Debian's Chromium through Playwright.
"""
from __future__ import annotations

import itertools
import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from devstack.servers import SAFE_AWS_ENV, ChaliceLocal, DynamoDBLocal, SesServer, free_port

ROOT = Path(__file__).resolve().parent.parent

# Nothing in the tests may reach for AWS: dummy credentials, a region, no metadata service.
os.environ.update(SAFE_AWS_ENV)
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)


def pytest_collection_modifyitems(items):
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts[0] in ("unit", "integration", "browser"):
            item.add_marker(getattr(pytest.mark, parts[0]))


def _stage_environment(stage: str = "local") -> dict:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {**config.get("environment_variables", {}),
            **config["stages"][stage]["environment_variables"]}


@pytest.fixture(scope="session")
def stack_env():
    """The local stage's environment with this session's ports, applied to the test process."""
    ports = {"ESO_DYNAMODB_PORT": str(free_port()), "ESO_SES_PORT": str(free_port()),
             "ESO_APP_PORT": str(free_port())}
    # Registration and reset requests answer no sooner than a uniform time (250 ms by
    # default); the timing tests set it back, the rest of the suite need not wait.
    env = {**_stage_environment("local"), **ports, "ESO_UNIFORM_ANSWER_MS": "0"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    yield env
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def dynamodb_local(stack_env, tmp_path_factory):
    log = tmp_path_factory.mktemp("logs") / "dynamodb.log"
    server = DynamoDBLocal(int(stack_env["ESO_DYNAMODB_PORT"]), log_path=log).start()
    from chalicelib.ops import tables

    tables.create_missing()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ses_server(stack_env, tmp_path_factory):
    log = tmp_path_factory.mktemp("logs") / "ses.log"
    server = SesServer(int(stack_env["ESO_SES_PORT"]), log_path=log).start()
    yield server
    server.stop()


class Mailbox:
    """The local SES server's store: what was really sent."""

    def __init__(self, url: str):
        self.url = url

    def all(self) -> list:
        with urllib.request.urlopen(self.url + "/store", timeout=5) as response:
            return json.loads(response.read())["emails"]

    def to(self, address: str) -> list:
        return [m for m in self.all() if address in (m["destination"].get("to") or [])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture(scope="session")
def mailbox(ses_server) -> Mailbox:
    return Mailbox(ses_server.url)


@pytest.fixture(scope="session")
def stack(dynamodb_local, ses_server, stack_env):
    """DynamoDB Local and the SES server, with the tables created."""
    return {"dynamodb": dynamodb_local, "ses": ses_server, "env": stack_env}


_client_addresses = itertools.count(1)


@pytest.fixture
def client(stack_env, monkeypatch):
    """Chalice's test client on the local stage (the app in-process), seen as coming from an
    address of its own, so that per-client limits (the contact form's) of one test never
    reach another."""
    from chalice import local
    from chalice.test import Client

    from app import app

    n = next(_client_addresses)
    monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP",
                        f"198.18.{n // 250 % 250}.{n % 250 + 1}")
    with Client(app, stage_name="local", project_dir=str(ROOT)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def app_server(stack, stack_env, tmp_path_factory):
    """The app under ``chalice local --stage local`` on this session's port."""
    log = tmp_path_factory.mktemp("logs") / "app.log"
    server = ChaliceLocal(int(stack_env["ESO_APP_PORT"]), stack_env, log_path=log).start()
    yield server
    server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context()
    yield context
    context.close()
