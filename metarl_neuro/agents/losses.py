"""Advantage actor-critic maths as pure functions on time-major ``(T, B)`` tensors.

Index convention: ``rewards[t]`` is the reward paid for ``actions[t]``, taken at step ``t`` with value
estimate ``values[t] = V(s_t)``; ``dones[t]`` is True when step ``t`` ended the episode, so nothing after it
is bootstrapped into step ``t``. ``bootstrap_value`` is ``V(s_T)`` of the state after the unroll.

References
----------
Mnih, V. et al. (2016). Asynchronous methods for deep reinforcement learning. ICML (A3C; n-step returns).
Schulman, J. et al. (2016). High-dimensional continuous control using generalized advantage estimation. ICLR.
Wang, J. X. et al. (2018). Nat. Neurosci. 21, 860, Methods (loss weights beta_V = beta_e = 0.05).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.nn import functional as F

__all__ = ["A2CLoss", "a2c_loss", "discounted_returns", "gae_advantages", "reward_sign_loss"]


def _check_time_major(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    first = next(iter(shapes.values()))
    if len(first) != 2 or any(s != first for s in shapes.values()):
        raise ValueError(f"expected (T, B) tensors of one shape, got {shapes}")


def discounted_returns(
    rewards: torch.Tensor, dones: torch.Tensor, bootstrap_value: torch.Tensor, gamma: float
) -> torch.Tensor:
    """n-step bootstrapped discounted returns over an unroll.

    ``R_t = r_t + gamma * (1 - done_t) * R_{t+1}``, with ``R_T = bootstrap_value``.

    Parameters
    ----------
    rewards : torch.Tensor
        ``(T, B)`` float rewards.
    dones : torch.Tensor
        ``(T, B)`` bool, True where step ``t`` ended its episode.
    bootstrap_value : torch.Tensor
        ``(B,)`` float, ``V(s_T)``.
    gamma : float
        Discount factor per step.

    Returns
    -------
    torch.Tensor
        ``(T, B)`` float returns.

    Raises
    ------
    ValueError
        If the shapes disagree.

    Examples
    --------
    >>> r = torch.tensor([[1.0], [1.0]]); d = torch.tensor([[False], [False]])
    >>> discounted_returns(r, d, torch.tensor([2.0]), gamma=0.5)[:, 0].tolist()
    [2.0, 2.0]
    """
    _check_time_major(rewards=rewards, dones=dones)
    if bootstrap_value.shape != rewards.shape[1:]:
        raise ValueError(f"bootstrap_value must have shape {tuple(rewards.shape[1:])}")
    notdone = (~dones).to(rewards.dtype)
    out = torch.empty_like(rewards)
    running = bootstrap_value.to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * notdone[t] * running
        out[t] = running
    return out


def gae_advantages(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    bootstrap_value: torch.Tensor,
    gamma: float,
    lam: float = 1.0,
) -> torch.Tensor:
    """Generalised advantage estimates (Schulman et al. 2016, Eq. 16).

    ``delta_t = r_t + gamma * (1 - done_t) * V_{t+1} - V_t`` and
    ``A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}``. With ``lam = 1`` this is the n-step
    advantage of A3C/A2C, ``discounted_returns(...) - values``.

    Parameters
    ----------
    rewards, values : torch.Tensor
        ``(T, B)`` float.
    dones : torch.Tensor
        ``(T, B)`` bool.
    bootstrap_value : torch.Tensor
        ``(B,)`` float, ``V(s_T)``.
    gamma, lam : float
        Discount and GAE parameter.

    Returns
    -------
    torch.Tensor
        ``(T, B)`` float advantages (not detached from ``values``).

    Raises
    ------
    ValueError
        If the shapes disagree.
    """
    _check_time_major(rewards=rewards, values=values, dones=dones)
    notdone = (~dones).to(rewards.dtype)
    next_values = torch.cat([values[1:], bootstrap_value[None].to(values.dtype)], dim=0)
    deltas = rewards + gamma * notdone * next_values - values
    out = torch.empty_like(deltas)
    running = torch.zeros_like(deltas[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + gamma * lam * notdone[t] * running
        out[t] = running
    return out


class A2CLoss(NamedTuple):
    """Terms of the A2C loss (scalars); ``total`` is the one to differentiate."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor


