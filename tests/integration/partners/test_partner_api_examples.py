"""The partner API's examples in docs/partner-api.md run as written, as the demo partner, against
the local stack."""
import json
import os
import re
import subprocess

from chalicelib import partners
from chalicelib.ops import demo
from devstack.servers import ROOT


def examples() -> str:
    text = (ROOT / "docs" / "partner-api.md").read_text()
    section = text.split("## Examples", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_partner_api_examples_run_as_written(app_server, stack_env, tmp_path):
    demo.seed()
    key_file = tmp_path / "demo-partner-key"
    key_file.write_text(partners.rotate_key(demo.DEMO_PARTNER_ID).api_key + "\n")
    script = examples()
    assert "http://127.0.0.1:8000" in script and ".local/state/demo-partner-key" in script
    # The same commands, on this test session's port and with this session's demo key.
    script = script.replace("http://127.0.0.1:8000", app_server.url)
    script = script.replace(".local/state/demo-partner-key", str(key_file))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT,
                            env={**os.environ, **stack_env}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    reported, reversed_, listed, report, topics, submitted, read_back = answers
    assert reported["transaction"]["status"] == "reported"
    assert reported["transaction"]["amount"] == "12.50"
    assert reversed_["transaction"]["status"] == "reversed"
    order = reported["transaction"]["order_id"]
    assert [t["order_id"] for t in listed["transactions"]].count(order) == 1
    assert report["days"] and report["days"][0]["date"] == report["from"]
    assert {"id": "office-supplies", "name": "Office supplies"} in topics["topics"]
    assert submitted["promotion"]["status"] == "pending_review"
    assert read_back["promotion"]["id"] == submitted["promotion"]["id"]
    assert read_back["promotion"]["topics"] == ["office-supplies"]
    assert "error" not in result.stdout
