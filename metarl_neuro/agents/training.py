"""Synchronous batched A2C over ``B`` parallel episodes, read top to bottom.

Each update: unroll the agent for ``unroll`` steps in all ``B`` slots of the task (truncated BPTT: the LSTM
state is carried over from the previous unroll but detached), bootstrap from ``V(s_T)``, compute n-step
advantages and the A2C loss (:mod:`metarl_neuro.agents.losses`), take one optimiser step. Episodes that end
inside an unroll are replaced by fresh ones in their slot; the LSTM state, previous action and previous
reward are reset by an episode-start mask.
"""

from __future__ import annotations

import math
import operator
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from metarl_neuro.agents.a2c_lstm import A2CLSTM, step_sequence
from metarl_neuro.agents.losses import a2c_loss, gae_advantages, reward_sign_loss
from metarl_neuro.domains import AT_LEAST_ONE, check_value

__all__ = ["A2CSettings", "Carry", "Criterion", "Rollout", "TrainState", "TrainingDiverged", "a2c_update",
           "collect_rollout", "forward_sequence", "train"]


class TrainingDiverged(FloatingPointError):
    """An update produced a non-finite loss, gradient or parameter: training stops before anything is saved.

    Attributes
    ----------
    update : int
        The 1-based update that diverged.
    what : str
        What was not finite (``"loss"``, ``"gradient of lstm.weight_hh"``, ``"parameter ..."``).
    """

    def __init__(self, update: int, what: str, context: str = ""):
        self.update, self.what = update, what
        super().__init__(f"training diverged at update {update:,}: non-finite {what}. Likely cause: a learning rate "
                         f"too high for this task (--lr), or no gradient clip (--max-grad-norm inf){context}")


def _first_nonfinite(named) -> str | None:
    """The name of the first tensor of ``named`` (name, tensor) pairs that holds a NaN or an infinity (one
    device sync per call: it runs twice in every update)."""
    names, finite = [], []
    for name, t in named:
        if t is not None:
            names.append(name)
            finite.append(torch.isfinite(t).all())
    if not finite:
        return None
    ok = torch.stack(finite)
    return None if bool(ok.all()) else names[int((~ok).nonzero()[0])]


@dataclass(frozen=True)
class A2CSettings:
    """Loss and unroll settings of one A2C update (see :class:`metarl_neuro.experiments.TwoStepConfig`)."""

    unroll: int
    gamma: float
    gae_lambda: float
    value_coef: float
    entropy_coef: float
    max_grad_norm: float
    #: act without autograd, then recompute the unroll for the loss in one pass (:func:`collect_rollout`)
    recompute: bool = True
    #: the optimiser's starting learning rate, read where ``lr_final`` anneals it
    lr: float = math.nan
    #: anneal the learning rate linearly from ``lr`` to this at the episode budget (-1: constant)
    lr_final: float = -1.0
    #: anneal the entropy weight linearly from ``entropy_coef`` to this at the episode budget (-1: constant)
    entropy_final: float = -1.0
    #: weight of the auxiliary reward-sign loss (:func:`~metarl_neuro.agents.losses.reward_sign_loss`) where the
    #: rollout has the reward head's logits; 0: off
    reward_coef: float = 0.0

    def at(self, fraction: float) -> tuple[A2CSettings, float | None]:
        """The settings and learning rate ``fraction`` (0-1) of the way through the episode budget.

        Linear annealing from the start values to ``lr_final`` / ``entropy_final`` (Mnih et al. 2016 anneal the
        learning rate linearly to 0 over training); ``None`` for the learning rate when it stays constant.
        """
        f = min(max(fraction, 0.0), 1.0)
        lr = self.lr + (self.lr_final - self.lr) * f if self.lr_final >= 0 else None
        if self.entropy_final < 0:
            return self, lr
        return replace(self, entropy_coef=self.entropy_coef + (self.entropy_final - self.entropy_coef) * f), lr


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
    reward_logits: torch.Tensor | None = None  # (T, B, 3) the reward head's prediction of sign(r_t), if it has one