def a2c_loss(
    logits: torch.Tensor,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    returns: torch.Tensor,
    value_coef: float = 0.05,
    entropy_coef: float = 0.05,
) -> A2CLoss:
    """Advantage actor-critic loss (Mnih et al. 2016), averaged over the ``T * B`` steps.

    ``L = L_pi + beta_V * L_V - beta_e * H`` with ``L_pi = -mean(log pi(a_t|s_t) * A_t)`` (advantages
    treated as constants), ``L_V = mean(0.5 * (R_t - V_t)^2)`` and ``H = mean(-sum_a pi log pi)``.

    Parameters
    ----------
    logits : torch.Tensor
        ``(T, B, A)`` float policy logits.
    actions : torch.Tensor
        ``(T, B)`` int64 actions taken.
    advantages, values, returns : torch.Tensor
        ``(T, B)`` float. ``advantages`` and ``returns`` are detached here.
    value_coef, entropy_coef : float
        ``beta_V`` and ``beta_e``. Defaults 0.05 and 0.05 (Wang et al. 2018, Methods).

    Returns
    -------
    A2CLoss
        ``total``, ``policy``, ``value`` and ``entropy`` scalars.

    Raises
    ------
    ValueError
        If the shapes disagree.
    """
    _check_time_major(actions=actions, advantages=advantages, values=values, returns=returns)
    if logits.shape[:2] != actions.shape:
        raise ValueError(f"logits must be (T, B, A) with (T, B) = {tuple(actions.shape)}")
    logp = torch.log_softmax(logits, dim=-1)
    logp_a = logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    policy = -(logp_a * advantages.detach()).mean()
    value = 0.5 * (returns.detach() - values).pow(2).mean()
    entropy = -(logp.exp() * logp).sum(-1).mean()
    total = policy + value_coef * value - entropy_coef * entropy
    return A2CLoss(total, policy, value, entropy)


def reward_sign_loss(logits: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """Class-balanced cross-entropy of an action-conditioned prediction of the reward's sign.

    The auxiliary loss of the pixel agent's reward head (:meth:`~metarl_neuro.agents.ConvA2CLSTM.reward_logits`,
    ``--reward-coef``; our addition, in the spirit of UNREAL's reward prediction, Jaderberg et al. 2017, which
    rebalances zero and non-zero rewards): the target is ``sign(r_t) + 1`` (0: loss, 1: nothing, 2: gain), and each
    sign present in the unroll weighs the same, so the rare choice rewards count as much as the many unpaid steps.
    It is the mean over the signs present of each sign's mean cross-entropy.

    Parameters
    ----------
    logits : torch.Tensor
        ``(T, B, 3)`` float logits of (negative, zero, positive), predicted from ``(h_t, a_t)`` before ``r_t``.
    rewards : torch.Tensor
        ``(T, B)`` float rewards ``r_t``.

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Raises
    ------
    ValueError
        If the shapes disagree.

    Examples
    --------
    >>> r = torch.tensor([[0.0, 5.0], [0.0, -5.0]])
    >>> perfect = torch.nn.functional.one_hot((torch.sign(r) + 1).long(), 3).float() * 20
    >>> float(reward_sign_loss(perfect, r)) < 1e-6
    True
    """
    if logits.shape != (*rewards.shape, 3):
        raise ValueError(f"logits must be (T, B, 3) with (T, B) = {tuple(rewards.shape)}, got {tuple(logits.shape)}")
    target = (torch.sign(rewards) + 1).long().reshape(-1)
    counts = torch.bincount(target, minlength=3).to(logits.dtype)
    return F.cross_entropy(logits.reshape(-1, 3), target, weight=1.0 / counts.clamp(min=1.0))
