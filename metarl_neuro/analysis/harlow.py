"""Harlow learning-to-learn analyses (Harlow 1949; Wang et al. 2018, Fig. 6c)."""

from __future__ import annotations

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

__all__ = ["harlow_performance"]

_NEEDED = ("episode", "trial", "correct")


def harlow_performance(df: pd.DataFrame, by: str | None = "training_episodes", level: float = 0.95) -> pd.DataFrame:
    """Percent correct by trial number within the episode, per training stage (Wang et al. 2018, Fig. 6c).

    Parameters
    ----------
    df : pandas.DataFrame
        Harlow trial table (:func:`metarl_neuro.logs.harlow_trials`): ``episode``, ``trial`` (0-based),
        ``correct`` (bool or 0/1), and the ``by`` column where given.
    by : str or None
        Column of the training stage (default ``training_episodes``; None or absent: one group).
    level : float
        Confidence level of the Wilson score interval (statsmodels ``proportion_confint``).

    Returns
    -------
    pandas.DataFrame
        One row per stage and trial: the ``by`` column, ``trial_number`` (1-based, as in the paper),
        ``pct_correct``, ``ci_lo``, ``ci_hi`` (percent), ``n`` (trials).

    Raises
    ------
    ValueError
        For a missing column, NaN, a ``correct`` value other than True/False/0/1, or a negative trial.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        raise ValueError(f"Harlow trial table is missing column(s) {missing}; have {list(df.columns)}")
    d = df.copy()
    if d[list(_NEEDED)].isna().any().any():
        raise ValueError("Harlow trial table has NaN in episode, trial or correct")
    if not d["correct"].isin([True, False, 0, 1]).all():
        raise ValueError("column 'correct' must be boolean (or 0/1)")
    if (d["trial"] < 0).any():
        raise ValueError("column 'trial' must be 0-based and >= 0")
    d["correct"] = d["correct"].astype(bool)
    keys = [by] if by is not None and by in d.columns else []
    g = d.groupby([*keys, "trial"], sort=True)["correct"].agg(["sum", "count"]).reset_index()
    lo, hi = proportion_confint(g["sum"], g["count"], alpha=1 - level, method="wilson")
    out = g[keys].copy()
    out["trial_number"] = g["trial"] + 1
    out["pct_correct"] = 100 * g["sum"] / g["count"]
    out["ci_lo"], out["ci_hi"] = 100 * lo, 100 * hi
    out["n"] = g["count"]
    return out
