"""``reproduce`` / ``sweep`` without ``--address`` on a machine where a Ray cluster already runs (issue 25): they
start a private local cluster of the CPUs asked for, and leave the running one alone. A real head node is started
with ``ray start --head`` (and stopped at the end); the session runs in its own Python process."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytest.importorskip("ray")


@pytest.mark.slow
def test_a_running_cluster_is_neither_joined_nor_a_reason_to_fail():
    ray_cli = shutil.which("ray") or pytest.skip("the ray command is not on PATH")
    start = subprocess.run([ray_cli, "start", "--head", "--num-cpus", "1", "--include-dashboard", "false"],
                           capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stderr
    try:
        code = ("from metarl_neuro.reproduce import ray_session\n"
                "with ray_session(num_cpus=2) as ray:\n"
                "    print('CPUs', int(ray.cluster_resources()['CPU']))\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "CPUs 2" in out.stdout  # its own cluster of 2 CPUs, not the running one of 1
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=180)
