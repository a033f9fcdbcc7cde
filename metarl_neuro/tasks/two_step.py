"""Batched two-step task (Daw et al. 2011; Wang et al. 2018, Simulation 4).

References
----------
Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based influences on humans'
choices and striatal prediction errors. Neuron 69, 1204-1215. doi:10.1016/j.neuron.2011.02.027
Wang, J. X. et al. (2018). Prefrontal cortex as a meta-reinforcement learning system. Nat. Neurosci. 21,
860-868, Fig. 5 and Methods (Simulation 4). doi:10.1038/s41593-018-0147-8
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

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
    "DriftingRewards",
    "SwappingRewards",
    "TwoStepAction",
    "TwoStepCue",
    "TwoStepStage",
    "TwoStepTask",
]


class TwoStepAction(IntEnum):
    """Agent actions. The compressed structure uses only the two choices."""

    CHOICE_0 = 0  #: first-stage action a1 (second stage: option 0)
    CHOICE_1 = 1  #: first-stage action a2 (second stage: option 1)
    FIXATE = 2  #: fixation response (paper structure only)


class TwoStepCue(IntEnum):
    """Observation slots: ``obs[:, cue] = 1`` when the cue is on screen."""

    FIXATION = 0  #: fixation cue (paper structure)
    FIRST_STAGE = 1  #: first-stage state S1: make the first-stage choice
    STATE_0 = 2  #: second-stage state 0 (S2), commonly reached from CHOICE_0
    STATE_1 = 3  #: second-stage state 1 (S3), commonly reached from CHOICE_1


class TwoStepStage(IntEnum):
    """Stage of the trial at which an action is taken."""

    FIXATION = 0
    FIRST = 1
    SECOND = 2


class SwappingRewards:
    """Wang et al. 2018 (Sim. 4) reward process: one reward probability per second-stage state.

    State 0 pays 1 with probability ``p`` and state 1 with ``1 - p``, ``p`` in ``{high, 1 - high}`` drawn at
    random at the start of each episode; after every trial the two probabilities swap with probability
    ``swap_prob``.

    Parameters
    ----------
    high : float
        The larger reward probability. Default 0.9 (Wang et al. 2018, Fig. 5a).
    swap_prob : float
        Probability per trial that the two states swap their reward probabilities. Default 0.025
        (Wang et al. 2018, Methods, as in the public reproductions of Simulation 4).

    Raises
    ------
    ValueError
        If a probability lies outside [0, 1].
    """

    n_options = 1

    def __init__(self, high: float = 0.9, swap_prob: float = 0.025):
        for name, val in (("high", high), ("swap_prob", swap_prob)):
            if not 0.0 <= val <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {val}")
        self.high = float(high)
        self.swap_prob = float(swap_prob)

    def init(self, batch_size: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """Reward probabilities of new episodes, ``(batch_size, 2, 1)`` float32 (state, option)."""
        good0 = torch.rand(batch_size, generator=gen, device=device) < 0.5
        p0 = torch.where(good0, self.high, 1.0 - self.high)
        return torch.stack([p0, 1.0 - p0], dim=1).unsqueeze(-1)

    def step(self, probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Probabilities for the next trial: the states swap with probability ``swap_prob``."""
        swap = torch.rand(probs.shape[0], generator=gen, device=probs.device) < self.swap_prob
        return torch.where(swap[:, None, None], probs.flip(1), probs)

    def __repr__(self) -> str:
        return f"SwappingRewards(high={self.high}, swap_prob={self.swap_prob})"


