"""Analyses of two-option choice tasks: Wang et al. (2018) Simulations 1, 2, 3 and 6 (Figs. 2, 3, 4, 7).

Every function takes a trial table of :data:`metarl_neuro.schema.CHOICE_COLUMNS` (an agent's
``trials.parquet``, or human or animal data in the same form: ``choice`` 0 left / 1 right, ``reward``, and
the task's own columns) or, for the RPE analysis, an activations dataset; missed trials (``missed`` or
``choice == -1``) are kept in the table so that lags keep their meaning, and each function says how it uses
them.

References
----------
Baum, W. M. (1974). On two types of deviation from the matching law. J. Exp. Anal. Behav. 22, 231.
Lau, B. & Glimcher, P. W. (2005). Dynamic response-by-response models of matching behavior in rhesus
monkeys. J. Exp. Anal. Behav. 84, 555.
Behrens, T. E. J. et al. (2007). Learning the value of information in an uncertain world. Nat. Neurosci. 10,
1214.
Bromberg-Martin, E. S. et al. (2010). A pallidus-habenula-dopamine pathway signals inferred stimulus values.
J. Neurophysiol. 104, 1068.
Stopper, C. M. et al. (2014). Overriding phasic dopamine signals redirects action selection during
risk/reward decision making. Neuron 84, 177.
Wang, J. X. et al. (2018). Nat. Neurosci. 21, 860.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
import xarray as xr
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from metarl_neuro.analysis.bandit import fit_rescorla_wagner
from metarl_neuro.analysis.regression import fit_logit
from metarl_neuro.schema import (
    as_bool_column,
    as_int_column,
    check_activations_source,
    check_int,
    check_level,
    validate_choice_trials,
)

__all__ = [
    "MatchingFit", "lagged_choice_regression", "matching_law", "reversal_rpe", "risky_choice", "risky_choice_shift",
    "volatility_learning_rates",
]


class MatchingFit(NamedTuple):
    """Result of :func:`matching_law`.

    Attributes
    ----------
    episodes : pandas.DataFrame
        One row per episode used: ``subject``, ``episode``, ``choices_left``, ``choices_right``,
        ``rewards_left``, ``rewards_right``, ``log2_choice_ratio``, ``log2_reward_ratio`` (right over left).
    slope, intercept : float
        OLS fit ``log2(C_R / C_L) = log2(b) + s log2(R_R / R_L)`` (generalised matching law, Baum 1974):
        ``s`` the sensitivity (1: strict matching; < 1: undermatching), ``intercept`` the bias ``log2 b``.
    slope_ci : tuple of float
        95% confidence interval of the slope.
    r2 : float
        R² of the fit.
    n_episodes, n_dropped : int
        Episodes fitted, and episodes left out because a count was zero (their log ratio is undefined).
    """

    episodes: pd.DataFrame
    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    r2: float
    n_episodes: int
    n_dropped: int


def matching_law(df: pd.DataFrame) -> MatchingFit:
    """Generalised matching law across episodes (Baum 1974; Wang et al. 2018 Fig. 2d).

    Per episode (each ``subject`` x ``episode``), the log₂ ratio of right to left choices against the log₂
    ratio of rewards earned on the right and on the left, fitted by OLS (statsmodels). Missed trials count
    for neither side. Episodes with no choice or no reward on a side are left out (the ratio is undefined) and
    counted in ``n_dropped``.

    Parameters
    ----------
    df : pandas.DataFrame
        Choice trial table: ``episode``, ``trial``, ``choice``, ``reward`` (``subject`` optional).

    Returns
    -------
    MatchingFit

    Raises
    ------
    ValueError
        For a bad table (:func:`~metarl_neuro.schema.validate_choice_trials`) or fewer than 3 usable episodes.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng, rows = np.random.default_rng(0), []
    >>> for episode in range(60):  # a soft win-stay lose-shift chooser on a 0.6 / 0.2 bandit
    ...     p, c = ([0.2, 0.6] if episode % 2 else [0.6, 0.2]), 0
    ...     for trial in range(80):
    ...         r = float(rng.random() < p[c])
    ...         rows.append((episode, trial, c, r))
    ...         c = c if rng.random() < (0.8 if r else 0.4) else 1 - c
    >>> df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward"])
    >>> fit = matching_law(df)
    >>> round(fit.slope, 2), fit.n_episodes  # undermatching: choices track reward ratios less than 1:1
    (0.26, 60)
    """
    d = validate_choice_trials(df)
    d = d[~d["missed"]].copy()
    if "subject" not in d.columns:
        d["subject"] = "all"
    d["rl"] = np.where(d["choice"] == 0, d["reward"] > 0, False)
    d["rr"] = np.where(d["choice"] == 1, d["reward"] > 0, False)
    ep = d.groupby(["subject", "episode"], sort=True).agg(
        choices_left=("choice", lambda c: int((c == 0).sum())), choices_right=("choice", lambda c: int((c == 1).sum())),
        rewards_left=("rl", "sum"), rewards_right=("rr", "sum")).reset_index()
    counts = ep[["choices_left", "choices_right", "rewards_left", "rewards_right"]]
    usable = (counts > 0).all(axis=1)
    n_dropped = int((~usable).sum())
    ep = ep[usable].reset_index(drop=True)
    if len(ep) < 3:
        raise ValueError(f"the matching law needs >= 3 episodes with choices and rewards on both sides, got {len(ep)}")
    ep["log2_choice_ratio"] = np.log2(ep["choices_right"] / ep["choices_left"])
    ep["log2_reward_ratio"] = np.log2(ep["rewards_right"] / ep["rewards_left"])
    res = sm.OLS(ep["log2_choice_ratio"], sm.add_constant(ep["log2_reward_ratio"])).fit()
    lo, hi = res.conf_int().loc["log2_reward_ratio"]
    return MatchingFit(ep, float(res.params["log2_reward_ratio"]), float(res.params["const"]), (float(lo), float(hi)),
                       float(res.rsquared), len(ep), n_dropped)


def lagged_choice_regression(df: pd.DataFrame, lags: int = 15) -> pd.DataFrame:
    """Logistic regression of choice on past rewards and past choices (Lau & Glimcher 2005; Wang 2018 Fig. 2f).

    ``logit P(choice_t = right) = b0 + sum_k b^r_k R_{t-k} + sum_k b^c_k C_{t-k}``, ``k = 1..lags``, with
    ``R = +1`` for a rewarded right choice, ``-1`` for a rewarded left choice, 0 otherwise, and ``C = +1`` right,
    ``-1`` left. Lags stay within an episode (0 before its first trial); a missed trial enters the lags as 0
    and is not itself a dependent observation. Fitted by maximum likelihood (statsmodels ``Logit``), pooled
    over the table's subjects and episodes, as a binomial GLM with standard errors clustered by episode (the
    fitting helper of :func:`~metarl_neuro.analysis.stay_regression`, which records convergence and separation
    problems instead of raising).

    Parameters
    ----------
    df : pandas.DataFrame
        Choice trial table: ``episode``, ``trial``, ``choice``, ``reward`` (``subject`` optional).
    lags : int
        Trials back. Default 15 (Wang 2018 Fig. 2f).

    Returns
    -------
    pandas.DataFrame
        One row per regressor: ``regressor`` (``"reward"``, ``"choice"``), ``lag`` (1..lags), ``coef``,
        ``se``, ``ci_lo``, ``ci_hi`` (95%), ``p``; plus the intercept (``regressor`` ``"bias"``, ``lag`` 0).
        ``attrs["n_trials"]`` holds the observations used, ``attrs["message"]`` any fitting problem ("" if
        none).

    Raises
    ------
    ValueError
        For a bad table, ``lags`` not an integer >= 1 or not shorter than the longest episode (lags reach back
        within an episode only; ``lags=100`` once ran for 6 minutes), or too few trials.

    References
    ----------
    Lau, B. & Glimcher, P. W. (2005). Dynamic response-by-response models of matching behavior in rhesus monkeys.
    *J. Exp. Anal. Behav.* 84, 555-579.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng, rows = np.random.default_rng(0), []
    >>> for episode in range(60):  # a soft win-stay lose-shift chooser on a 0.6 / 0.2 bandit
    ...     p, c = ([0.2, 0.6] if episode % 2 else [0.6, 0.2]), 0
    ...     for trial in range(80):
    ...         r = float(rng.random() < p[c])
    ...         rows.append((episode, trial, c, r))
    ...         c = c if rng.random() < (0.8 if r else 0.4) else 1 - c
    >>> df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward"])
    >>> reg = lagged_choice_regression(df, lags=2)
    >>> print(reg[["regressor", "lag", "coef"]].round(2).to_string(index=False))
    regressor  lag  coef
         bias    0 -0.02
       reward    1  1.76
       reward    2  0.09
       choice    1 -0.40
       choice    2  0.01
    """
    check_int(lags, "lags")
    d = validate_choice_trials(df)
    keys = ["subject", "episode"] if "subject" in d.columns else ["episode"]
    longest = int(d.groupby(keys).size().max()) if len(d) else 0
    if lags >= longest:
        raise ValueError(f"lags={lags} reaches past the start of every episode (the longest has {longest} trials); "
                         f"use lags < {longest}")
    ok = ~d["missed"]
    d["R"] = np.where(ok & (d["reward"].fillna(0) > 0), np.where(d["choice"] == 1, 1.0, -1.0), 0.0)
    d["C"] = np.where(ok, np.where(d["choice"] == 1, 1.0, -1.0), 0.0)
    g = d.groupby(keys, sort=False)
    X = {}
    for k in range(1, lags + 1):
        X[f"reward_{k}"] = g["R"].shift(k).fillna(0.0)
        X[f"choice_{k}"] = g["C"].shift(k).fillna(0.0)
    X = pd.DataFrame(X)[[f"{r}_{k}" for r in ("reward", "choice") for k in range(1, lags + 1)]]
    use = ok.to_numpy() & (g.cumcount() >= 1).to_numpy()
    if use.sum() <= 2 * lags + 1:
        raise ValueError(f"too few trials ({int(use.sum())}) for a regression on {lags} lags")
    y = (d.loc[use, "choice"] == 1).astype(float)
    res, message = fit_logit(y, sm.add_constant(X[use]), g.ngroup().to_numpy()[use])
    ci = res.conf_int()
    rows = []
    for name in res.params.index:
        reg, lag = ("bias", 0) if name == "const" else (name.split("_")[0], int(name.split("_")[1]))
        rows.append({"regressor": reg, "lag": lag, "coef": res.params[name], "se": res.bse[name],
                     "ci_lo": ci.loc[name, 0], "ci_hi": ci.loc[name, 1], "p": res.pvalues[name]})
    out = pd.DataFrame(rows)
    out.attrs["n_trials"] = int(use.sum())
    out.attrs["message"] = message
    return out


#: test-block labels of Wang 2018 Fig. 3d, by (volatile, block position)
BLOCK_LABELS = {(False, 0): "Stable 1", (True, 0): "Volatile 1", (True, 1): "Volatile 2", (False, 1): "Stable 2"}


def volatility_learning_rates(df: pd.DataFrame, n_starts: int = 5, seed: int = 0) -> pd.DataFrame:
    """Rescorla-Wagner learning rates fitted per stable / volatile block (Behrens et al. 2007; Wang 2018 Fig. 3d).

    Blocks are labelled as in Wang 2018 Fig. 3d from ``volatile`` and ``block`` (0 first, 1 second half of
    the episode): "Stable 1", "Volatile 1", "Volatile 2", "Stable 2". Each label's trials are fitted by
    :func:`~metarl_neuro.analysis.fit_rescorla_wagner` (free ``alpha``, ``beta``; maximum likelihood), values
    starting at 0.5 at each block's first trial (a second block's first trials therefore carry a small
    misfit; with the fitted learning rates the values adapt within a few of its 100 trials). Missed trials
    are left out.

    Parameters
    ----------
    df : pandas.DataFrame
        Choice trial table with ``volatile`` (bool) and ``block`` (0/1), e.g. a ``behrens`` run's trials.
    n_starts, seed
        As :func:`~metarl_neuro.analysis.fit_rescorla_wagner`.

    Returns
    -------
    pandas.DataFrame
        One row per block label present (in the order of Fig. 3d): ``block_label``, ``volatile``, ``alpha``,
        ``beta``, ``nll``, ``n_trials``, ``converged``.

    Raises
    ------
    ValueError
        For a bad table (missing ``volatile``/``block``, a ``volatile`` that is not boolean or 0/1 — 'yes' / 'no'
        were once all read as volatile — or a ``block`` other than 0/1).

    References
    ----------
    Behrens, T. E. J., Woolrich, M. W., Walton, M. E. & Rushworth, M. F. S. (2007). Learning the value of
    information in an uncertain world. *Nat. Neurosci.* 10, 1214-1221.

    Examples
    --------
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
    >>> rates = volatility_learning_rates(df)
    >>> print(rates[["block_label", "volatile", "alpha", "beta"]].round(2).to_string(index=False))
    block_label  volatile  alpha  beta
       Stable 1     False   0.10  8.63
     Volatile 2      True   0.41  5.44
    """
    d = validate_choice_trials(df, ("episode", "trial", "choice", "reward", "volatile", "block"))
    d["volatile"] = as_bool_column(d, "volatile", " (True in a volatile block)")
    if not as_int_column(d, "block").isin([0, 1]).all():
        raise ValueError("column 'block' must be 0 (first block) or 1 (second block)")
    d = d[~d["missed"]].copy()
    labels = list(BLOCK_LABELS.values())  # Fig. 3d order: Stable 1, Volatile 1, Volatile 2, Stable 2
    d["label_index"] = [labels.index(BLOCK_LABELS[(v, int(b))]) for v, b in zip(d["volatile"], d["block"])]
    keys = ["subject", "episode"] if "subject" in d.columns else ["episode"]
    d["episode"] = d.groupby(keys, sort=False).ngroup()  # one RW sequence per subject x episode
    d["policy"] = "all"
    fit = fit_rescorla_wagner(d[["policy", "label_index", "episode", "trial", "choice", "reward"]],
                              by="label_index", n_starts=n_starts, seed=seed)
    fit["block_label"] = [labels[int(i)] for i in fit["label_index"]]
    fit["volatile"] = fit["block_label"].str.startswith("Volatile")
    return fit[["block_label", "volatile", "alpha", "beta", "nll", "n_trials", "converged"]]


def reversal_rpe(ds: xr.Dataset, max_since: int = 3) -> pd.DataFrame:
    """The agent's RPE at target onset after a reversal, experienced vs inferred targets (Wang 2018 Fig. 4b).

    The RPE at target onset is the agent's TD error ``rpe`` at the fixation step of each trial
    (``r + gamma V(target shown) - V(fixation)``: the step whose next observation shows the target). On the
    ``k``-th trial after an unsignalled reversal (``since_reversal == k``), the target is *experienced* if its
    side already appeared on a trial since the reversal (the agent has seen what it pays now) and *inferred*
    otherwise (its new value can only be inferred from the other side's). Bromberg-Martin et al. (2010) found
    that dopamine neurons' responses flip for both: on the second trial the inferred target's response
    already reflects its new value.

    Parameters
    ----------
    ds : xarray.Dataset
        Activations dataset of a ``bromberg-martin`` run (``rpe``, ``active``, ``trial``, ``phase``,
        ``valid``, ``since_reversal``, ``target_side``, ``target_rewarded``).
    max_since : int
        Trials after a reversal to tabulate (``since_reversal`` 0..max_since).

    Returns
    -------
    pandas.DataFrame
        One row per (``since_reversal``, ``target_rewarded``, ``experienced``): ``mean_rpe``, ``sem``,
        ``n`` (trials). ``target_rewarded`` is the target's value *after* the reversal.

    Raises
    ------
    ValueError
        If the dataset lacks a needed variable.

    References
    ----------
    Bromberg-Martin, E. S., Matsumoto, M., Hong, S. & Hikosaka, O. (2010). A pallidus-habenula-dopamine pathway
    signals inferred stimulus values. *J. Neurophysiol.* 104, 1068-1076.

    Examples
    --------
    An untrained network (the control of a trained one) on 10 episodes of the reversal task:

    >>> import torch
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import BrombergMartinTask
    >>> _ = torch.manual_seed(0)
    >>> task = BrombergMartinTask(10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> table = reversal_rpe(ds)
    >>> table.columns.tolist()
    ['since_reversal', 'target_rewarded', 'experienced', 'mean_rpe', 'sem', 'n']
    """
    need = ("rpe", "active", "trial", "phase", "valid", "since_reversal", "target_side", "target_rewarded")
    check_activations_source(ds, "reversal_rpe", paths=False)
    missing = [k for k in need if k not in ds.variables]
    if missing:
        raise ValueError(f"activations dataset lacks {missing}; reversal_rpe needs a bromberg-martin run's")
    active = ds["active"].values.astype(bool)
    fix = active & (ds["phase"].values == 0) & ds["valid"].values.astype(bool)
    e, s = np.nonzero(fix)
    t = pd.DataFrame({
        "e": e, "trial": ds["trial"].values[e, s], "rpe": ds["rpe"].values[e, s].astype(float),
        "since_reversal": ds["since_reversal"].values[e, s], "target_side": ds["target_side"].values[e, s],
        "target_rewarded": ds["target_rewarded"].values[e, s].astype(bool),
    }).sort_values(["e", "trial"], kind="stable")
    # Sides shown since the last reversal, before each trial: a running set within each post-reversal run.
    t = t[t["since_reversal"] >= 0].copy()
    t["run"] = (t["since_reversal"] == 0).groupby(t["e"]).cumsum()
    seen_left = t.groupby(["e", "run"])["target_side"].transform(lambda x: (x == 0).cumsum().shift(1, fill_value=0))
    seen_right = t.groupby(["e", "run"])["target_side"].transform(lambda x: (x == 1).cumsum().shift(1, fill_value=0))
    t["experienced"] = np.where(t["target_side"] == 0, seen_left > 0, seen_right > 0)
    t = t[t["since_reversal"] <= max_since]
    out = (t.groupby(["since_reversal", "target_rewarded", "experienced"])["rpe"]
           .agg(mean_rpe="mean", sem="sem", n="size").reset_index())
    return out


def risky_choice(df: pd.DataFrame, by: tuple[str, ...] = ("manipulation", "p_risky"), level: float = 0.95) -> pd.DataFrame:
    """Fraction of risky-lever choices per group, with Wilson confidence intervals (Stopper et al. 2014).

    Parameters
    ----------
    df : pandas.DataFrame
        Choice trial table with ``risky_side`` and the ``by`` columns (a ``stopper`` run's trials hold
        ``manipulation``: ``"none"``, ``"block"``, ``"stimulate"``).
    by : tuple of str
        Grouping columns (those absent from ``df`` are skipped); ``subject`` is added where present.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group: the ``by`` columns, ``risky`` (fraction), ``ci_lo``, ``ci_hi``, ``n`` (non-missed
        trials).

    Raises
    ------
    ValueError
        For a bad table, a missing ``risky_side`` or one other than 0 / 1 on a non-missed trial, or ``level``
        outside (0, 1).

    References
    ----------
    Stopper, C. M., Tse, M. T. L., Montes, D. R., Wiedman, C. R. & Floresco, S. B. (2014). Overriding phasic
    dopamine signals redirects action selection during risk/reward decision making. *Neuron* 84, 177-189.

    Examples
    --------
    Two simulated animals choosing the risky side (here always side 1) 60% of the time, 30% under block and 80%
    under stimulation:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(s, m, e, t, int(rng.random() < {"none": 0.6, "block": 0.3, "stimulate": 0.8}[m]), 1)
    ...         for s in ("rat1", "rat2") for m in ("none", "block", "stimulate") for e in range(5) for t in range(20)]
    >>> df = pd.DataFrame(rows, columns=["subject", "manipulation", "episode", "trial", "choice", "risky_side"])
    >>> df["reward"], df["p_risky"] = 0.0, 0.5
    >>> table = risky_choice(df, by=("manipulation",))
    >>> print(table[["subject", "manipulation", "risky", "n"]].round(2).to_string(index=False))
    subject manipulation  risky   n
       rat1        block   0.28 100
       rat1         none   0.51 100
       rat1    stimulate   0.76 100
       rat2        block   0.24 100
       rat2         none   0.61 100
       rat2    stimulate   0.82 100
    """
    level = check_level(level)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    by = [b for b in ("subject", *by) if b in df.columns]
    d = validate_choice_trials(df, ("episode", "trial", "choice", "reward", "risky_side", *by))
    d = d[~d["missed"]].copy()
    if not as_int_column(d, "risky_side").isin([0, 1]).all():
        raise ValueError(f"column 'risky_side' must be 0 (left) or 1 (right); found "
                         f"{sorted(set(d['risky_side']) - {0, 1})[:5]}")
    d["risky"] = d["choice"] == d["risky_side"]
    out = d.groupby(by, sort=True)["risky"].agg(k="sum", n="size").reset_index()
    out["risky"] = out["k"] / out["n"]
    lo, hi = proportion_confint(out["k"], out["n"], alpha=1 - level, method="wilson")
    out["ci_lo"], out["ci_hi"] = np.asarray(lo), np.asarray(hi)
    return out.drop(columns="k")[[*by, "risky", "ci_lo", "ci_hi", "n"]]


def risky_choice_shift(df: pd.DataFrame, control: str = "none", level: float = 0.95) -> pd.DataFrame:
    """Shift of risky choice under each manipulation relative to ``control``, per subject and over subjects.

    Wang et al. 2018 Fig. 7 / Stopper et al. 2014: a simulated optogenetic block of the RPE signal after
    risky wins lowers risky choice; a stimulation after risky losses raises it.

    Parameters
    ----------
    df : pandas.DataFrame
        Choice trial table with ``risky_side`` and ``manipulation`` (one subject per seed or animal).
    control : str
        The unmanipulated condition.
    level : float
        Confidence level of the t interval over subjects.

    Returns
    -------
    pandas.DataFrame
        One row per (``manipulation`` other than ``control``, ``p_risky`` where present): ``shift`` (mean over
        subjects of the risky fraction minus the control's), ``sem``, ``ci_lo``, ``ci_hi`` (t interval over
        subjects; NaN for one subject) and ``n_subjects``.

    Raises
    ------
    ValueError
        For a bad table, no ``control`` condition, or ``level`` outside (0, 1).

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Stopper, C. M., Tse, M. T. L., Montes, D. R., Wiedman, C. R. & Floresco, S. B. (2014). Overriding phasic
    dopamine signals redirects action selection during risk/reward decision making. *Neuron* 84, 177-189.

    Examples
    --------
    Two simulated animals choosing the risky side 60% of the time, 30% under block and 80% under stimulation:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(s, m, e, t, int(rng.random() < {"none": 0.6, "block": 0.3, "stimulate": 0.8}[m]), 1)
    ...         for s in ("rat1", "rat2") for m in ("none", "block", "stimulate") for e in range(5) for t in range(20)]
    >>> df = pd.DataFrame(rows, columns=["subject", "manipulation", "episode", "trial", "choice", "risky_side"])
    >>> df["reward"], df["p_risky"] = 0.0, 0.5
    >>> print(risky_choice_shift(df)[["manipulation", "shift", "n_subjects"]].round(2).to_string(index=False))
    manipulation  shift  n_subjects
           block  -0.30           2
       stimulate   0.23           2
    """
    level = check_level(level)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    if "manipulation" not in df.columns:
        raise ValueError("risky_choice_shift needs a 'manipulation' column")
    if not (df["manipulation"] == control).any():
        raise ValueError(f"no trials of the control condition {control!r}")
    by = [c for c in ("p_risky",) if c in df.columns]
    per = risky_choice(df, by=("manipulation", *by))
    if "subject" not in per.columns:
        per["subject"] = "all"
    wide = per.pivot_table(index=["subject", *by], columns="manipulation", values="risky")
    rows = []
    for m in [c for c in wide.columns if c != control]:
        diff = (wide[m] - wide[control]).dropna().rename("shift").reset_index()
        for key, g in (diff.groupby(by) if by else [((), diff)]):
            x = g["shift"].to_numpy()
            n = len(x)
            sem = float(stats.sem(x)) if n > 1 else np.nan
            half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sem) if n > 1 else np.nan
            key = key if isinstance(key, tuple) else (key,)
            rows.append({"manipulation": m, **dict(zip(by, key)), "shift": float(x.mean()), "sem": sem,
                         "ci_lo": float(x.mean()) - half, "ci_hi": float(x.mean()) + half, "n_subjects": n})
    return pd.DataFrame(rows)
