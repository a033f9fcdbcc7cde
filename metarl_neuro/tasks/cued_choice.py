"""The fixation / left / right trial structure of Wang et al. 2018 and the four tasks built on it.

Wang et al. (2018) Nat Neurosci 21:860, Methods (Simulations 1, 2, 3 and 6): "each trial starts with a
fixation cue that requires a central-fixation action, then the stimulus cue(s) that require a left or right
action; an invalid action gives reward -1". :class:`CuedChoiceTask` implements that structure once; the
tasks differ only in what the options are and what they pay:

- :class:`TsutsuiTask` (Simulation 1, Fig. 2): a two-armed "baited" bandit (Tsutsui et al. 2016; matching).
- :class:`BehrensTask` (Simulation 2, Fig. 3): a two-armed bandit with stable and volatile periods
  (Behrens et al. 2007).
- :class:`BrombergMartinTask` (Simulation 3, Fig. 4): one target per trial, one side rewarded, the rewarded
  side reversing (Bromberg-Martin et al. 2010).
- :class:`StopperTask` (Simulation 6, Fig. 7): a small certain lever vs a large risky lever (Stopper et al.
  2014).

Trial structure (every task)
----------------------------
Actions: ``0`` fixate, ``1`` left, ``2`` right (:class:`CuedAction`). Observation ``(B, 3)`` float32:
``[fixation cue, left cue, right cue]``.

1. *Fixation step*: the observation is ``[1, 0, 0]``. ``fixate`` pays ``fixation_reward`` (0 by default) and
   shows the stimulus cues; ``left``/``right`` pay ``invalid_reward`` (-1) and abort the trial.
2. *Choice step*: the observation is ``[0, left cue, right cue]`` (1 where an option is shown). A ``left`` or
   ``right`` action towards a shown option is the trial's choice and pays what the task pays; ``fixate`` or a
   side with no option pays ``invalid_reward`` and ends the trial without a choice.

A trial is therefore one step (aborted at fixation) or two. An aborted or invalid trial still counts as a
trial of the episode (so that the schedules in trials stay the schedules), but it changes nothing else in the
task (no arm is "chosen"). That an invalid action ends the trial, rather than being repeated until valid, is
our choice (the paper says only that it pays -1); it bounds every episode at ``2 * n_trials`` steps.
"""

from __future__ import annotations

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

__all__ = [
    "BehrensTask", "BrombergMartinTask", "CuedAction", "CuedChoiceTask", "StopperTask", "TsutsuiTask",
]


class CuedAction(IntEnum):
    """Actions of every cued-choice task."""

    FIXATE = 0
    LEFT = 1
    RIGHT = 2


_BASE_FIELDS = (
    LogField("trial", torch.int64, "0-based trial index in the episode"),
    LogField("phase", torch.int64, "0 fixation step, 1 choice step"),
    LogField("trial_end", torch.bool, "True at the step that ended the trial"),
    LogField("valid", torch.bool, "False where the step's action was invalid (reward -1)"),
    LogField("choice", torch.int64, "side chosen at a valid choice step: 0 left, 1 right; -1 otherwise"),
    LogField("outcome", torch.float32, "reward of the valid choice (0 at other steps)"),
    LogField("step_in_episode", torch.int64, "0-based step index in the episode"),
)


