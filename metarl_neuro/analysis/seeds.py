"""Numbers across seeds: a reproduction's mean, SEM and 95% CI over independently trained agents.

The paper's figures are means over seeds (n = 8 in Wang et al. 2018, Figs. 3d and 5c): each seed is one
observation, and the interval is Student's t interval over seeds (scipy.stats), not over episodes within a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["across_seeds", "curve_across_seeds"]


def _interval(values: np.ndarray, level: float) -> dict:
    n = len(values)
    mean = float(np.mean(values)) if n else float("nan")
    sem = float(stats.sem(values)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sem if n > 1 else float("nan")
    return {"n": n, "mean": mean, "sd": float(np.std(values, ddof=1)) if n > 1 else float("nan"), "sem": sem,
            "ci_lo": mean - half, "ci_hi": mean + half}


def across_seeds(per_seed: pd.DataFrame, metrics: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Mean, SD, SEM and t confidence interval over seeds of each metric.

    Parameters
    ----------
    per_seed : pandas.DataFrame
        One row per seed (a ``seed`` column, int) and one numeric column per metric; NaN where a seed has no
        value (that seed is left out of that metric's n).
    metrics : list of str, optional
        Columns to summarise (default: every numeric column but ``seed``).
    level : float
        Confidence level of the interval, in (0, 1) (default 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``metric``, ``n`` (seeds with a value), ``mean``, ``sd``, ``sem``, ``ci_lo``, ``ci_hi``
        (Student's t interval with n - 1 degrees of freedom; NaN for n < 2) and ``values`` (the per-seed values,
        a list in seed order).

    Raises
    ------
    ValueError
        If ``seed`` is missing, a seed repeats, a metric column is missing or not numeric, or ``level`` is not in
        (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if "seed" not in per_seed.columns:
        raise ValueError(f"per_seed needs a 'seed' column; it has {list(per_seed.columns)}")
    if per_seed["seed"].duplicated().any():
        raise ValueError(f"per_seed repeats seed(s) {sorted(per_seed.loc[per_seed['seed'].duplicated(), 'seed'])}")
    if metrics is None:
        metrics = [c for c in per_seed.columns if c != "seed" and pd.api.types.is_numeric_dtype(per_seed[c])]
    rows = []
    ordered = per_seed.sort_values("seed")
    for m in metrics:
        if m not in ordered.columns:
            raise ValueError(f"per_seed has no column {m!r}")
        if not pd.api.types.is_numeric_dtype(ordered[m]):
            raise ValueError(f"column {m!r} is not numeric (dtype {ordered[m].dtype})")
        values = ordered[m].to_numpy(dtype=float)
        rows.append({"metric": m, **_interval(values[~np.isnan(values)], level), "values": values.tolist()})
    return pd.DataFrame(rows, columns=["metric", "n", "mean", "sd", "sem", "ci_lo", "ci_hi", "values"])


def curve_across_seeds(evaluations: pd.DataFrame, metric: str, x: str = "episodes", level: float = 0.95,
                       every: int | None = None) -> pd.DataFrame:
    """A learning curve's mean and t confidence interval over seeds at each training stage.

    Parameters
    ----------
    evaluations : pandas.DataFrame
        The run folders' ``evaluations.csv`` stacked, with a ``seed`` column (one row per seed x test during
        training), ``x`` and ``metric``.
    metric, x : str
        The metric (e.g. ``gap``, ``correct_2_6``) and the training stage (default ``episodes``).
    every : int, optional
        The tests' spacing in ``x`` (``--eval-every``): stages are rounded to its nearest multiple before
        grouping, since seeds whose episodes end at different steps are tested a few episodes apart (Harlow).

    Returns
    -------
    pandas.DataFrame
        One row per value of ``x``: ``x``, ``n`` (seeds tested there), ``mean``, ``sd``, ``sem``, ``ci_lo``,
        ``ci_hi``.

    Raises
    ------
    ValueError
        If a column is missing, or ``every`` is not positive.
    """
    if every is not None and every < 1:
        raise ValueError(f"every must be a positive number of {x}, got {every}")
    missing = sorted({"seed", metric, x} - set(evaluations.columns))
    if missing:
        raise ValueError(f"evaluations has no column(s) {missing}")
    stage = evaluations[x] if not every else (evaluations[x] / every).round().astype("int64") * every
    rows = [{x: k, **_interval(g[metric].dropna().to_numpy(dtype=float), level)}
            for k, g in evaluations.groupby(stage.rename(x))]
    return pd.DataFrame(rows, columns=[x, "n", "mean", "sd", "sem", "ci_lo", "ci_hi"])
