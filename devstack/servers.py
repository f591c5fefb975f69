"""The local servers as processes: DynamoDB Local, the SES v2 server, chalice local.

Used by ``make run`` (fixed ports, persistent data) and by the test session (free ports,
in-memory data). Every server binds to 127.0.0.1 except DynamoDB Local, which has no host
option. Each one is started, waited for with a clear error, and stopped by its own PID.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
EMULATOR = LOCAL / "emulator"
SES_BIN = LOCAL / "node" / "node_modules" / ".bin" / "aws-ses-v2-local"

# Nothing the local stack starts may reach for AWS: dummy credentials, a region, no metadata.
SAFE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SES_ACCOUNT": json.dumps({  # what the local SES server answers to GetAccount
        "DedicatedIpAutoWarmupEnabled": False, "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": True, "SendingEnabled": True,
        "SendQuota": {"Max24HourSend": 1000000, "MaxSendRate": 1000, "SentLast24Hours": 0},
        "Details": {"AdditionalContactEmailAddresses": [], "ContactLanguage": "EN",
                    "MailType": "MARKETING", "ReviewDetails": {"CaseId": "", "Status": "GRANTED"},
                    "UseCaseDescription": "the local stack", "WebsiteURL": "http://127.0.0.1"},
        "SuppressionAttributes": {"SuppressedReasons": []}}),
}


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the process that started it dies, however it dies
    (a killed test session or ``make run`` must not leave servers behind)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class StackError(RuntimeError):
    """A local server could not be started; the message says why in one line."""


def port_is_free(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket listening on 127.0.0.1 at a port the kernel gives it. Handed to a server process
    (``Server.inherited``), it keeps the port from the moment it is chosen: no other process can
    take the port before the server serves, and nothing but the server answers on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _http_status(url: str) -> Optional[int]:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


class Server:
    name = "server"

    def __init__(self, port: int, log_path: Optional[Path] = None):
        self.port = port
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list:
        raise NotImplementedError

    def env(self) -> dict:
        return {**os.environ, **SAFE_AWS_ENV}

    def cwd(self) -> Path:
        return ROOT

    def is_ready(self) -> bool:
        raise NotImplementedError

    def inherited(self) -> tuple:
        """File descriptors the server process inherits (a socket already listening on its
        port); none unless a server says so."""
        return ()

    def start(self, timeout: float = 60) -> "Server":
        if not self.inherited() and not port_is_free(self.port):
            raise StackError(f"port {self.port} busy: cannot start {self.name} "
                             f"(stop what uses it or choose another port)")
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command(), cwd=self.cwd(), env=self.env(), stdout=self._log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent, pass_fds=self.inherited())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackError(f"{self.name} exited with code {self.process.returncode} "
                                 f"before it was ready (see {self.log_path or 'its output'})")
            if self.is_ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise StackError(f"{self.name} did not answer on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None


class DynamoDBLocal(Server):
    """AWS's DynamoDB Local engine, from the emulator/ folder of amplify-dynamodb-simulator."""

    name = "DynamoDB Local"

    def __init__(self, port: int, db_path: Optional[Path] = None, log_path: Optional[Path] = None):
        super().__init__(port, log_path)
        self.db_path = db_path

    def command(self) -> list:
        if not (EMULATOR / "DynamoDBLocal.jar").exists():
            raise StackError("DynamoDB Local is not installed: run scripts/install-local-servers.sh")
        storage = ["-dbPath", str(self.db_path)] if self.db_path else ["-inMemory"]
        if self.db_path:
            self.db_path.mkdir(parents=True, exist_ok=True)
        return ["java", f"-Djava.library.path={EMULATOR / 'DynamoDBLocal_lib'}", "-jar",
                str(EMULATOR / "DynamoDBLocal.jar"), "-port", str(self.port), "-sharedDb",
                "-disableTelemetry", *storage]

    def cwd(self) -> Path:
        # It writes dynamodb-local-metadata.json into its working directory.
        LOCAL.mkdir(exist_ok=True)
        return LOCAL

    def is_ready(self) -> bool:
        # A plain GET answered with 400 (MissingAuthenticationToken) means it is serving.
        return _http_status(self.url) == 400


class SesServer(Server):
    """The local SES v2 API server (aws-ses-v2-local); sent mail is at /store and /."""

    name = "local SES server"

    def command(self) -> list:
        if not SES_BIN.exists():
            raise StackError("the local SES server is not installed: "
                             "run scripts/install-local-servers.sh")
        return [str(SES_BIN), "--host", "127.0.0.1", "--port", str(self.port)]

    def is_ready(self) -> bool:
        return _http_status(self.url + "/store") == 200


class ChaliceLocal(Server):
    """The app as ``chalice local --stage local --no-autoreload`` serves it, answering
    unrouted requests and logging like the deployed gateway (``devstack.localapp``)."""

    name = "chalice local"

    def __init__(self, port: int, extra_env: dict, log_path: Optional[Path] = None):
        super().__init__(port, log_path)
        self.extra_env = extra_env

    def command(self) -> list:
        return [sys.executable, "-m", "devstack.localapp", "--stage", "local",
                "--host", "127.0.0.1", "--port", str(self.port)]

    def env(self) -> dict:
        return {**super().env(), **self.extra_env}

    def is_ready(self) -> bool:
        return _http_status(self.url + "/healthz") == 200
