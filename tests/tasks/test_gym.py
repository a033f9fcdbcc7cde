import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl_neuro.tasks  # noqa: F401  (registers the environments)
from metarl_neuro.tasks import TaskEnv, TwoStepAction, TwoStepEnv


@pytest.mark.parametrize("env_id", ["metarl_neuro/TwoStep-v0", "metarl_neuro/TwoStepDaw2011-v0",
                                    "metarl_neuro/Tsutsui-v0", "metarl_neuro/Behrens-v0",
                                    "metarl_neuro/BrombergMartin-v0", "metarl_neuro/Stopper-v0"])
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
    paper = gymnasium.make("metarl_neuro/TwoStep-v0", structure="paper")
    assert paper.action_space.n == 3 and TwoStepAction.FIXATE == 2
    _, steps, _ = run_episode(paper, seed=3)
    assert steps >= 300  # at least fixation, choice and second-stage action per trial


def test_bad_action_is_refused():
    env = TwoStepEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in Discrete"):
        env.step(5)


def test_cued_task_envs_play_whole_episodes():
    env = gymnasium.make("metarl_neuro/Stopper-v0", n_trials=5)
    obs, _ = env.reset(seed=1)
    assert obs.tolist() == [1.0, 0.0, 0.0]  # the fixation cue
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
