"""The torch surrogate of the PsychLab Harlow level: the measured timing and geometry, worked by hand.

The level's facts these tests encode were measured on the real level (see ``LevelGeometry``); the step-by-step
comparison with the real level is in ``test_psychlab_real.py``.
"""

import numpy as np
import pytest
import torch

from metarl_neuro.tasks import HarlowTask
from metarl_neuro.tasks.harlow_pixels import (
    GRID_DEG,
    GRID_PER_UNIT,
    LEVEL,
    HarlowPixelTask,
    dmlab_dummy_stimuli,
    load_stimuli,
    look_actions,
    procedural_stimuli,
)

STAY, FINE_L, FINE_R, SAC_L, SAC_R = range(5)


def act(task, a):
    return torch.full((task.batch_size,), a, dtype=torch.long)


def centred(B=3, seed=0, **kw):
    task = HarlowPixelTask(B, seed=seed, start_range_deg=0.0, **kw)
    task.reset()
    return task


def test_kind_pixels_builds_the_surrogate_with_the_protocol():
    task = HarlowTask(5, kind="pixels", seed=1)
    assert isinstance(task, HarlowPixelTask) and task.n_actions == 5
    obs = task.reset()
    assert obs.shape == (5, 3, 84, 84) and obs.dtype == torch.float32 and 0 <= float(obs.min()) <= float(obs.max()) <= 1
    obs, r, done, log = task.step(act(task, STAY))
    assert r.dtype == torch.float32 and done.dtype == torch.bool
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].shape == (5,) and log[f.name].dtype == f.dtype, f.name


def test_fixation_fires_on_the_fourth_frame_and_pays_a_frame_later():
    """Start on the cross: frames 1-4 hold it (the episode's first frame counts, judged at the start gaze, as on
    the level: issue 29), the trigger fires on frame 4 and its +1 arrives on frame 5 (step 2's first frame)."""
    task = centred()
    _, r1, _, log1 = task.step(act(task, STAY))  # frames 1-4: fires on frame 4; the images are shown
    assert (r1 == 0).all() and log1["fixated"].all() and (task.phase == 1).all()
    _, r2, _, log2 = task.step(act(task, STAY))  # frame 5 pays
    assert (r2 == 1).all() and not log2["fixated"].any()


def test_reset_observation_shows_an_empty_screen_as_the_level():
    task = HarlowPixelTask(2, start_range_deg=0.0)
    obs = task.reset()
    assert (obs[:, 0, 30:54, 30:54] == 0).all()  # black screen, no cross before the first frame


def test_saccade_to_an_image_hold_reward_gap_and_cross_again():
    task = centred(B=4, seed=2)
    task.step(act(task, STAY))
    task.step(act(task, STAY))  # fixated; images shown
    side = task.side_plan[:, 0].clone()
    # one saccade left: 4 frames of 692.06 grid steps, 15.2 deg, inside the left button (11.25-24.42 deg)
    _, r, _, log = task.step(act(task, SAC_L))
    assert torch.allclose(log["gaze"], torch.full((4,), -4 * 36 * GRID_PER_UNIT * GRID_DEG), atol=GRID_DEG)
    assert not log["trial_end"].any()  # judged from the frame before: 1 frame on the button by the end
    _, r, _, log = task.step(act(task, STAY))  # frames 2-4 on it: fires on the step's 3rd frame, pays on the 4th
    assert log["trial_end"].all() and (log["choice"] == 0).all() and torch.equal(log["correct"], side == 0)
    assert torch.equal(r, torch.where(side == 0, 5.0, -5.0)) and (task.phase == 2).all()
    # the choice fired on frame 3 of that step; the gap's 5 frames tick on its frame 4 and this step's 4 frames
    _, _, _, log = task.step(act(task, SAC_R))  # back to the cross, which returns on this step's last frame
    assert (log["phase"] == 2).all() and (task.phase == 0).all()
    obs = task._observe()
    assert (obs[:, 0, 41:43, 41:43] == 1).all()


