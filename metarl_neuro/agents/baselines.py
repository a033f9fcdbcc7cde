"""Classic bandit policies, run on the same batched tasks as the meta-RL agent (Wang et al. 2016, Sec. 3.1).

Every policy keeps per-episode statistics as ``(B, K)`` numpy arrays and has ``act() -> (B,) int64`` and
``update(action, reward)``; :func:`run_policy` plays one episode per batch slot of a
:class:`~metarl_neuro.tasks.BanditTask` and returns the task's per-step log, so the trial tables of the
agent and of the baselines are built by the same code. Ties between arms are broken at random (the
policy's own ``numpy.random.Generator``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "UCB1",
    "BayesOptimal",
    "Gittins",
    "RescorlaWagner",
    "Thompson",
    "bayes_optimal_dependent",
    "bayes_optimal_independent",
    "gittins_indices",
    "run_policy",
]


#: dependent variants -> x of the two-point prior p0 in {x, 1 - x} (None: uniform prior; Wang 2016, 3.1.2)
_DEPENDENT_PRIORS = {"uniform": None, "easy": 0.1, "medium": 0.25, "hard": 0.4}


def _argmax_random_ties(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax of ``(B, K)`` values, ties broken uniformly at random."""
    noise = rng.random(values.shape)
    best = values >= values.max(1, keepdims=True) - 1e-12
    return np.where(best, noise, -1.0).argmax(1)


class _Counts:
    """Success / failure counts per arm, ``(B, K)`` int64."""

    def __init__(self, batch_size: int, n_arms: int = 2, seed: int = 0):
        self.s = np.zeros((batch_size, n_arms), np.int64)
        self.f = np.zeros((batch_size, n_arms), np.int64)
        self.rng = np.random.default_rng(seed)
        self.rows = np.arange(batch_size)

    def update(self, action: np.ndarray, reward: np.ndarray) -> None:
        won = np.asarray(reward) > 0
        self.s[self.rows, action] += won
        self.f[self.rows, action] += ~won


