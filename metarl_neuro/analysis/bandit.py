"""Bandit analyses (Wang et al. 2016, Sec. 3.1): regret, suboptimal pulls and Rescorla-Wagner fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint

from metarl_neuro.schema import check_int, check_level, validate_bandit_trials

__all__ = [
    "better_arm_probability", "cumulative_regret", "fit_rescorla_wagner", "rescorla_wagner_nll", "suboptimal_pulls",
]


def _t_ci(sd: pd.Series, n: pd.Series, level: float) -> np.ndarray:
    """Half-width of the Student-t confidence interval of a mean."""
    q = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    return np.where(n > 1, q * sd / np.sqrt(n), np.nan)


def cumulative_regret(df: pd.DataFrame, by: str | list[str] = "policy", level: float = 0.95) -> pd.DataFrame:
    """Expected cumulative regret per trial: ``R_t = sum_{u <= t} (mu* - mu_{a_u})``, mean over episodes.

    The *expected* regret (Wang et al. 2016, Sec. 3.1, Fig. 2) uses the arms' means, not the rewards
    drawn, so it measures the choices alone.

    Parameters
    ----------
    df : pandas.DataFrame
        Bandit trial table (``metarl_neuro.schema.BANDIT_COLUMNS``): ``episode``, ``trial``, ``regret`` and
        the ``by`` columns.
    by : str or list of str
        Grouping columns (default ``"policy"``).
    level : float
        Confidence level of the interval over episodes (Student t).

    Returns
    -------
    pandas.DataFrame
        One row per group and trial: the ``by`` columns, ``trial``, ``trials`` (``trial + 1``, trials so
        far), ``mean``, ``sd``, ``ci_lo``, ``ci_hi`` of the cumulative regret, ``n_episodes``.

    Raises
    ------
    ValueError
        For a missing column, NaN or infinity, a negative regret, or ``level`` outside (0, 1).

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Tirumala, D., Soyer, H., Leibo, J. Z., Munos, R., Blundell, C., Kumaran, D. &
    Botvinick, M. (2016). Learning to reinforcement learn. arXiv:1611.05763.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"policy": "greedy", "episode": [0, 0, 0, 1, 1, 1], "trial": [0, 1, 2] * 2,
    ...                    "regret": [0.3, 0.0, 0.0, 0.5, 0.5, 0.0],
    ...                    "optimal": [False, True, True, False, False, True]})
    >>> print(cumulative_regret(df)[["trial", "mean", "n_episodes"]].to_string(index=False))
     trial  mean  n_episodes
         0  0.40           2
         1  0.65           2
         2  0.65           2
    """
    level = check_level(level)
    by = [by] if isinstance(by, str) else list(by)
    d = validate_bandit_trials(df, [*dict.fromkeys([*by, "episode", "trial", "regret"])])
    d = d.sort_values([*by, "episode", "trial"], kind="stable")
    d["cum"] = d.groupby([*by, "episode"], sort=False)["regret"].cumsum()
    g = d.groupby([*by, "trial"], sort=True)["cum"]
    out = g.agg(mean="mean", sd="std", n_episodes="count").reset_index()
    half = _t_ci(out["sd"], out["n_episodes"], level)
    out["ci_lo"], out["ci_hi"] = out["mean"] - half, out["mean"] + half
    out.insert(len(by) + 1, "trials", out["trial"] + 1)
    return out


def suboptimal_pulls(df: pd.DataFrame, by: str | list[str] = "policy", level: float = 0.95) -> pd.DataFrame:
    """Pulls of an arm that was not the best, per episode: mean and confidence interval over episodes.

    Parameters
    ----------
    df : pandas.DataFrame
        Bandit trial table with ``episode``, ``optimal`` and the ``by`` columns.
    by : str or list of str
        Grouping columns (default ``"policy"``).
    level : float
        Confidence level (Student t).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``mean``, ``sd``, ``ci_lo``, ``ci_hi`` of the suboptimal pulls per episode,
        ``fraction`` (of all pulls), ``n_episodes``.

    Raises
    ------
    ValueError
        For a missing column, NaN, an ``optimal`` that is not boolean (or 0/1), or ``level`` outside (0, 1).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"policy": "greedy", "episode": [0, 0, 0, 1, 1, 1], "trial": [0, 1, 2] * 2,
    ...                    "regret": [0.3, 0.0, 0.0, 0.5, 0.5, 0.0],
    ...                    "optimal": [False, True, True, False, False, True]})
    >>> print(suboptimal_pulls(df)[["policy", "mean", "fraction"]].to_string(index=False))
    policy  mean  fraction
    greedy   1.5       0.5
    """
    level = check_level(level)
    by = [by] if isinstance(by, str) else list(by)
    d = validate_bandit_trials(df, [*dict.fromkeys([*by, "episode", "optimal"])])
    per = (~d["optimal"]).groupby([d[c] for c in [*by, "episode"]]).agg(["sum", "size"]).reset_index()
    out = per.groupby(by).agg(mean=("sum", "mean"), sd=("sum", "std"), n_episodes=("sum", "size"),
                              pulls=("size", "sum"), bad=("sum", "sum")).reset_index()
    half = _t_ci(out["sd"], out["n_episodes"], level)
    out["ci_lo"], out["ci_hi"] = out["mean"] - half, out["mean"] + half
    out["fraction"] = out.pop("bad") / out.pop("pulls")
    return out


def better_arm_probability(df: pd.DataFrame, by: str | list[str] = "policy", level: float = 0.95) -> pd.DataFrame:
    """P(the better arm is chosen) on each trial, over episodes (Wang et al. 2018, Fig. 1c-d).

    How fast a policy finds the better arm: the share of episodes whose choice on trial ``t`` was the arm with
    the highest mean. The interval is Wilson's score interval (statsmodels ``proportion_confint``), which stays
    inside [0, 1].

    Parameters
    ----------
    df : pandas.DataFrame
        Bandit trial table with ``episode``, ``trial``, ``optimal`` and the ``by`` columns.
    by : str or list of str
        Grouping columns (default ``"policy"``).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group and trial: the ``by`` columns, ``trial`` (0-based), ``p_better`` (float64, 0-1),
        ``ci_lo``, ``ci_hi``, ``n_episodes``.

    Raises
    ------
    ValueError
        For a missing column, NaN, an ``optimal`` that is not boolean (or 0/1), or ``level`` outside (0, 1).

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"policy": "a", "episode": [0, 0, 1, 1], "trial": [0, 1, 0, 1],
    ...                    "optimal": [False, True, True, True]})
    >>> print(better_arm_probability(df)[["trial", "p_better", "n_episodes"]].to_string(index=False))
     trial  p_better  n_episodes
         0       0.5           2
         1       1.0           2
    """
    level = check_level(level)
    by = [by] if isinstance(by, str) else list(by)
    d = validate_bandit_trials(df, [*dict.fromkeys([*by, "episode", "trial", "optimal"])])
    out = (d.groupby([*by, "trial"])["optimal"].agg(hits="sum", n_episodes="size").reset_index())
    out["p_better"] = out["hits"] / out["n_episodes"]
    out["ci_lo"], out["ci_hi"] = proportion_confint(out["hits"], out["n_episodes"], alpha=1 - level, method="wilson")
    return out[[*by, "trial", "p_better", "ci_lo", "ci_hi", "n_episodes"]]


def _rw_nll(params: np.ndarray, choice: np.ndarray, reward: np.ndarray, valid: np.ndarray) -> float:
    """Summed NLL of ``(E, T)`` two-armed choices under Rescorla-Wagner + softmax, values from 0.5."""
    alpha, beta = params
    E, T = choice.shape
    q = np.full((E, 2), 0.5)
    rows = np.arange(E)
    nll = 0.0
    for t in range(T):
        c, v = choice[:, t], valid[:, t]
        z = beta * (q[rows, c] - q[rows, 1 - c])  # log-odds of the chosen arm
        nll += float(np.sum(np.logaddexp(0.0, -z)[v]))
        qc = q[rows, c]
        q[rows, c] = np.where(v, qc + alpha * (reward[:, t] - qc), qc)
    return nll


def _arrays(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eps = d["episode"].to_numpy()
    keys, inv = np.unique(eps, return_inverse=True)
    T = int(d.groupby("episode").size().max())
    pos = d.groupby("episode").cumcount().to_numpy()
    choice = np.zeros((len(keys), T), np.int64)
    reward = np.zeros((len(keys), T))
    valid = np.zeros((len(keys), T), bool)
    choice[inv, pos] = d["choice"].to_numpy()
    reward[inv, pos] = d["reward"].to_numpy()
    valid[inv, pos] = True
    return choice, reward, valid


def _check_rw_params(alpha, beta) -> None:
    for name, value, lo, hi in (("alpha", alpha, 0.0, 1.0), ("beta", beta, 0.0, np.inf)):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, got {value!r}") from None
        if not (lo <= v <= hi) or not np.isfinite(v):
            raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}]" + (" and be finite" if hi == np.inf else "")
                             + f", got {value!r}")


def rescorla_wagner_nll(df: pd.DataFrame, alpha: float, beta: float) -> float:
    """Negative log-likelihood of two-armed bandit choices under a Rescorla-Wagner learner with softmax.

    ``Q_c += alpha (r - Q_c)`` for the chosen arm (values start at 0.5, each episode afresh), ``P(c) =
    1 / (1 + exp(-beta (Q_c - Q_other)))`` (Rescorla & Wagner 1972; Sutton & Barto 2018, Sec. 2.4).

    Parameters
    ----------
    df : pandas.DataFrame
        Bandit trial table of one subject/policy: ``episode``, ``trial``, ``choice`` (0/1), ``reward``.
    alpha, beta : float
        Learning rate in [0, 1] and inverse temperature >= 0 (finite).

    Returns
    -------
    float
        Summed NLL (nats).

    Raises
    ------
    ValueError
        For a missing column, NaN, a choice other than 0/1, or a parameter outside its domain (NaN, alpha
        outside [0, 1], beta negative or infinite).

    References
    ----------
    Rescorla, R. A. & Wagner, A. R. (1972). A theory of Pavlovian conditioning: variations in the effectiveness of
    reinforcement and nonreinforcement. In *Classical Conditioning II* (eds Black, A. H. & Prokasy, W. F.), 64-99.
    Appleton-Century-Crofts.

    Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An Introduction*, 2nd edn. MIT Press.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"episode": 0, "trial": range(6), "choice": [0, 0, 1, 1, 0, 0],
    ...                    "reward": [1, 0, 0, 1, 1, 1]})
    >>> round(rescorla_wagner_nll(df, alpha=0.5, beta=3.0), 3)
    4.242
    """
    _check_rw_params(alpha, beta)
    d = validate_bandit_trials(df, ["episode", "trial", "choice", "reward"]).sort_values(["episode", "trial"])
    if not d["choice"].isin([0, 1]).all():
        raise ValueError("Rescorla-Wagner fits need two-armed choices (0/1)")
    return _rw_nll(np.array([alpha, beta]), *_arrays(d))


def fit_rescorla_wagner(df: pd.DataFrame, by: str | list[str] = ("policy", "high_volatility"), n_starts: int = 5,
                        seed: int = 0) -> pd.DataFrame:
    """Maximum-likelihood Rescorla-Wagner fits (free ``alpha`` in [0, 1], ``beta`` in [0, 50]) per group.

    Wang et al. 2016 (Sec. 3.1.4) and Wang et al. 2018 (Simulation 2, Fig. 3d) fit this model to the agent's
    choices in blocks of different volatility: a higher fitted ``alpha`` under high volatility means the
    learned algorithm adapts its learning rate. Each group's episodes share the parameters; L-BFGS-B
    (scipy) from ``n_starts`` starts, the best kept: the first is the best point of a coarse grid (alpha 0.05 ..
    0.95 by 0.1, beta 1 .. 30 on a log scale; a single random start could stop on the flat alpha = 0 edge,
    where beta has no effect), the others random.

    Parameters
    ----------
    df : pandas.DataFrame
        Bandit trial table: ``episode``, ``trial``, ``choice`` (0/1), ``reward`` and the ``by`` columns.
    by : str or sequence of str
        Grouping columns (default: policy and volatility; add ``"episode"`` for one fit per episode).
    n_starts : int
        Random starts per group.
    seed : int
        Seed of the starts.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``alpha``, ``beta``, ``nll``, ``n_trials``, ``converged``.

    Raises
    ------
    ValueError
        For a missing column, NaN, a choice other than 0/1, or ``n_starts`` not an integer >= 1.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Tirumala, D., Soyer, H., Leibo, J. Z., Munos, R., Blundell, C., Kumaran, D. &
    Botvinick, M. (2016). Learning to reinforcement learn. arXiv:1611.05763.

    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    A simulated Rescorla-Wagner chooser (learning rate 0.2 in stable episodes, 0.5 in volatile ones, inverse
    temperature 5 on the value difference):

    >>> import numpy as np, pandas as pd
    >>> rng, rows = np.random.default_rng(0), []
    >>> for episode in range(40):  # a Rescorla-Wagner chooser, learning rate 0.2 in stable and 0.5 in volatile blocks
    ...     q, volatile = np.zeros(2), episode % 2 == 1
    ...     for trial in range(100):
    ...         p = 1 / (1 + np.exp(-5 * (q[1] - q[0])))
    ...         c = int(rng.random() < p)
    ...         good = (trial // (20 if volatile else 100)) % 2
    ...         r = float(rng.random() < (0.8 if c == good else 0.2))
    ...         q[c] += (0.5 if volatile else 0.2) * (r - q[c])
    ...         rows.append((episode, trial, c, r, volatile, int(volatile)))
    >>> df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward", "volatile", "block"])
    >>> fits = fit_rescorla_wagner(df, by="volatile")
    >>> print(fits[["volatile", "alpha", "beta", "n_trials"]].round(2).to_string(index=False))
     volatile  alpha  beta  n_trials
          0.0   0.10  8.63      2000
          1.0   0.41  5.44      2000
    """
    check_int(n_starts, "n_starts")
    by = [by] if isinstance(by, str) else list(by)
    d = validate_bandit_trials(df, [*dict.fromkeys([*by, "episode", "trial", "choice", "reward"])])
    if not d["choice"].isin([0, 1]).all():
        raise ValueError("Rescorla-Wagner fits need two-armed choices (0/1)")
    rng = np.random.default_rng(seed)
    bounds = [(0.0, 1.0), (0.0, 50.0)]
    rows = []
    for key, g in d.groupby(by, sort=True):
        arrays = _arrays(g.sort_values(["episode", "trial"]))
        best = None
        grid = [(a, b) for a in np.arange(0.05, 1.0, 0.1) for b in np.geomspace(1.0, 30.0, 8)]
        first = np.array(min(grid, key=lambda x: _rw_nll(np.array(x), *arrays)))
        for i in range(n_starts):
            x0 = first if i == 0 else np.array([rng.uniform(0.05, 0.95), rng.uniform(0.5, 15.0)])
            res = optimize.minimize(_rw_nll, x0, args=arrays, method="L-BFGS-B", bounds=bounds)
            if best is None or res.fun < best.fun:
                best = res
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "alpha": best.x[0], "beta": best.x[1], "nll": best.fun,
                     "n_trials": int(arrays[2].sum()), "converged": bool(best.success)})
    return pd.DataFrame(rows)
