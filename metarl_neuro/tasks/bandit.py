"""Batched bandit tasks of Wang et al. 2016 (arXiv 1611.05763, Sec. 3.1) and Wang et al. 2018 (Fig. 1)."""

from __future__ import annotations

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

__all__ = ["BANDIT_VARIANTS", "BanditTask"]

#: variant -> what the episode draws (Wang et al. 2016, Sec. 3.1.1-3.1.4)
BANDIT_VARIANTS = {
    "independent": "p0, p1 ~ U[0, 1] independently (3.1.1)",
    "uniform": "p0 ~ U[0, 1], p1 = 1 - p0 (3.1.2)",
    "easy": "p0 in {0.1, 0.9}, p1 = 1 - p0 (3.1.2)",
    "medium": "p0 in {0.25, 0.75}, p1 = 1 - p0 (3.1.2)",
    "hard": "p0 in {0.4, 0.6}, p1 = 1 - p0 (3.1.2)",
    "restless": "p0 on a Gaussian random walk (low or high volatility per episode), p1 = 1 - p0 (3.1.4)",
    "eleven_arm": "5 trials; one of arms 0-9 pays 5, the other nine pay 1, arm 10 pays (target + 1) / 10 (3.1.3)",
}
_TWO_POINT = {"easy": 0.1, "medium": 0.25, "hard": 0.4}
#: distinct rewards of the eleven-arm task, in the order of its one-hot reward observation
ELEVEN_ARM_REWARDS = tuple(round(0.1 * k, 1) for k in range(1, 11)) + (5.0,)