class UCB1(_Counts):
    """UCB1 (Auer, Cesa-Bianchi & Fischer 2002, Fig. 1): pull each arm once, then the arm maximising
    ``mean_k + sqrt(2 ln n / n_k)`` (``n`` pulls in all, ``n_k`` of arm ``k``)."""

    name = "UCB1"

    def act(self) -> np.ndarray:
        n_k = self.s + self.f
        n = n_k.sum(1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            ucb = self.s / n_k + np.sqrt(2.0 * np.log(np.maximum(n, 1)) / n_k)
        ucb = np.where(n_k == 0, np.inf, ucb)
        return _argmax_random_ties(ucb, self.rng)


class Thompson(_Counts):
    """Thompson sampling with Beta(1, 1) priors (Thompson 1933; Chapelle & Li 2011): draw ``p_k ~
    Beta(1 + s_k, 1 + f_k)`` and pull the arm with the largest draw."""

    name = "Thompson"

    def act(self) -> np.ndarray:
        return self.rng.beta(1 + self.s, 1 + self.f).argmax(1)


def _cache_dir() -> Path:
    base = os.environ.get("METARL_NEURO_CACHE") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "metarl_neuro"


def gittins_indices(discount: float = 0.9, max_pulls: int = 100, depth: int | None = None, tol: float = 1e-7,
                    cache: bool = True) -> np.ndarray:
    """Gittins indices of a Bernoulli arm with a Beta(1, 1) prior, by calibration (Gittins 1979).

    The index of the posterior Beta(1 + s, 1 + f) is the per-pull retirement reward ``lam`` at which
    continuing to pull the arm (optimally stopping later) and retiring at once are worth the same. The value of
    continuing is computed by backward induction over the states ``depth`` pulls ahead, where the arm is valued as
    if its mean were known (``max(lam, mean) / (1 - discount)``), together with its derivative in ``lam``. Continuing
    minus retiring is convex and decreasing in ``lam``, with a slope between ``-1 / (1 - discount)`` and ``-1``, so
    Newton's method started at the posterior mean (a lower bound of the index) rises monotonically to the root
    (about 6 iterations; bisection to 1e-7 took 24, 3x the time). All states are solved together as arrays.

    Parameters
    ----------
    discount : float
        Discount factor in (0, 1). Default 0.9, the value of the published tables (Gittins, Glazebrook &
        Weber 2011, Multi-armed Bandit Allocation Indices, 2nd ed., Bernoulli/beta tables; checked in the tests).
    max_pulls : int
        Indices for all ``s + f <= max_pulls``.
    depth : int, optional
        Look-ahead in pulls; default ``ceil(log(1e-7) / log(discount))`` (the neglected tail is < 1e-7 of the
        value), at least 50.
    tol : float
        Tolerance on ``lam``: iteration stops when a Newton step is below ``tol * (1 - discount)``, which bounds the
        distance to the root by ``tol``.
    cache : bool
        Keep the table in ``$METARL_NEURO_CACHE``, ``$XDG_CACHE_HOME/metarl_neuro`` or
        ``~/.cache/metarl_neuro`` (``gittins_<discount>_<max_pulls>_<depth>.npy``), and reuse it.

    Returns
    -------
    numpy.ndarray
        ``(max_pulls + 1, max_pulls + 1)`` float64, ``G[s, f]`` the index after ``s`` successes and ``f``
        failures (NaN where ``s + f > max_pulls``).

    Raises
    ------
    ValueError
        If ``discount`` is not in (0, 1) or ``max_pulls < 0``.
    """
    if not 0.0 < discount < 1.0:
        raise ValueError(f"discount must lie in (0, 1), got {discount}")
    if max_pulls < 0:
        raise ValueError(f"max_pulls must be >= 0, got {max_pulls}")
    if depth is None:
        depth = max(50, int(np.ceil(np.log(1e-7) / np.log(discount))))
    path = _cache_dir() / f"gittins_{discount:g}_{max_pulls}_{depth}.npy"
    if cache and path.is_file():
        return np.load(path)
    s0, f0 = np.meshgrid(np.arange(max_pulls + 1), np.arange(max_pulls + 1), indexing="ij")
    keep = (s0 + f0) <= max_pulls
    a = (1 + s0[keep]).astype(float)[:, None]  # (n, 1) posterior Beta(a, b) of each state
    b = (1 + f0[keep]).astype(float)[:, None]
    g = discount

    def best(cont, dcont, retire):  # the value of each state of a layer, and its derivative in lam
        stop = retire >= cont
        return np.where(stop, retire, cont), np.where(stop, 1 / (1 - g), dcont)

    lam = a / (a + b)  # the posterior mean: continuing once is worth at least retiring at it
    active = np.arange(len(a))  # the states still iterating
    while len(active):
        A, B, L = a[active], b[active], lam[active]
        retire = L / (1 - g)
        # layer d: states i successes, d - i failures ahead of (A, B); start at the horizon, the mean taken as known
        i = np.arange(depth + 1)[None, :]
        cont = (A + i) / (A + B + depth) / (1 - g)
        dcont = np.zeros_like(cont)
        v, dv = best(cont, dcont, retire)
        for d in range(depth - 1, -1, -1):
            i = np.arange(d + 1)[None, :]
            mean = (A + i) / (A + B + d)
            cont = mean * (1 + g * v[:, 1 : d + 2]) + (1 - mean) * g * v[:, : d + 1]
            dcont = g * (mean * dv[:, 1 : d + 2] + (1 - mean) * dv[:, : d + 1])
            v, dv = best(cont, dcont, retire)
        # at the state itself: continuing minus retiring, f(lam) >= 0 left of the root, f' in [-1 / (1 - g), -1]
        step = np.maximum((cont - retire)[:, 0] / (1 / (1 - g) - dcont[:, 0]), 0.0)
        lam[active, 0] = L[:, 0] + step
        active = active[step > tol * (1 - g)]
    out = np.full((max_pulls + 1, max_pulls + 1), np.nan)
    out[keep] = lam[:, 0]
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, out)
        os.replace(tmp, path)
    return out


class Gittins(_Counts):
    """Gittins index policy (Gittins 1979): pull the arm with the largest index of its Beta posterior
    (:func:`gittins_indices`; ``discount`` default 0.9)."""

    name = "Gittins"

    def __init__(self, batch_size: int, n_arms: int = 2, seed: int = 0, discount: float = 0.9, max_pulls: int = 100):
        super().__init__(batch_size, n_arms, seed)
        self.table = gittins_indices(discount, max_pulls)
        self.max_pulls = max_pulls

    def act(self) -> np.ndarray:
        if int((self.s + self.f).max()) > self.max_pulls:
            raise ValueError(f"more than max_pulls={self.max_pulls} pulls of one arm; build Gittins with more")
        return _argmax_random_ties(self.table[self.s, self.f], self.rng)


