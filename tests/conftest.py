import os
import signal
import subprocess
import sys
import time

import pytest

# JAX's CPU device count is fixed at its first computation: two, so that fit_bayesian(cores=2) samples two chains at
# once in the tests too (JAX is imported by the tests only)
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Tables cached by the code under test (Gittins indices) go to a temporary folder, not ~/.cache."""
    monkeypatch.setenv("METARL_NEURO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def paper_structure_run(tmp_path_factory):
    """One 32-episode two-step run of W18's paper structure (Methods: three actions, wrong ones paid -1), trained
    once for the tests that read it (tests/test_simulate.py) or analyse it (tests/test_analyze.py writes its
    --hidden figures into it)."""
    from metarl_neuro.experiments import TwoStepConfig
    from metarl_neuro.experiments.two_step import simulate_two_step

    cfg = TwoStepConfig(episodes=32, batch=16, eval_episodes=6, device="cpu", structure="paper")
    return simulate_two_step(cfg, tmp_path_factory.mktemp("paper") / "paper", progress=False)


def _has_deepmind_lab() -> bool:
    try:
        import deepmind_lab  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    """Tests marked ``deepmind_lab`` run the real level where ``deepmind_lab`` imports and are skipped elsewhere."""
    if _has_deepmind_lab():
        return
    skip = pytest.mark.skip(reason="needs DeepMind Lab's deepmind_lab module (bash ../shared/deepmind_lab/install.sh, "
                                   "or build it from source: metarl_neuro/tasks/psychlab.py)")
    for item in items:
        if "deepmind_lab" in item.keywords:
            item.add_marker(skip)


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
