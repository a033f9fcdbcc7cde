"""Trust (issue 25): no code runs from a run folder, one writer per run folder, training that diverges stops with
its checkpoint intact, and the report escapes what it shows. Every test here starts real processes or reads real
files: the hostile pickle is a real pickle whose loading would touch a file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from metarl_neuro.agents import TrainingDiverged
from metarl_neuro.experiments import TwoStepConfig
from metarl_neuro.experiments.two_step import simulate_two_step
from metarl_neuro.run import (
    Run,
    RunFolderLocked,
    UnsafeCheckpoint,
    convert_trusted_checkpoint,
    load_checkpoint,
)
from metarl_neuro.simulate import main

TINY = ["--episodes", "64", "--batch", "16", "--eval-episodes", "4", "--eval-every", "0", "--until", "",
        "--checkpoint-every-s", "0", "--no-progress"]


class _Payload:
    """Unpickling this object calls ``Path(marker).touch()``: code from the file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(checkpoint: Path, marker: Path) -> None:
    """Overwrite ``checkpoint`` with a real pickle that runs code when loaded with ``weights_only=False``."""
    good = torch.load(checkpoint, weights_only=True)
    torch.save({**good, "model": _Payload(marker)}, checkpoint)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny two-step run folder."""
    out = tmp_path_factory.mktemp("runs") / "two-step"
    assert main(["two-step", *TINY, "--out", str(out)]) == 0
    return out


def test_the_planted_pickle_does_run_code_without_weights_only(tmp_path, finished):
    """The control: the payload is real (loading it the unsafe way touches the marker)."""
    ckpt, marker = tmp_path / "checkpoint.pt", tmp_path / "ran"
    shutil.copy(finished / "checkpoint.pt", ckpt)
    _plant(ckpt, marker)
    torch.load(ckpt, weights_only=False)
    assert marker.exists()


def test_a_hostile_checkpoint_runs_no_code_through_any_loading_path(tmp_path, finished, capsys):
    marker = tmp_path / "code-ran"
    # 1. Run.load(folder).agent
    folder = tmp_path / "shared"
    shutil.copytree(finished, folder)
    _plant(folder / "checkpoint.pt", marker)
    with pytest.raises(UnsafeCheckpoint, match="was not unpickled.*convert-trusted"):
        _ = Run.load(folder).agent
    with pytest.raises(UnsafeCheckpoint, match="holds objects other than tensors"):
        load_checkpoint(folder / "checkpoint.pt")
    # 2. simulate ... --resume
    resumable = tmp_path / "resumable"
    shutil.copytree(finished, resumable)
    for f in ("trials.parquet", "activations.nc"):
        (resumable / f).unlink()
    _plant(resumable / "checkpoint.pt", marker)
    assert main(["two-step", "--resume", "--extend", "128", "--out", str(resumable), "--no-progress"]) == 2
    assert "was not unpickled" in capsys.readouterr().err
    # 3. simulate harlow-pixels --init-from FOLDER
    source = tmp_path / "pixels-source"
    source.mkdir()
    config = {"experiment": "harlow-pixels", "config": {"fov": 90.0, "stacked": True}}  # as a run folder records it
    (source / "config.json").write_text(json.dumps(config))
    shutil.copy(folder / "checkpoint.pt", source / "checkpoint.pt")
    assert main(["harlow-pixels", "--episodes", "0", "--eval-episodes", "2", "--init-from", str(source),
                 "--out", str(tmp_path / "pixels"), "--no-progress"]) == 2
    assert "was not unpickled" in capsys.readouterr().err
    # 4. simulate bandit --cross-test over a planted training folder
    cross = tmp_path / "cross"
    bandit = cross / "train-independent"
    assert main(["bandit", "--episodes", "32", "--eval-episodes", "4", "--out", str(bandit), "--no-progress"]) == 0
    _plant(bandit / "checkpoint.pt", marker)
    assert main(["bandit", "--cross-test", "--episodes", "32", "--eval-episodes", "4", "--out", str(cross),
                 "--no-progress"]) == 2
    assert "was not unpickled" in capsys.readouterr().err
    assert not marker.exists()  # through all four paths, no code from the files ran


def test_a_trusted_old_checkpoint_converts_once_and_then_loads_safely(tmp_path, finished):
    ckpt = tmp_path / "checkpoint.pt"
    good = torch.load(finished / "checkpoint.pt", weights_only=True)
    torch.save({**good, "extra": _Payload(tmp_path / "mine")}, ckpt)  # an object beyond tensors, made by us
    with pytest.raises(UnsafeCheckpoint):
        load_checkpoint(ckpt)
    assert convert_trusted_checkpoint(ckpt) == ckpt
    back = load_checkpoint(ckpt, keys=("model", "optimizer", "task", "sampler", "train"))
    assert "extra" not in back and torch.equal(back["model"]["cell.weight_ih"], good["model"]["cell.weight_ih"])


# ------------------------------------------------------------------------------------------- one writer
_RACER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from metarl_neuro.simulate import main
    go = Path(sys.argv[1])
    (go.parent / f"ready-{os.getpid()}").touch()
    while not go.exists():
        time.sleep(0.001)
    sys.exit(main(sys.argv[2:]))
""")


def _race(tmp_path):
    """Two ``simulate`` processes (seeds 1 and 2) on one ``--out``, released at the same instant."""
    out, go = tmp_path / "run", tmp_path / "go"
    args = ["two-step", "--episodes", "320", "--batch", "16", "--eval-episodes", "8", "--eval-every", "0",
            "--until", "", "--checkpoint-every-s", "0", "--no-progress", "--out", str(out)]
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(go), *args, "--seed", str(seed)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # both have imported the package and wait on the go file
    go.touch()
    return out, procs