def bayes_optimal_independent(n_trials: int = 100) -> tuple[float, list[np.ndarray]]:
    """Exact finite-horizon Bayes-optimal policy for two independent Bernoulli arms with Beta(1, 1) priors.

    Backward induction over the posterior counts (Bellman 1956; Berry & Fristedt 1985): with ``t`` pulls made,
    the state is ``(s0, f0, s1)`` (``f1 = t - s0 - f0 - s1``), the posterior mean of arm ``k`` is
    ``(1 + s_k) / (2 + n_k)`` and ``V_t = max_k [m_k (1 + V_{t+1}(success)) + (1 - m_k) V_{t+1}(failure)]``
    with ``V_{n_trials} = 0``: the expected number of rewards still to come. 100 trials take a few seconds.

    Parameters
    ----------
    n_trials : int
        Horizon in trials.

    Returns
    -------
    value : float
        ``V_0``: the expected total reward of the optimal policy over ``n_trials`` trials.
    preference : list of numpy.ndarray
        Element ``t`` (``t < n_trials``) is ``(t + 1, t + 1, t + 1)`` int8, ``sign(Q_t(arm 0) - Q_t(arm 1))``
        at ``[s0, f0, s1]`` (0 for a tie or outside ``s0 + f0 + s1 <= t``).
    """
    V = np.zeros((n_trials + 2,) * 3)  # V_{t+1}, with room for the index s + 1
    prefs: list[np.ndarray] = []
    for t in range(n_trials - 1, -1, -1):
        n = t + 1
        s0, f0, s1 = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij", sparse=True)
        f1 = t - s0 - f0 - s1
        ok = f1 >= 0
        m0 = (1 + s0) / (2 + s0 + f0)
        m1 = (1 + s1) / (2 + s1 + np.maximum(f1, 0))
        q0 = m0 * (1 + V[s0 + 1, f0, s1]) + (1 - m0) * V[s0, f0 + 1, s1]
        q1 = m1 * (1 + V[s0, f0, s1 + 1]) + (1 - m1) * V[s0, f0, s1]
        diff = np.where(ok, q0 - q1, 0.0)
        prefs.append(np.sign(np.where(np.abs(diff) < 1e-12, 0.0, diff)).astype(np.int8))
        V = np.zeros((n + 1,) * 3)
        V[:n, :n, :n] = np.where(ok, np.maximum(q0, q1), 0.0)
    return float(V[0, 0, 0]), prefs[::-1]


def bayes_optimal_dependent(n_trials: int = 100, prior: float | None = None) -> list[np.ndarray]:
    """Exact finite-horizon Bayes-optimal policy for dependent arms, ``p1 = 1 - p0``, of known prior.

    The state is ``(a, b)``: ``a`` observations favouring "arm 0 is the better arm" (arm-0 successes plus
    arm-1 failures), ``b`` the others, ``a + b = t``. The posterior mean of ``p0`` is ``(1 + a) / (2 + t)``
    under the uniform prior (``prior=None``; Wang 2016 ``uniform``) or, for the two-point prior ``p0 in
    {x, 1 - x}`` with equal odds (``prior=x``; ``easy`` 0.1, ``medium`` 0.25, ``hard`` 0.4),
    ``[x^(a+1) (1-x)^b + (1-x)^(a+1) x^b] / [x^a (1-x)^b + (1-x)^a x^b]``. Both arms move the state the
    same way, so the optimal policy is to pull the arm with the larger posterior mean (the values show it).

    Parameters
    ----------
    n_trials : int
        Horizon in trials.
    prior : float, optional
        ``x`` of the two-point prior; None for the uniform prior.

    Returns
    -------
    list of numpy.ndarray
        Element ``t`` is ``(t + 1, 2)`` float64 with ``Q_t[a, k]`` (``b = t - a``).
    """
    V = np.zeros(n_trials + 2)  # V_{t+1}[a]
    out: list[np.ndarray] = []
    for t in range(n_trials - 1, -1, -1):
        a = np.arange(t + 1)
        b = t - a
        if prior is None:
            m = (1 + a) / (2 + t)
        else:
            x = float(prior)
            # work in log space for large counts: r = log odds of p0 = 1 - x against p0 = x
            lr = (a - b) * (np.log1p(-x) - np.log(x))
            w_hi = 1 / (1 + np.exp(-lr))  # posterior P(p0 = 1 - x)
            m = w_hi * (1 - x) + (1 - w_hi) * x
        q0 = m * (1 + V[a + 1]) + (1 - m) * V[a]
        q1 = (1 - m) * (1 + V[a]) + m * V[a + 1]
        out.append(np.stack([q0, q1], -1))
        V = np.maximum(q0, q1)
    return out[::-1]


