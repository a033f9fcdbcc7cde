import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from metarl_neuro.logs import harlow_trials
from metarl_neuro.tasks.psychlab import PsychLabHarlow, parse_trial_data

sys.path.insert(0, str(Path(__file__).parents[1] / "stand_in"))
import deepmind_lab as stand_in

sys.path.pop(0)
sys.modules.pop("deepmind_lab", None)


def test_missing_deepmind_lab_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepmind_lab", None)  # import fails as if not installed
    with pytest.raises(ImportError, match="build it from source with Bazel"):
        PsychLabHarlow(2)


def test_lazy_import_finds_an_installed_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "deepmind_lab", stand_in)
    task = PsychLabHarlow(2, seed=3)
    assert task.reset().shape == (2, 3, 84, 84)


def test_parse_trial_data():
    text = "{\n  ['correct'] = 1\n  ['response'] = correct_image\n  ['reactionTime'] = 0.25\n}\n"
    assert parse_trial_data(text) == {"correct": 1, "response": "correct_image", "reactionTime": 0.25}


def play(task, steps, seed):
    rng = np.random.default_rng(seed)
    task.reset()
    logs, rewards = [], []
    for _ in range(steps):
        # drift towards a side, sometimes back to the centre, so that trials complete
        a = torch.as_tensor(rng.choice(3, size=task.batch_size, p=[0.45, 0.45, 0.1]), dtype=torch.long)
        obs, r, done, log = task.step(a)
        assert obs.shape == (task.batch_size, 3, 84, 84) and obs.dtype == torch.float32
        assert float(obs.max()) <= 1.0 and r.dtype == torch.float32 and done.dtype == torch.bool
        logs.append(log)
        rewards.append(r)
    return {k: torch.stack([lg[k] for lg in logs]) for k in logs[0]}, torch.stack(rewards)


def test_trial_table_matches_the_levels_event_log_exactly():
    task = PsychLabHarlow(3, seed=1, lab_module=stand_in)
    log, rewards = play(task, 600, seed=0)
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].dtype == f.dtype, f.name
    table = harlow_trials(log, torch.ones_like(log["trial_end"]), "psychlab", 0)
    for b, env in enumerate(task.envs):
        events = [parse_trial_data(p) for _, p in env.published]
        assert len(events) > 6  # several episodes
        # the table is sorted (stably) by slot and trial number; order the level's log the same way
        events = sorted(events, key=lambda e: e["trial"])
        mine = table[table["episode"] == b]
        assert mine["trial"].tolist() == [e["trial"] - 1 for e in events]
        assert mine["correct"].tolist() == [e["correct"] == 1 for e in events]
        assert mine["rewarded_side"].tolist() == [e["correctResponse"] - 1 for e in events]
        assert (mine["choice"] == np.where(mine["correct"], mine["rewarded_side"], 1 - mine["rewarded_side"])).all()
    # rewards passed through: +5 / -5 at each trial end (the 5-frame gap keeps fixations out of that step)
    ends = log["trial_end"]
    assert torch.equal(rewards[ends], torch.where(log["correct"][ends], 5.0, -5.0))
    assert set(rewards[~ends].unique().tolist()) <= {0.0, 1.0}
    assert int(ends.sum()) == len(table)


def test_same_seed_same_trials_and_episode_resets():
    a = harlow_trials(*_run(4), "x", 0)
    b = harlow_trials(*_run(4), "x", 0)
    assert a.equals(b) and len(a) > 0
    t = PsychLabHarlow(2, seed=5, lab_module=stand_in)
    play(t, 400, seed=1)
    assert (t.episodes_started >= 2).all()  # finished episodes were reset in their slot


def _run(seed):
    task = PsychLabHarlow(2, seed=seed, lab_module=stand_in)
    log, _ = play(task, 300, seed=seed)
    return log, torch.ones_like(log["trial_end"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="must be >= 1"):
        PsychLabHarlow(0, lab_module=stand_in)
    task = PsychLabHarlow(1, lab_module=stand_in)
    task.reset()
    with pytest.raises(ValueError, match="action values"):
        task.step(torch.tensor([3]))


def test_simulate_psychlab_harlow_on_the_stand_in(tmp_path, monkeypatch, capsys):
    from metarl_neuro.run import Run
    from metarl_neuro.simulate import main

    monkeypatch.setitem(sys.modules, "deepmind_lab", stand_in)
    args = ["psychlab-harlow", "--episodes", "4", "--batch", "2", "--eval-episodes", "2", "--hidden-size", "32",
            "--device", "cpu", "--no-progress", "--out", str(tmp_path / "p")]
    assert main(args) == 0
    run = Run.load(tmp_path / "p")
    assert run.agent.__class__.__name__ == "ConvA2CLSTM" and run.activations.sizes["unit"] == 32
    assert (tmp_path / "p" / "figures" / "harlow_performance.png").is_file()
    monkeypatch.setitem(sys.modules, "deepmind_lab", None)
    assert main([*args[:-1], str(tmp_path / "q")]) == 2
    assert "build it from source" in capsys.readouterr().err and not (tmp_path / "q").exists()
