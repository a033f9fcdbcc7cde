import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl_neuro.tasks  # noqa: F401  (registers the environments)
from metarl_neuro.tasks import TaskEnv, TwoStepAction, TwoStepEnv


@pytest.mark.parametrize("env_id", ["metarl_neuro/TwoStep-v0", "metarl_neuro/TwoStepDaw2011-v0",
                                    "metarl_neuro/Tsutsui-v0", "metarl_neuro/Behrens-v0",
                                    "metarl_neuro/BrombergMartin-v0", "metarl_neuro/Stopper-v0",
                                    "metarl_neuro/HarlowPixels-v0"])
def test_registered_envs_pass_gymnasiums_checker(env_id):
    env = gymnasium.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


def run_episode(env, seed):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    trace, steps = [obs], 0
    while True:
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        trace.append((obs.tolist(), reward, info["choice1"], info["state2"]))
        steps += 1
        if terminated or truncated:
            return trace, steps, info


def test_episode_length_seed_and_paper_structure():
    env = gymnasium.make("metarl_neuro/TwoStep-v0", structure="compressed")
    trace_a, steps, info = run_episode(env, seed=3)
    trace_b, _, _ = run_episode(env, seed=3)
    assert steps == 100 and info["trial"] == 99 and info["trial_end"]
    assert trace_a[1:] == trace_b[1:]  # same seed, same episode
    _, steps, info = run_episode(gymnasium.make("metarl_neuro/TwoStep-v0", structure="paper"), seed=3)
    assert steps == 100 and info["trial"] < 99  # the declared length cuts it, explicitly (truncated)
    paper = gymnasium.make("metarl_neuro/TwoStep-v0", structure="paper", max_episode_steps=10_000)
    assert paper.action_space.n == 3 and TwoStepAction.FIXATE == 2
    _, steps, _ = run_episode(paper, seed=3)
    assert steps >= 300  # at least fixation, choice and second-stage action per trial


@pytest.mark.parametrize("env_id, steps", [("metarl_neuro/TwoStep-v0", 100), ("metarl_neuro/TwoStepDaw2011-v0", 402)])
def test_declared_episode_length_is_the_real_one(env_id, steps):
    env = gymnasium.make(env_id)
    assert env.spec.max_episode_steps == steps
    _, n, info = run_episode(env, seed=0)
    assert n == steps and info["trial_end"]


def test_observation_holds_the_previous_action_and_reward():
    """Wang 2016 Sec. 2: a meta-RL agent sees its previous action and reward (sb3's agents do not add them)."""
    env = gymnasium.make("metarl_neuro/TwoStep-v0")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (7,) and obs[4:].tolist() == [0, 0, 0]  # cue (4), one-hot action (2), reward (1)
    obs, reward, *_ = env.step(1)
    assert obs[4:6].tolist() == [0, 1] and obs[6] == reward
    bare = gymnasium.make("metarl_neuro/TwoStep-v0", meta_rl_inputs=False)
    assert bare.reset(seed=0)[0].shape == (4,)


def test_stepping_after_the_end_raises():
    env = gymnasium.make("metarl_neuro/TwoStep-v0", n_trials=3, max_episode_steps=3)
    with pytest.raises(RuntimeError, match="call reset"):
        env.unwrapped.step(0)
    run_episode(env, seed=0)
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.unwrapped.step(0)


def test_pixel_harlow_renders_its_view():
    env = gymnasium.make("metarl_neuro/HarlowPixels-v0", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (84, 84, 3) and frame.dtype == np.uint8
    assert np.array_equal(frame, (obs["image"].transpose(1, 2, 0) * 255).round().astype(np.uint8))
    assert set(obs) == {"image", "prev_action", "prev_reward"}
    cue = gymnasium.make("metarl_neuro/TwoStep-v0", render_mode="rgb_array")
    obs, _ = cue.reset(seed=0)
    assert cue.render().shape == (16, 64, 3) and cue.render()[0, ::16, 0].tolist() == (obs[:4] * 255).tolist()
    with pytest.raises(ValueError, match="render_mode 'ansi' is not one of"):
        TaskEnv("two-step", render_mode="ansi")


def test_make_vec_runs_the_batched_simulator():
    from metarl_neuro.tasks.gym import TaskVectorEnv

    vec = gymnasium.make_vec("metarl_neuro/TwoStep-v0", num_envs=256)
    assert isinstance(vec, TaskVectorEnv) and vec.num_envs == 256
    obs, _ = vec.reset(seed=1)
    assert obs.shape == (256, 7)
    for _ in range(100):
        obs, _rewards, terminated, truncated, infos = vec.step(np.ones(256, dtype=np.int64))
    assert terminated.all() and not truncated.any() and infos["trial"].shape == (256,)
    assert (obs[:, 4:] == 0).all()  # the next episodes have started: no previous action or reward
    with pytest.raises(ValueError, match="actions must be 256 integers"):
        vec.step(np.full(256, 7))


def test_bad_action_is_refused():
    env = TwoStepEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in Discrete"):
        env.step(5)


def test_cued_task_envs_play_whole_episodes():
    env = gymnasium.make("metarl_neuro/Stopper-v0", n_trials=5)
    obs, _ = env.reset(seed=1)
    assert obs[:3].tolist() == [1.0, 0.0, 0.0]  # the fixation cue (then no previous action or reward)
    steps, total = 0, 0.0
    while True:
        action = 0 if obs[0] == 1 else 2  # fixate, then the risky lever
        obs, reward, terminated, _, info = env.step(action)
        steps += 1
        total += reward
        if terminated:
            break
    assert steps == 10 and info["trial"] == 4 and total in {0.0, 4.0, 8.0, 12.0, 16.0, 20.0}
    with pytest.raises(ValueError, match="unknown task"):
        TaskEnv("harlow")
