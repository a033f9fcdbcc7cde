"""Synchronous batched A2C over ``B`` parallel episodes, read top to bottom.

Each update: unroll the agent for ``unroll`` steps in all ``B`` slots of the task (truncated BPTT: the LSTM
state is carried over from the previous unroll but detached), bootstrap from ``V(s_T)``, compute n-step
advantages and the A2C loss (:mod:`metarl_neuro.agents.losses`), take one optimiser step. Episodes that end
inside an unroll are replaced by fresh ones in their slot; the LSTM state, previous action and previous
reward are reset by an episode-start mask.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from metarl_neuro.agents.a2c_lstm import A2CLSTM
from metarl_neuro.agents.losses import a2c_loss, gae_advantages

__all__ = ["A2CSettings", "Carry", "Rollout", "TrainState", "a2c_update", "collect_rollout", "train"]


@dataclass(frozen=True)
class A2CSettings:
    """Loss and unroll settings of one A2C update (see :class:`metarl_neuro.experiments.TwoStepConfig`)."""

    unroll: int
    gamma: float
    gae_lambda: float
    value_coef: float
    entropy_coef: float
    max_grad_norm: float


class Carry(NamedTuple):
    """What one unroll hands to the next: ``(B, ...)`` tensors on the task's device."""

    obs: torch.Tensor
    prev_action: torch.Tensor
    prev_reward: torch.Tensor
    h: torch.Tensor
    c: torch.Tensor
    episode_return: torch.Tensor

    @classmethod
    def start(cls, agent: A2CLSTM, obs: torch.Tensor) -> Carry:
        """Carry at the start of fresh episodes."""
        B = obs.shape[0]
        h, c = agent.initial_state(B, obs.device)
        return cls(
            obs,
            torch.full((B,), -1, dtype=torch.long, device=obs.device),
            torch.zeros(B, device=obs.device),
            h,
            c,
            torch.zeros(B, device=obs.device),
        )


class Rollout(NamedTuple):
    """One unroll, time-major ``(T, B, ...)`` tensors on the device."""

    logits: torch.Tensor
    values: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    bootstrap_value: torch.Tensor
    finished_returns: torch.Tensor  # (T, B) return of each episode that ended at (t, b), else 0


def collect_rollout(agent: A2CLSTM, task, carry: Carry, unroll: int, sampler: torch.Generator):
    """Run ``unroll`` steps with gradients on; return the :class:`Rollout` and the next :class:`Carry`."""
    obs, prev_a, prev_r, h, c, ep_ret = carry
    state = (h.detach(), c.detach())
    logits, values, actions, rewards, dones, finished = [], [], [], [], [], []
    for _ in range(unroll):
        lg, v, state = agent(obs, prev_a, prev_r, state)
        with torch.no_grad():
            a = torch.multinomial(torch.softmax(lg, -1), 1, generator=sampler).squeeze(-1)
        obs, r, d, _ = task.step(a)
        ep_ret = ep_ret + r
        finished.append(torch.where(d, ep_ret, 0.0))
        ep_ret = torch.where(d, 0.0, ep_ret)
        keep = (~d).unsqueeze(-1).to(obs.dtype)
        state = (state[0] * keep, state[1] * keep)
        prev_a = torch.where(d, -1, a)
        prev_r = torch.where(d, 0.0, r)
        logits.append(lg)
        values.append(v)
        actions.append(a)
        rewards.append(r)
        dones.append(d)
    with torch.no_grad():
        _, bootstrap, _ = agent(obs, prev_a, prev_r, state)
    rollout = Rollout(
        torch.stack(logits),
        torch.stack(values),
        torch.stack(actions),
        torch.stack(rewards),
        torch.stack(dones),
        bootstrap,
        torch.stack(finished),
    )
    new_carry = Carry(obs, prev_a, prev_r, state[0].detach(), state[1].detach(), ep_ret)
    return rollout, new_carry


def a2c_update(agent: A2CLSTM, optimizer: torch.optim.Optimizer, rollout: Rollout, s: A2CSettings) -> dict:
    """One optimiser step on the A2C loss of ``rollout``; returns the loss terms as floats."""
    adv = gae_advantages(rollout.rewards, rollout.values.detach(), rollout.dones, rollout.bootstrap_value, s.gamma, s.gae_lambda)
    returns = adv + rollout.values.detach()
    loss = a2c_loss(rollout.logits, rollout.actions, adv, rollout.values, returns, s.value_coef, s.entropy_coef)
    optimizer.zero_grad(set_to_none=True)
    loss.total.backward()
    if math.isfinite(s.max_grad_norm):
        torch.nn.utils.clip_grad_norm_(agent.parameters(), s.max_grad_norm)
    optimizer.step()
    return {
        "loss": loss.total.item(),
        "policy_loss": loss.policy.item(),
        "value_loss": loss.value.item(),
        "entropy": loss.entropy.item(),
    }


