"""The README's five-minute walkthrough works as written, against the local stack."""
import os
import re
import subprocess

from devstack.servers import ROOT


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Five-minute walkthrough", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def test_the_readme_walkthrough_runs_as_written(app_server, mailbox, stack_env):
    script = walkthrough()
    assert "127.0.0.1:8000" in script and "127.0.0.1:8200" in script
    # The same commands, on this test session's ports instead of make run's.
    script = script.replace("http://127.0.0.1:8000", app_server.url)
    script = script.replace("http://127.0.0.1:8200", mailbox.url)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT,
                            env={**os.environ, **stack_env}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '{"status":"ok"}' in out and '{"status":"verification_sent"}' in out
    assert '{"status":"verified"}' in out and "\n401\n" in out
    assert '"transaction"' in out and '"days"' in out