class DriftingRewards:
    """Daw et al. 2011 reward process: each second-stage option's reward probability walks independently.

    After every trial each probability takes a Gaussian step of SD ``sd`` and is reflected at ``lower`` and
    ``upper``. Initial probabilities are uniform on ``[lower, upper]`` (Daw et al. 2011 do not state them).

    Parameters
    ----------
    sd : float
        SD of the Gaussian step per trial. Default 0.025 (Daw et al. 2011, Experimental Procedures).
    lower, upper : float
        Reflecting boundaries. Default 0.25 and 0.75 (Daw et al. 2011).
    n_options : int
        Options per second-stage state. Default 2 (four options in all; Daw et al. 2011).

    Raises
    ------
    ValueError
        If the bounds are not ``0 <= lower < upper <= 1`` or ``sd`` is negative.
    """

    def __init__(self, sd: float = 0.025, lower: float = 0.25, upper: float = 0.75, n_options: int = 2):
        if not 0.0 <= lower < upper <= 1.0:
            raise ValueError(f"need 0 <= lower < upper <= 1, got lower={lower}, upper={upper}")
        if sd < 0:
            raise ValueError(f"sd must be >= 0, got {sd}")
        if n_options not in (1, 2):
            raise ValueError(f"n_options must be 1 or 2, got {n_options}")
        self.sd, self.lower, self.upper, self.n_options = float(sd), float(lower), float(upper), int(n_options)

    def init(self, batch_size: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        """Reward probabilities of new episodes, ``(batch_size, 2, n_options)`` float32."""
        u = torch.rand(batch_size, 2, self.n_options, generator=gen, device=device)
        return self.lower + (self.upper - self.lower) * u

    def step(self, probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One Gaussian step with reflection at the bounds."""
        p = probs + self.sd * torch.randn(probs.shape, generator=gen, device=probs.device)
        p = torch.where(p > self.upper, 2 * self.upper - p, p)
        p = torch.where(p < self.lower, 2 * self.lower - p, p)
        return p.clamp(self.lower, self.upper)

    def __repr__(self) -> str:
        return f"DriftingRewards(sd={self.sd}, lower={self.lower}, upper={self.upper}, n_options={self.n_options})"


class TwoStepTask:
    """B two-step episodes simulated in lockstep as torch tensors.

    In each trial the agent makes a first-stage choice ``choice1`` in {0, 1}; it leads to second-stage state
    ``state2 = choice1`` with probability ``common_prob`` (a *common* transition) and to the other state
    otherwise (*rare*). In the second-stage state the agent (where the reward process offers two options)
    picks ``choice2`` and is paid 1 with that option's reward probability, else 0.

    Two trial structures:

    ``"compressed"`` (default)
        One agent step per trial: the first-stage choice. Its reward is the trial's outcome, and the next
        observation shows the first-stage cue together with the second-stage state just reached. With a
        two-option reward process (Daw 2011) the second-stage choice takes a second step whose observation is
        the state cue. Actions: ``CHOICE_0``, ``CHOICE_1``.
    ``"paper"``
        Wang et al. 2018 (Methods): fixation action on the fixation cue -> first-stage choice on the
        first-stage cue -> second-stage action on the second-stage state cue -> reward. Actions: the two
        choices and ``FIXATE``. A wrong action (a choice on the fixation cue, ``FIXATE`` at a choice) is paid
        ``wrong_action_reward`` and the stage repeats. In a one-option state either choice collects the reward.

    Why compressed is the default (measured with ``benchmarks/compare_structures.py``, default agent: batch
    32, lr 3e-3, 5 seeds per structure, 300 frozen test episodes every 20 CPU s): with the stay-pattern gap
    ``min(P(stay|rewarded, common), P(stay|unrewarded, rare)) - max(P(stay|rewarded, rare), P(stay|unrewarded,
    common))``, the paper structure *first* reached 0.3 sooner (after 120 CPU s on average, 80-160 s, versus
    156 s, 120-200 s), but then kept it less reliably (72% of later evaluations >= 0.3, versus 90%), and at
    the end of a default-length run the compressed structure gave >= 0.3 in 3 of 3 seeds (100k episodes)
    while the paper structure gave it in 1 of 2 (40k episodes, the same compute). A default run must end in
    the pattern, so the structure that holds it is the default.

    Parameters
    ----------
    batch_size : int
        Number of episodes ``B`` simulated at once.
    common_prob : float
        Probability of the common transition. Default 0.8 (Wang et al. 2018, Fig. 5a); 0.7 in Daw et al. 2011.
    rewards : SwappingRewards or DriftingRewards
        Reward process. Default ``SwappingRewards()`` (Wang et al. 2018); ``DriftingRewards()`` gives Daw 2011.
    n_trials : int
        Trials per episode. Default 100 (Wang et al. 2018, Methods); 201 in Daw et al. 2011.
    structure : {"compressed", "paper"}
        Trial structure, see above.
    wrong_action_reward : float
        Reward for a wrong action in the paper structure. Default -1 (Wang et al. 2018, Methods).
    seed : int
        Seed of the task's own ``torch.Generator``.
    device : str or torch.device
        Device of every tensor.
    check_actions : bool
        Check that each action lies in range (one host sync per step). Default True.

    Raises
    ------
    ValueError
        For a probability outside [0, 1], a non-positive ``batch_size`` or ``n_trials``, or an unknown
        ``structure``.

    Examples
    --------
    >>> task = TwoStepTask(batch_size=3, seed=0)
    >>> task.reset().shape
    torch.Size([3, 4])
    >>> obs, reward, done, log = task.step(torch.zeros(3, dtype=torch.long))
    >>> log["choice1"].tolist(), log["trial_end"].tolist()
    ([0, 0, 0], [True, True, True])
    """

    citation = (
        "Wang et al. (2018) Nat Neurosci 21:860, Simulation 4, doi:10.1038/s41593-018-0147-8; "
        "Daw et al. (2011) Neuron 69:1204, doi:10.1016/j.neuron.2011.02.027"
    )
    obs_dim = len(TwoStepCue)

    def __init__(
        self,
        batch_size: int,
        common_prob: float = 0.8,
        rewards: SwappingRewards | DriftingRewards | None = None,
        n_trials: int = 100,
        structure: Literal["compressed", "paper"] = "compressed",
        wrong_action_reward: float = -1.0,
        seed: int = 0,
        device: torch.device | str = "cpu",
        check_actions: bool = True,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        if not 0.0 <= common_prob <= 1.0:
            raise ValueError(f"common_prob must lie in [0, 1], got {common_prob}")
        if structure not in ("compressed", "paper"):
            raise ValueError(f"structure must be 'compressed' or 'paper', got {structure!r}")
        self.batch_size = int(batch_size)
        self.common_prob = float(common_prob)
        self.rewards = SwappingRewards() if rewards is None else rewards
        self.n_trials = int(n_trials)
        self.structure = structure
        self.wrong_action_reward = float(wrong_action_reward)
        self.device = torch.device(device)
        self.check_actions = check_value("check_actions", check_actions, bool)
        self.n_actions = 3 if structure == "paper" else 2
        self._first_stage = TwoStepStage.FIXATION if structure == "paper" else TwoStepStage.FIRST
        self.generator = make_generator(seed, self.device)
        n_probs = 2 * self.rewards.n_options
        self.log_schema = (
            LogField("stage", torch.int64, "TwoStepStage at which the step's action was taken"),
            LogField("trial", torch.int64, "0-based trial index in the episode of the step's action"),
            LogField("trial_end", torch.bool, "True where the step ended a trial (its outcome is logged)"),
            LogField("choice1", torch.int64, "first-stage choice of the trial (0/1; -1 before it is made)"),
            LogField("state2", torch.int64, "second-stage state reached (0/1; -1 before the transition)"),
            LogField("common", torch.bool, "True if the trial's transition was the common one"),
            LogField("choice2", torch.int64, "second-stage option chosen (0 where the state has one option)"),
            LogField("outcome", torch.float32, "trial's reward (0/1) at trial_end, else 0"),
            LogField("correct", torch.bool, "False where the action was wrong for the stage (paper structure)"),
            *(
                LogField(
                    f"reward_prob_{k}",
                    torch.float32,
                    f"reward probability of state {k // self.rewards.n_options}, option "
                    f"{k % self.rewards.n_options} during the step's trial",
                )
                for k in range(n_probs)
            ),
        )
        self._new_state(torch.ones(self.batch_size, dtype=torch.bool, device=self.device), init=True)

    # ------------------------------------------------------------------ state
    def _new_state(self, which: torch.Tensor, init: bool = False) -> None:
        """Start new episodes in the slots where ``which`` is True."""
        B, dev = self.batch_size, self.device
        probs = self.rewards.init(B, self.generator, dev)
        if init:
            self.probs = probs
            self.trial = torch.zeros(B, dtype=torch.long, device=dev)
            self.stage = torch.full((B,), int(self._first_stage), dtype=torch.long, device=dev)
            self.choice1 = torch.full((B,), -1, dtype=torch.long, device=dev)
            self.state2 = torch.full((B,), -1, dtype=torch.long, device=dev)
            self.common = torch.zeros(B, dtype=torch.bool, device=dev)
            self.last_state2 = torch.full((B,), -1, dtype=torch.long, device=dev)
            return
        self.probs = torch.where(which[:, None, None], probs, self.probs)
        self.trial = torch.where(which, 0, self.trial)
        self.stage = torch.where(which, int(self._first_stage), self.stage)
        self.last_state2 = torch.where(which, -1, self.last_state2)

    def state_dict(self) -> dict:
        """Everything needed to continue the simulation exactly (for checkpoints)."""
        return tensor_state(self, ("probs", "trial", "stage", "choice1", "state2", "common", "last_state2"))

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`."""
        load_tensor_state(self, state)

    def _step_one_per_trial(self, action: torch.Tensor):
        """:meth:`step` of the compressed structure with a one-option reward process (the default task), in a
        third of the tensor operations: every step is a whole trial, every action a valid choice, the stage
        never changes. The random draws, the state and the returns are those of the general path
        (``tests/tasks/test_two_step.py`` steps both side by side)."""
        dev, gen, B = self.device, self.generator, self.batch_size
        u_transition = torch.rand(B, generator=gen, device=dev)
        u_reward = torch.rand(B, generator=gen, device=dev)
        common = u_transition < self.common_prob
        state2 = torch.where(common, action, 1 - action)
        probs = self.probs  # (B, 2 states, 1 option)
        outcome = (u_reward < probs[:, :, 0].gather(1, state2[:, None]).squeeze(1)).float()
        true = torch.ones_like(common)
        log = {"stage": self.stage, "trial": self.trial, "trial_end": true, "choice1": action, "state2": state2,
               "common": common, "choice2": torch.zeros_like(action), "outcome": outcome, "correct": true,
               "reward_prob_0": probs[:, 0, 0], "reward_prob_1": probs[:, 1, 0]}
        self.common = common
        probs = self.rewards.step(probs, gen)
        trial = self.trial + 1
        done = trial >= self.n_trials
        # new episodes where done (as _new_state; the draw happens every step, as there)
        self.probs = torch.where(done[:, None, None], self.rewards.init(B, gen, dev), probs)
        self.trial = torch.where(done, 0, trial)
        self.last_state2 = torch.where(done, -1, state2)
        # choice1 and state2 stay -1 between trials, the stage stays FIRST
        return self._one_per_trial_obs()[self.last_state2 + 1], outcome, done, log

    def _one_per_trial_obs(self) -> torch.Tensor:
        """Observations of the compressed one-option structure, indexed by ``last_state2 + 1``: the first-stage
        cue, with the second-stage state just reached (none at an episode's start)."""
        table = self.__dict__.get("_obs_table")
        if table is None:
            table = torch.zeros(3, self.obs_dim, device=self.device)
            table[:, TwoStepCue.FIRST_STAGE] = 1.0
            table[1, TwoStepCue.STATE_0] = table[2, TwoStepCue.STATE_1] = 1.0
            self._obs_table = table
        return table

    # ------------------------------------------------------------------ protocol
    def _observe(self) -> torch.Tensor:
        obs = torch.zeros(self.batch_size, self.obs_dim, device=self.device)
        stage = self.stage
        ar = torch.arange(self.batch_size, device=self.device)
        cue = torch.where(
            stage == TwoStepStage.FIXATION,
            int(TwoStepCue.FIXATION),
            torch.where(stage == TwoStepStage.FIRST, int(TwoStepCue.FIRST_STAGE), TwoStepCue.STATE_0 + self.state2),
        )
        obs[ar, cue] = 1.0
        if self.structure == "compressed" and self.rewards.n_options == 1:
            # The first-stage observation also shows the state reached on the previous trial.
            seen = self.last_state2 >= 0
            obs[ar, TwoStepCue.STATE_0 + self.last_state2.clamp(min=0)] += seen.float()
        return obs

    def reset(self) -> torch.Tensor:
        """Start new episodes in every slot.

        Returns
        -------
        obs : torch.Tensor
            ``(B, 4)`` float32, one-hot over :class:`TwoStepCue` (two-hot in the compressed one-option
            structure, where the first-stage cue comes with the state reached on the previous trial).
        """
        self._new_state(torch.ones(self.batch_size, dtype=torch.bool, device=self.device))
        return self._observe()

    @step_doc(
        summary='Advance every episode by one agent step.',
        action='values in ``range(n_actions)`` (:class:`TwoStepAction`)',
        obs='``(B, 4)``',
        reward="for this step's action: the trial's outcome (0/1) at the step that ends a trial, "
               '``wrong_action_reward`` for a wrong action, else 0',
        done='True where this step ended the episode',
        log=', all about the step just taken',
    )
    def step(self, action: torch.Tensor):
        check_actions(action, self.batch_size, self.n_actions, self.check_actions)
        action = action.long()  # int32 actions are accepted; the log's integer fields are int64 (log_schema)
        if self.structure == "compressed" and self.rewards.n_options == 1:
            return self._step_one_per_trial(action)
        return self._step_general(action)

    def _step_general(self, action: torch.Tensor):
        """:meth:`step` of any structure and reward process (actions already checked)."""
        dev, gen, B = self.device, self.generator, self.batch_size
        stage = self.stage
        is_choice = action < 2
        u_transition = torch.rand(B, generator=gen, device=dev)
        u_reward = torch.rand(B, generator=gen, device=dev)

        at_fix = stage == TwoStepStage.FIXATION
        at_first = stage == TwoStepStage.FIRST
        at_second = stage == TwoStepStage.SECOND
        correct = torch.where(at_fix, action == TwoStepAction.FIXATE, is_choice)

        # First-stage choice and transition.
        make_first = at_first & correct
        common = u_transition < self.common_prob
        state2 = torch.where(common, action, 1 - action)
        self.choice1 = torch.where(make_first, action, self.choice1)
        self.state2 = torch.where(make_first, state2, self.state2)
        self.common = torch.where(make_first, common, self.common)

        # Outcome: in the one-option process the outcome comes with the first-stage choice in the
        # compressed structure, else with the (correct) second-stage action.
        two_steps = self.structure == "paper" or self.rewards.n_options == 2
        outcome_now = (at_second & correct) if two_steps else make_first
        choice2 = action.clamp(max=self.rewards.n_options - 1) if two_steps else torch.zeros_like(action)
        p = self.probs[torch.arange(B, device=dev), self.state2.clamp(min=0), choice2]
        outcome = ((u_reward < p) & outcome_now).float()
        reward = torch.where(correct, outcome, torch.full_like(outcome, self.wrong_action_reward))

        log = {
            "stage": stage,
            "trial": self.trial,
            "trial_end": outcome_now,
            "choice1": self.choice1,
            "state2": self.state2,
            "common": self.common,
            "choice2": torch.where(outcome_now, choice2, -1),
            "outcome": outcome,
            "correct": correct,
        }
        flat = self.probs.reshape(B, -1)
        for k in range(flat.shape[1]):
            log[f"reward_prob_{k}"] = flat[:, k]

        # Advance the stage; after a trial, drift the reward probabilities and start the next trial.
        next_stage = torch.where(
            correct,
            torch.where(at_fix, int(TwoStepStage.FIRST), torch.where(at_first, int(TwoStepStage.SECOND), stage)),
            stage,
        )
        next_stage = torch.where(outcome_now, int(self._first_stage), next_stage)
        self.stage = next_stage
        self.probs = torch.where(outcome_now[:, None, None], self.rewards.step(self.probs, gen), self.probs)
        self.last_state2 = torch.where(outcome_now, self.state2, self.last_state2)
        self.trial = self.trial + outcome_now.long()
        done = outcome_now & (self.trial >= self.n_trials)
        self.choice1 = torch.where(outcome_now, -1, self.choice1)
        self.state2 = torch.where(outcome_now, -1, self.state2)
        self._new_state(done)
        return self._observe(), reward, done, log
