"""``python -m devstack run``: the whole product on one machine, stopped by Ctrl-C.

Ports come from ESO_APP_PORT, ESO_DYNAMODB_PORT and ESO_SES_PORT (8000, 8100, 8200 by
default); DynamoDB data persists in .local/dynamodb/ across restarts, and so does sent mail
(.local/state/mail.jsonl) and the demo partner's API key (.local/state/demo-partner-key).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from chalicelib.ops.demo import DEMO_MEMBER
from devstack.servers import (
    LOCAL,
    ROOT,
    SAFE_AWS_ENV,
    ChaliceLocal,
    DynamoDBLocal,
    SesServer,
    StackError,
)


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit():
        raise StackError(f"{name} must be a port number, not {raw!r}")
    return int(raw)


def run() -> int:
    app_port = _port("ESO_APP_PORT", 8000)
    ddb_port = _port("ESO_DYNAMODB_PORT", 8100)
    ses_port = _port("ESO_SES_PORT", 8200)
    state = LOCAL / "state"
    env = {**SAFE_AWS_ENV, "ESO_STAGE": "local", "ESO_APP_PORT": str(app_port),
           "ESO_DYNAMODB_PORT": str(ddb_port), "ESO_SES_PORT": str(ses_port),
           "ESO_LOCAL_STATE": str(state)}
    os.environ.update(env)
    logs = LOCAL / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers = []

    def stop_all(*_):
        # A second Ctrl-C or TERM (make and the shell pass them on too) must not cut this short.
        for name in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(name, signal.SIG_IGN)
        for server in reversed(servers):
            server.stop()

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        print(f"starting DynamoDB Local on 127.0.0.1:{ddb_port} (data in .local/dynamodb/)")
        servers.append(DynamoDBLocal(ddb_port, db_path=LOCAL / "dynamodb",
                                     log_path=logs / "dynamodb.log").start())
        print(f"starting the local SES server on 127.0.0.1:{ses_port}")
        servers.append(SesServer(ses_port, log_path=logs / "ses.log").start())
        cli = [sys.executable, "-m", "chalicelib.cli", "--stage", "local"]
        subprocess.run([*cli, "local", "tables"], check=True, cwd=ROOT, env={**os.environ})
        seeded = subprocess.run([*cli, "--json", "local", "seed"], check=True, cwd=ROOT,
                                env={**os.environ}, stdout=subprocess.PIPE, text=True)
        _keep_demo_key(json.loads(seeded.stdout), state)
        if not (state / "demo-partner-key").exists():  # seeded before keys were kept
            rotated = subprocess.run([*cli, "--json", "partners", "rotate-key", "ptn_demo"],
                                     check=True, cwd=ROOT, env={**os.environ},
                                     stdout=subprocess.PIPE, text=True)
            _keep_demo_key({"demo_partner_api_key": json.loads(rotated.stdout)["api_key"]},
                           state)
        print(f"starting the app (chalice local --stage local) on 127.0.0.1:{app_port}")
        servers.append(ChaliceLocal(app_port, env, log_path=logs / "app.log").start())
        print()
        print(f"  eSO          http://127.0.0.1:{app_port}/")
        print(f"  sent e-mail  http://127.0.0.1:{app_port}/_local/mail "
              f"(kept across restarts in {state.relative_to(ROOT)}/)")
        print(f"  SES server   http://127.0.0.1:{ses_port}/ (this run's mail only)")
        print(f"  demo member  {DEMO_MEMBER['email']} / {DEMO_MEMBER['password']}")
        print(f"  demo partner http://127.0.0.1:{app_port}/_local/demo-partner/ "
              f"(reached from 'Visit Demo Office Supplies' in the members' area)")
        print(f"  logs         {logs.relative_to(ROOT)}/")
        print("Press Ctrl-C to stop all three.")
        sweep = _Sweeper(cli, logs / "sweeper.log")
        while all(s.process.poll() is None for s in servers):
            sweep.when_due()
            time.sleep(0.5)
        dead = [s.name for s in servers if s.process.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited (see {logs.relative_to(ROOT)}/)", file=sys.stderr)
        return 1
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(exc.cmd[3:])} failed with exit code {exc.returncode}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping")
        return 0
    finally:
        stop_all()


class _Sweeper:
    """What the stage's 5-minute schedule does (start scheduled promotions that are due, resume
    paused ones, settle stale claims), run as ``promotions reconcile`` every 5 minutes; its
    output goes to a log file, and a failed run waits for the next one."""

    INTERVAL_S = 300

    def __init__(self, cli: list, log_path):
        self.cli, self.log_path = cli, log_path
        self.next_at = time.monotonic() + self.INTERVAL_S
        self.running = None

    def when_due(self) -> None:
        if self.running is not None and self.running.poll() is None:
            return
        if time.monotonic() < self.next_at:
            return
        self.next_at = time.monotonic() + self.INTERVAL_S
        with open(self.log_path, "a") as log:
            self.running = subprocess.Popen([*self.cli, "promotions", "reconcile"], cwd=ROOT,
                                            env={**os.environ}, stdout=log,
                                            stderr=subprocess.STDOUT)


def _keep_demo_key(summary: dict, state) -> None:
    """The demo partner's key is printed once, when seeding creates the partner: the local
    demo partner page needs it, so it is kept (readable by this user only)."""
    key = summary.get("demo_partner_api_key")
    if key:
        state.mkdir(parents=True, exist_ok=True)
        path = state / "demo-partner-key"
        path.write_text(key + "\n")
        path.chmod(0o600)
        print(f"demo partner API key (kept in {path.relative_to(ROOT)}): {key}")


def main(argv: list) -> int:
    args = argv[1:]
    if args == ["run"]:
        return run()
    if args == ["wheelhouse"]:
        from devstack.package import fetch_wheelhouse

        print(fetch_wheelhouse())
        return 0
    if args[:1] == ["assets"]:
        from devstack.assets import main as assets_main

        return assets_main(args[1:])
    if args[:1] == ["drill"]:
        from devstack.drill import main as drill_main

        return drill_main(args[1:])
    if len(args) == 3 and args[:2] == ["package", "--stage"]:
        from devstack.package import package

        print(f"template: {package(args[2]) / 'sam.json'}")
        return 0
    print("usage: python -m devstack run | wheelhouse | package --stage STAGE"
          " | assets --stage STAGE | drill --stage STAGE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
