"""One contract over every registered experiment's task and every task class (issue 26, item 5).

Parametrised over :data:`~metarl_neuro.experiments.REGISTRY` (each experiment's task, built by its config's
``make_task``) and over :data:`~metarl_neuro.tasks.gym.TASKS` (every task class, through gymnasium): a new task needs
its module and one registry line, and is held to all of this without a test of its own:

- shapes and dtypes of observations, rewards, ``done`` and the log;
- the log follows the task's declared ``log_schema`` (:class:`~metarl_neuro.tasks.LogField`);
- same seed and actions, same trials; another seed, other trials;
- a slot's actions and the end of its episode change nothing in another slot;
- the episodes end, and a finished slot starts its next episode at once, at trial 0;
- ``gymnasium.utils.env_checker.check_env`` on the single-episode wrapper;
- (slow step) two updates of training, the frozen test, the report and the per-seed summary of every experiment,
  their trial table checked by :func:`metarl_neuro.schema.validate_trials` where it is a two-step one.
"""

from __future__ import annotations

import functools

import pytest
import torch

from metarl_neuro.experiments import EXPERIMENTS, REGISTRY
from metarl_neuro.tasks.gym import TASKS, TaskEnv

# the real level starts DeepMind Lab three times a test (about 25 s of the default suite): its contract runs in the
# slow step; tests/tasks/test_harlow_contract.py keeps its trial table in the default suite
NAMES = [pytest.param(n, marks=[pytest.mark.deepmind_lab, pytest.mark.slow]) if n == "psychlab-harlow" else n
         for n in EXPERIMENTS]
B, STEPS = 3, 320  # every task ends an episode within 300 random steps (two-step and bandit: 100)
#: settings that bring a task's episodes under STEPS: Wang 2016's Harlow form lasts 3,600 steps (240 s)
SHORT = {"harlow-w16": {"episode_seconds": 4.0},
         # a short curriculum: one stage of 4 episodes (the default's stages run up to 60,000)
         "harlow-pixels": {"curriculum": "45:4", "curriculum_eval_every": 4}}


def make(name: str, batch: int, seed: int):
    exp = EXPERIMENTS[name]
    # the command line's defaults, with the PsychLab level's image set (it has none by default)
    config = exp.config(**{k: v for k, v in exp.reproduce_defaults.items() if k == "dataset_path"}, device="cpu",
                        **SHORT.get(name, {}))
    return config.make_task(batch, seed, "cpu", None)


def play(task, actions):
    obs = [task.reset()]
    rewards, dones, logs = [], [], []
    for a in actions:
        o, r, d, log = task.step(a)
        obs.append(o)
        rewards.append(r)
        dones.append(d)
        logs.append(log)
    if hasattr(task, "close"):
        task.close()
    return torch.stack(obs), torch.stack(rewards), torch.stack(dones), {k: torch.stack([lg[k] for lg in logs])
                                                                         for k in logs[0]}


def random_actions(n_actions: int, seed: int, batch: int = B) -> torch.Tensor:
    return torch.randint(0, n_actions, (STEPS, batch), generator=torch.Generator().manual_seed(seed))


@functools.cache
def played(name: str, seed: int = 0, actions_seed: int = 1):
    task = make(name, B, seed)
    return task, play(task, list(random_actions(task.n_actions, actions_seed)))


def same(x: torch.Tensor, y: torch.Tensor) -> bool:
    """Equal, NaN equal to NaN (the real level's gaze is NaN on the step that ends an episode)."""
    if x.shape != y.shape:
        return False
    return bool(((x == y) | (x.isnan() & y.isnan())).all()) if x.is_floating_point() else bool((x == y).all())