def test_sixth_trial_ends_the_episode_and_pays_on_its_own_frame():
    task = centred(B=2, seed=3)
    pattern = [STAY, STAY, SAC_L, STAY, SAC_R, STAY, STAY]  # fixate, choose left, return, wait out the gap
    total = torch.zeros(2)
    done_at = None
    for k in range(60):
        a = pattern[2:][(k - 2) % 5] if k >= 2 else STAY
        _, r, d, log = task.step(act(task, a))
        total += r
        if d.any():
            done_at = k
            break
    assert done_at is not None and d.all()
    assert int(log["trial"][0]) == 5 and log["trial_end"].all()
    # 6 fixations (+1) and 3 left-is-right + 3 left-is-wrong choices (+5, -5): the last one paid on its frame
    assert torch.equal(total, torch.full((2,), 6.0))
    assert (task.trial == 0).all() and (task.steps == 0).all()  # fresh episodes in the slots


def test_time_limit_in_frames():
    task = HarlowPixelTask(2, start_range_deg=30.0, episode_frames=10, seed=4)
    task.reset()
    dones = [task.step(act(task, FINE_L))[2] for _ in range(3)]  # 12 frames; ends on frame 10 (step 3)
    assert not dones[0].any() and not dones[1].any() and dones[2].all()


def test_look_actions_and_grid_motion():
    assert look_actions((5, 36)).tolist() == [0, -5, 5, -36, 36]
    assert look_actions((20,)).tolist() == [0, -20, 20]
    with pytest.raises(ValueError, match="positive look sizes"):
        look_actions(())
    task = centred(B=1)
    for a, units in ((FINE_R, 5), (SAC_R, 36), (FINE_L, -5)):
        before = float(task.gaze)
        task.step(act(task, a))
        assert float(task.gaze) - before == pytest.approx(4 * units * GRID_PER_UNIT)


def test_start_gaze_is_uniform_over_the_levels_range_on_its_grid():
    task = HarlowPixelTask(4000, seed=5)
    deg = task.gaze * GRID_DEG
    assert float(deg.abs().max()) <= LEVEL.start_range_deg
    # uniform on [-22.5, 22.5]: mean 0 (SE 22.5 / sqrt(3 * 4000) = 0.21), SD 13.0
    assert abs(float(deg.mean())) < 4 * 0.21 and float(deg.std()) == pytest.approx(22.5 / 3 ** 0.5, rel=0.05)


def test_rendering_geometry_matches_the_measured_level():
    """At gaze 0 the images are 20 px wide at columns 19-38 and 45-64 and rows 31-51 (the real level at 84 x 84);
    turning right moves the scene left by about 7.5 px per 10 deg."""
    task = HarlowPixelTask(1, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5)
    task.reset_to(torch.tensor([0.0]), objects=(torch.tensor([473]), torch.tensor([744])))
    task.frames[:] = 1
    task.phase[:] = 1
    task._compose_textures(torch.tensor([True]), torch.tensor([0]))
    obs = task._observe()[0].permute(1, 2, 0).numpy()
    left = np.argwhere((obs[..., 0] > 0.4) & (obs[..., 1] < 0.1))  # the magenta image (level id 474)
    assert left[:, 1].min() in (18, 19, 20) and left[:, 1].max() in (37, 38, 39)
    assert left[:, 0].min() in (30, 31, 32) and left[:, 0].max() in (50, 51, 52)
    task.reset_to(torch.tensor([10.0]), objects=(torch.tensor([473]), torch.tensor([744])))
    task.frames[:] = 1
    obs = task._observe()[0].permute(1, 2, 0).numpy()
    cross = np.argwhere((obs[..., 0] == 1) & (obs[..., 1] == 0))
    assert 41.5 - 7.5 - 1.5 <= cross[:, 1].mean() <= 41.5 - 7.5 + 1.5


def test_dummy_colours_are_the_levels():
    """Level ids 474 and 745 (seed 1's pair) rendered as (144-145, 0, 101-102) and (35-36, 108-109, 64-65)."""
    imgs = dmlab_dummy_stimuli()
    assert imgs.shape == (2400, 3, 8, 8)
    assert (imgs[473, :, 0, 0] * 255).round().tolist() == [145.0, 0.0, 102.0]
    assert (imgs[744, :, 0, 0] * 255).round().tolist() == [36.0, 109.0, 65.0]
    task = HarlowPixelTask(300, images=imgs[:2000], test_fraction=0.5, stimuli="test")
    assert task.id_range == (1000, 2000) and int(task.rewarded.min()) >= 1000


