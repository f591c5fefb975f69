"""The deploy drill: the deploy commands of docs/operations.md, run as written for each stage
on an AWS simulator, and the deployed stage checked against the project's sources of truth.
Each of three mistakes, planted in the drill's copy of the repository, makes it fail."""
import json
import subprocess
import sys

import pytest

from devstack import drill
from devstack.servers import ROOT

# Checks every full drill must have made (and passed), on each path.
EXPECTED = {
    "chalice": ("gateway responses as infra/api.yaml",
                "queue eso-sends: visibility timeout ≥ the send worker's timeout",
                "routes: every route of the app reaches the API function",
                "alarms: every alarm of infra/monitoring.yaml, on something that exists",
                "`chalice delete` removed what `chalice deploy` made",
                "ran `chalice delete --stage {stage}`"),
    "package": ("gateway responses as infra/api.yaml",
                "queue eso-sends: visibility timeout ≥ the send worker's timeout",
                "tables: keys and indexes as the PynamoDB models",
                "`python -m chalicelib.cli status` reads the stage"),
}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_both_deploy_paths_pass_the_drill(stage):
    result = subprocess.run([sys.executable, "-m", "devstack", "drill", "--stage", stage,
                             "--json"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["stage"] == stage
    for path, names in EXPECTED.items():
        passed = [c["name"] for c in report["checks"] if c["path"] == path and c["ok"]]
        for name in names:
            # Twice where the block runs twice: the first deploy and the release over it.
            assert name.format(stage=stage) in passed, (path, name)
        assert passed.count("gateway responses as infra/api.yaml") == 2, path
    assert "deploy drill, stage" in result.stdout and "not verifiable" in result.stdout
    assert any("TTL" in item for item in report["not_verifiable"])


def _drill(paths, edit):
    lines = []
    report = drill.drill("dev", paths=paths, rounds=1, edit=edit, say=lines.append)
    return report, "\n".join(lines)


def _edit_docs(old: str, new: str):
    def edit(project):
        docs = project / drill.DOCS
        text = docs.read_text()
        assert text.count(old) == 1, old
        docs.write_text(text.replace(old, new))
    return edit


def test_the_drill_fails_when_chalice_deploy_is_not_followed_by_the_gateway_responses():
    report, out = _drill(("chalice",), _edit_docs(
        "python -m chalicelib.cli --stage $STAGE deploy gateway-responses\n", ""))
    assert [c.name for c in report.failures()] == ["gateway responses as infra/api.yaml"], out
    assert "MISSING_AUTHENTICATION_TOKEN missing" in report.failures()[0].detail


def test_the_drill_fails_when_the_package_is_deployed_without_an_s3_bucket():
    report, out = _drill(("package",), _edit_docs(
        "--stack-name eso-$STAGE \\\n    --s3-bucket $BUCKET --capabilities",
        "--stack-name eso-$STAGE \\\n    --capabilities"))
    (failure,) = report.failures()
    assert failure.name.startswith("ran `aws cloudformation deploy"), out
    assert "51,200 bytes" in failure.detail


def test_the_drill_fails_when_the_send_worker_outlasts_the_queues_visibility_timeout():
    def edit(project):
        config_path = project / ".chalice" / "config.json"
        config = json.loads(config_path.read_text())
        config["stages"]["dev"]["lambda_functions"]["send_worker"]["lambda_timeout"] = 300
        config_path.write_text(json.dumps(config))

    report, out = _drill(("package",), edit)
    (failure,) = report.failures()
    assert failure.name == "queue eso-sends: visibility timeout ≥ the send worker's timeout", out
    assert "180 s < eso-dev-send_worker timeout 300 s" in failure.detail
