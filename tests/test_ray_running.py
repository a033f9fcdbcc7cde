"""``reproduce`` / ``sweep`` without ``--address`` on a machine where a Ray cluster already runs (issue 25): they
start a private local cluster of the CPUs asked for, and leave the running one alone. A real head node is started
with ``ray start --head --block`` in a process group of its own, and that group alone is stopped at the end: ``ray
stop`` would also kill every other Ray cluster on the machine (a reproduction running beside the tests was lost to
it); the session runs in its own Python process. The head node's address file (``ray_current_cluster``, which a
plain ``ray.init()`` would try to join) is put back as it was."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")


@pytest.mark.slow
def test_a_running_cluster_is_neither_joined_nor_a_reason_to_fail():
    ray_cli = shutil.which("ray") or pytest.skip("the ray command is not on PATH")
    from ray._private.utils import get_ray_address_file

    address_file = Path(get_ray_address_file(None))
    before = address_file.read_text() if address_file.exists() else None
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", "--num-cpus", "1", "--include-dashboard", "false"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        started, lines = False, []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and head.poll() is None:
            line = head.stdout.readline()
            lines.append(line)
            if "Ray runtime started" in line:
                started = True
                break
        assert started, "".join(lines)[-2000:]
        code = ("from metarl_neuro.reproduce import ray_session\n"
                "with ray_session(num_cpus=2) as ray:\n"
                "    print('CPUs', int(ray.cluster_resources()['CPU']))\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "CPUs 2" in out.stdout  # its own cluster of 2 CPUs, not the running one of 1
    finally:  # this head node's process group only (ray start --block stops its services on SIGTERM)
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        head.stdout.close()
        now = address_file.read_text() if address_file.exists() else None
        if now != before:  # this head node's address: put back the file as it was
            if before is None:
                address_file.unlink()
            else:
                address_file.write_text(before)
