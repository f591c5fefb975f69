"""``python -m devstack drill --stage dev|prod``: both deploy paths, rehearsed offline.

Each path gets its own copy of the repository in a temporary directory and its own AWS
simulator on a port of its own (``devstack.awssim``); the two run side by side. The command
blocks of docs/operations.md — "With `chalice deploy`" and "With `chalice package` and
CloudFormation" — run as written, with STAGE, ALARM_EMAIL and BUCKET set, through the
virtualenv's own ``chalice``, ``aws`` and ``python``. Each block runs twice (the second time
as a new release that changes a setting of the stage), the chalice path ends with ``chalice
delete``, and after every step ``devstack.drill_checks`` compares the deployed stage with the
project's sources of truth. Exit status 0 only when every check holds.

Nothing can reach AWS: every client is pointed at the simulator, with dummy credentials and no
AWS configuration files. The only thing written to the repository is Chalice's cache of the
zip of its current code (.chalice/deployments/, as `make package` writes it), when missing.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from devstack import awssim
from devstack.servers import LOCAL, ROOT, Server, StackError, listening_socket

DOCS = Path("docs") / "operations.md"
CHALICE_BLOCK = "### With `chalice deploy`"
PACKAGE_BLOCK = "### With `chalice package` and CloudFormation"
REGION = "us-east-1"
DRILL_VALUES = {"ALARM_EMAIL": "alarms@drill.example", "BUCKET": "eso-drill-artifacts"}
PATHS = ("chalice", "package")
RELEASE_SETTING = "ESO_DRILL_RELEASE"  # set in the copy only, by the second round

# What the copy holds: what the commands read (the app, its configuration, infra/, the docs,
# the tooling behind `python -m devstack package`).
COPIED = ("app.py", "chalicelib", "requirements.txt", "infra", "devstack", "docs")

NOT_VERIFIABLE = (
    "the SES configuration set and its event destination (moto's CloudFormation has no SES)",
    "the topic policy of eso-ses-events (moto's CloudFormation skips AWS::SNS::TopicPolicy)",
    "TTL, point-in-time recovery, deletion protection and encryption of the tables "
    "(moto's CloudFormation ignores them)",
    "invoking the functions and serving HTTP (moto needs Docker for Lambda and serves no "
    "execute-api URLs)",
    "the confirmation of the alarm e-mail subscription (SNS mails a link)",
    "the functions' architecture on the package path (moto's CloudFormation ignores "
    "Architectures; the chalice path checks it)",
    "the CloudFront distribution of the static files (a stand-in with an id and a host only: "
    "the API function's ESO_ASSETS_ORIGIN is checked against it), its origin access control "
    "and the assets bucket's policy (moto's CloudFormation has no CloudFront and skips "
    "AWS::S3::BucketPolicy)",
)
COVERED_BY = "tests/unit/ops/test_deploy_templates.py and tests/unit/ops/test_monitoring.py"


@dataclass
class Check:
    """One thing the drill verified, and whether it holds."""

    path: str
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    stage: str
    checks: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list:
        return [c for c in self.checks if not c.ok]


class AwsSimulator(Server):
    """moto in server mode with the drill's patches (``python -m devstack.awssim``), serving a
    socket this process opened: its port is its own from the start, so two simulators started
    at once (the drill's two paths, or two test runs on one machine) can never end up on one
    port, one path deploying into the other's account."""

    name = "AWS simulator"

    def __init__(self, log_path: Optional[Path] = None):
        self._socket = listening_socket()
        super().__init__(self._socket.getsockname()[1], log_path)

    def command(self) -> list:
        return [sys.executable, "-m", "devstack.awssim", "--fd", str(self._socket.fileno())]

    def inherited(self) -> tuple:
        return (self._socket.fileno(),)

    def start(self, timeout: float = 60) -> "AwsSimulator":
        try:
            super().start(timeout)
        finally:
            self._socket.close()  # the simulator holds its own copy; this one would outlive it
        return self

    def is_ready(self) -> bool:
        return awssim.is_serving(self.port)

    @property
    def endpoint(self) -> str:
        return awssim.endpoint(self.port)


# --- the docs' commands -----------------------------------------------------------------------


@dataclass
class Block:
    """A command block of the docs: its variables (NAME=value lines first) and commands."""

    heading: str
    variables: dict
    commands: list


def command_block(docs_text: str, heading: str) -> Block:
    """The first ```sh block after ``heading``, its continuation lines joined."""
    if heading not in docs_text:
        raise DrillError(f"{DOCS} has no section {heading!r}")
    section = docs_text.split(heading, 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    if not match:
        raise DrillError(f"{DOCS}: no ```sh block under {heading!r}")
    lines, joined = [], ""
    for line in match.group(1).splitlines():
        joined += line.rstrip()
        if joined.endswith("\\"):
            joined = joined[:-1].rstrip() + " "
            continue
        if joined.strip() and not joined.lstrip().startswith("#"):
            lines.append(joined.strip())
        joined = ""
    variables, commands = {}, []
    for line in lines:
        assignment = re.match(r"^([A-Z][A-Z0-9_]*)=(\S*)(\s+#.*)?$", line)
        if assignment and not commands:
            variables[assignment.group(1)] = assignment.group(2)
        else:
            commands.append(line)
    return Block(heading, variables, commands)


class DrillError(RuntimeError):
    """The drill could not run (as opposed to a check that failed)."""


# --- the copy and the environment -------------------------------------------------------------


def make_copy(dest: Path, dependency_zips: tuple = ()) -> Path:
    """The repository's deployable parts, copied, with Chalice's cache of dependency zips
    seeded from ``dependency_zips``; the wheelhouse linked."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    (dest / ".chalice" / "deployments").mkdir(parents=True)
    for source in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(source, dest / ".chalice" / source.name)
    for cached in dependency_zips:
        _link_or_copy(cached, dest / ".chalice" / "deployments" / cached.name)
    (dest / ".local").mkdir()
    (dest / ".local" / "wheelhouse").symlink_to(LOCAL / "wheelhouse")
    return dest


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def dependency_zip_name(project: Path) -> str:
    """The name Chalice gives its zip of the dependencies and code of ``project`` (a hash of
    requirements.txt and the app's files, and the functions' architecture): built once, reused
    while none of them changes."""
    from chalice.deploy.packager import LambdaDeploymentPackager
    from chalice.utils import OSUtils

    from devstack.package import lambda_architecture

    packager = LambdaDeploymentPackager(  # the name ends in the architecture unless x86_64
        osutils=OSUtils(), dependency_builder=None, ui=None,
        architecture=lambda_architecture(project / ".chalice" / "config.json"))
    return Path(packager.deployment_package_filename(str(project), "python3.11")).name


def dependency_zip(stage: str, workdir: Path, edit) -> Path:
    """Chalice's zip for the code the drill deploys: the repository's cached one when it has
    it, else built once in a copy (and, for the repository's own code, kept in its cache, as
    `make package` would), so that neither path nor stage builds it again."""
    probe = make_copy(workdir / "zip" / "eso")
    if edit:
        edit(probe)
    name = dependency_zip_name(probe)
    cached = ROOT / ".chalice" / "deployments" / name
    if cached.exists():
        return cached
    subprocess.run([sys.executable, "-m", "devstack", "package", "--stage", stage], cwd=probe,
                   env=command_env("http://localhost:9"), check=True, capture_output=True)
    built = probe / ".chalice" / "deployments" / name
    if not edit:
        cached.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(built, cached)
    return built


def command_env(endpoint: str) -> dict:
    """The operator's shell, pointed at the simulator: the virtualenv's tools first, dummy
    credentials, no AWS configuration files, no eSO variables of this shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ESO_", "PIP_")) and k not in ("PYTHONPATH",)}
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(LOCAL / "wheelhouse"),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


# --- the drill --------------------------------------------------------------------------------


class Drill:
    """Runs the docs' deploy commands for one stage on the simulator and checks the result."""

    def __init__(self, stage: str, project: Path, simulator: AwsSimulator,
                 say: Callable[[str], None] = print):
        self.stage = stage
        self.project = project
        self.simulator = simulator
        self.env = command_env(simulator.endpoint)
        self.say = say
        self.report = Report(stage)
        self.logs = project / "drill-logs"
        self.logs.mkdir(exist_ok=True)
        self._log_number = 0

    def record(self, path: str, checks: list) -> bool:
        for check in checks:
            check.path = path
            self.report.checks.append(check)
            mark = "ok  " if check.ok else "FAIL"
            self.say(f"  {mark}  {check.name}" + (f": {check.detail}" if check.detail else ""))
        return all(c.ok for c in checks)

    def run_command(self, command: str, variables: dict) -> Check:
        """One command of a block, in bash, with the block's variables set."""
        self._log_number += 1
        log = self.logs / f"{self._log_number:02d}.log"
        prefix = "".join(f"{name}={_quote(value)}\n" for name, value in variables.items())
        started = time.monotonic()
        with open(log, "w") as out:
            result = subprocess.run(["bash", "-euo", "pipefail", "-c", prefix + command],
                                    cwd=self.project, env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    timeout=600)
        seconds = time.monotonic() - started
        if result.returncode == 0:
            return Check("", f"ran `{_short(command)}`", True, f"{seconds:.1f} s")
        tail = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        return Check("", f"ran `{_short(command)}`", False,
                     f"exit {result.returncode} after {seconds:.1f} s: "
                     + " | ".join(tail[-4:])[-600:])

    def run_block(self, path: str, heading: str) -> bool:
        block = command_block((self.project / DOCS).read_text(), heading)
        variables = dict(block.variables)
        missing = [n for n in ("STAGE", *DRILL_VALUES) if n in _names_used(block)
                   and n not in variables]
        if missing:
            return self.record(path, [Check("", "the block sets its variables first", False,
                                            f"{', '.join(missing)} used but not set")])
        variables["STAGE"] = self.stage
        variables.update({k: v for k, v in DRILL_VALUES.items() if k in variables})
        for command in block.commands:
            if not self.record(path, [self.run_command(command, variables)]):
                return False
        return True

    def check(self, path: str, deleted: bool = False) -> bool:
        from devstack import drill_checks

        started = time.monotonic()
        checks = drill_checks.deleted_stage(self) if deleted else drill_checks.deployed_stage(self)
        ok = self.record(path, checks)
        self.say(f"        ({len(checks)} checks, {time.monotonic() - started:.1f} s)")
        return ok

    def release(self, number: int) -> None:
        """A new release for the next round: a changed setting of the stage, which every
        function must get (a code change would make Chalice rebuild its 21 MB zip)."""
        config_path = self.project / ".chalice" / "config.json"
        config = json.loads(config_path.read_text())
        config["stages"][self.stage]["environment_variables"][RELEASE_SETTING] = str(number)
        config_path.write_text(json.dumps(config, indent=2))

    def run(self, path: str, rounds: int = 2) -> Report:
        """The docs' block of ``path``, ``rounds`` times (a new release each time after the
        first), each followed by the checks; then, on the chalice path, ``chalice delete``."""
        started = time.monotonic()
        if path == "package":
            self.create_bucket()
        else:  # the packaged template is the reference for handlers and event sources:
            builder = concurrent.futures.ThreadPoolExecutor(1)  # built beside the deploy
            self.reference = builder.submit(self.package)
            builder.shutdown(wait=False)
        heading = CHALICE_BLOCK if path == "chalice" else PACKAGE_BLOCK
        for round_number in range(1, rounds + 1):
            if round_number > 1:
                self.release(round_number)
                self.say(f"  (round {round_number}: a new release, {RELEASE_SETTING}="
                         f"{round_number}, deployed over the last)")
            if not (self.run_block(path, heading) and self.check(path)):
                break
        else:
            if path == "chalice" and rounds > 1:
                delete = self.run_command(f"chalice delete --stage {self.stage}", {})
                if self.record(path, [delete]):
                    self.check(path, deleted=True)
        self.report.seconds = time.monotonic() - started
        return self.report

    def package(self) -> dict:
        """The stage's packaged template, built in the copy (as `python -m devstack package`)."""
        subprocess.run([sys.executable, "-m", "devstack", "package", "--stage", self.stage],
                       cwd=self.project, env=self.env, check=True, capture_output=True)
        return json.loads(self.template_path.read_text())

    @property
    def template_path(self) -> Path:
        return self.project / "build" / self.stage / "package" / "sam.json"

    def create_bucket(self) -> None:
        """The artifacts bucket the package path needs (created once per stage by hand)."""
        from devstack import drill_checks

        drill_checks.clients(self).s3.create_bucket(Bucket=DRILL_VALUES["BUCKET"])


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _short(command: str, limit: int = 90) -> str:
    return command if len(command) <= limit else command[:limit - 1] + "…"


def _names_used(block: Block) -> set:
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", " ".join(block.commands)))


def drill(stage: str, paths=PATHS, rounds: int = 2,
          edit: Optional[Callable[[Path], None]] = None,
          say: Callable[[str], None] = print) -> Report:
    """Rehearse ``paths`` for ``stage``, side by side, each in its own copy of the repository
    on its own simulator; ``edit`` may change each copy first (tests plant mistakes there, never
    in the repository)."""
    started = time.monotonic()
    say(f"deploy drill, stage {stage}: {' and '.join(paths)} path(s), side by side, each on "
        f"moto {awssim.MOTO_VERSION} in server mode")
    with tempfile.TemporaryDirectory(prefix=f"eso-drill-{stage}-") as tmp:
        zip_started = time.monotonic()
        zips = (dependency_zip(stage, Path(tmp), edit),)
        say(f"Chalice's zip of the code: {zips[0].name} "
            f"({time.monotonic() - zip_started:.0f} s)")
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(paths)) as pool:
            runs = [pool.submit(_drill_path, stage, path, rounds, Path(tmp) / path, edit, zips)
                    for path in paths]
            results = [run.result() for run in runs]
    report = Report(stage, seconds=time.monotonic() - started)
    for lines, path_report in results:
        for line in lines:
            say(line)
        report.checks += path_report.checks
    say("not verifiable on the simulator (checked in the templates by " + COVERED_BY + "):")
    for item in NOT_VERIFIABLE:
        say(f"  - {item}")
    failed = report.failures()
    say(f"drill {stage}: {len(report.checks)} checks, {len(failed)} failed, "
        f"{report.seconds:.0f} s")
    return report


def _drill_path(stage: str, path: str, rounds: int, workdir: Path,
                edit: Optional[Callable[[Path], None]], zips: tuple) -> tuple:
    lines: list = []
    project = make_copy(workdir / "eso", zips)
    if edit:
        edit(project)
    simulator = AwsSimulator(log_path=workdir / "simulator.log").start()
    try:
        title = "chalice deploy" if path == "chalice" else "chalice package"
        lines.append(f"{title} path (simulator {simulator.endpoint}, copy {project})")
        path_report = Drill(stage, project, simulator, lines.append).run(path, rounds)
        lines.append(f"  ({title} path: {path_report.seconds:.0f} s)")
    finally:
        simulator.stop()
    return lines, path_report


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack drill",
                                     description="Rehearse both deploy paths offline.")
    parser.add_argument("--stage", choices=["dev", "prod"], required=True)
    parser.add_argument("--path", choices=PATHS, action="append",
                        help="only this path (repeatable; default: both)")
    parser.add_argument("--json", action="store_true", help="also print the checks as JSON")
    args = parser.parse_args(argv)
    try:
        report = drill(args.stage, tuple(args.path or PATHS))
    except (DrillError, StackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"stage": report.stage, "ok": report.ok, "seconds": report.seconds,
                          "checks": [c.__dict__ for c in report.checks],
                          "not_verifiable": list(NOT_VERIFIABLE)}))
    return 0 if report.ok else 1