def test_every_task_class_is_covered():
    made = {type(make(n, 1, 0)) for n in EXPERIMENTS if n != "psychlab-harlow"}
    assert made <= set(TASKS.values()), made - set(TASKS.values())
    assert len(EXPERIMENTS) == len(REGISTRY)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes(name):
    task, (obs, rewards, dones, log) = played(name)
    shape = tuple(task.obs_shape) if hasattr(task, "obs_shape") else (task.obs_dim,)
    assert obs.shape == (STEPS + 1, B, *shape) and obs.dtype == torch.float32
    assert torch.isfinite(obs).all()
    assert rewards.shape == (STEPS, B) and rewards.dtype == torch.float32 and torch.isfinite(rewards).all()
    assert dones.shape == (STEPS, B) and dones.dtype == torch.bool
    assert isinstance(task.n_actions, int) and task.n_actions >= 2


@pytest.mark.parametrize("name", NAMES)
def test_the_log_follows_its_schema(name):
    task, (*_, log) = played(name)
    declared = [f.name for f in task.log_schema]
    assert len(set(declared)) == len(declared) and set(log) == set(declared)
    assert "trial" in declared
    for f in task.log_schema:
        assert f.meaning, f.name
        assert log[f.name].shape == (STEPS, B) and log[f.name].dtype == f.dtype, f.name


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_trials(name):
    task, a = played(name)
    b = play(make(name, B, 0), list(random_actions(task.n_actions, 1)))
    assert all(same(x, y) for x, y in zip(a[:3], b[:3]))
    assert all(same(a[3][k], b[3][k]) for k in a[3])
    _, other = played(name, seed=1)
    assert not all(same(x, y) for x, y in zip(a[:3], other[:3])), "another seed gave the same episodes"


@pytest.mark.parametrize("name", NAMES)
def test_a_slot_leaves_the_others_alone(name):
    # slot 0 acts otherwise (so its episode can also end at another time); slots 1-2 see the same episodes
    n_actions = played(name)[0].n_actions
    actions = random_actions(n_actions, 1)
    changed = actions.clone()
    changed[:, 0] = torch.randint(0, n_actions, (STEPS,), generator=torch.Generator().manual_seed(99))
    a, b = played(name)[1], play(make(name, B, 0), list(changed))
    assert all(same(x[:, 1:], y[:, 1:]) for x, y in zip(a[:3], b[:3]))
    assert all(same(a[3][k][:, 1:], b[3][k][:, 1:]) for k in a[3])
    assert not same(a[1][:, 0], b[1][:, 0]) or not same(a[0][:, 0], b[0][:, 0])  # slot 0 did differ


@pytest.mark.parametrize("name", NAMES)
def test_episodes_end_and_the_next_starts_at_trial_zero(name):
    _, (_, _, dones, log) = played(name)
    assert dones.any(0).all(), "a slot did not finish an episode within the steps played"
    t, slot = torch.nonzero(dones[:-1], as_tuple=True)
    assert (log["trial"][t + 1, slot] == 0).all()  # the step after the end is the new episode's first trial
    going = ~dones[:-1]
    assert (log["trial"][1:][going] >= log["trial"][:-1][going]).all()  # trials do not run back within an episode


@pytest.mark.parametrize("task", sorted(TASKS))
def test_gymnasium_env_checker(task):
    from gymnasium.utils.env_checker import check_env

    env = TaskEnv(task=task)
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_train_test_report_and_summary(name, tmp_path, capsys):
    """Two updates of training, the frozen test, the report and the summary: what ``reproduce`` runs per seed."""
    from metarl_neuro.run import Run
    from metarl_neuro.schema import validate_trials

    exp = EXPERIMENTS[name]
    batch = 4
    config = exp.config(**{**exp.reproduce_defaults, "device": "cpu", "episodes": 2 * batch, "batch": batch,
                           "eval_episodes": 8, **SHORT.get(name, {})})  # behrens' decoding needs 5 episodes (5-fold CV)
    run = Run.load(exp.simulate(config, tmp_path / name, progress=False))
    assert run.config == config and len(run.training) >= 1 and len(run.trials)
    if {"choice1", "state2", "choice2"} <= set(run.trials.columns):
        validate_trials(run.trials, ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward"))
    assert run.activations.sizes["episode"] >= 1
    exp.report(run, tmp_path / "figures", n_starts=1, starts="random", permutations=2)
    summary = exp.summarize(run)
    assert summary and all(isinstance(k, str) for k in summary)
    assert capsys.readouterr().out