@pytest.mark.slow  # 10 s a round: in the slow step, three rounds (the default suite's real second process is
@pytest.mark.parametrize("round_", range(3))  # the killed writer's, below)
def test_two_writers_released_together_one_is_refused_by_name(tmp_path, round_):
    _check_race(tmp_path)


def _check_race(tmp_path):
    out, procs = _race(tmp_path)
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0] == 2)[2]
    assert f"on host {socket.gethostname()}" in loser and "is being written by another process (PID " in loser
    winner_pid = next(p.pid for p, r in zip(procs, results) if r[0] == 0)
    assert f"PID {winner_pid} " in loser
    # the folder is one run's: config, checkpoint and activations agree, seed and all
    run = Run.load(out)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["config_hash"] == run.meta["config_hash"] == run.activations.attrs["config_hash"]
    assert run.activations.attrs["seed"] == run.config.seed
    assert not (out / ".lock.owner").exists()  # released


def test_a_killed_writers_lock_is_recovered(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from metarl_neuro.run import Run
        with Run({str(out)!r}).writer():
            print("holding", flush=True)
            time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    with pytest.raises(RunFolderLocked, match=f"PID {holder.pid} on host"):
        with Run(out).writer():
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    assert (out / ".lock.owner").exists()  # the dead writer's note is left behind; its lock is not
    path = simulate_two_step(TwoStepConfig(episodes=32, batch=16, eval_episodes=4, until="", device="cpu"), out,
                             progress=False)
    assert Run.load(path).trials.shape[0] > 0


def test_a_failed_start_writes_nothing(tmp_path, capsys):
    out = tmp_path / "x"
    if not torch.cuda.is_available():
        assert main(["two-step", *TINY, "--device", "cuda", "--out", str(out)]) == 2
        assert "torch.cuda.is_available() is False" in capsys.readouterr().err
        assert not out.exists()
    assert main(["two-step", *TINY, "--out", str(out)]) == 0  # the corrected command is not refused


# ------------------------------------------------------------------------------------------- divergence
def test_divergence_stops_training_naming_the_update_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import metarl_neuro.agents.training as training

    real, calls = training.a2c_loss, {"n": 0}

    def nan_on_third(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss._replace(total=loss.total * float("nan")) if calls["n"] == 3 else loss

    monkeypatch.setattr(training, "a2c_loss", nan_on_third)
    out = tmp_path / "run"
    config = TwoStepConfig(episodes=6400, batch=16, eval_episodes=4, until="", eval_every=0, checkpoint_every_s=0.0,
                           device="cpu")
    with pytest.raises(TrainingDiverged) as err:
        simulate_two_step(config, out, progress=False)
    text = str(err.value)
    assert "training diverged at update 3: non-finite loss" in text
    assert "learning rate too high" in text and "--max-grad-norm" in text and "lr 0.007" in text
    assert f"The last good checkpoint, {out / 'checkpoint.pt'} at update 2, is left as it was" in text
    ckpt = load_checkpoint(out / "checkpoint.pt", keys=("model", "train"))
    assert ckpt["train"]["update"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())


def test_a_non_finite_gradient_or_parameter_is_caught_before_it_is_kept():
    from metarl_neuro.agents import A2CLSTM, A2CSettings, Carry, a2c_update, collect_rollout
    from metarl_neuro.tasks import TwoStepTask

    torch.manual_seed(0)
    task = TwoStepTask(8, seed=0)
    agent = A2CLSTM(task.obs_dim, task.n_actions, 16)
    settings = A2CSettings(10, 0.9, 1.0, 0.05, 0.05, float("inf"))
    carry = Carry.start(agent, task.reset())
    class Overflowing(torch.optim.SGD):
        """An optimiser step that sends a weight to infinity (what an absurd rate does)."""

        def step(self, closure=None):
            super().step(closure)
            with torch.no_grad():
                agent.policy.weight[0, 0] = float("inf")

    # a step that overflows a weight: caught after the step
    rollout, _ = collect_rollout(agent, task, carry, 10, torch.Generator().manual_seed(0))
    with pytest.raises(TrainingDiverged, match=r"update 7: non-finite parameter policy\.weight \(after the optimiser"):
        a2c_update(agent, Overflowing(agent.parameters(), lr=1e-3), rollout, settings, 7)
    # the next rollout, from those weights, has a non-finite loss: caught before the backward pass
    rollout, _ = collect_rollout(agent, task, carry, 10, torch.Generator().manual_seed(0))
    with pytest.raises(TrainingDiverged, match="update 8: non-finite loss"):
        a2c_update(agent, torch.optim.SGD(agent.parameters(), lr=1e-3), rollout, settings, 8)


# ------------------------------------------------------------------------------------------- the report
def test_the_report_escapes_every_string(tmp_path):
    from metarl_neuro.report import write_report
    from metarl_neuro.reproduce import run_seed

    folder = tmp_path / "two-step" / "seed0"
    values = {"episodes": 64, "batch": 16, "eval_episodes": 20, "until": "", "eval_every": 0, "seed": 0}
    run_seed("two-step", values, str(folder), str(tmp_path / "logs" / "seed0.log"))
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["note"] = "<script>alert('x')</script>"  # a lab's own field, shown in the report's config
    (folder / "config.json").write_text(json.dumps(meta))
    html, _md = write_report(tmp_path, ["two-step"], [0])
    page = html.read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(" in page
    assert "<table" in page and "data:image/png;base64," in page  # our own tables and figures still render
