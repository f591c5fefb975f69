"""The deploy drill's AWS simulator keeps its port from the moment it is chosen: two started at
once (the drill's two paths side by side, or two test runs on one machine) are two accounts, and
a simulator told to use a busy port says so and ends instead of waiting for ever."""
import concurrent.futures
import subprocess
import sys

import boto3

from devstack import drill
from devstack.servers import ROOT, listening_socket, port_is_free


def _logs(simulator):
    return boto3.client("logs", endpoint_url=simulator.endpoint, region_name="us-east-1",
                        aws_access_key_id="t", aws_secret_access_key="t")


def _deploy_and_look(simulator, name):
    """As a drill path does, in its own thread: start the simulator, make a log group, list
    what the account holds, stop (a server ends with the thread that started it)."""
    simulator.start()
    try:
        _logs(simulator).create_log_group(logGroupName=name)
        groups = _logs(simulator).describe_log_groups()["logGroups"]
        return simulator.port, [g["logGroupName"] for g in groups]
    finally:
        simulator.stop()


def test_two_simulators_started_at_once_are_two_accounts(tmp_path):
    made = [drill.AwsSimulator(log_path=tmp_path / f"sim{n}.log") for n in (1, 2)]
    # The port is held before the process starts: nothing else can bind it meanwhile.
    assert [port_is_free(s.port) for s in made] == [False, False]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        seen = list(pool.map(_deploy_and_look, made, ["/aws/lambda/eso-a", "/aws/lambda/eso-b"]))
    assert seen[0][0] != seen[1][0]
    assert [groups for _, groups in seen] == [["/aws/lambda/eso-a"], ["/aws/lambda/eso-b"]]
    assert all(port_is_free(port) for port, _ in seen)


def test_a_simulator_told_to_use_a_busy_port_ends_with_the_reason():
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "devstack.awssim", "--port", str(port)],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"Port {port} is in use" in result.stderr
    assert "AWS simulator" not in result.stdout