class BanditTask:
    """B bandit episodes simulated in lockstep as torch tensors (one agent step per trial).

    Two-armed Bernoulli bandits (every variant but ``eleven_arm``) pay 1 with the chosen arm's probability,
    else 0. The observation is the trial index scaled to [0, 1) (``trial / n_trials``; Wang et al. 2016,
    3.1.1: the agent sees the previous action and reward, which the agent adds, and the trial index); the
    eleven-arm task adds a one-hot code of the previous reward (3.1.3; :data:`ELEVEN_ARM_REWARDS`, all
    zero on the first trial).

    Parameters
    ----------
    batch_size : int
        Number of episodes ``B`` simulated at once.
    variant : str
        One of :data:`BANDIT_VARIANTS`.
    n_trials : int, optional
        Trials per episode; default 100 (Wang et al. 2016, 3.1.1), 5 for ``eleven_arm`` (3.1.3).
    volatility : tuple of float
        ``restless``: SD per trial of the Gaussian random walk of ``p0`` in a low- and in a high-volatility
        episode (reflected at 0 and 1). Default ``(0.02, 0.2)``: our choice (the paper gives no values). With
        ``(0.01, 0.1)`` the trained agent's fitted Rescorla-Wagner learning rate did not differ between the
        two (0.18 vs 0.20, 20k episodes; 0.21 vs 0.19, 60k); with ``(0.02, 0.2)`` it does (0.32 vs 0.48).
    p_high_volatility : float
        ``restless``: probability that an episode is a high-volatility one. Default 0.5 (our choice).
    seed : int
        Seed of the task's own ``torch.Generator``.
    device : str or torch.device
        Device of every tensor.
    check_actions : bool
        Check that each action lies in range (one host sync per step).

    Raises
    ------
    ValueError
        For an unknown variant, a non-positive ``batch_size`` or ``n_trials``, or a volatility outside [0, 1].

    Examples
    --------
    >>> task = BanditTask(batch_size=2, variant="easy", seed=0)
    >>> task.reset().shape
    torch.Size([2, 1])
    >>> obs, reward, done, log = task.step(torch.zeros(2, dtype=torch.long))
    >>> [round(p, 2) for p in log["mean_0"].tolist()], [round(x, 2) for x in obs[:, 0].tolist()]
    ([0.1, 0.1], [0.01, 0.01])
    """

    citation = "Wang et al. (2016) arXiv:1611.05763, Sec. 3.1; Wang et al. (2018) Nat Neurosci 21:860, Fig. 1"

    def __init__(
        self,
        batch_size: int,
        variant: Literal["independent", "uniform", "easy", "medium", "hard", "restless", "eleven_arm"] = "independent",
        n_trials: int | None = None,
        volatility: tuple[float, float] = (0.02, 0.2),
        p_high_volatility: float = 0.5,
        seed: int = 0,
        device: torch.device | str = "cpu",
        check_actions: bool = True,
    ):
        if variant not in BANDIT_VARIANTS:
            raise ValueError(f"unknown bandit variant {variant!r}; choose from {sorted(BANDIT_VARIANTS)}")
        n_trials = (5 if variant == "eleven_arm" else 100) if n_trials is None else n_trials
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        if len(volatility) != 2 or not all(0.0 <= v <= 1.0 for v in volatility):
            raise ValueError(f"volatility must be two SDs in [0, 1], got {volatility}")
        if not 0.0 <= p_high_volatility <= 1.0:
            raise ValueError(f"p_high_volatility must lie in [0, 1], got {p_high_volatility}")
        self.batch_size = int(batch_size)
        self.variant = variant
        self.n_trials = int(n_trials)
        self.volatility = (float(volatility[0]), float(volatility[1]))
        self.p_high_volatility = float(p_high_volatility)
        self.device = torch.device(device)
        self.check_actions = check_value("check_actions", check_actions, bool)
        self.n_actions = 11 if variant == "eleven_arm" else 2
        self.obs_dim = 1 + (len(ELEVEN_ARM_REWARDS) if variant == "eleven_arm" else 0)
        self._reward_codes = torch.tensor(ELEVEN_ARM_REWARDS, device=self.device)  # built once, read every step
        self.generator = make_generator(seed, self.device)
        self.log_schema = (
            LogField("trial", torch.int64, "0-based trial index in the episode"),
            LogField("choice", torch.int64, "arm chosen"),
            LogField("outcome", torch.float32, "reward of the trial"),
            LogField("regret", torch.float32, "expected regret of the choice: max_k mean_k - mean_choice"),
            LogField("optimal", torch.bool, "True if the chosen arm had the highest mean (ties count as optimal)"),
            LogField("high_volatility", torch.bool, "restless: True in a high-volatility episode (else False)"),
            *(LogField(f"mean_{k}", torch.float32, f"expected reward of arm {k} during the trial")
              for k in range(self.n_actions)),
        )
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device), init=True)

    # ------------------------------------------------------------------ state
    def _draw_means(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Arm means ``(B, n_actions)`` and the high-volatility flag ``(B,)`` of fresh episodes."""
        B, dev, gen = self.batch_size, self.device, self.generator
        u = torch.rand(B, 2, generator=gen, device=dev)
        high = torch.zeros(B, dtype=torch.bool, device=dev)
        v = self.variant
        if v == "independent":
            means = u
        elif v in ("uniform", "restless"):
            means = torch.stack([u[:, 0], 1 - u[:, 0]], 1)
            if v == "restless":
                high = u[:, 1] < self.p_high_volatility
        elif v in _TWO_POINT:
            lo = _TWO_POINT[v]
            p0 = torch.where(u[:, 0] < 0.5, lo, 1 - lo)
            means = torch.stack([p0, 1 - p0], 1)
        else:  # eleven_arm
            target = torch.randint(0, 10, (B,), generator=gen, device=dev)
            means = torch.ones(B, 11, device=dev)
            means[torch.arange(B, device=dev), target] = 5.0
            means[:, 10] = (target + 1).float() / 10
        return means, high

    def _new_episodes(self, which: torch.Tensor, init: bool = False) -> None:
        means, high = self._draw_means()
        if init:
            self.means, self.high = means, high
            self.trial = torch.zeros(self.batch_size, dtype=torch.long, device=self.device)
            self.last_reward = torch.full((self.batch_size,), -1.0, device=self.device)
            return
        self.means = torch.where(which[:, None], means, self.means)
        self.high = torch.where(which, high, self.high)
        self.trial = torch.where(which, 0, self.trial)
        self.last_reward = torch.where(which, -1.0, self.last_reward)

    def state_dict(self) -> dict:
        """Everything needed to continue the simulation exactly (for checkpoints)."""
        return tensor_state(self, ("means", "high", "trial", "last_reward"))

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`."""
        load_tensor_state(self, state)

    # ------------------------------------------------------------------ protocol
    def _observe(self) -> torch.Tensor:
        obs = torch.zeros(self.batch_size, self.obs_dim, device=self.device)
        obs[:, 0] = self.trial.float() / self.n_trials
        if self.variant == "eleven_arm":
            hit = (self.last_reward[:, None] - self._reward_codes[None, :]).abs() < 1e-6
            obs[:, 1:] = hit.float()
        return obs

    def reset(self) -> torch.Tensor:
        """Start new episodes in every slot.

        Returns
        -------
        obs : torch.Tensor
            ``(B, obs_dim)`` float32: ``trial / n_trials`` (and, eleven-arm, the one-hot previous reward).
        """
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device))
        return self._observe()

    @step_doc(
        summary='Pull one arm in every episode.',
        action='arm indices in ``range(n_actions)``',
        obs='``(B, obs_dim)``',
        reward="Bernoulli 0/1 (two-armed variants) or the arm's payoff (eleven-arm)",
        done="True at an episode's last trial",
    )
    def step(self, action: torch.Tensor):
        check_actions(action, self.batch_size, self.n_actions, self.check_actions)
        B, dev, gen = self.batch_size, self.device, self.generator
        # Drawn whatever the action, so that different policies on the same seed meet the same episodes.
        u_reward = torch.rand(B, generator=gen, device=dev)
        walk = torch.randn(B, generator=gen, device=dev)
        ar = torch.arange(B, device=dev)
        mean = self.means[ar, action]
        if self.variant == "eleven_arm":
            reward = mean
        else:
            reward = (u_reward < mean).float()
        best = self.means.max(1).values
        log = {
            "trial": self.trial,
            "choice": action,
            "outcome": reward,
            "regret": best - mean,
            "optimal": mean >= best,
            "high_volatility": self.high,
        }
        for k in range(self.n_actions):
            log[f"mean_{k}"] = self.means[:, k]
        if self.variant == "restless":
            sd = torch.where(self.high, self.volatility[1], self.volatility[0])
            p0 = self.means[:, 0] + sd * walk
            p0 = torch.where(p0 < 0, -p0, p0)
            p0 = torch.where(p0 > 1, 2 - p0, p0).clamp(0.0, 1.0)
            self.means = torch.stack([p0, 1 - p0], 1)
        self.last_reward = reward
        self.trial = self.trial + 1
        done = self.trial >= self.n_trials
        self._new_episodes(done)
        return self._observe(), reward, done, log
