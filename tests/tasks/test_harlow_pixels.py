import numpy as np
import pytest
import torch

from metarl_neuro.tasks import HarlowTask
from metarl_neuro.tasks.harlow_pixels import HarlowPixelTask, load_stimuli, procedural_stimuli

STAY, LEFT, RIGHT = 2, 0, 1


def act(task, a):
    return torch.full((task.batch_size,), a, dtype=torch.long)


def test_kind_pixels_builds_the_pixel_task_and_contract():
    task = HarlowTask(5, kind="pixels", seed=1)
    assert isinstance(task, HarlowPixelTask)
    obs = task.reset()
    assert obs.shape == (5, 3, 84, 84) and obs.dtype == torch.float32 and 0 <= float(obs.min()) <= float(obs.max()) <= 1
    obs, r, done, log = task.step(act(task, STAY))
    assert r.dtype == torch.float32 and done.dtype == torch.bool
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].shape == (5,) and log[f.name].dtype == f.dtype, f.name


def test_cross_images_rewards_and_gap():
    task = HarlowTask(8, kind="pixels", seed=2)
    obs = task.reset()
    red = obs[:, 0, 42, 42] == 1  # the red cross at the centre of the view
    assert red.all() and (obs[:, 1:, 42, 42] == 0).all()
    paid = [task.step(act(task, STAY))[1] for _ in range(4)]  # hold the gaze on the cross for 4 frames
    assert all((p == 0).all() for p in paid[:3]) and (paid[3] == 1.0).all()
    side = task.side_plan[:, 0].clone()
    obs = task._observe()
    assert (obs[:, 0, 42, 42] == 0).all()  # cross gone, images shown (centred at +-42 px: the view's edges)
    # look left 5 steps (to 84 - 40 = 44, inside the left image's button |x - 42| <= 17), then hold
    rewards, ends = [], []
    for _ in range(8):
        _, r, _, log = task.step(act(task, LEFT) if len(rewards) < 5 else act(task, STAY))
        rewards.append(r)
        ends.append(log["trial_end"])
        if bool(log["trial_end"].all()):
            break
    assert bool(ends[-1].all()) and (log["choice"] == 0).all()
    assert torch.equal(rewards[-1], torch.where(side == 0, 5.0, -5.0)) and torch.equal(log["correct"], side == 0)
    assert (task.phase == 2).all()
    for _ in range(5):  # the 5-frame gap, then the cross again
        task.step(act(task, RIGHT))
    assert (task.phase == 0).all()


def test_sides_are_a_shuffled_three_and_three_and_held_out_images():
    task = HarlowTask(500, kind="pixels", seed=3)
    assert (task.side_plan.sum(1) == 3).all() and task.side_plan.float().std(0).min() > 0.3
    test = HarlowTask(500, kind="pixels", stimuli="test", seed=3)
    n = len(procedural_stimuli())
    assert int(task.rewarded.max()) < n - round(0.2 * n) <= int(test.rewarded.min())
    assert (task.rewarded != task.other).all()


def test_procedural_stimuli_are_distinct():
    imgs = procedural_stimuli()
    flat = imgs.reshape(len(imgs), -1)
    assert len(imgs) == 576 and torch.cdist(flat, flat).add(torch.eye(len(imgs)) * 1e9).min() > 1.0


def test_same_seed_same_episodes_slots_independent_and_state_round_trip():
    a, b = HarlowTask(4, kind="pixels", seed=5), HarlowTask(4, kind="pixels", seed=5)
    a.reset(), b.reset()
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        acts = torch.randint(0, 3, (4,), generator=g)
        oa, ra, _, la = a.step(acts)
        ob, rb, _, lb = b.step(acts)
        assert torch.equal(oa, ob) and torch.equal(ra, rb) and all(torch.equal(la[k], lb[k]) for k in la)
    c = HarlowTask(4, kind="pixels", seed=1)
    c.load_state_dict(a.state_dict())
    for _ in range(20):
        acts = torch.randint(0, 3, (4,), generator=g)
        assert torch.equal(a.step(acts)[0], c.step(acts)[0])
    d = HarlowTask(2, kind="pixels", seed=6)
    d.reset()
    d.steps[0] = d.max_steps - 1
    keep = d.rewarded[1].item()
    _, _, done, _ = d.step(act(d, STAY))
    assert done.tolist() == [True, False] and d.rewarded[1].item() == keep


def test_stimuli_folder_and_bad_arguments(tmp_path):
    import matplotlib.pyplot as plt

    for k in range(4):
        plt.imsave(tmp_path / f"{k + 1:04d}.png", np.full((20, 20, 3), k / 4))
    imgs = load_stimuli(tmp_path, size=16)
    assert imgs.shape == (4, 3, 16, 16)
    task = HarlowTask(2, kind="pixels", images=imgs, test_fraction=0.5)
    assert task.id_range == (0, 2)
    with pytest.raises(ValueError, match="need at least 4"):
        load_stimuli(tmp_path / "none")
    with pytest.raises(ValueError, match="unknown reward preset"):
        HarlowTask(2, kind="pixels", rewards="big")
    with pytest.raises(ValueError, match="unknown kind"):
        HarlowTask(2, kind="3d")
