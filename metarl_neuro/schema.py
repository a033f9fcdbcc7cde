"""The trial table: columns and dtypes defined once, and the validation every analysis applies.

One row per (subject, episode, trial). Agents' logs and human or animal data in this form go through the
same :func:`validate_trials`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["TWO_STEP_COLUMNS", "validate_trials"]

#: Two-step trial table: column -> (dtype, meaning). Latent columns ``reward_prob_<k>`` (float64, reward
#: probability of second-stage state ``k // n_options``, option ``k % n_options``) may follow.
TWO_STEP_COLUMNS: dict[str, tuple[str, str]] = {
    "subject": ("string", "run or participant id"),
    "episode": ("int64", "episode (block/session) index within the subject"),
    "trial": ("int64", "0-based trial index within the episode"),
    "choice1": ("int64", "first-stage choice, 0 or 1"),
    "state2": ("int64", "second-stage state reached, 0 or 1 (state 0 is commonly reached from choice 0)"),
    "common": ("bool", "True if the transition was the common one"),
    "choice2": ("int64", "second-stage option chosen (0 where the state has one option)"),
    "reward": ("float64", "reward of the trial (rewarded: > 0)"),
}

_BINARY = ("choice1", "state2", "choice2")


def validate_trials(df: pd.DataFrame, columns: Iterable[str] = tuple(TWO_STEP_COLUMNS)) -> pd.DataFrame:
    """Check a trial table and return it sorted by subject, episode and trial with schema dtypes.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per trial with at least ``columns``.
    columns : iterable of str
        The columns the caller needs (a subset of :data:`TWO_STEP_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        A sorted copy with the needed columns cast to their schema dtypes.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If a needed column is missing or holds NaN, a choice or state lies
        outside {0, 1}, ``common`` is not boolean (or 0/1), or a (subject, episode, trial) repeats.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    columns = list(columns)
    unknown = [c for c in columns if c not in TWO_STEP_COLUMNS]
    if unknown:
        raise ValueError(f"unknown trial-table column(s) {unknown}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"trial table is missing column(s) {missing}; have {list(df.columns)}")
    out = df.copy()
    for col in columns:
        if out[col].isna().any():
            n = int(out[col].isna().sum())
            raise ValueError(f"column {col!r} has {n} missing (NaN) value(s)")
    for col in (c for c in columns if c in _BINARY):
        bad = ~out[col].isin([0, 1])
        if bad.any():
            raise ValueError(f"column {col!r} must be 0 or 1; found {sorted(pd.unique(out.loc[bad, col]))[:5]}")
        out[col] = out[col].astype("int64")
    if "common" in columns:
        if not (out["common"].dtype == bool or out["common"].isin([0, 1]).all()):
            raise ValueError("column 'common' must be boolean (True for a common transition) or 0/1")
        out["common"] = out["common"].astype(bool)
    for col in ("episode", "trial"):
        if col in columns:
            vals = out[col].to_numpy()
            if not np.all(np.equal(np.mod(vals, 1), 0)):
                raise ValueError(f"column {col!r} must hold integers")
            out[col] = out[col].astype("int64")
    if "reward" in columns:
        out["reward"] = pd.to_numeric(out["reward"], errors="raise").astype("float64")
    keys = [c for c in ("subject", "episode", "trial") if c in columns]
    if keys:
        dup = out.duplicated(keys)
        if dup.any():
            raise ValueError(f"{int(dup.sum())} row(s) repeat a ({', '.join(keys)}) key")
        out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return out