def collect_rollout(agent: A2CLSTM, task, carry: Carry, unroll: int, sampler: torch.Generator,
                    recompute: bool = True):
    """Run ``unroll`` steps; return the :class:`Rollout` (logits and values with gradients) and the next :class:`Carry`.

    With ``recompute`` (the default) and a network with a sequence pass (``agent.forward_sequence``, e.g.
    :meth:`A2CLSTM.forward_sequence`), the agent acts without autograd and the logits and values of the whole
    unroll are then recomputed from the stored inputs with gradients: the same actions, and the same loss and
    gradients to float rounding (issue 14; ``tests/agents/test_recompute.py``). Otherwise (``recompute=False``,
    or a network without a sequence pass) the step-wise path: the graph is
    built while acting.

    Parameters
    ----------
    agent : A2CLSTM
        The network.
    task
        A batched task (``reset``, ``step``).
    carry : Carry
        The LSTM state, observation and previous action and reward of every slot, from the last rollout.
    unroll : int
        Steps to run.
    sampler : torch.Generator
        Generator of the action samples.
    recompute : bool
        Recompute the unroll with gradients in one sequence pass (default) instead of building the graph while acting.

    Returns
    -------
    rollout : Rollout
        Logits, values (with gradients), actions, rewards, episode ends and the bootstrap value.
    carry : Carry
        The state to continue from.
    """
    if not recompute or not hasattr(agent, "forward_sequence"):  # no sequence pass: recomputing would cost more
        return _collect_stepwise(agent, task, carry, unroll, sampler)
    obs, prev_a, prev_r, h, c, ep_ret = carry
    state0 = (h.detach(), c.detach())
    state = state0
    inputs: dict[str, list] = {"obs": [], "prev_action": [], "prev_reward": [], "reset": []}
    actions, rewards, dones, finished = [], [], [], []
    reset = torch.zeros(obs.shape[0], dtype=torch.bool, device=obs.device)
    none_ended = torch.zeros_like(ep_ret)
    on_cpu = obs.device.type == "cpu"
    with torch.no_grad():
        for _ in range(unroll):
            for k, v in zip(inputs, (obs, prev_a, prev_r, reset)):
                inputs[k].append(v)
            lg, _v, state = agent(obs, prev_a, prev_r, state)
            a = torch.multinomial(torch.softmax(lg, -1), 1, generator=sampler).squeeze(-1)
            obs, r, d, _ = task.step(a)
            ep_ret = ep_ret + r
            if on_cpu and not d.any():  # most steps end no episode: skip the resets (exact; a sync on a GPU)
                finished.append(none_ended)
                prev_a, prev_r = a, r
            else:
                ended, ep_ret, state, prev_a, prev_r = _end_episodes(d, a, r, ep_ret, state)
                finished.append(ended)
            reset = d
            actions.append(a)
            rewards.append(r)
            dones.append(d)
        _, bootstrap, _ = agent(obs, prev_a, prev_r, state)
    seq = {k: torch.stack(v) for k, v in inputs.items()}
    logits, values, _ = forward_sequence(agent, seq["obs"], seq["prev_action"], seq["prev_reward"], state0,
                                         seq["reset"])
    rollout = Rollout(logits, values, torch.stack(actions), torch.stack(rewards), torch.stack(dones), bootstrap,
                      torch.stack(finished))
    return rollout, Carry(obs, prev_a, prev_r, state[0], state[1], ep_ret)


def _end_episodes(done, action, reward, ep_ret, state):
    """After a step: the return of each episode that ended there (else 0), and the running return, LSTM state,
    previous action and previous reward with those episodes' slots reset for the fresh episodes."""
    keep = (~done).unsqueeze(-1).to(state[0].dtype)
    return (torch.where(done, ep_ret, 0.0), torch.where(done, 0.0, ep_ret), (state[0] * keep, state[1] * keep),
            torch.where(done, -1, action), torch.where(done, 0.0, reward))


def forward_sequence(agent, obs, prev_action, prev_reward, state, reset):
    """``agent.forward_sequence`` where the network has one; else its ``forward`` step by step, the state zeroed
    where ``reset`` (see :meth:`A2CLSTM.forward_sequence` for the shapes)."""
    if hasattr(agent, "forward_sequence"):
        return agent.forward_sequence(obs, prev_action, prev_reward, state, reset)
    return step_sequence(agent, obs, prev_action, prev_reward, state, reset)


