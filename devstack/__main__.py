"""``python -m devstack run``: the whole product on one machine, stopped by Ctrl-C.

Ports come from ESO_APP_PORT, ESO_DYNAMODB_PORT and ESO_SES_PORT (8000, 8100, 8200 by
default); DynamoDB data persists in .local/dynamodb/ across restarts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

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
    env = {**SAFE_AWS_ENV, "ESO_STAGE": "local", "ESO_APP_PORT": str(app_port),
           "ESO_DYNAMODB_PORT": str(ddb_port), "ESO_SES_PORT": str(ses_port)}
    os.environ.update(env)
    logs = LOCAL / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers = []

    def stop_all(*_):
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
        subprocess.run([*cli, "local", "seed"], check=True, cwd=ROOT, env={**os.environ})
        print(f"starting the app (chalice local --stage local) on 127.0.0.1:{app_port}")
        servers.append(ChaliceLocal(app_port, env, log_path=logs / "app.log").start())
        print()
        print(f"  eSO          http://127.0.0.1:{app_port}/")
        print(f"  sent e-mail  http://127.0.0.1:{ses_port}/")
        print(f"  logs         {logs.relative_to(ROOT)}/")
        print("Press Ctrl-C to stop all three.")
        while all(s.process.poll() is None for s in servers):
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


def main(argv: list) -> int:
    args = argv[1:]
    if args == ["run"]:
        return run()
    if args == ["wheelhouse"]:
        from devstack.package import fetch_wheelhouse

        print(fetch_wheelhouse())
        return 0
    if len(args) == 3 and args[:2] == ["package", "--stage"]:
        from devstack.package import package

        print(f"template: {package(args[2]) / 'sam.json'}")
        return 0
    print("usage: python -m devstack run | wheelhouse | package --stage STAGE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
