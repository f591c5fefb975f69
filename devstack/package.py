"""``python -m devstack package --stage S``: the one CloudFormation (SAM) template of a stage.

Merges infra/ into a JSON merge template and runs ``chalice package --merge-template``. With a
wheelhouse in .local/wheelhouse (``python -m devstack wheelhouse``) it runs offline.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devstack.cfn import merged_template
from devstack.servers import LOCAL, ROOT, SAFE_AWS_ENV

WHEELHOUSE = LOCAL / "wheelhouse"
BUILD = ROOT / "build"


# Lambda's architecture names and the machine names of wheel platform tags.
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


def lambda_architecture(config_path: Path | None = None) -> str:
    """The functions' architecture in .chalice/config.json (Chalice's default: x86_64)."""
    config = json.loads((config_path or ROOT / ".chalice" / "config.json").read_text())
    return config.get("lambda_architecture", "x86_64")


def fetch_wheelhouse(architecture: str | None = None) -> Path:
    """The wheels of requirements.txt for offline packaging: the Lambda platform's, for the
    functions' architecture, and this machine's own. Chalice resolves the requirements for the
    machine it runs on first, then swaps in the Lambda platform's wheels, so an arm64 stage
    packaged on an x86_64 machine needs both (wheels of other architectures already there stay:
    the names differ)."""
    machine = MACHINES[architecture or lambda_architecture()]
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(WHEELHOUSE),
                "--only-binary=:all:", "-r", str(ROOT / "requirements.txt")]
    subprocess.run([*download, "--platform", f"manylinux2014_{machine}",
                    "--python-version", "3.11", "--implementation", "cp"], check=True)
    subprocess.run(download, check=True)
    return WHEELHOUSE


def package(stage: str, out: Path | None = None) -> Path:
    out = out or BUILD / stage
    out.mkdir(parents=True, exist_ok=True)
    merge = out / "merge.json"
    merge.write_text(json.dumps(merged_template(stage), indent=2))
    env = {**os.environ, **SAFE_AWS_ENV}
    if WHEELHOUSE.is_dir() and any(WHEELHOUSE.iterdir()):
        env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE)})
    chalice = Path(sys.executable).parent / "chalice"
    run = subprocess.run([str(chalice), "package", "--stage", stage, "--merge-template",
                          str(merge), str(out / "package")],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    run.check_returncode()
    if "Could not install dependencies" in run.stdout + run.stderr:
        # Chalice carries on without them: the zip would fail on its first import on Lambda.
        raise PackagingError(f"{stage}: a dependency has no wheel for the Lambda platform "
                             f"in {WHEELHOUSE} (python -m devstack wheelhouse)")
    return out / "package"


class PackagingError(RuntimeError):
    """The deployment package would not run on Lambda."""