class BayesOptimal(_Counts):
    """Finite-horizon Bayes-optimal policy by dynamic programming (:func:`bayes_optimal_independent` for
    ``independent`` arms, :func:`bayes_optimal_dependent` for ``uniform``/``easy``/``medium``/``hard``)."""

    name = "Bayes-optimal"

    def __init__(self, batch_size: int, variant: str, n_trials: int = 100, seed: int = 0):
        super().__init__(batch_size, 2, seed)
        if variant == "independent":
            self.q = bayes_optimal_independent(n_trials)[1]
        elif variant in _DEPENDENT_PRIORS:
            self.q = [q[:, 0] - q[:, 1] for q in bayes_optimal_dependent(n_trials, _DEPENDENT_PRIORS[variant])]
        else:
            raise ValueError(f"no exact Bayes-optimal policy for variant {variant!r}; "
                             f"have independent, {', '.join(_DEPENDENT_PRIORS)}")
        self.variant = variant
        self.t = 0

    def act(self) -> np.ndarray:
        if self.t >= len(self.q):
            raise ValueError(f"the policy was solved for {len(self.q)} trials")
        q = self.q[self.t]
        if self.variant == "independent":
            pref = q[self.s[:, 0], self.f[:, 0], self.s[:, 1]].astype(float)
        else:
            pref = q[self.s[:, 0] + self.f[:, 1]]
        self.t += 1
        return _argmax_random_ties(np.stack([pref, -pref], 1), self.rng)


class RescorlaWagner:
    """Rescorla-Wagner learner with softmax choice (Rescorla & Wagner 1972; Sutton & Barto 2018, Sec. 2.4):
    ``Q_a += alpha (r - Q_a)`` for the chosen arm, ``P(a) ∝ exp(beta Q_a)``, values start at 0.5.

    Defaults ``alpha=0.3, beta=10``: our choice for the restless bandit.
    """

    name = "Rescorla-Wagner"

    def __init__(self, batch_size: int, n_arms: int = 2, seed: int = 0, alpha: float = 0.3, beta: float = 10.0):
        self.q = np.full((batch_size, n_arms), 0.5)
        self.alpha, self.beta = float(alpha), float(beta)
        self.rng = np.random.default_rng(seed)
        self.rows = np.arange(batch_size)

    def act(self) -> np.ndarray:
        z = self.beta * self.q
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return (self.rng.random((len(p), 1)) > p.cumsum(1)).sum(1).clip(max=p.shape[1] - 1)

    def update(self, action: np.ndarray, reward: np.ndarray) -> None:
        q = self.q[self.rows, action]
        self.q[self.rows, action] = q + self.alpha * (np.asarray(reward, float) - q)


def run_policy(policy, task) -> dict[str, torch.Tensor]:
    """Play one episode per batch slot of ``task`` with ``policy``.

    Parameters
    ----------
    policy
        A fresh policy (``act``/``update``) for ``task.batch_size`` episodes.
    task : BanditTask
        Reset here; every slot's episode has ``task.n_trials`` trials.

    Returns
    -------
    dict of str to torch.Tensor
        The task's log fields stacked to ``(n_trials, B)``, on the CPU.
    """
    task.reset()
    logs = []
    for _ in range(task.n_trials):
        action = policy.act()
        _, reward, _, log = task.step(torch.as_tensor(action, dtype=torch.long, device=task.device))
        policy.update(action, reward.cpu().numpy())
        logs.append(log)
    return {k: torch.stack([lg[k] for lg in logs]).cpu() for k in logs[0]}
