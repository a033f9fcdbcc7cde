"""The trial table: columns and dtypes defined once, and the validation every analysis applies.

One row per (subject, episode, trial). Agents' logs and human or animal data in this form go through the
same :func:`validate_trials`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "BANDIT_COLUMNS", "CHOICE_COLUMNS", "MISSED_COLUMN", "TWO_STEP_COLUMNS", "as_bool_column", "as_float_column",
    "as_int_column", "check_activations_source", "check_int", "check_level", "require_rows", "validate_bandit_trials",
    "validate_choice_trials", "validate_trials",
]

#: Two-step trial table: column -> (dtype, meaning). Latent columns ``reward_prob_<k>`` (float64, reward
#: probability of second-stage state ``k // n_options``, option ``k % n_options``) may follow.
TWO_STEP_COLUMNS: dict[str, tuple[str, str]] = {
    "subject": ("string", "run or participant id"),
    "episode": ("int64", "episode (block/session) index within the subject"),
    "trial": ("int64", "0-based trial index within the episode"),
    "choice1": ("int64", "first-stage choice, 0 or 1 (-1 on a missed trial)"),
    "state2": ("int64", "second-stage state reached, 0 or 1 (state 0 is commonly reached from choice 0; -1 if missed)"),
    "common": ("bool", "True if the transition was the common one (False on a missed trial)"),
    "choice2": ("int64", "second-stage option chosen (0 where the state has one option; -1 if missed)"),
    "reward": ("float64", "reward of the trial (rewarded: > 0; NaN on a missed trial, and on an episode's last "
                          "trial whose outcome was not recorded)"),
}

#: Optional column: True where the subject made no valid response. Missed trials are kept (so that "previous
#: trial" keeps its meaning) and every analysis says how it treats them. Absent means no trial was missed.
MISSED_COLUMN = ("missed", "bool", "True where the trial was missed (no valid response); its values are not used")

#: Optional column: the first-stage choice (0/1) as recorded, also on a missed trial whose first stage was answered
#: (-1 where it was not). Only ``start_values="reset"`` of the hybrid fits reads it, on the trials before
#: ``start_trial``: Nussenbaum et al. 2020 (``mbmf_driver.m``) carry trial 9's first-stage choice (8's if 9 had
#: none) into the stickiness of the first modelled trial, whether or not its second stage was answered.
RECORDED_CHOICE1_COLUMN = ("choice1_recorded", "int64", "first-stage choice as recorded, 0/1 (-1: none), also on "
                           "a missed trial")

_BINARY = ("choice1", "state2", "choice2")
_FILL = {"choice1": -1, "state2": -1, "choice2": -1, "common": False, "reward": np.nan}


def check_level(level, name: str = "level") -> float:
    """Check a confidence level (a number strictly between 0 and 1) and return it as float.

    Parameters
    ----------
    level : object
        The argument.
    name : str
        Its name, for the message.

    Returns
    -------
    float
        ``level``.

    Raises
    ------
    ValueError
        If ``level`` is not a real number in the open interval (0, 1) (1.5 gave NaN intervals, 0 zero-width ones).
    """
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)) \
            or not 0 < float(level) < 1:
        raise ValueError(f"{name} must be a confidence level strictly between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(level)


def check_int(value, name: str, minimum: int = 1, note: str = "") -> int:
    """Check an integer argument (not a bool, a float or a string) of at least ``minimum`` and return it.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the message.
    minimum : int
        The smallest value allowed.
    note : str
        Added to the message.

    Returns
    -------
    int
        ``value``.

    Raises
    ------
    ValueError
        ``"{name} must be an integer >= {minimum}{note}, got {value!r}"`` (``lags=1.5`` or ``'2'`` once failed deep
        inside pandas; ``lags=True`` passed as 1).
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{note}, got {value!r}")
    return int(value)


