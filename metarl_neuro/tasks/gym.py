"""Single-episode ``gymnasium`` environments over the batched tasks, so that other RL libraries can train on them.

Registered ids (on ``import metarl_neuro.tasks``):

- ``metarl_neuro/TwoStep-v0``: Wang et al. 2018's two-step task (:class:`TwoStepTask` defaults);
- ``metarl_neuro/TwoStepDaw2011-v0``: Daw et al. 2011's (common 0.7, four drifting reward probabilities, 201
  trials);
- ``metarl_neuro/Tsutsui-v0``, ``metarl_neuro/Behrens-v0``, ``metarl_neuro/BrombergMartin-v0``,
  ``metarl_neuro/Stopper-v0``: Wang et al. 2018's Simulations 1, 2, 3 and 6 (the fixation / left / right tasks
  of :mod:`metarl_neuro.tasks.cued_choice`, their defaults).

Keyword arguments of ``gymnasium.make`` go to the task (``structure``, ``common_prob``, ``block_trials``, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
import torch
from gymnasium import spaces

from metarl_neuro.tasks.cued_choice import BehrensTask, BrombergMartinTask, StopperTask, TsutsuiTask
from metarl_neuro.tasks.two_step import DriftingRewards, TwoStepTask

__all__ = ["TaskEnv", "TwoStepEnv", "register_envs"]

#: task name of :class:`TaskEnv` -> batched task class
TASKS = {"two-step": TwoStepTask, "tsutsui": TsutsuiTask, "behrens": BehrensTask,
         "bromberg-martin": BrombergMartinTask, "stopper": StopperTask}


class TaskEnv(gymnasium.Env):
    """One episode of a batched task at a time, as a ``gymnasium.Env`` (the task with batch size 1).

    Observations are the task's ``(obs_dim,)`` float32 vector (values in [0, 1]); actions are
    ``Discrete(task.n_actions)``. ``terminated`` is True at the step that ends the episode; ``truncated`` is
    always False. ``info`` holds the task's log fields of the step as Python scalars (``trial``,
    ``trial_end``, ``choice``, ...).

    Parameters
    ----------
    task : str
        A key of :data:`TASKS`.
    **task_kwargs
        Passed to the task (all but ``batch_size``, ``seed`` and ``device``).

    Raises
    ------
    ValueError
        For an unknown task.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, task: str = "two-step", **task_kwargs: Any):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
        self._kwargs = dict(task_kwargs)
        self._task = TASKS[task](1, seed=0, **self._kwargs)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self._task.obs_dim,), dtype=np.float32)
        self.action_space = spaces.Discrete(self._task.n_actions)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new episode; ``seed`` reseeds the task's generator (else one is drawn from ``np_random``)."""
        super().reset(seed=seed)
        task_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        self._task.generator.manual_seed(task_seed)
        obs = self._task.reset()
        return obs[0].numpy().astype(np.float32), {}

    def step(self, action):
        """One agent step; returns ``(obs, reward, terminated, truncated, info)``.

        Raises
        ------
        ValueError
            If ``action`` is not in the action space.
        """
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        obs, reward, done, log = self._task.step(torch.tensor([int(action)]))
        info = {k: v[0].item() for k, v in log.items()}
        return obs[0].numpy().astype(np.float32), float(reward[0]), bool(done[0]), False, info


class TwoStepEnv(TaskEnv):
    """One two-step episode at a time (:class:`TaskEnv` of a :class:`TwoStepTask`).

    Observations are the task's ``(4,)`` float32 cue vector (:class:`TwoStepCue`); actions
    :class:`TwoStepAction`; ``info`` holds ``choice1``, ``state2``, ``common``, ``trial_end``,
    ``reward_prob_<k>``, ...

    Parameters
    ----------
    **task_kwargs
        Passed to :class:`TwoStepTask` (all but ``batch_size``, ``seed`` and ``device``).
    """

    def __init__(self, **task_kwargs: Any):
        super().__init__("two-step", **task_kwargs)


def register_envs() -> None:
    """Register the ids above with gymnasium (idempotent)."""
    specs = {
        "metarl_neuro/TwoStep-v0": {"task": "two-step"},
        "metarl_neuro/TwoStepDaw2011-v0": {"task": "two-step", "common_prob": 0.7, "rewards": DriftingRewards(),
                                           "n_trials": 201},
        "metarl_neuro/Tsutsui-v0": {"task": "tsutsui"},
        "metarl_neuro/Behrens-v0": {"task": "behrens"},
        "metarl_neuro/BrombergMartin-v0": {"task": "bromberg-martin"},
        "metarl_neuro/Stopper-v0": {"task": "stopper"},
    }
    for env_id, kwargs in specs.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="metarl_neuro.tasks.gym:TaskEnv", kwargs=kwargs)
