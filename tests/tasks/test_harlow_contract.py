"""One contract over the three Harlow forms: 1-D, the pixel surrogate, and the PsychLab wrapper on the real level
(marked ``deepmind_lab``: skipped where DeepMind Lab does not import)."""

import pytest
import torch

from metarl_neuro.experiments.harlow_1d import harlow_trials
from metarl_neuro.tasks import HarlowTask, PsychLabHarlow

MAKERS = {
    "1d": lambda B, seed: HarlowTask(B, "1d", seed=seed),
    "pixels": lambda B, seed: HarlowTask(B, "pixels", seed=seed, episode_frames=480),
    "psychlab": lambda B, seed: PsychLabHarlow(B, "dummy", seed=seed, episode_seconds=8),
}
FORMS = [pytest.param(f, marks=pytest.mark.deepmind_lab) if f == "psychlab" else f for f in MAKERS]
N_ACTIONS = {"1d": 2, "pixels": 5, "psychlab": 5}  # 1-D: left/right; pixels: stay, fine and saccade left/right


def equal_logs(x, y):
    """Equal tensors, NaN equal to NaN (the real level's gaze cannot be read on the step that ends an episode)."""
    return x.shape == y.shape and bool(((x == y) | (x.isnan() & y.isnan()) if x.is_floating_point() else x == y).all())


def play(task, actions):
    obs = [task.reset()]
    logs, rewards, dones = [], [], []
    for a in actions:
        o, r, d, log = task.step(a)
        obs.append(o)
        rewards.append(r)
        dones.append(d)
        logs.append(log)
    return torch.stack(obs), torch.stack(rewards), torch.stack(dones), {k: torch.stack([lg[k] for lg in logs])
                                                                         for k in logs[0]}


def random_actions(n, B, seed, n_actions):
    return list(torch.randint(0, n_actions, (n, B), generator=torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize("form", FORMS)
def test_shapes_dtypes_schema(form):
    task = MAKERS[form](3, 0)
    obs, rewards, dones, log = play(task, random_actions(150, 3, 0, task.n_actions))
    shape = tuple(task.obs_shape) if hasattr(task, "obs_shape") else (task.obs_dim,)
    assert obs.shape == (151, 3, *shape) and obs.dtype == torch.float32
    assert task.n_actions == N_ACTIONS[form]
    assert rewards.shape == (150, 3) and rewards.dtype == torch.float32 and dones.dtype == torch.bool
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].shape == (150, 3) and log[f.name].dtype == f.dtype, f.name
    table = harlow_trials(log, torch.ones_like(log["trial_end"]), form, 0)
    assert list(table.columns) == ["subject", "training_episodes", "episode", "trial", "choice", "rewarded_side",
                                   "correct", "rewarded_object", "other_object", "step"]


@pytest.mark.parametrize("form", FORMS)
def test_same_seed_same_trials(form):
    acts = random_actions(300, 2, 1, N_ACTIONS[form])
    a = play(MAKERS[form](2, 4), acts)
    b = play(MAKERS[form](2, 4), acts)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and all(equal_logs(a[3][k], b[3][k]) for k in a[3])
    ta = harlow_trials(a[3], torch.ones_like(a[3]["trial_end"]), "x", 0)
    assert len(ta) > 0 and ta.equals(harlow_trials(b[3], torch.ones_like(b[3]["trial_end"]), "x", 0))


@pytest.mark.parametrize("form", FORMS)
def test_a_finished_episode_does_not_disturb_the_others(form):
    """Slot 0 plays differently (so its episodes end at other times); slot 1's episode is untouched."""
    steps = 300
    n = N_ACTIONS[form]
    same = random_actions(steps, 2, 2, n)
    other = random_actions(steps, 2, 3, n)
    mixed = [torch.stack([o[0], s[1]]) for o, s in zip(other, same)]
    a = play(MAKERS[form](2, 5), same)
    b = play(MAKERS[form](2, 5), mixed)
    assert a[2][:, 0].any() or b[2][:, 0].any(), "slot 0 should finish an episode"
    assert not torch.equal(a[1][:, 0], b[1][:, 0]) or not torch.equal(a[0][:, 0], b[0][:, 0])
    assert torch.equal(a[0][:, 1], b[0][:, 1]) and torch.equal(a[1][:, 1], b[1][:, 1])
    assert all(equal_logs(a[3][k][:, 1], b[3][k][:, 1]) for k in a[3])