def _collect_stepwise(agent: A2CLSTM, task, carry: Carry, unroll: int, sampler: torch.Generator):
    """The step-wise reference of :func:`collect_rollout`: the graph is built while acting."""
    obs, prev_a, prev_r, h, c, ep_ret = carry
    state = (h.detach(), c.detach())
    logits, values, actions, rewards, dones, finished, predicted = [], [], [], [], [], [], []
    aux = getattr(agent, "reward_head", None) is not None
    for _ in range(unroll):
        lg, v, state = agent(obs, prev_a, prev_r, state)
        with torch.no_grad():
            a = torch.multinomial(torch.softmax(lg, -1), 1, generator=sampler).squeeze(-1)
        if aux:  # the sign of r_t, predicted from the state that chose a_t and a_t
            predicted.append(agent.reward_logits(state[0], a))
        obs, r, d, _ = task.step(a)
        ended, ep_ret, state, prev_a, prev_r = _end_episodes(d, a, r, ep_ret + r, state)
        finished.append(ended)
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
        torch.stack(predicted) if aux else None,
    )
    new_carry = Carry(obs, prev_a, prev_r, state[0].detach(), state[1].detach(), ep_ret)
    return rollout, new_carry


def a2c_update(agent: A2CLSTM, optimizer: torch.optim.Optimizer, rollout: Rollout, s: A2CSettings,
               update: int = 0) -> dict:
    """One optimiser step on the A2C loss of ``rollout``; returns the loss terms as floats.

    The divergence guard: a non-finite loss is refused before the backward pass, a non-finite gradient before
    the step, and a non-finite parameter after it (``update``, 1-based, is named in the error).

    Parameters
    ----------
    agent : A2CLSTM
        The network (any network with the same outputs: ``ConvA2CLSTM``, ``RPEInputA2C``).
    optimizer : torch.optim.Optimizer
        Its optimiser (RMSProp in every experiment).
    rollout : Rollout
        :func:`collect_rollout` output, with gradients.
    s : A2CSettings
        Discount, GAE lambda, loss weights, gradient clip and the annealing of the learning rate and entropy weight.
    update : int
        The update's number (1-based), for the annealing and the divergence message.

    Returns
    -------
    dict
        ``loss`` (the total), ``policy_loss``, ``value_loss`` and ``entropy`` (floats); ``reward_loss`` too where
        the auxiliary reward-sign loss is on (``s.reward_coef > 0`` and the rollout has the reward head's logits).

    Raises
    ------
    TrainingDiverged
        If the loss, a gradient or (after the step) a parameter is NaN or infinite.
    """
    adv = gae_advantages(rollout.rewards, rollout.values.detach(), rollout.dones, rollout.bootstrap_value, s.gamma, s.gae_lambda)
    returns = adv + rollout.values.detach()
    loss = a2c_loss(rollout.logits, rollout.actions, adv, rollout.values, returns, s.value_coef, s.entropy_coef)
    total, terms = loss.total, {}
    if rollout.reward_logits is not None and s.reward_coef > 0:
        aux = reward_sign_loss(rollout.reward_logits, rollout.rewards)
        total, terms = total + s.reward_coef * aux, {"reward_loss": aux.item()}
    if not bool(torch.isfinite(total)):
        raise TrainingDiverged(update, "loss")
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    bad = _first_nonfinite((n, q.grad) for n, q in agent.named_parameters())
    if bad is not None:
        raise TrainingDiverged(update, f"gradient of {bad}")
    if math.isfinite(s.max_grad_norm):
        torch.nn.utils.clip_grad_norm_(agent.parameters(), s.max_grad_norm)
    optimizer.step()
    bad = _first_nonfinite(agent.named_parameters())
    if bad is not None:
        raise TrainingDiverged(update, f"parameter {bad} (after the optimiser step)")
    return {
        "loss": total.item(),
        "policy_loss": loss.policy.item(),
        "value_loss": loss.value.item(),
        "entropy": loss.entropy.item(),
        **terms,
    }