@dataclass
class TrainState:
    """Progress of a training run; with the model, optimiser, task and sampler it resumes exactly."""

    carry: Carry
    update: int = 0
    episodes: int = 0
    steps: int = 0
    rows: list = field(default_factory=list)

    def state_dict(self) -> dict:
        """Plain-dict form for :func:`torch.save`."""
        return {
            "carry": self.carry._asdict(),
            "update": self.update,
            "episodes": self.episodes,
            "steps": self.steps,
            "rows": list(self.rows),
        }

    @classmethod
    def from_state_dict(cls, d: dict) -> TrainState:
        """Inverse of :meth:`state_dict`."""
        return cls(Carry(**d["carry"]), d["update"], d["episodes"], d["steps"], list(d["rows"]))


def train(
    agent: A2CLSTM,
    task,
    optimizer: torch.optim.Optimizer,
    settings: A2CSettings,
    episodes: int,
    sampler: torch.Generator,
    state: TrainState | None = None,
    checkpoint: Callable[[TrainState], None] | None = None,
    checkpoint_every_s: float = 120.0,
    progress: bool = True,
) -> TrainState:
    """Train until at least ``episodes`` episodes have ended, from ``state`` if given.

    Parameters
    ----------
    agent, task, optimizer
        The network, a batched task (see DESIGN.md) and its optimiser.
    settings : A2CSettings
        Unroll length (steps) and loss settings.
    episodes : int
        Training episodes in all (episodes ended across the batch).
    sampler : torch.Generator
        Generator for the agent's action samples.
    state : TrainState, optional
        Where to continue; ``None`` starts from ``task.reset()``.
    checkpoint : callable, optional
        Called with the state after an update whenever ``checkpoint_every_s`` seconds (wall clock) have
        passed since the last call, and once at the end.
    checkpoint_every_s : float
        Seconds between checkpoints.
    progress : bool
        Show a tqdm progress bar (episodes, mean episode reward, steps/s); where stderr is not a terminal, a
        plain line every :data:`LOG_EVERY_S` seconds instead.

    Returns
    -------
    TrainState
        Final state; ``rows`` holds one dict per update for ``training.csv``.
    """
    if state is None:
        state = TrainState(Carry.start(agent, task.reset()))
    agent.train()
    bar = _progress_bar(episodes, min(state.episodes, episodes), progress)
    last_ckpt = time.monotonic()
    while state.episodes < episodes:
        t0 = time.perf_counter()
        rollout, state.carry = collect_rollout(agent, task, state.carry, settings.unroll, sampler)
        losses = a2c_update(agent, optimizer, rollout, settings)
        n_done = int(rollout.dones.sum())
        mean_return = float(rollout.finished_returns.sum()) / n_done if n_done else float("nan")
        steps = rollout.rewards.numel()
        dt = time.perf_counter() - t0
        state.update += 1
        state.episodes += n_done
        state.steps += steps
        state.rows.append(
            {
                "update": state.update,
                "episodes": state.episodes,
                "steps": state.steps,
                "mean_episode_reward": mean_return,
                **losses,
                "steps_per_s": steps / dt,
            }
        )
        bar.update(min(state.episodes, episodes) - bar.n)
        if n_done:
            bar.set_postfix(reward=f"{mean_return:.1f}", steps_s=f"{steps / dt:,.0f}", refresh=False)
        if checkpoint is not None and time.monotonic() - last_ckpt >= checkpoint_every_s:
            checkpoint(state)
            last_ckpt = time.monotonic()
    bar.close()
    if checkpoint is not None:
        checkpoint(state)
    return state


#: seconds between the progress lines written where stderr is not a terminal (a log file, CI)
LOG_EVERY_S = 30.0


class _LogLines:
    """tqdm's interface for a redirected stderr: one plain line every :data:`LOG_EVERY_S` seconds (tqdm's
    carriage-return updates would fill a log file with thousands of partial lines)."""

    def __init__(self, total: int, initial: int):
        self.total, self.n, self.postfix = total, initial, ""
        self.t0 = self.last = time.monotonic()
        self.n0 = initial

    def update(self, k: int) -> None:
        self.n += k
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_S:
            self.last = now
            self._line(now)

    def _line(self, now: float) -> None:
        rate = (self.n - self.n0) / max(now - self.t0, 1e-9)
        eta = (self.total - self.n) / rate if rate > 0 else float("nan")
        print(f"training: {self.n:,}/{self.total:,} episodes ({100 * self.n / max(self.total, 1):.0f}%), "
              f"{rate:,.0f} episodes/s, ETA {eta / 60:.1f} min{self.postfix}", file=sys.stderr, flush=True)

    def set_postfix(self, refresh: bool = False, **values) -> None:
        self.postfix = "".join(f", {k} {v}" for k, v in values.items())

    def close(self) -> None:
        self._line(time.monotonic())


def _progress_bar(total: int, initial: int, progress: bool):
    """A tqdm bar on a terminal; plain lines every :data:`LOG_EVERY_S` s where stderr is redirected; or none."""
    if progress and not sys.stderr.isatty():
        return _LogLines(total, initial)
    return tqdm(total=total, initial=initial, unit="ep", disable=not progress, dynamic_ncols=True)
