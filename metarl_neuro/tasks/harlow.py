"""Harlow's learning-to-learn task (Harlow 1949; Wang et al. 2018, Simulation 5), batched: the 1-D form."""

from __future__ import annotations

import inspect
from enum import IntEnum

import torch

from metarl_neuro.domains import check_value
from metarl_neuro.tasks._protocol import (
    LogField,
    check_actions,
    load_tensor_state,
    make_generator,
    step_doc,
    tensor_state,
)

__all__ = ["HarlowAction", "HarlowTask"]


class HarlowAction(IntEnum):
    """Gaze movements of the 1-D Harlow task."""

    LEFT = 0
    RIGHT = 1


class HarlowTask:
    """B episodes of the 1-D Harlow task in lockstep as torch tensors (``kind="1d"``).

    The screen is a ring of ``n_cells`` cells; the agent sees the ``window`` cells around its gaze (offsets
    ``-window // 2 .. window - window // 2 - 1``) and moves the gaze one cell left or right per step. A trial
    starts with a fixation marker at the centre cell (gaze anywhere); reaching it pays ``fixation_reward`` and
    shows the episode's two objects ``object_offset`` cells left and right of the centre (sides drawn at random
    every trial). Reaching an object pays ``correct_reward`` if it is the episode's rewarded object,
    ``incorrect_reward`` otherwise, and ends the trial: the objects vanish and the marker reappears. An episode
    has ``n_trials`` trials and ends early after ``max_steps`` steps.

    Each episode draws two object ids from ``range(n_objects)`` (the training set, or the disjoint held-out
    set with ``stimuli="test"``) and one of them as the rewarded object. An id is shown as a fixed random
    ``code_size``-bit binary code (the same for every task and seed), so the agent must bind an arbitrary
    identity to reward within the episode. Observation per cell: ``[fixation marker, code bits...]``,
    flattened over the window: ``(B, window * (1 + code_size))`` float32.

    Defaults are this project's 1-D version of Wang et al. 2018's Harlow task (issue 6): a ring of 17 cells, an
    8-cell window, objects 3 cells from the centre, 6 trials, at most 250 steps, rewards +0.2 / +1 / -1
    (Wang et al. 2016's values for the PsychLab task), 1,000 object ids of which the last 100 are held out.

    Parameters
    ----------
    batch_size : int
        Episodes ``B``.
    kind : {"1d", "pixels"}
        ``"pixels"`` returns a :class:`~metarl_neuro.tasks.harlow_pixels.HarlowPixelTask` instead.
    stimuli : {"train", "test"}
        Which object ids the episodes draw: ``range(n_objects - n_test_objects)`` or the held-out rest.
    n_cells, window, object_offset, n_trials, max_steps : int
        Geometry and length (above).
    n_objects, n_test_objects, code_size : int
        Object ids, held-out ids, bits of an object's code.
    fixation_reward, correct_reward, incorrect_reward : float
        Rewards (above).
    seed : int
        Seed of the task's generator (episodes, sides, start gaze).
    device : str or torch.device
        Where the tensors live (default "cpu").
    check_actions : bool
        Check the actions' range (one host sync per step).

    Raises
    ------
    ValueError
        For an unknown ``kind`` or ``stimuli``, a window or offset that does not fit the ring, or fewer than 2
        object ids in the chosen set.

    Examples
    --------
    >>> task = HarlowTask(batch_size=2, seed=0)
    >>> task.reset().shape
    torch.Size([2, 88])
    """

    citation = "Harlow (1949) Psychol Rev 56:51; Wang et al. (2018) Nat Neurosci 21:860, Simulation 5"
    CODE_SEED = 20180514  # object codes are fixed across tasks and seeds

    def __new__(cls, batch_size: int = 1, kind: str = "1d", *args, **kwargs):
        """``kind="pixels"`` builds a :class:`~metarl_neuro.tasks.harlow_pixels.HarlowPixelTask` (the
        keyword arguments go to it)."""
        if cls is HarlowTask and kind == "pixels":
            from metarl_neuro.tasks.harlow_pixels import HarlowPixelTask

            return HarlowPixelTask(batch_size, *args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        batch_size: int,
        kind: str = "1d",
        stimuli: str = "train",
        n_cells: int = 17,
        window: int = 8,
        object_offset: int = 3,
        n_trials: int = 6,
        max_steps: int = 250,
        n_objects: int = 1000,
        n_test_objects: int = 100,
        code_size: int = 10,
        fixation_reward: float = 0.2,
        correct_reward: float = 1.0,
        incorrect_reward: float = -1.0,
        seed: int = 0,
        device: torch.device | str = "cpu",
        check_actions: bool = True,
    ):
        if kind != "1d":
            raise ValueError(f"unknown kind {kind!r}; choose '1d' or 'pixels'")
        if stimuli not in ("train", "test"):
            raise ValueError(f"stimuli must be 'train' or 'test', got {stimuli!r}")
        if batch_size < 1 or n_trials < 1 or max_steps < 1:
            raise ValueError("batch_size, n_trials and max_steps must be >= 1")
        if not 0 < window <= n_cells or not 0 < object_offset < n_cells // 2:
            raise ValueError(f"window {window} and object_offset {object_offset} must fit a ring of {n_cells} cells")
        lo, hi = (0, n_objects - n_test_objects) if stimuli == "train" else (n_objects - n_test_objects, n_objects)
        if hi - lo < 2:
            raise ValueError(f"the {stimuli} set has {hi - lo} object id(s); need at least 2")
        self.batch_size, self.kind, self.stimuli = int(batch_size), kind, stimuli
        self.n_cells, self.window, self.object_offset = int(n_cells), int(window), int(object_offset)
        self.n_trials, self.max_steps = int(n_trials), int(max_steps)
        self.id_range = (lo, hi)
        self.code_size = int(code_size)
        self.rewards = (float(fixation_reward), float(correct_reward), float(incorrect_reward))
        self.device = torch.device(device)
        self.check_actions = check_value("check_actions", check_actions, bool)
        self.n_actions = len(HarlowAction)
        self.obs_dim = self.window * (1 + self.code_size)
        self.centre = self.n_cells // 2
        codes = torch.randint(0, 2, (n_objects, self.code_size), generator=torch.Generator().manual_seed(self.CODE_SEED))
        self.codes = codes.float().to(self.device)
        self.generator = make_generator(seed, self.device)
        self.log_schema = (
            LogField("trial", torch.int64, "0-based trial index of the step"),
            LogField("trial_end", torch.bool, "True where the step reached an object (the trial's outcome)"),
            LogField("phase", torch.int64, "0: fixation marker shown, 1: objects shown, at the step's start"),
            LogField("gaze", torch.int64, "gaze cell after the step"),
            LogField("rewarded_object", torch.int64, "id of the episode's rewarded object"),
            LogField("other_object", torch.int64, "id of the episode's other object"),
            LogField("rewarded_side", torch.int64, "side of the rewarded object this trial (0 left, 1 right)"),
            LogField("choice", torch.int64, "side reached at trial_end (0 left, 1 right; -1 elsewhere)"),
            LogField("correct", torch.bool, "True where the step reached the rewarded object"),
            LogField("step_in_episode", torch.int64, "0-based step index in the episode"),
        )
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device), init=True)

    # ------------------------------------------------------------------ state
    def _draw(self):
        B, dev, gen = self.batch_size, self.device, self.generator
        lo, hi = self.id_range
        a = torch.randint(lo, hi, (B,), generator=gen, device=dev)
        b = torch.randint(lo, hi - 1, (B,), generator=gen, device=dev)
        b = torch.where(b >= a, b + 1, b)  # a different id
        gaze = torch.randint(0, self.n_cells, (B,), generator=gen, device=dev)
        side = torch.randint(0, 2, (B,), generator=gen, device=dev)
        return a, b, gaze, side

    def _new_episodes(self, which: torch.Tensor, init: bool = False) -> None:
        a, b, gaze, side = self._draw()
        z = torch.zeros(self.batch_size, dtype=torch.long, device=self.device)
        if init:
            self.rewarded, self.other, self.gaze, self.side = a, b, gaze, side
            self.trial, self.phase, self.steps = z, z.clone(), z.clone()
            return
        self.rewarded = torch.where(which, a, self.rewarded)
        self.other = torch.where(which, b, self.other)
        self.gaze = torch.where(which, gaze, self.gaze)
        self.side = torch.where(which, side, self.side)
        self.trial = torch.where(which, 0, self.trial)
        self.phase = torch.where(which, 0, self.phase)
        self.steps = torch.where(which, 0, self.steps)

    def state_dict(self) -> dict:
        """Everything needed to continue the simulation exactly (for checkpoints)."""
        return tensor_state(self, ("rewarded", "other", "gaze", "side", "trial", "phase", "steps"))

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`."""
        load_tensor_state(self, state)

    # ------------------------------------------------------------------ protocol
    def _screen(self) -> torch.Tensor:
        """``(B, n_cells, 1 + code_size)``: the marker, or the two objects' codes, on the ring."""
        B, C = self.batch_size, self.n_cells
        screen = torch.zeros(B, C, 1 + self.code_size, device=self.device)
        ar = torch.arange(B, device=self.device)
        fix = self.phase == 0
        screen[ar, self.centre, 0] = fix.float()
        left, right = self.centre - self.object_offset, self.centre + self.object_offset
        rew_cell = torch.where(self.side == 0, left, right)
        oth_cell = torch.where(self.side == 0, right, left)
        show = (~fix).float()[:, None]
        screen[ar, rew_cell, 1:] += show * self.codes[self.rewarded]
        screen[ar, oth_cell, 1:] += show * self.codes[self.other]
        return screen

    def _observe(self) -> torch.Tensor:
        offsets = torch.arange(self.window, device=self.device) - self.window // 2
        cells = (self.gaze[:, None] + offsets[None, :]) % self.n_cells  # (B, window)
        screen = self._screen()
        view = screen[torch.arange(self.batch_size, device=self.device)[:, None], cells]
        return view.reshape(self.batch_size, -1)

    def reset(self) -> torch.Tensor:
        """Start new episodes in every slot; returns ``(B, obs_dim)`` float32."""
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device))
        return self._observe()

    @step_doc(
        summary='Move every gaze by one cell.',
        action=':class:`HarlowAction` values',
        obs='``(B, obs_dim)``',
        reward='fixation, correct or incorrect reward, else 0',
        done="the episode's last trial ended or ``max_steps`` was reached",
    )
    def step(self, action: torch.Tensor):
        check_actions(action, self.batch_size, self.n_actions, self.check_actions)
        fix_r, good_r, bad_r = self.rewards
        phase = self.phase
        gaze = (self.gaze + torch.where(action == HarlowAction.RIGHT, 1, -1)) % self.n_cells
        left, right = self.centre - self.object_offset, self.centre + self.object_offset
        fixated = (phase == 0) & (gaze == self.centre)
        at_left, at_right = (phase == 1) & (gaze == left), (phase == 1) & (gaze == right)
        chose = at_left | at_right
        choice = torch.where(at_left, 0, torch.where(at_right, 1, -1))
        correct = chose & (choice == self.side)
        reward = torch.where(fixated, fix_r, 0.0) + torch.where(chose, torch.where(correct, good_r, bad_r), 0.0)
        log = {
            "trial": self.trial,
            "trial_end": chose,
            "phase": phase,
            "gaze": gaze,
            "rewarded_object": self.rewarded,
            "other_object": self.other,
            "rewarded_side": self.side,
            "choice": choice,
            "correct": correct,
            "step_in_episode": self.steps,
        }
        new_side = torch.randint(0, 2, (self.batch_size,), generator=self.generator, device=self.device)
        self.gaze = gaze
        self.phase = torch.where(fixated, 1, torch.where(chose, 0, phase))
        self.side = torch.where(chose, new_side, self.side)
        self.trial = self.trial + chose.long()
        self.steps = self.steps + 1
        done = (self.trial >= self.n_trials) | (self.steps >= self.max_steps)
        self._new_episodes(done)
        return self._observe(), reward.float(), done, log


# ``__new__`` takes ``*args, **kwargs`` to hand ``kind="pixels"`` to the pixel task; the class's signature (``help``,
# ``inspect.signature``, the documentation) is that of the 1-D task's ``__init__``
_init = inspect.signature(HarlowTask.__init__)
HarlowTask.__signature__ = _init.replace(parameters=list(_init.parameters.values())[1:])  # without self
