"""``gymnasium`` environments over the batched tasks, so that other RL libraries can train on them.

Registered ids (on ``import metarl_neuro.tasks``), with ``spec.max_episode_steps`` where episodes have a fixed
length:

- ``metarl_neuro/TwoStep-v0``: Wang et al. 2018's two-step task (:class:`TwoStepTask` defaults; 100 steps);
- ``metarl_neuro/TwoStepDaw2011-v0``: Daw et al. 2011's (common 0.7, four drifting reward probabilities, 201
  trials of 2 steps: 402 steps);
- ``metarl_neuro/Tsutsui-v0``, ``metarl_neuro/Behrens-v0``, ``metarl_neuro/BrombergMartin-v0``,
  ``metarl_neuro/Stopper-v0``: Wang et al. 2018's Simulations 1, 2, 3 and 6 (the fixation / left / right tasks
  of :mod:`metarl_neuro.tasks.cued_choice`, their defaults; episodes of variable length);
- ``metarl_neuro/HarlowPixels-v0``: the pixel Harlow task (:class:`HarlowPixelTask`, the torch surrogate of
  DeepMind Lab's PsychLab level; ``render_mode="rgb_array"`` draws the agent's view).

**Meta-RL inputs.** A meta-RL agent sees the previous action and reward beside the observation (Wang et al.
2016, Sec. 2, Fig. 1; Wang et al. 2018, Methods); our A2C-LSTM adds them itself, another library's agent does
not. By default (``meta_rl_inputs=True``) the observation is therefore the task's cue vector followed by the
one-hot previous action and the previous reward (all 0 at an episode's first step); for the pixel task it is a
``Dict`` of ``image``, ``prev_action`` and ``prev_reward``. ``meta_rl_inputs=False`` gives the bare task
observation.

``gymnasium.make_vec(id, num_envs=N)`` runs the batched torch simulator itself (:class:`TaskVectorEnv`, the
``vector_entry_point``): one task of batch ``N``, not ``N`` Python copies.

Keyword arguments of ``gymnasium.make`` go to the task (``structure``, ``common_prob``, ``block_trials``, ...).
One that lengthens the episodes (e.g. ``structure="paper"``, ``n_trials``) needs ``max_episode_steps=`` too:
gymnasium's ``TimeLimit`` wrapper applies the id's declared length and would end longer episodes with
``truncated=True`` (explicitly, not silently, but early).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from metarl_neuro.domains import check_value
from metarl_neuro.schema import check_int
from metarl_neuro.tasks.bandit import BanditTask
from metarl_neuro.tasks.cued_choice import BehrensTask, BrombergMartinTask, StopperTask, TsutsuiTask
from metarl_neuro.tasks.harlow import HarlowTask
from metarl_neuro.tasks.harlow_pixels import HarlowPixelTask
from metarl_neuro.tasks.two_step import DriftingRewards, TwoStepTask

__all__ = ["TASKS", "TaskEnv", "TaskVectorEnv", "TwoStepEnv", "register_envs"]

#: task name of :class:`TaskEnv` -> batched task class
TASKS = {"two-step": TwoStepTask, "bandit": BanditTask, "harlow-1d": HarlowTask, "tsutsui": TsutsuiTask,
         "behrens": BehrensTask, "bromberg-martin": BrombergMartinTask, "stopper": StopperTask,
         "harlow-pixels": HarlowPixelTask}


#: bound of the previous-reward input's space: every task's rewards lie within +-5 (Harlow's -5 / +5)
REWARD_BOUND = 10.0


def _episode_steps(task) -> int | None:
    """Steps of every episode where that is fixed (the compressed two-step task), else None."""
    if isinstance(task, TwoStepTask) and task.structure == "compressed":
        return int(task.n_trials) * (2 if task.rewards.n_options > 1 else 1)
    return None


def _spaces(task, meta_rl_inputs: bool):
    """Single-episode observation and action spaces of ``task``."""
    pixels = hasattr(task, "obs_shape")
    base = spaces.Box(0.0, 1.0, shape=tuple(task.obs_shape) if pixels else (task.obs_dim,), dtype=np.float32)
    if not meta_rl_inputs:
        return base, spaces.Discrete(task.n_actions)
    prev_action = spaces.Box(0.0, 1.0, shape=(task.n_actions,), dtype=np.float32)
    prev_reward = spaces.Box(-REWARD_BOUND, REWARD_BOUND, shape=(1,), dtype=np.float32)
    if pixels:
        return spaces.Dict({"image": base, "prev_action": prev_action, "prev_reward": prev_reward}), \
            spaces.Discrete(task.n_actions)
    low = np.concatenate([base.low, prev_action.low, prev_reward.low]).astype(np.float32)
    high = np.concatenate([base.high, prev_action.high, prev_reward.high]).astype(np.float32)
    return spaces.Box(low, high, dtype=np.float32), spaces.Discrete(task.n_actions)


def _observe(obs: torch.Tensor, prev_action: np.ndarray, prev_reward: np.ndarray, n_actions: int,
             meta_rl_inputs: bool, pixels: bool):
    """Batched observation ``(B, ...)`` numpy (or dict of them) from the task's ``obs`` and the previous step:
    ``prev_action`` ``(B,)`` int (-1 at an episode's first step), ``prev_reward`` ``(B,)`` float."""
    o = obs.detach().cpu().numpy().astype(np.float32)
    if not meta_rl_inputs:
        return o
    onehot = np.zeros((len(prev_action), n_actions), np.float32)
    started = prev_action >= 0
    onehot[np.nonzero(started)[0], prev_action[started]] = 1.0
    r = prev_reward.astype(np.float32)[:, None]
    if pixels:
        return {"image": o, "prev_action": onehot, "prev_reward": r}
    return np.concatenate([o, onehot, r], axis=1)


def _reset_task(task, seed: int | None, np_random: np.random.Generator) -> torch.Tensor:
    """Reseed ``task``'s generator (``seed``, else a draw from the environment's ``np_random``) and start its
    episodes; the task's first observations."""
    task.generator.manual_seed(seed if seed is not None else int(np_random.integers(2**31 - 1)))
    return task.reset()


class TaskEnv(gymnasium.Env):
    """One episode of a batched task at a time, as a ``gymnasium.Env`` (the task with batch size 1).

    Observations: with ``meta_rl_inputs`` (default) the task's ``(obs_dim,)`` float32 cue vector, the one-hot
    previous action and the previous reward, ``(obs_dim + n_actions + 1,)`` float32 (module docstring; a
    ``Dict`` for the pixel task); without, the cue vector alone (values in [0, 1]). Actions are
    ``Discrete(task.n_actions)``. ``terminated`` is True at the step that ends the episode; ``truncated``
    only comes from a ``TimeLimit`` wrapper. ``info`` holds the task's log fields of the step as Python scalars
    (``trial``, ``trial_end``, ``choice``, ...). Stepping after the end of an episode, before ``reset``, is a
    ``RuntimeError`` (gymnasium's contract; the batched task would silently have started another episode).

    Parameters
    ----------
    task : str
        A key of :data:`TASKS`.
    meta_rl_inputs : bool
        Add the previous action and reward to the observation (Wang et al. 2016, Sec. 2).
    render_mode : {None, "rgb_array"}
        ``"rgb_array"``: :meth:`render` returns an image, ``(H, W, 3)`` uint8 (the agent's view for the pixel task).
    **task_kwargs
        Passed to the task (all but ``batch_size``, ``seed`` and ``device``).

    Raises
    ------
    ValueError
        For an unknown task or render mode.
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 15}  # 60 frames/s, 4 per step

    def __init__(self, task: str = "two-step", meta_rl_inputs: bool = True, render_mode: str | None = None,
                 **task_kwargs: Any):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
        self._kwargs = dict(task_kwargs)
        self._task = TASKS[task](1, seed=0, **self._kwargs)
        self._pixels = hasattr(self._task, "obs_shape")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']} "
                             "(None draws nothing)")
        self.render_mode = render_mode
        self.meta_rl_inputs = check_value("meta_rl_inputs", meta_rl_inputs, bool)
        self.observation_space, self.action_space = _spaces(self._task, self.meta_rl_inputs)
        self.episode_steps = _episode_steps(self._task)  #: fixed episode length in steps, or None
        self._ended = True
        self._frame = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new episode; ``seed`` reseeds the task's generator (else one is drawn from ``np_random``)."""
        super().reset(seed=seed)
        obs = _reset_task(self._task, seed, self.np_random)
        self._ended = False
        self._frame = obs[0]
        none = np.full(1, -1), np.zeros(1)
        return self._one(_observe(obs, *none, self._task.n_actions, self.meta_rl_inputs, self._pixels)), {}

    @staticmethod
    def _one(batched):
        return {k: v[0] for k, v in batched.items()} if isinstance(batched, dict) else batched[0]

    def step(self, action):
        """One agent step; returns ``(obs, reward, terminated, truncated, info)``.

        Raises
        ------
        ValueError
            If ``action`` is not in the action space.
        RuntimeError
            If the episode has ended (or never started) and ``reset`` was not called.
        """
        if self._ended:
            raise RuntimeError("the episode has ended (or not started): call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        obs, reward, done, log = self._task.step(torch.tensor([int(action)]))
        info = {k: v[0].item() for k, v in log.items()}
        self._ended = bool(done[0])
        self._frame = obs[0]
        out = _observe(obs, np.array([int(action)]), reward.detach().cpu().numpy(), self._task.n_actions,
                       self.meta_rl_inputs, self._pixels)
        return self._one(out), float(reward[0]), bool(done[0]), False, info

    def render(self):
        """``render_mode="rgb_array"``: the pixel task's current view, ``(H, W, 3)`` uint8; for the other tasks
        the cue vector drawn as a row of 16 x 16 grey squares (white = 1), ``(16, 16 * obs_dim, 3)`` uint8.
        None otherwise."""
        if self.render_mode != "rgb_array" or self._frame is None:
            return None
        f = self._frame.detach().cpu().clamp(0, 1)
        if self._pixels:
            return (f.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        row = np.repeat((f.numpy() * 255).round().astype(np.uint8), 16)
        return np.repeat(np.tile(row, (16, 1))[..., None], 3, axis=2)


class TwoStepEnv(TaskEnv):
    """One two-step episode at a time (:class:`TaskEnv` of a :class:`TwoStepTask`).

    Observations are the task's ``(4,)`` float32 cue vector (:class:`TwoStepCue`), followed by the one-hot
    previous action and the previous reward where ``meta_rl_inputs``; actions :class:`TwoStepAction`;
    ``info`` holds ``choice1``, ``state2``, ``common``, ``trial_end``, ``reward_prob_<k>``, ...

    Parameters
    ----------
    meta_rl_inputs : bool
        As :class:`TaskEnv`.
    **task_kwargs
        Passed to :class:`TwoStepTask` (all but ``batch_size``, ``seed`` and ``device``).
    """

    def __init__(self, meta_rl_inputs: bool = True, **task_kwargs: Any):
        super().__init__("two-step", meta_rl_inputs=meta_rl_inputs, **task_kwargs)


class TaskVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` episodes of a batched task stepped together: the ``vector_entry_point`` of the ids.

    The batched torch task is the vector environment (no Python copies). Autoreset is gymnasium's
    ``SAME_STEP`` mode, as the task replaces an ended episode at once: at a step with ``terminated[i]`` the
    returned ``obs[i]`` is already the next episode's first observation (with its previous action and reward
    reset to none). ``infos`` holds the task's log fields as ``(num_envs,)`` arrays. Observations and actions
    as :class:`TaskEnv`, batched.

    Parameters
    ----------
    num_envs : int
        Episodes in parallel (the task's batch size).
    task : str
        A key of :data:`TASKS`.
    meta_rl_inputs : bool
        As :class:`TaskEnv`.
    max_episode_steps : int, optional
        Given by ``make_vec`` from the spec; must be None or the task's fixed episode length (episodes are not
        truncated here).
    **task_kwargs
        Passed to the task.

    Raises
    ------
    ValueError
        For an unknown task, ``num_envs < 1``, or a time limit that would cut the episodes.
    """

    metadata: ClassVar[dict] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, task: str = "two-step", meta_rl_inputs: bool = True,
                 max_episode_steps: int | None = None, **task_kwargs: Any):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {sorted(TASKS)}")
        check_int(num_envs, "num_envs")
        self._task = TASKS[task](int(num_envs), seed=0, **task_kwargs)
        steps = _episode_steps(self._task)
        if max_episode_steps is not None and max_episode_steps != steps:
            raise ValueError(f"max_episode_steps={max_episode_steps} does not match these episodes "
                             f"({steps or 'a variable number of'} steps): pass max_episode_steps=None")
        self.num_envs = int(num_envs)
        self.meta_rl_inputs = check_value("meta_rl_inputs", meta_rl_inputs, bool)
        self._pixels = hasattr(self._task, "obs_shape")
        self.single_observation_space, self.single_action_space = _spaces(self._task, self.meta_rl_inputs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._prev_action = np.full(self.num_envs, -1)
        self._prev_reward = np.zeros(self.num_envs)
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start ``num_envs`` new episodes; ``seed`` reseeds the task's generator."""
        super().reset(seed=seed)
        obs = _reset_task(self._task, seed, self.np_random)
        self._prev_action[:], self._prev_reward[:] = -1, 0.0
        self._started = True
        return _observe(obs, self._prev_action, self._prev_reward, self._task.n_actions, self.meta_rl_inputs,
                        self._pixels), {}

    def step(self, actions):
        """Step every episode; returns ``(obs, rewards, terminations, truncations, infos)`` of ``(num_envs,)``.

        Raises
        ------
        RuntimeError
            Before the first ``reset``.
        ValueError
            For actions of another shape or outside the action set.
        """
        if not self._started:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or not np.all((a >= 0) & (a < self._task.n_actions)) \
                or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"actions must be {self.num_envs} integers in [0, {self._task.n_actions}), got {actions!r}")
        obs, reward, done, log = self._task.step(torch.as_tensor(a, dtype=torch.long))
        r = reward.detach().cpu().numpy().astype(np.float64)
        d = done.detach().cpu().numpy().astype(bool)
        self._prev_action = np.where(d, -1, a)
        self._prev_reward = np.where(d, 0.0, r)
        infos = {k: v.detach().cpu().numpy() for k, v in log.items()}
        out = _observe(obs, self._prev_action, self._prev_reward, self._task.n_actions, self.meta_rl_inputs,
                       self._pixels)
        return out, r, d, np.zeros(self.num_envs, bool), infos


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
        "metarl_neuro/HarlowPixels-v0": {"task": "harlow-pixels"},
    }
    steps = {"metarl_neuro/TwoStep-v0": 100, "metarl_neuro/TwoStepDaw2011-v0": 402}  # checked in the tests
    for env_id, kwargs in specs.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="metarl_neuro.tasks.gym:TaskEnv",
                               vector_entry_point="metarl_neuro.tasks.gym:TaskVectorEnv", kwargs=kwargs,
                               max_episode_steps=steps.get(env_id))