def as_int_column(df: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as int64, refusing what a cast would silently change.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    col : str
        The column.

    Returns
    -------
    pandas.Series
        The column as int64.

    Raises
    ------
    ValueError
        Naming ``col`` if it holds text, NaN or infinity, or a non-integer number (0.5 was once truncated to 0).
    """
    vals = df[col]
    if vals.dtype == bool or not (pd.api.types.is_numeric_dtype(vals) or vals.empty):
        raise ValueError(f"column {col!r} must hold integers, got dtype {vals.dtype} "
                         f"(e.g. {vals.iloc[0]!r})" if len(vals) else f"column {col!r} must hold integers")
    arr = vals.to_numpy(dtype="float64")
    bad = ~np.isfinite(arr) | (np.mod(arr, 1) != 0)
    if bad.any():
        raise ValueError(f"column {col!r} must hold whole numbers; found {sorted(set(arr[bad].tolist()))[:5]}")
    return df[col].astype("int64")


def as_bool_column(df: pd.DataFrame, col: str, meaning: str = "") -> pd.Series:
    """Column ``col`` as bool, accepting only booleans or the numbers 0 / 1.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    col : str
        The column.
    meaning : str
        What the column means, for the message.

    Returns
    -------
    pandas.Series
        The column as bool.

    Raises
    ------
    ValueError
        Naming ``col`` for NaN, text (``'True'`` / ``'yes'`` were once all read as True) or other numbers.
    """
    vals = df[col]
    if vals.dtype == bool:
        return vals
    ok = pd.api.types.is_numeric_dtype(vals) and vals.notna().all() and vals.isin([0, 1]).all()
    if not ok:
        found = sorted({repr(v) for v in pd.unique(vals)})[:5]
        raise ValueError(f"column {col!r} must be boolean (True / False) or 0 / 1{meaning}; found {', '.join(found)}")
    return vals.astype(bool)


def as_float_column(df: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as float64; text that is not a number is an error naming the column (NaN stays NaN).

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    col : str
        The column.

    Returns
    -------
    pandas.Series
        The column as float64.

    Raises
    ------
    ValueError
        Naming ``col`` for text such as ``'yes'`` or for an infinite value.
    """
    try:
        vals = pd.to_numeric(df[col], errors="raise").astype("float64")
    except (TypeError, ValueError) as err:
        raise ValueError(f"column {col!r} must hold numbers: {err}") from None
    if np.isinf(vals.to_numpy()).any():
        raise ValueError(f"column {col!r} holds {int(np.isinf(vals.to_numpy()).sum())} infinite value(s)")
    return vals


def require_rows(df: pd.DataFrame, what: str = "the trial table") -> None:
    """Refuse a table without rows: every analysis of a table raises on empty input, none returns an empty
    result (issue 25: they were not consistent).

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    what : str
        Its name, for the message.

    Raises
    ------
    ValueError
        If ``df`` has no rows; the message names ``what``.

    Examples
    --------
    >>> require_rows(pd.DataFrame({"trial": []}), "the Harlow trial table")
    Traceback (most recent call last):
    ...
    ValueError: the Harlow trial table has no rows (no trial to analyse)
    """
    if len(df) == 0:
        raise ValueError(f"{what} has no rows (no trial to analyse)")


def validate_trials(df: pd.DataFrame, columns: Iterable[str] = tuple(TWO_STEP_COLUMNS)) -> pd.DataFrame:
    """Check a trial table and return it sorted by subject, episode and trial with schema dtypes.

    Rows flagged in an optional boolean ``missed`` column are kept but not checked: their ``choice1``,
    ``state2``, ``choice2`` become -1, ``common`` False and ``reward`` NaN. The returned table always has a
    ``missed`` column (all False where the input had none). ``reward`` may also be NaN on the last trial of an
    episode that is not missed: its outcome went unrecorded (a session that ended at the choice: one subject of
    Decker et al. 2016), and no analysis reads the last trial's reward (it is no trial's previous outcome, and
    a model's update after it predicts nothing).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per trial with at least ``columns``.
    columns : iterable of str
        The columns the caller needs (a subset of :data:`TWO_STEP_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        A sorted copy with the needed columns cast to their schema dtypes, plus ``missed``.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If the table has no rows, a needed column is missing or holds NaN on a trial not flagged missed, a choice or state lies
        outside {0, 1}, ``common`` or ``missed`` is not boolean (or 0/1), or a (subject, episode, trial)
        repeats.
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
    require_rows(df, "the trial table")
    out = df.copy()
    if "missed" in out.columns:
        out["missed"] = as_bool_column(out, "missed", " (True for a missed trial)")
    else:
        out["missed"] = False
    valid = ~out["missed"]
    if "reward" in columns:
        out.loc[~valid, "reward"] = np.nan
        out["reward"] = as_float_column(out, "reward")
    unrecorded = pd.Series(False, index=out.index)
    if "reward" in columns and out.loc[valid, "reward"].isna().any():
        keys = [c for c in ("subject", "episode") if c in out.columns]
        if "trial" in out.columns and keys:
            trial = as_int_column(out, "trial")
            last = trial == trial.groupby([out[k] for k in keys]).transform("max")
            unrecorded = valid & out["reward"].isna() & last
    for col in columns:
        nan = valid & out[col].isna() & ~(unrecorded if col == "reward" else False)
        if nan.any():
            last = " (only an episode's last trial may have an unrecorded reward)" if col == "reward" else ""
            raise ValueError(f"column {col!r} has {int(nan.sum())} missing (NaN) value(s) on trials not flagged "
                             f"'missed'{last}")
    for col in (c for c in columns if c in _BINARY):
        bad = valid & ~out[col].isin([0, 1])
        if bad.any():
            raise ValueError(f"column {col!r} must be 0 or 1; found {sorted(pd.unique(out.loc[bad, col]).tolist())[:5]}")
    if "common" in columns:
        vals = out.loc[valid, "common"]
        if not (vals.dtype == bool or vals.isin([0, 1]).all()):
            raise ValueError("column 'common' must be boolean (True for a common transition) or 0/1")
    for col in (c for c in columns if c in _FILL):
        out[col] = out[col].where(valid, _FILL[col])
        out[col] = out[col].astype(TWO_STEP_COLUMNS[col][0] if col != "reward" else "float64")
    for col in ("episode", "trial"):
        if col in columns:
            out[col] = as_int_column(out, col)
    keys = [c for c in ("subject", "episode", "trial") if c in columns]
    if keys:
        dup = out.duplicated(keys)
        if dup.any():
            raise ValueError(f"{int(dup.sum())} row(s) repeat a ({', '.join(keys)}) key")
        out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return out


#: Bandit trial table (Wang et al. 2016, Sec. 3.1): column -> (dtype, meaning). Latent columns ``mean_<k>``
#: (float64, expected reward of arm ``k`` during the trial) follow, one per arm.
BANDIT_COLUMNS: dict[str, tuple[str, str]] = {
    "subject": ("string", "run or participant id"),
    "policy": ("string", "who chose: meta-rl (the agent) or a baseline (UCB1, Thompson, ...)"),
    "episode": ("int64", "episode index; the same index is the same bandit for every policy of a run"),
    "trial": ("int64", "0-based trial index within the episode"),
    "choice": ("int64", "arm chosen, 0..K-1"),
    "reward": ("float64", "reward of the trial"),
    "regret": ("float64", "expected regret of the choice, max_k mean_k - mean_choice (>= 0)"),
    "optimal": ("bool", "True if the chosen arm had the highest expected reward"),
    "high_volatility": ("bool", "restless bandit: True in a high-volatility episode (False elsewhere)"),
}


def validate_bandit_trials(df: pd.DataFrame, columns: Iterable[str] = ("policy", "episode", "trial", "regret")
                           ) -> pd.DataFrame:
    """Check a bandit trial table and return it sorted by policy, episode and trial with schema dtypes.

    Parameters
    ----------
    df : pandas.DataFrame
        Trial table (:data:`BANDIT_COLUMNS`, plus ``mean_<k>``).
    columns : iterable of str
        Columns the caller needs.

    Returns
    -------
    pandas.DataFrame
        A sorted copy (by ``policy``, ``episode``, ``trial`` where present) with schema dtypes.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If the table has no rows, a needed column is missing or holds NaN, ``regret`` is negative, ``choice`` is negative, or a
        (policy, episode, trial) key repeats.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    columns = list(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"bandit trial table is missing column(s) {missing}; have {list(df.columns)}")
    require_rows(df, "the bandit trial table")
    out = df.copy()
    for col in columns:
        if out[col].isna().any():
            raise ValueError(f"column {col!r} has {int(out[col].isna().sum())} missing (NaN) value(s)")
    for col in columns:
        dtype = BANDIT_COLUMNS.get(col, ("float64",))[0] if not col.startswith("mean_") else "float64"
        if dtype == "bool":
            out[col] = as_bool_column(out, col)
        elif dtype == "int64":
            out[col] = as_int_column(out, col)
        elif dtype == "float64":
            out[col] = as_float_column(out, col)
        else:
            out[col] = out[col].astype(dtype)
    if "regret" in columns and (out["regret"] < -1e-9).any():
        raise ValueError("column 'regret' must be >= 0 (max_k mean_k - mean_choice)")
    if "choice" in columns and (out["choice"] < 0).any():
        raise ValueError("column 'choice' must hold arm indices >= 0")
    keys = [k for k in ("policy", "episode", "trial") if k in out.columns]
    if keys:
        dup = out.duplicated(keys)
        if dup.any():
            raise ValueError(f"{int(dup.sum())} row(s) repeat a ({', '.join(keys)}) key")
        out = out.sort_values(keys, kind="stable")
    return out.reset_index(drop=True)


#: Trial table of the two-option fixation / left / right tasks (Wang 2018 Sims 1, 2, 3, 6): column ->
#: (dtype, meaning). The task's own columns (``p0_left``, ``volatile``, ``block``, ``rewarded_side``,
#: ``target_side``, ``since_reversal``, ``p_risky``, ``risky_side``, ...) may follow.
CHOICE_COLUMNS: dict[str, tuple[str, str]] = {
    "subject": ("string", "run or participant id"),
    "episode": ("int64", "episode (block/session) index within the subject"),
    "trial": ("int64", "0-based trial index within the episode"),
    "choice": ("int64", "option chosen: 0 left, 1 right (-1 on a missed trial)"),
    "reward": ("float64", "reward of the trial (NaN on a missed trial)"),
}


def validate_choice_trials(df: pd.DataFrame, columns: Iterable[str] = ("episode", "trial", "choice", "reward")
                           ) -> pd.DataFrame:
    """Check a two-option choice trial table and return it sorted, with schema dtypes and a ``missed`` column.

    Rows flagged in an optional boolean ``missed`` column (or with ``choice == -1``) are kept, so that "the
    previous trial" keeps its meaning, with ``choice`` -1 and ``reward`` NaN; every analysis says how it
    treats them.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per trial with at least ``columns`` (:data:`CHOICE_COLUMNS` and the task's own).
    columns : iterable of str
        The columns the caller needs.

    Returns
    -------
    pandas.DataFrame
        A copy sorted by ``subject`` and ``manipulation`` (where present), ``episode`` and ``trial``, plus
        ``missed``.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If the table has no rows, a needed column is missing, a choice is not 0/1 on a non-missed trial, a non-missed reward is NaN,
        a needed task column holds NaN, or a (subject, manipulation, episode, trial) key repeats.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    columns = list(columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"choice trial table is missing column(s) {missing}; have {list(df.columns)}")
    require_rows(df, "the choice trial table")
    out = df.copy()
    missed = as_bool_column(out, "missed") if "missed" in out.columns else pd.Series(False, index=out.index)
    if "choice" in out.columns:
        if out["choice"].isna().any():
            raise ValueError(f"column 'choice' has {int(out['choice'].isna().sum())} NaN value(s); mark missed "
                             "trials with choice -1 or a 'missed' column")
        missed = missed | (out["choice"] == -1)
    out["missed"] = missed.to_numpy()
    for col in columns:
        if col in ("choice", "reward", "missed"):
            continue
        if out[col].isna().any():
            raise ValueError(f"column {col!r} has {int(out[col].isna().sum())} missing (NaN) value(s)")
    for col in columns:
        if col in CHOICE_COLUMNS:
            if col == "choice":
                out[col] = as_int_column(out.assign(choice=out[col].where(~out["missed"], -1)), col)
            elif col == "reward":
                out[col] = as_float_column(out.assign(reward=out[col].where(~out["missed"], np.nan)), col)
            elif CHOICE_COLUMNS[col][0] == "int64":
                out[col] = as_int_column(out, col)
            else:
                out[col] = out[col].astype(CHOICE_COLUMNS[col][0])
    ok = ~out["missed"]
    if "choice" in columns and not out.loc[ok, "choice"].isin([0, 1]).all():
        bad = sorted(set(out.loc[ok, "choice"]) - {0, 1})
        raise ValueError(f"column 'choice' must be 0 (left) or 1 (right) on non-missed trials, found {bad}")
    if "reward" in columns and out.loc[ok, "reward"].isna().any():
        raise ValueError(f"column 'reward' is NaN on {int(out.loc[ok, 'reward'].isna().sum())} non-missed trial(s)")
    keys = [k for k in ("subject", "manipulation", "episode", "trial") if k in out.columns]
    dup = out.duplicated(keys)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} row(s) repeat a ({', '.join(keys)}) key")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def check_activations_source(obj, function: str, paths: bool = True) -> None:
    """Refuse what is neither an activations dataset nor (where ``paths``) a run that holds one, naming
    ``function``.

    Parameters
    ----------
    obj : object
        What a user passed.
    function : str
        The analysis, for the message.
    paths : bool
        Whether a :class:`~metarl_neuro.run.Run` is accepted too.

    Raises
    ------
    TypeError
        For a DataFrame (the trial table given where the activations are needed), a path (the analyses read no
        file: ``Run.load(path).activations``) or any other type.
    """
    import os

    import xarray as xr

    ok = isinstance(obj, xr.Dataset) or (paths and hasattr(obj, "activations") and not isinstance(obj, pd.DataFrame))
    if ok:
        return
    wanted = "the activations (xarray.Dataset, Run.activations) or the Run" if paths \
        else "the activations dataset (xarray.Dataset, e.g. Run.load(folder).activations)"
    hint = "; a DataFrame is a trial table, which holds no LSTM activations" if isinstance(obj, pd.DataFrame) else ""
    if isinstance(obj, (str, os.PathLike)):
        hint = f"; the analyses take data, not a path: Run.load({str(obj)!r}).activations (metarl_neuro.run)"
    raise TypeError(f"{function} needs {wanted}, got {type(obj).__name__}{hint}")
