import signal
import subprocess
import sys
import time

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Tables cached by the code under test (Gittins indices) go to a temporary folder, not ~/.cache."""
    monkeypatch.setenv("METARL_NEURO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


# tests/stand_in holds a fake `deepmind_lab` module that the PsychLab tests load explicitly; it must not be
# imported as a side effect of collection (--doctest-modules would put it on sys.path).
collect_ignore = ["stand_in"]


@pytest.fixture
def kill_after_checkpoint():
    """``kill(args, out)``: run ``python -m metarl_neuro.simulate *args --out out``, SIGKILL it shortly after its
    first checkpoint appears, and check that the kill came before the trials were written."""

    def kill(args, out):
        proc = subprocess.Popen([sys.executable, "-m", "metarl_neuro.simulate", *args, "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert (out / "checkpoint.pt").exists() and not (out / "trials.parquet").exists(), "kill came too late"

    return kill
