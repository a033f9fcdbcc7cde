import pytest
import torch

from metarl_neuro.tasks import HarlowAction, HarlowTask

L, R = HarlowAction.LEFT, HarlowAction.RIGHT


def act(task, a):
    return torch.full((task.batch_size,), int(a), dtype=torch.long)


def fixate(task):
    """Put every gaze next to the centre and step onto it (the fixation)."""
    task.gaze = torch.full((task.batch_size,), task.centre + 1)
    return task.step(act(task, L))


def test_shapes_dtypes_and_schema():
    task = HarlowTask(5, seed=1)
    obs = task.reset()
    assert obs.shape == (5, 8 * 11) and obs.dtype == torch.float32
    obs, r, done, log = task.step(act(task, R))
    assert r.shape == (5,) and r.dtype == torch.float32 and done.dtype == torch.bool
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].shape == (5,) and log[f.name].dtype == f.dtype, f.name


def test_fixation_objects_and_rewards():
    task = HarlowTask(64, seed=2)
    task.reset()
    _, r, _, log = fixate(task)
    assert torch.allclose(r, torch.full((64,), 0.2)) and (log["phase"] == 0).all()
    obs = task._observe().reshape(64, 8, 11)
    assert (obs[:, :, 0] == 0).all()  # the marker is gone, the objects are shown
    # gaze at the centre, window offsets -4..3: the objects (centre -/+ 3) are at window cells 1 and 7
    rew_cell = torch.where(task.side == 0, 1, 7)
    assert torch.equal(obs[torch.arange(64), rew_cell, 1:], task.codes[task.rewarded])
    side = task.side.clone()
    for _ in range(2):  # walk right three cells: +1 if the right object is the rewarded one, else -1
        _, r, _, _ = task.step(act(task, R))
        assert (r == 0).all()
    _, r, _, log = task.step(act(task, R))
    assert (log["gaze"] == task.centre + 3).all() and log["trial_end"].all() and (log["choice"] == 1).all()
    assert torch.equal(r, torch.where(side == 1, 1.0, -1.0)) and torch.equal(log["correct"], side == 1)
    assert (task.phase == 0).all() and (task.trial == 1).all()
    obs = task._observe().reshape(64, 8, 11)
    assert obs[:, :, 0].sum(1).eq(1).all()  # the marker is back


def test_episode_has_six_trials_and_step_limit():
    task = HarlowTask(4, seed=3, max_steps=250)
    task.reset()
    for trial in range(6):
        fixate(task)
        for _ in range(3):
            _, _, done, log = task.step(act(task, L))
        assert log["trial_end"].all() and (log["trial"] == trial).all()
    assert done.all() and (task.trial == 0).all()  # new episodes started
    t = HarlowTask(2, seed=4, max_steps=10)
    t.reset()
    for k in range(10):
        _, _, done, _ = t.step(act(t, L if k % 2 else R))
    assert done.all()


def test_held_out_objects_are_disjoint_and_codes_fixed():
    a, b = HarlowTask(4000, seed=5), HarlowTask(4000, stimuli="test", seed=5)
    assert int(a.rewarded.max()) < 900 and int(a.other.max()) < 900
    assert int(b.rewarded.min()) >= 900 and int(b.other.min()) >= 900
    assert (a.rewarded != a.other).all() and (b.rewarded != b.other).all()
    assert torch.equal(a.codes, HarlowTask(1, seed=99).codes)


def test_same_seed_same_episodes_and_slots_are_independent():
    a, b = HarlowTask(6, seed=7), HarlowTask(6, seed=7)
    a.reset(), b.reset()
    for k in range(300):
        acts = torch.randint(0, 2, (6,), generator=torch.Generator().manual_seed(k))
        la, lb = a.step(acts)[3], b.step(acts)[3]
        for key in la:
            assert torch.equal(la[key], lb[key])
    # a finished episode leaves its neighbour alone: slot 0 alone gets a short step limit
    c = HarlowTask(2, seed=8, max_steps=250)
    c.reset()
    c.steps[0] = 249
    before = (c.rewarded[1].item(), c.gaze[1].item())
    _, _, done, _ = c.step(act(c, R))
    assert done.tolist() == [True, False] and c.rewarded[1].item() == before[0]
    assert c.steps.tolist() == [0, 1]


def test_state_round_trip_and_bad_arguments():
    a = HarlowTask(3, seed=9)
    a.reset()
    for _ in range(7):
        a.step(act(a, R))
    b = HarlowTask(3, seed=1)
    b.load_state_dict(a.state_dict())
    for _ in range(20):
        oa, ra, _, _ = a.step(act(a, L))
        ob, rb, _, _ = b.step(act(b, L))
        assert torch.equal(oa, ob) and torch.equal(ra, rb)
    with pytest.raises(ValueError, match="unknown kind 'grid'"):
        HarlowTask(2, kind="grid")
    with pytest.raises(ValueError, match="stimuli"):
        HarlowTask(2, stimuli="val")
    with pytest.raises(ValueError, match="must fit a ring"):
        HarlowTask(2, object_offset=9)
    with pytest.raises(ValueError, match="action values"):
        HarlowTask(2).step(torch.tensor([0, 2]))