class CuedChoiceTask:
    """Base class: B episodes of fixation / left / right trials in lockstep (module docstring).

    Subclasses set ``n_trials`` per episode and implement :meth:`_new_episodes` (draw the episode's
    parameters in the slots of a mask), :meth:`_cues` (which options the choice step shows), :meth:`_fields`
    (their log fields during the current trial) and :meth:`_resolve` (pay a trial's choice and move their
    schedule on by one trial). Every random draw comes from ``self.generator``.

    Parameters
    ----------
    batch_size : int
        Episodes ``B`` simulated at once.
    fixation_reward : float
        Reward of a valid fixation. Default 0 (our choice; the paper gives none).
    invalid_reward : float
        Reward of an invalid action. Default -1 (Wang et al. 2018, Methods).
    seed : int
        Seed of the task's ``torch.Generator``.
    device : str or torch.device
        Device of every tensor.
    check_actions : bool
        Check each action's range (one host sync per step).

    Raises
    ------
    ValueError
        For a non-positive ``batch_size``.
    """

    n_actions = 3
    obs_dim = 3
    citation = "Wang et al. (2018) Nat Neurosci 21:860, Methods"
    #: names of the subclass's state tensors saved in checkpoints (besides the base ones)
    _state_names: tuple[str, ...] = ()
    #: the subclass's own log fields (after the base ones)
    extra_fields: tuple[LogField, ...] = ()

    def __init__(self, batch_size: int, fixation_reward: float = 0.0, invalid_reward: float = -1.0, seed: int = 0,
                 device: torch.device | str = "cpu", check_actions: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.fixation_reward = float(fixation_reward)
        self.invalid_reward = float(invalid_reward)
        self.device = torch.device(device)
        self.check_actions = check_value("check_actions", check_actions, bool)
        self.generator = make_generator(seed, self.device)
        self.log_schema = _BASE_FIELDS + self.extra_fields
        B, dev = self.batch_size, self.device
        self.trial = torch.zeros(B, dtype=torch.long, device=dev)
        self.phase = torch.zeros(B, dtype=torch.long, device=dev)
        self.step_count = torch.zeros(B, dtype=torch.long, device=dev)
        self.n_trials = torch.zeros(B, dtype=torch.long, device=dev)
        self._new_episodes(torch.ones(B, dtype=torch.bool, device=dev))

    # ------------------------------------------------------------------ subclass hooks
    def _new_episodes(self, which: torch.Tensor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cues(self) -> torch.Tensor:
        """``(B, 2)`` bool: the options shown at the choice step (default: both)."""
        return torch.ones(self.batch_size, 2, dtype=torch.bool, device=self.device)

    def _fields(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _resolve(self, side: torch.Tensor, chosen: torch.Tensor, ended: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Payoffs ``(B,)`` float32 of ``side`` (0 left / 1 right) where ``chosen``; update the task's state
        for those choices and move its schedule on by one trial where ``ended`` (``self.trial`` is still the
        index of the trial that ends)."""
        raise NotImplementedError

    def _set(self, name: str, value: torch.Tensor, which: torch.Tensor) -> None:
        """``self.<name>[which] = value[which]`` (creating the tensor on the first call)."""
        old = getattr(self, name, None)
        if old is None:
            setattr(self, name, value)
        else:
            mask = which.reshape(which.shape + (1,) * (value.dim() - 1))
            setattr(self, name, torch.where(mask, value, old))

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(self.batch_size, *shape, generator=self.generator, device=self.device)

    def _draw_trial_counts(self, low: int, high: int) -> torch.Tensor:
        """``(B,)`` episode lengths uniform in ``[low, high]`` trials."""
        return torch.randint(low, high + 1, (self.batch_size,), generator=self.generator, device=self.device)

    # ------------------------------------------------------------------ state
    def _start(self, which: torch.Tensor) -> None:
        self.trial = torch.where(which, 0, self.trial)
        self.phase = torch.where(which, 0, self.phase)
        self.step_count = torch.where(which, 0, self.step_count)

    def state_dict(self) -> dict:
        """Everything needed to continue the simulation exactly (for checkpoints)."""
        return tensor_state(self, ("trial", "phase", "step_count", "n_trials", *self._state_names))

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`."""
        load_tensor_state(self, state)

    # ------------------------------------------------------------------ protocol
    def _observe(self) -> torch.Tensor:
        choice_step = self.phase == 1
        obs = torch.zeros(self.batch_size, 3, device=self.device)
        obs[:, 0] = (~choice_step).float()
        obs[:, 1:] = (self._cues() & choice_step[:, None]).float()
        return obs

    def reset(self) -> torch.Tensor:
        """Start new episodes in every slot; returns the ``(B, 3)`` float32 fixation observation."""
        which = torch.ones(self.batch_size, dtype=torch.bool, device=self.device)
        self._new_episodes(which)
        self._start(which)
        return self._observe()

    @step_doc(
        summary='One step of every episode.',
        action=':class:`CuedAction` values',
        obs='``(B, 3)``',
        reward="the choice's payoff at the outcome step, else 0",
        done="True at an episode's last step",
        log="; the task's own fields hold their values during the trial (before a choice is paid)",
    )
    def step(self, action: torch.Tensor):
        check_actions(action, self.batch_size, self.n_actions, self.check_actions)
        fixation = self.phase == 0
        side = (action - 1).clamp(min=0)
        shown = self._cues().gather(1, side[:, None]).squeeze(1)
        valid_fix = fixation & (action == CuedAction.FIXATE)
        chosen = ~fixation & (action != CuedAction.FIXATE) & shown
        valid = valid_fix | chosen
        trial_end = ~valid_fix  # a choice step always ends the trial; an invalid fixation aborts it
        log = {
            "trial": self.trial,
            "phase": self.phase,
            "trial_end": trial_end,
            "valid": valid,
            "choice": torch.where(chosen, side, -1),
            "step_in_episode": self.step_count,
            **self._fields(),
        }
        payoff = self._resolve(side, chosen, trial_end)
        reward = torch.where(valid_fix, self.fixation_reward, torch.where(chosen, payoff, self.invalid_reward))
        log["outcome"] = torch.where(chosen, payoff, 0.0)
        self.phase = torch.where(valid_fix, 1, 0)
        self.trial = self.trial + trial_end.long()
        self.step_count = self.step_count + 1
        done = self.trial >= self.n_trials
        self._new_episodes(done)
        self._start(done)
        return self._observe(), reward.float(), done, log


def _check_range(name: str, pair, low: int = 1) -> tuple[int, int]:
    a, b = (int(x) for x in pair)
    if a < low or b < a:
        raise ValueError(f"{name} must be (low, high) with {low} <= low <= high, got {pair}")
    return a, b


def _check_prob(name: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p}")
    return float(p)


class TsutsuiTask(CuedChoiceTask):
    """Two-armed "baited" bandit of Tsutsui et al. (2016), Wang et al. (2018) Simulation 1 (Fig. 2).

    Each episode draws base probabilities ``p0(L) + p0(R) = p_sum``; an arm not chosen for ``n`` trials pays
    1 with probability ``1 - (1 - p0)^(n + 1)`` (a bait set on any of those trials waits for the next choice of
    the arm), so the optimal policy is to alternate at a rate set by ``p0``: choice ratios "match" reward
    ratios (Herrnstein's matching law; Wang 2018 Fig. 2d). Trial structure: :class:`CuedChoiceTask`.

    Parameters
    ----------
    batch_size : int
        Episodes simulated at once.
    test : bool
        Draw ``p0(L)`` uniformly from ``[0, p_sum]`` (the test distribution, Wang 2018 Sim 1) instead of from
        ``train_ranges``.
    p_sum : float
        ``p0(L) + p0(R)``. Default 0.5 (Wang 2018 Sim 1).
    train_ranges : tuple of (float, float)
        Training intervals of ``p0(L)``, one drawn uniformly, then a value uniformly within it. Default
        ``[0, 0.1] U [0.2, 0.3] U [0.4, 0.5]`` (Wang 2018 Sim 1), so test values in (0.1, 0.2) and (0.3, 0.4)
        are held out.
    n_trials : (int, int)
        Episode length, uniform in this range of trials. Default (50, 100) (Wang 2018 Sim 1).
    p0_change : float
        Probability, after each completed trial, that ``p0(L)`` is drawn anew from the same distribution (a
        block change within the episode, as in Tsutsui et al. 2016's sessions, whose reward probabilities changed
        between blocks; the baits already set stay). Default 0: fixed for the episode (Wang 2018 Sim 1).
    **kwargs
        ``fixation_reward``, ``invalid_reward``, ``seed``, ``device``, ``check_actions`` of
        :class:`CuedChoiceTask`.

    Raises
    ------
    ValueError
        For a probability outside [0, 1] (``p_sum``, ``p0_change``), an empty range or a bad ``n_trials``.

    Examples
    --------
    >>> task = TsutsuiTask(2, seed=0)
    >>> task.reset().tolist()
    [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    >>> obs, reward, done, log = task.step(torch.tensor([0, 0]))
    >>> obs.tolist(), reward.tolist()
    ([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]], [0.0, 0.0])
    """

    citation = "Tsutsui et al. (2016) Nat Commun 7:12554; Wang et al. (2018) Nat Neurosci 21:860, Simulation 1"
    TRAIN_RANGES = ((0.0, 0.1), (0.2, 0.3), (0.4, 0.5))
    _state_names = ("p0", "unchosen")
    extra_fields = (
        LogField("p0_left", torch.float32, "base reward probability p0 of the left arm in the episode"),
        LogField("p0_right", torch.float32, "base reward probability p0 of the right arm in the episode"),
        LogField("pay_prob_left", torch.float32, "probability that a left choice pays on this trial"),
        LogField("pay_prob_right", torch.float32, "probability that a right choice pays on this trial"),
    )

    def __init__(self, batch_size: int, test: bool = False, p_sum: float = 0.5,
                 train_ranges: tuple = TRAIN_RANGES, n_trials: tuple[int, int] = (50, 100), p0_change: float = 0.0,
                 **kwargs):
        self.p_sum = _check_prob("p_sum", p_sum)
        self.p0_change = _check_prob("p0_change", p0_change)
        ranges = [(float(a), float(b)) for a, b in train_ranges]
        if not ranges or any(not 0.0 <= a <= b <= self.p_sum for a, b in ranges):
            raise ValueError(f"train_ranges must be intervals inside [0, p_sum={p_sum}], got {train_ranges}")
        self.train_ranges, self.test = tuple(ranges), check_value("test", test, bool)
        self.trial_range = _check_range("n_trials", n_trials)
        super().__init__(batch_size, **kwargs)

    def _draw_p0(self) -> torch.Tensor:
        """``(B, 2)`` base probabilities ``p0(L), p0(R)``, drawn from the test or the training distribution."""
        u = self._rand(2)
        if self.test:
            left = u[:, 0] * self.p_sum
        else:
            lo = torch.tensor([a for a, _ in self.train_ranges], device=self.device)
            width = torch.tensor([b - a for a, b in self.train_ranges], device=self.device)
            k = (u[:, 1] * len(self.train_ranges)).long().clamp(max=len(self.train_ranges) - 1)
            left = lo[k] + u[:, 0] * width[k]
        return torch.stack([left, self.p_sum - left], 1)

    def _new_episodes(self, which):
        self._set("p0", self._draw_p0(), which)
        self._set("unchosen", torch.zeros(self.batch_size, 2, device=self.device), which)
        self._set("n_trials", self._draw_trial_counts(*self.trial_range), which)

    def _pay_prob(self) -> torch.Tensor:
        return 1.0 - (1.0 - self.p0) ** (self.unchosen + 1.0)

    def _fields(self):
        pay = self._pay_prob()
        return {"p0_left": self.p0[:, 0], "p0_right": self.p0[:, 1], "pay_prob_left": pay[:, 0],
                "pay_prob_right": pay[:, 1]}

    def _resolve(self, side, chosen, ended):
        prob = self._pay_prob().gather(1, side[:, None]).squeeze(1)
        pay = (self._rand() < prob).float()
        picked = torch.nn.functional.one_hot(side, 2).bool() & chosen[:, None]
        self.unchosen = torch.where(picked, 0.0, torch.where(chosen[:, None], self.unchosen + 1.0, self.unchosen))
        if self.p0_change > 0:  # a block change after this trial (no draw at 0: Wang 2018's streams stay as they were)
            self._set("p0", self._draw_p0(), chosen & (self._rand() < self.p0_change))
        return pay


class BehrensTask(CuedChoiceTask):
    """Two-armed bandit with stable and volatile periods (Behrens et al. 2007; Wang et al. 2018 Simulation 2).

    The arms pay 1 with probabilities ``p`` (left) and ``1 - p`` (right). An episode has two blocks of
    ``block_trials`` trials, one stable and one volatile, in a random order (or ``order``): in a stable block
    ``p`` is ``stable_p`` or ``1 - stable_p`` (which arm is better drawn at random) for the whole block; in a
    volatile block ``p`` is ``volatile_p`` or ``1 - volatile_p`` and reverses after every run of
    ``reversal_every`` trials (uniform in that range). Training over such episodes shifts the volatility within
    and across episodes (Wang 2018 Sim 2); a test episode's blocks are "Stable 1"/"Volatile 2" (stable
    first) or "Volatile 1"/"Stable 2" (volatile first), the four test blocks of Wang 2018 Fig. 3d.

    Parameters
    ----------
    batch_size : int
        Episodes simulated at once.
    block_trials : int
        Trials per block. Default 100 (our choice; Behrens et al. 2007 used 120 stable and 170 volatile).
    stable_p : float
        Reward probability of the better arm in a stable block. Default 0.75 (Behrens et al. 2007).
    volatile_p : float
        Reward probability of the better arm in a volatile block. Default 0.8 (the issue; Behrens et al. 2007).
    reversal_every : (int, int)
        Trials between reversals in a volatile block, uniform in this range. Default (20, 30) (our choice: "about
        every 25 trials", the issue; Behrens et al. 2007: 30-40).
    order : {"random", "stable-first", "volatile-first"}
        Block order of every episode.
    **kwargs
        As :class:`CuedChoiceTask`.

    Raises
    ------
    ValueError
        For a probability outside [0, 1], a bad range or an unknown ``order``.
    """

    citation = "Behrens et al. (2007) Nat Neurosci 10:1214; Wang et al. (2018) Nat Neurosci 21:860, Simulation 2"
    ORDERS = ("random", "stable-first", "volatile-first")
    _state_names = ("p_left", "volatile_first", "next_reversal")
    extra_fields = (
        LogField("p_left", torch.float32, "reward probability of the left arm (the right arm's is 1 - it)"),
        LogField("volatile", torch.bool, "True in a volatile block"),
        LogField("block", torch.int64, "0 first block, 1 second block of the episode"),
    )

    def __init__(self, batch_size: int, block_trials: int = 100, stable_p: float = 0.75, volatile_p: float = 0.8,
                 reversal_every: tuple[int, int] = (20, 30), order: str = "random", **kwargs):
        if block_trials < 1:
            raise ValueError(f"block_trials must be >= 1, got {block_trials}")
        if order not in self.ORDERS:
            raise ValueError(f"order must be one of {self.ORDERS}, got {order!r}")
        self.block_trials, self.order = int(block_trials), order
        self.stable_p, self.volatile_p = _check_prob("stable_p", stable_p), _check_prob("volatile_p", volatile_p)
        self.reversal_every = _check_range("reversal_every", reversal_every)
        super().__init__(batch_size, **kwargs)

    def _gap(self) -> torch.Tensor:
        lo, hi = self.reversal_every
        return torch.randint(lo, hi + 1, (self.batch_size,), generator=self.generator, device=self.device)

    def _block_p(self, volatile: torch.Tensor) -> torch.Tensor:
        better = torch.where(volatile, self.volatile_p, self.stable_p)
        return torch.where(self._rand() < 0.5, better, 1.0 - better)

    def _volatile(self, trial: torch.Tensor) -> torch.Tensor:
        return (trial >= self.block_trials) ^ self.volatile_first

    def _new_episodes(self, which):
        if self.order == "random":
            first = self._rand() < 0.5
        else:
            first = torch.full((self.batch_size,), self.order == "volatile-first", device=self.device)
        self._set("volatile_first", first, which)
        self._set("p_left", self._block_p(first), which)
        self._set("next_reversal", self._gap(), which)
        self._set("n_trials", torch.full((self.batch_size,), 2 * self.block_trials, device=self.device), which)

    def _fields(self):
        return {"p_left": self.p_left, "volatile": self._volatile(self.trial),
                "block": (self.trial >= self.block_trials).long()}

    def _resolve(self, side, chosen, ended):
        p = torch.where(side == 0, self.p_left, 1.0 - self.p_left)
        pay = (self._rand() < p).float()
        nxt = self.trial + 1
        entering = ended & (nxt == self.block_trials)
        volatile_next = self._volatile(nxt)
        gap = self._gap()
        reverse = ended & ~entering & volatile_next & (nxt == self.next_reversal)
        p_new = self._block_p(volatile_next)
        self.p_left = torch.where(entering, p_new, torch.where(reverse, 1.0 - self.p_left, self.p_left))
        self.next_reversal = torch.where(entering | reverse, nxt + gap, self.next_reversal)
        return pay


class BrombergMartinTask(CuedChoiceTask):
    """Reversal task of Bromberg-Martin et al. (2010); Wang et al. (2018) Simulation 3 (Fig. 4).

    Each trial one target appears on the left or the right (at random); the valid action is the saccade to it
    (the other side is invalid, -1). One side pays ``reward``, the other nothing; the rewarded side reverses
    after runs of ``block_trials`` trials (uniform in that range), unsignalled. Because the two sides are
    anti-correlated, one trial after a reversal tells the agent the new value of *both* targets: the
    "inferred value" of Bromberg-Martin et al. (2010) and Wang 2018 Fig. 4b.

    Parameters
    ----------
    batch_size : int
        Episodes simulated at once.
    n_trials : int
        Trials per episode. Default 100 (our choice).
    block_trials : (int, int)
        Trials between reversals, uniform in this range. Default (10, 30) (our choice; Bromberg-Martin et al.
        2010 reversed after a variable number of trials).
    reward : float
        Payoff of the rewarded side. Default 1 (our choice).
    **kwargs
        As :class:`CuedChoiceTask`.

    Raises
    ------
    ValueError
        For a bad ``n_trials`` or ``block_trials``.
    """

    citation = "Bromberg-Martin et al. (2010) Neuron 67:144; Wang et al. (2018) Nat Neurosci 21:860, Simulation 3"
    _state_names = ("target_side", "rewarded_side", "next_reversal", "since_reversal")
    extra_fields = (
        LogField("target_side", torch.int64, "side of the trial's target: 0 left, 1 right"),
        LogField("rewarded_side", torch.int64, "side that pays during the trial"),
        LogField("target_rewarded", torch.bool, "True if the trial's target is on the rewarded side"),
        LogField("since_reversal", torch.int64, "trials since the last reversal (0: first trial after it; "
                 "-1 before the episode's first reversal)"),
    )

    def __init__(self, batch_size: int, n_trials: int = 100, block_trials: tuple[int, int] = (10, 30),
                 reward: float = 1.0, **kwargs):
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        self.trials_per_episode, self.reward = int(n_trials), float(reward)
        self.block_trials = _check_range("block_trials", block_trials)
        super().__init__(batch_size, **kwargs)

    def _gap(self) -> torch.Tensor:
        lo, hi = self.block_trials
        return torch.randint(lo, hi + 1, (self.batch_size,), generator=self.generator, device=self.device)

    def _side(self) -> torch.Tensor:
        return (self._rand() < 0.5).long()

    def _new_episodes(self, which):
        self._set("target_side", self._side(), which)
        self._set("rewarded_side", self._side(), which)
        self._set("next_reversal", self._gap(), which)
        self._set("since_reversal", torch.full((self.batch_size,), -1, device=self.device), which)
        self._set("n_trials", torch.full((self.batch_size,), self.trials_per_episode, device=self.device), which)

    def _cues(self):
        return torch.nn.functional.one_hot(self.target_side, 2).bool()

    def _fields(self):
        return {"target_side": self.target_side, "rewarded_side": self.rewarded_side,
                "target_rewarded": self.target_side == self.rewarded_side, "since_reversal": self.since_reversal}

    def _resolve(self, side, chosen, ended):
        pay = (side == self.rewarded_side).float() * self.reward
        nxt = self.trial + 1
        reverse = ended & (nxt == self.next_reversal)
        gap, new_target = self._gap(), self._side()
        self.rewarded_side = torch.where(reverse, 1 - self.rewarded_side, self.rewarded_side)
        self.next_reversal = torch.where(reverse, nxt + gap, self.next_reversal)
        after = torch.where(self.since_reversal >= 0, self.since_reversal + 1, -1)
        self.since_reversal = torch.where(reverse, 0, torch.where(ended, after, self.since_reversal))
        self.target_side = torch.where(ended, new_target, self.target_side)
        return pay


class StopperTask(CuedChoiceTask):
    """Risk/reward lever task of Stopper et al. (2014); Wang et al. (2018) Simulation 6 (Fig. 7).

    Two levers: the certain lever pays ``small_reward`` every time, the risky lever ``large_reward`` with
    probability ``p_risky`` (drawn per episode from ``risky_probs``), else 0. With the defaults the risky
    lever is worth more when ``p_risky = 0.5`` (2 vs 1) and less when it is 0.125 (0.5 vs 1), so the agent has
    to learn within the episode which lever to prefer.

    Parameters
    ----------
    batch_size : int
        Episodes simulated at once.
    n_trials : int
        Trials per episode. Default 50 (our choice).
    small_reward, large_reward : float
        Payoffs of the certain and the risky lever. Default 1 and 4 (Stopper et al. 2014: 1 vs 4 pellets).
    risky_probs : tuple of float
        Values of ``p_risky``, one per episode, equally likely. Default (0.5, 0.125) (Stopper et al. 2014; the
        issue).
    risky_side : int
        Side of the risky lever, 0 left or 1 right. Default 1 (our choice: the levers keep their places, as in
        an operant box).
    **kwargs
        As :class:`CuedChoiceTask`.

    Raises
    ------
    ValueError
        For a probability outside [0, 1], a bad side or ``n_trials``.
    """

    citation = "Stopper et al. (2014) Neuron 84:177; Wang et al. (2018) Nat Neurosci 21:860, Simulation 6"
    _state_names = ("p_risky",)
    extra_fields = (
        LogField("p_risky", torch.float32, "probability that the risky lever pays large_reward in the episode"),
        LogField("risky_side", torch.int64, "side of the risky lever: 0 left, 1 right"),
    )

    def __init__(self, batch_size: int, n_trials: int = 50, small_reward: float = 1.0, large_reward: float = 4.0,
                 risky_probs: tuple[float, ...] = (0.5, 0.125), risky_side: int = 1, **kwargs):
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        if risky_side not in (0, 1):
            raise ValueError(f"risky_side must be 0 (left) or 1 (right), got {risky_side}")
        if not risky_probs:
            raise ValueError("risky_probs must hold at least one probability")
        self.risky_probs = tuple(_check_prob("risky_probs", p) for p in risky_probs)
        self.trials_per_episode, self.risky_side = int(n_trials), int(risky_side)
        self.small_reward, self.large_reward = float(small_reward), float(large_reward)
        super().__init__(batch_size, **kwargs)

    def _new_episodes(self, which):
        probs = torch.tensor(self.risky_probs, device=self.device)
        k = torch.randint(0, len(probs), (self.batch_size,), generator=self.generator, device=self.device)
        self._set("p_risky", probs[k], which)
        self._set("n_trials", torch.full((self.batch_size,), self.trials_per_episode, device=self.device), which)

    def _fields(self):
        return {"p_risky": self.p_risky,
                "risky_side": torch.full((self.batch_size,), self.risky_side, device=self.device)}

    def _resolve(self, side, chosen, ended):
        win = self._rand() < self.p_risky
        return torch.where(side == self.risky_side, self.large_reward * win.float(),
                           torch.full_like(self.p_risky, self.small_reward))