def test_sides_are_a_shuffled_three_and_three_and_held_out_images():
    task = HarlowTask(500, kind="pixels", seed=3)
    assert (task.side_plan.sum(1) == 3).all() and task.side_plan.float().std(0).min() > 0.3
    test = HarlowTask(500, kind="pixels", stimuli="test", seed=3)
    n = len(procedural_stimuli())
    assert int(task.rewarded.max()) < n - round(0.2 * n) <= int(test.rewarded.min())
    assert (task.rewarded != task.other).all()


def test_random_sides_are_a_coin_per_trial():
    task = HarlowPixelTask(4000, sides="random", seed=8)
    per_episode = task.side_plan.sum(1)
    assert (per_episode != 3).float().mean() > 0.5  # a shuffled 3 + 3 would always sum to 3
    # Binomial(6, 1/2) per episode: mean 3, SE 1.22 / sqrt(4000) = 0.02
    assert abs(float(per_episode.float().mean()) - 3) < 4 * 0.02
    with pytest.raises(ValueError, match="sides must be"):
        HarlowPixelTask(2, sides="alternate")


def test_procedural_stimuli_are_distinct():
    imgs = procedural_stimuli()
    flat = imgs.reshape(len(imgs), -1)
    assert len(imgs) == 576 and torch.cdist(flat, flat).add(torch.eye(len(imgs)) * 1e9).min() > 1.0


def test_same_seed_same_episodes_slots_independent_and_state_round_trip():
    a, b = HarlowTask(4, kind="pixels", seed=5), HarlowTask(4, kind="pixels", seed=5)
    a.reset(), b.reset()
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        acts = torch.randint(0, 5, (4,), generator=g)
        oa, ra, _, la = a.step(acts)
        ob, rb, _, lb = b.step(acts)
        assert torch.equal(oa, ob) and torch.equal(ra, rb) and all(torch.equal(la[k], lb[k]) for k in la)
    c = HarlowTask(4, kind="pixels", seed=1)
    c.load_state_dict(a.state_dict())
    for _ in range(20):
        acts = torch.randint(0, 5, (4,), generator=g)
        assert torch.equal(a.step(acts)[0], c.step(acts)[0])
    d = HarlowTask(2, kind="pixels", seed=6)
    d.reset()
    d.frames[0] = d.episode_frames - 1
    keep = d.rewarded[1].item()
    _, _, done, _ = d.step(act(d, STAY))
    assert done.tolist() == [True, False] and d.rewarded[1].item() == keep


def test_reset_to_replays_given_starts_and_sides():
    task = HarlowPixelTask(2, start_range_deg=0.0)
    task.reset_to(torch.tensor([3.0, -5.0]), torch.tensor([[0, 1, 0, 1, 0, 1], [1, 1, 1, 0, 0, 0]]))
    assert torch.allclose(torch.ceil(task.gaze) * GRID_DEG, torch.tensor([3.0, -5.0], dtype=torch.float64),
                          atol=GRID_DEG)
    assert task.side_plan[1].tolist() == [1, 1, 1, 0, 0, 0]
    task.reset_to(torch.tensor([0.0, 9.0]), which=torch.tensor([False, True]))
    assert float(task.gaze[0]) == pytest.approx(3.0 / GRID_DEG, abs=1) and task.side_plan[0].tolist() == [0, 1] * 3
    with pytest.raises(ValueError, match="side_plan"):
        task.reset_to(torch.zeros(2), torch.full((2, 6), 2))


def test_stimuli_folder_and_bad_arguments(tmp_path):
    import matplotlib.pyplot as plt

    for k in range(4):
        plt.imsave(tmp_path / f"{k + 1:04d}.png", np.full((20, 20, 3), k / 4))
    imgs = load_stimuli(tmp_path, size=16)
    assert imgs.shape == (4, 3, 16, 16)
    task = HarlowTask(2, kind="pixels", images=imgs, test_fraction=0.5)
    assert task.id_range == (0, 2)
    (tmp_path / "0005.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="0005.png"):
        load_stimuli(tmp_path)
    with pytest.raises(ValueError, match="need at least 4"):
        load_stimuli(tmp_path / "none")
    with pytest.raises(ValueError, match="unknown reward preset"):
        HarlowTask(2, kind="pixels", rewards="big")
    with pytest.raises(ValueError, match="unknown kind"):
        HarlowTask(2, kind="3d")
    with pytest.raises(ValueError, match="positive look sizes"):
        HarlowTask(2, kind="pixels", look_units=(0,))
