"""The PsychLab wrapper on the real DeepMind Lab level, and the torch surrogate against it, step by step.

Marked ``deepmind_lab``: these run wherever ``deepmind_lab`` imports (CI installs it from ../shared/deepmind_lab)
and are skipped elsewhere.
"""

import numpy as np
import pytest
import torch

from metarl_neuro.experiments.harlow_1d import harlow_trials
from metarl_neuro.tasks.harlow_pixels import GRID_DEG, HarlowPixelTask, dmlab_dummy_stimuli
from metarl_neuro.tasks.psychlab import PsychLabHarlow, play_scripted, replay_on_surrogate

pytestmark = pytest.mark.deepmind_lab


def test_scripted_policy_fixates_and_completes_six_trial_episodes():
    task = PsychLabHarlow(2, "dummy", seed=3, record_events=True)
    rec = play_scripted(task, 200, epsilon=0.0, seed=0)
    assert rec.done.sum() >= 4  # two slots, at least two finished episodes each
    assert (rec.reward == 1).sum() >= 24 and rec.trial_end.sum() >= 24  # every trial starts with a fixation
    for b in range(2):
        ends = np.nonzero(rec.done[:, b])[0]
        episode = rec.trial_end[: ends[0] + 1, b]
        assert episode.sum() == 6  # the first episode ended with its 6th trial
    task.close()


@pytest.mark.slow  # 18 s: in the slow step
def test_trial_table_equals_the_levels_event_log():
    """Actions from a scripted run, replayed on a second wrapper of the same seed (the level is deterministic per
    seed): the trial table from its log fields is the level's published events, trial for trial."""
    rec = play_scripted(PsychLabHarlow(3, "dummy", seed=1), 300, epsilon=0.2, seed=2)
    task = PsychLabHarlow(3, "dummy", seed=1, record_events=True)
    obs = task.reset()
    assert obs.shape == (3, 3, 84, 84) and obs.dtype == torch.float32 and float(obs.max()) <= 1.0
    logs = [task.step(torch.as_tensor(a))[3] for a in rec.action]
    log = {k: torch.stack([lg[k] for lg in logs]) for k in logs[0]}
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].dtype == f.dtype and log[f.name].shape == (300, 3), f.name
    np.testing.assert_array_equal(log["trial_end"].numpy(), rec.trial_end)  # same seed, same actions: same trials
    table = harlow_trials(log, torch.ones_like(log["trial_end"]), "psychlab", 0)
    for b in range(3):
        # the table is sorted (stably) by slot and trial number; order the level's events the same way
        events = sorted(task.events[b], key=lambda e: e["trial"])
        rows = table[table["episode"] == b]
        assert len(events) == len(rows) > 6  # several episodes
        assert rows["trial"].tolist() == [e["trial"] - 1 for e in events]
        assert rows["correct"].tolist() == [e["correct"] == 1 for e in events]
        assert rows["rewarded_side"].tolist() == [e["correctResponse"] - 1 for e in events]
        assert rows["choice"].tolist() == [e["correctResponse"] - 1 if e["correct"] else 2 - e["correctResponse"]
                                           for e in events]
        assert all(e["response"] == ("correct_image_button" if e["correct"] else "incorrect_image_button")
                   and e["trialId"] == 1 for e in events)
    task.close()