@dataclass
class TrainState:
    """Progress of a training run; with the model, optimiser, task and sampler it resumes exactly."""

    carry: Carry
    update: int = 0
    episodes: int = 0
    steps: int = 0
    rows: list = field(default_factory=list)
    #: one dict per frozen-weight evaluation during training (the learning curve, ``evaluations.csv``)
    curve: list = field(default_factory=list)
    #: True once the stopping criterion held: training is over even if fewer episodes than asked have ended
    stopped: bool = False
    #: wall-clock seconds spent in :func:`train` (updates and evaluations), summed over resumed sessions
    wall_s: float = 0.0

    def state_dict(self) -> dict:
        """Plain-dict form for :func:`torch.save`."""
        return {
            "carry": self.carry._asdict(),
            "update": self.update,
            "episodes": self.episodes,
            "steps": self.steps,
            "rows": list(self.rows),
            "curve": list(self.curve),
            "stopped": self.stopped,
            "wall_s": self.wall_s,
        }

    @classmethod
    def from_state_dict(cls, d: dict) -> TrainState:
        """Inverse of :meth:`state_dict` (checkpoints written before the learning curve existed load too)."""
        return cls(Carry(**d["carry"]), d["update"], d["episodes"], d["steps"], list(d["rows"]),
                   list(d.get("curve", [])), bool(d.get("stopped", False)), float(d.get("wall_s", 0.0)))


_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_CRITERION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(>=|<=|>|<)\s*([^\s<>=]+)\s*$")


