"""`deploy gateway-responses` finds the REST API that `chalice deploy` recorded for the stage
(the step itself runs in the deploy drill, tests/integration/ops/test_deploy_drill.py)."""
import json
import shutil

import pytest

from chalicelib.ops import stage_commands
from chalicelib.platform.errors import NotFoundError
from devstack.servers import ROOT


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / ".chalice" / "deployed").mkdir(parents=True)
    shutil.copy(ROOT / ".chalice" / "config.json", tmp_path / ".chalice" / "config.json")
    monkeypatch.setattr(stage_commands, "PROJECT", tmp_path)
    return tmp_path


def test_the_rest_api_chalice_deploy_recorded_and_the_configured_api_stage(project):
    (project / ".chalice" / "deployed" / "prod.json").write_text(json.dumps({"resources": [
        {"name": "api_handler", "resource_type": "lambda_function"},
        {"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "abc123"}]}))
    assert stage_commands._deployed_rest_api("prod") == ("abc123", "api")


def test_a_stage_never_deployed_with_chalice_deploy_is_named(project):
    with pytest.raises(NotFoundError, match=r"no `chalice deploy --stage dev` recorded in "
                                            r"\.chalice/deployed/dev\.json: run it first"):
        stage_commands._deployed_rest_api("dev")


def test_a_record_without_a_rest_api_is_named(project):
    (project / ".chalice" / "deployed" / "dev.json").write_text(json.dumps({"resources": []}))
    with pytest.raises(NotFoundError, match="records no REST API"):
        stage_commands._deployed_rest_api("dev")