@pytest.mark.slow  # 3 Labs x 500 steps, 17 s: the default suite keeps the scripted episodes on the real level
def test_surrogate_agrees_with_the_real_level_step_by_step():
    """Same actions (scripted with 40% random), same starts and sides: rewards, episode ends and trial outcomes
    are equal on every step; the gaze agrees to one step of the level's grid (the level hides where in that step
    its start lies). A short time limit makes episodes end by time too."""
    real = PsychLabHarlow(3, "dummy", seed=7, episode_seconds=8)
    rec = play_scripted(real, 500, epsilon=0.4, seed=4)
    sur = HarlowPixelTask(3, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5, episode_frames=8 * 60)
    rep = replay_on_surrogate(sur, rec)
    assert rec.trial_end.sum() > 40 and rec.done.sum() >= 6
    for k in ("reward", "done", "trial_end"):
        np.testing.assert_array_equal(getattr(rep, k), getattr(rec, k), err_msg=k)
    te = rec.trial_end
    np.testing.assert_array_equal(rep.choice[te], rec.choice[te])
    np.testing.assert_array_equal(rep.correct[te], rec.correct[te])
    ok = ~np.isnan(rec.gaze)
    assert np.abs(rep.gaze[ok] - rec.gaze[ok]).max() <= 1.01 * GRID_DEG
    real.close()


@pytest.mark.slow
def test_surrogate_agrees_on_a_near_random_stream_with_fixations_right_after_reset():
    """Issue 29: on this stream (90% random actions, 2-s episodes, 4 Labs x 1,500 steps) the level paid a fixation
    at slot 3, step 781, that the surrogate missed: the gaze started on the cross and the first frame of an
    episode counts on the level. Every reward, episode end and trial end now agrees."""
    real = PsychLabHarlow(4, "dummy", seed=123, episode_seconds=2.0)
    rec = play_scripted(real, 1500, epsilon=0.9, seed=123)
    real.close()
    sur = HarlowPixelTask(4, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5, episode_frames=round(2.0 * 60))
    rep = replay_on_surrogate(sur, rec)
    assert rec.reward[781, 3] == 1.0 and rec.done.sum() > 100  # the fixation right after a reset is in the stream
    for k in ("reward", "done", "trial_end"):
        np.testing.assert_array_equal(getattr(rep, k), getattr(rec, k), err_msg=k)


@pytest.mark.slow
def test_the_first_frame_of_an_episode_counts_towards_a_fixation_on_both():
    """Issue 29: with the gaze starting on the cross and held still, the level pays the fixation on the 5th frame
    of the episode (it fired on the 4th: the first frame counts); the surrogate too. Frame by frame (action_repeat
    1), 0.2-s episodes, stay 6 frames then saccade away (benchmarks/psychlab_reset_rule.py: a fresh Lab's first
    episodes alike)."""
    def frames_to_fixation(task, frames):
        task.reset()
        since = np.zeros(task.batch_size, int)
        start = np.full(task.batch_size, np.nan)
        out = []
        for _ in range(frames):
            _, r, d, log = task.step(torch.as_tensor(np.where(since < 6, 0, 3)))
            r, g = r.numpy(), log["gaze"].numpy()
            start = np.where(since == 0, g, start)
            for b in np.nonzero((r > 0) & (r < 2))[0]:
                if abs(start[b]) <= 2.0:  # clear of the trigger's edge (2.14 deg)
                    out.append(int(since[b]) + 1)
            since = np.where(d.numpy(), 0, since + 1)
        return out

    real = PsychLabHarlow(4, "dummy", seed=7, action_repeat=1, episode_seconds=0.2)
    on_level = frames_to_fixation(real, 600)
    real.close()
    sur = HarlowPixelTask(4, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5, action_repeat=1,
                          episode_frames=12, seed=7)
    on_surrogate = frames_to_fixation(sur, 600)
    assert len(on_level) >= 5 and set(on_level) == {5}
    assert len(on_surrogate) >= 5 and set(on_surrogate) == {5}


def test_finished_level_is_reset_and_its_observations_are_not_read():
    task = PsychLabHarlow(2, "dummy", seed=5, episode_seconds=1)  # 60 frames: 15 steps
    task.reset()
    for k in range(15):
        obs, _, done, log = task.step(torch.zeros(2, dtype=torch.long))
    assert done.all() and torch.isnan(log["gaze"]).all() and (task.steps == 0).all()
    assert obs.shape == (2, 3, 84, 84) and task.episodes_started.tolist() == [2, 2]
    task.close()