@dataclass(frozen=True)
class Criterion:
    """A stopping criterion on the frozen-weight tests during training, e.g. ``gap>=0.3,rc>=0.95,ur>=0.95``.

    Comma-separated clauses ``METRIC OP VALUE``, all of which must hold, with ``OP`` one of ``>= <= > <`` and
    ``VALUE`` a number or another metric's name (``regret<thompson_regret``). The criterion is met when it has
    held on ``held`` consecutive tests (issue 14: two, so that one lucky test does not stop training).

    Parameters
    ----------
    clauses : tuple of (str, str, float or str)
        ``(metric, op, value)`` each.
    held : int
        Consecutive tests on which every clause must hold.
    """

    clauses: tuple[tuple[str, str, float | str], ...]
    held: int = 2

    def __post_init__(self):
        check_value("Criterion: held", self.held, int, AT_LEAST_ONE)
        if not self.clauses:
            raise ValueError("Criterion: needs at least one (metric, op, value) clause")
        for clause in self.clauses:
            ok = (isinstance(clause, tuple) and len(clause) == 3 and isinstance(clause[0], str) and clause[1] in _OPS
                  and (isinstance(clause[2], str) or (isinstance(clause[2], (int, float))
                                                      and not isinstance(clause[2], bool)
                                                      and math.isfinite(clause[2]))))
            if not ok:
                raise ValueError(f"Criterion: clause {clause!r} is not (metric, op, value) with op one of "
                                 f"{tuple(_OPS)} and value a finite number or a metric's name")

    @classmethod
    def parse(cls, text: str, metrics: tuple[str, ...], held: int = 2) -> Criterion:
        """Parse ``text``; ``metrics`` are the names the experiment's tests report.

        Raises
        ------
        ValueError
            If a clause is not ``METRIC OP VALUE``, names a metric not in ``metrics``, compares with a NaN or an
            infinity (a threshold that can never, or always, hold), or ``held`` is not an integer >= 1; the
            message lists the metrics.
        """
        check_value("until_held", held, int, AT_LEAST_ONE)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"--until must be a text METRIC OP VALUE[,...], got {text!r}")
        clauses = []
        for part in text.split(","):
            m = _CRITERION.match(part)
            if not m:
                raise ValueError(f"--until {text!r}: expected METRIC OP VALUE[,METRIC OP VALUE ...], e.g. gap>=0.3 "
                                 f"(OP one of >= <= > <); metrics: {', '.join(metrics) or 'none'}")
            name, op, rhs = m.groups()
            try:
                value: float | str = float(rhs)
            except ValueError:
                value = rhs
            if (isinstance(value, float) and not math.isfinite(value)) or (isinstance(value, str) and not rhs.isidentifier()):
                raise ValueError(f"--until {text!r}: {rhs!r} is not a finite number or a metric's name")
            for n in (name, value) if isinstance(value, str) else (name,):
                if n not in metrics:
                    raise ValueError(f"--until {text!r}: unknown metric {n!r}; this experiment's: "
                                     f"{', '.join(metrics) or 'none'}")
            clauses.append((name, op, value))
        return cls(tuple(clauses), int(held))

    def holds(self, metrics: dict) -> bool:
        """Whether every clause holds on one test's ``metrics`` (a NaN never holds)."""
        return all(_OPS[op](metrics[name], metrics[v] if isinstance(v, str) else v) for name, op, v in self.clauses)

    def met(self, curve: list[dict]) -> bool:
        """Whether it held on the last ``held`` tests of ``curve``."""
        return len(curve) >= self.held and all(self.holds(row) for row in curve[-self.held:])

    def __str__(self) -> str:
        return ",".join(f"{n}{op}{v:g}" if isinstance(v, float) else f"{n}{op}{v}" for n, op, v in self.clauses)


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
    evaluate: Callable[[A2CLSTM, TrainState], dict] | None = None,
    eval_every: int = 0,
    until: Criterion | None = None,
) -> TrainState:
    """Train until at least ``episodes`` episodes have ended, or ``until`` is met, from ``state`` if given.

    Parameters
    ----------
    agent, task, optimizer
        The network, a batched task (see DESIGN.md) and its optimiser.
    settings : A2CSettings
        Unroll length (steps) and loss settings; where ``lr_final`` or ``entropy_final`` is set, the learning rate
        (every parameter group's) or the entropy weight is annealed linearly over ``episodes``
        (:meth:`A2CSettings.at`; the values used go to ``rows`` as ``lr`` and ``entropy_coef``).
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
    evaluate : callable, optional
        ``evaluate(agent, state) -> dict`` of metrics (floats) of the frozen network on a fixed set of test
        episodes; it must leave the training's random streams alone (its own task and sampler).
    eval_every : int
        Call ``evaluate`` after the first update at or past every multiple of this many training episodes
        (0: never). Each call appends ``{update, episodes, steps, wall_s, **metrics}`` to ``state.curve``;
        ``wall_s`` is the wall time of training so far, evaluations included.
    until : Criterion, optional
        Stop as soon as it is met on the curve (``state.stopped`` is then True).

    Returns
    -------
    TrainState
        Final state; ``rows`` holds one dict per update for ``training.csv``, ``curve`` the evaluations.

    Raises
    ------
    ValueError
        If ``until`` is given without ``evaluate`` and ``eval_every``.
    TrainingDiverged
        If an update's loss, gradients or parameters are not finite (:func:`a2c_update`); ``checkpoint`` is not
        called with the diverged state, so the last checkpoint stays the last good one.
    """
    if until is not None and not (evaluate is not None and eval_every > 0):
        raise ValueError("a stopping criterion (--until) needs evaluations during training (--eval-every > 0)")
    if state is None:
        state = TrainState(Carry.start(agent, task.reset()))
    agent.train()
    bar = _progress_bar(episodes, min(state.episodes, episodes), progress)
    last_ckpt = time.monotonic()
    while state.episodes < episodes and not state.stopped:
        t0 = time.perf_counter()
        now, lr = settings.at(state.episodes / episodes if episodes else 1.0)
        if lr is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr
        rollout, state.carry = collect_rollout(agent, task, state.carry, settings.unroll, sampler, settings.recompute)
        losses = a2c_update(agent, optimizer, rollout, now, state.update + 1)
        if lr is not None:
            losses["lr"] = lr
        if now is not settings:
            losses["entropy_coef"] = now.entropy_coef
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
        state.wall_s += dt
        if evaluate is not None and eval_every > 0:
            last = state.curve[-1]["episodes"] if state.curve else 0
            if state.episodes // eval_every > last // eval_every:
                t1 = time.perf_counter()
                metrics = evaluate(agent, state)
                agent.train()
                state.wall_s += time.perf_counter() - t1
                state.curve.append({"update": state.update, "episodes": state.episodes, "steps": state.steps,
                                    "wall_s": state.wall_s, **metrics})
                if until is not None and until.met(state.curve):
                    state.stopped = True
                    bar.set_postfix(stopped=f"{until} held {until.held}x", refresh=False)
        bar.update(min(state.episodes, episodes) - bar.n)
        if n_done and not state.stopped:
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