def test_a_narrower_view_is_the_centre_of_a_larger_render_as_the_surrogate_draws_it():
    """fov 45: the central 84 x 84 of a 204 x 204 render (44.8 deg); after a fixation the two images fill the
    same rows and columns (to 1 px) as in the surrogate's view at that field of view and gaze."""
    import dataclasses
    import math

    from metarl_neuro.tasks.harlow_pixels import LEVEL
    from metarl_neuro.tasks.psychlab import _scripted_action, render_size

    assert render_size(84, 45.0) == 204
    real = PsychLabHarlow(1, "dummy", fov=45.0, seed=3)
    real.reset()
    g = float(real.start_gaze[0])
    for _ in range(40):
        obs, r, _, log = real.step(torch.tensor([_scripted_action(g, 0, 0, 5)]))
        g = float(log["gaze"][0])
        if r[0] == 1:
            break
    assert r[0] == 1 and obs.shape == (1, 3, 84, 84)
    fov = 2 * math.degrees(math.atan(42 / 102))
    sur = HarlowPixelTask(1, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5,
                          geometry=dataclasses.replace(LEVEL, fov_deg=fov))
    sur.reset_to(torch.tensor([g]), objects=(torch.tensor([0]), torch.tensor([1])))  # solid colours, as the level's
    sur.frames[:], sur.phase[:] = 1, 1
    sur._compose_textures(torch.tensor([True]), torch.tensor([0]))

    def coloured_box(o):
        o = o[0].permute(1, 2, 0).numpy()
        spread = np.abs(o[..., 0] - o[..., 1]) + np.abs(o[..., 1] - o[..., 2])
        ys, xs = np.nonzero((o.sum(-1) > 0.15) & (spread > 0.1))
        return np.array([xs.min(), xs.max(), ys.min(), ys.max()])

    assert np.abs(coloured_box(obs) - coloured_box(sur._observe())).max() <= 1
    with pytest.raises(ValueError, match="multiples of 4"):
        PsychLabHarlow(1, "dummy", width=83, height=84)
    real.close()



@pytest.mark.slow
def test_a_written_dataset_is_read_by_the_level_as_its_ids(tmp_path):
    """write_dataset of the level's own dummy colours (ids 1-2400 in order) renders frame for frame what
    datasetPath='dummy' renders: file k is the level's image id k, pixel for pixel. The held-out folder holds, at
    file k, the surrogate's held-out colour id 1000 + ((k - 1) % 1000) + 1: the same episodes (same rewards), other
    images on the screen."""
    from PIL import Image

    from metarl_neuro.tasks.psychlab import heldout_colour_dataset, write_dataset

    folder = write_dataset(tmp_path / "dummy_copy", dmlab_dummy_stimuli(size=1))
    runs = {}
    for path in ("dummy", str(folder), "dummy-heldout"):
        task = PsychLabHarlow(2, path, seed=7)
        runs[path] = play_scripted(task, 120, epsilon=0.0, seed=0, frames=True)
        task.close()
    np.testing.assert_array_equal(runs["dummy"].frames, runs[str(folder)].frames)
    np.testing.assert_array_equal(runs["dummy"].reward, runs["dummy-heldout"].reward)
    assert (runs["dummy"].reward == 1).sum() >= 4  # fixations: the images were on the screen
    differ = (runs["dummy"].frames != runs["dummy-heldout"].frames).any(axis=2)  # (steps, slots, h, w)
    assert differ.any(axis=(2, 3)).sum() >= 20  # frames with images differ
    held = heldout_colour_dataset()
    assert held == heldout_colour_dataset()  # written once, then found
    colours = (dmlab_dummy_stimuli(size=1)[:, :, 0, 0] * 255).round().to(torch.int64).numpy()
    for k in (1, 2, 1000, 1001, 2400):
        img = np.asarray(Image.open(held / f"{k:04d}.png"))
        assert img.shape == (256, 256, 3) and (img == colours[1000 + (k - 1) % 1000]).all()
