"""Loaders of human and animal two-step data into the trial table (``metarl_neuro.schema``).

Missed trials are kept and flagged (``missed`` column), never silently dropped, so that "previous trial"
keeps its meaning; each analysis states how it treats them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from metarl_neuro.schema import as_float_column, as_int_column, validate_trials

__all__ = ["from_hbayesdm", "to_trials"]

_HBAYESDM = ("subjID", "level1_choice", "level2_choice", "reward")


def from_hbayesdm(df: pd.DataFrame) -> pd.DataFrame:
    """Trial table from hBayesDM's two-step format (``ts_par4/6/7``; Ahn, Haines & Zhang 2017).

    Columns ``subjID``, ``level1_choice`` in {1, 2}, ``level2_choice`` in {1..4}, ``reward``, optional
    ``trial`` (1-based; gaps are dropped trials). Options 1-2 of ``level2_choice`` belong to the state
    commonly reached from level-1 choice 1 (our state 0), options 3-4 to the other (state 1). Trials missing
    from a gap in ``trial`` are re-inserted as missed trials; ``common`` is ``choice1 == state2``.

    Parameters
    ----------
    df : pandas.DataFrame
        hBayesDM data, one row per trial.

    Returns
    -------
    pandas.DataFrame
        Trial table with ``episode`` 0, 0-based ``trial``, ``missed``, and ``reward_prob_0..3`` where the
        input has ``A1prob, A2prob, B1prob, B2prob``.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If the frame has no rows, a column is missing, a choice lies outside its set, ``reward`` is NaN, text
        or infinite, or ``trial`` repeats, is not a positive integer, or leaves more trials out than the
        subject has (re-inserting them as missed trials would mostly invent rows: one trial number of 1e7 once
        gave a 10-million-row table).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in _HBAYESDM if c not in df.columns]
    if missing:
        raise ValueError(f"hBayesDM two-step data is missing column(s) {missing}")
    if df.empty:
        raise ValueError("hBayesDM two-step data has no rows (no trial)")
    df = df.assign(reward=as_float_column(df, "reward"))
    bad1 = ~df["level1_choice"].isin([1, 2])
    if bad1.any():
        raise ValueError(f"'level1_choice' must be 1 or 2; found {sorted(pd.unique(df.loc[bad1, 'level1_choice']).tolist())[:5]}")
    bad2 = ~df["level2_choice"].isin([1, 2, 3, 4])
    if bad2.any():
        raise ValueError(f"'level2_choice' must be 1-4; found {sorted(pd.unique(df.loc[bad2, 'level2_choice']).tolist())[:5]}")
    if df["reward"].isna().any():
        raise ValueError("'reward' has missing (NaN) values; hBayesDM data has no missed trials")
    out = pd.DataFrame(
        {
            "subject": df["subjID"].astype(str).to_numpy(),
            "episode": 0,
            "choice1": df["level1_choice"].to_numpy() - 1,
            "state2": (df["level2_choice"].to_numpy() > 2).astype(np.int64),
            "choice2": (df["level2_choice"].to_numpy() - 1) % 2,
            "reward": df["reward"].astype(float).to_numpy(),
        }
    )
    out["common"] = out["choice1"] == out["state2"]
    probs = ("A1prob", "A2prob", "B1prob", "B2prob")
    if all(p in df.columns for p in probs):
        for k, p in enumerate(probs):
            out[f"reward_prob_{k}"] = df[p].astype(float).to_numpy()
    if "trial" in df.columns:
        trial = as_int_column(df, "trial").to_numpy()
        if np.any(trial < 1):
            raise ValueError("'trial' must hold positive integers (1-based)")
        out["trial"] = trial - 1
    else:
        out["trial"] = out.groupby("subject").cumcount()
    if out.duplicated(["subject", "trial"]).any():
        raise ValueError("a (subjID, trial) pair repeats")
    span = out.groupby("subject", sort=False)["trial"].agg(["max", "size"])
    holes = span["max"] + 1 - span["size"]
    if (holes > span["size"]).any():
        s = holes[holes > span["size"]].index[0]
        raise ValueError(f"subject {s!r} has {int(span.loc[s, 'size'])} trials but trial numbers up to "
                         f"{int(span.loc[s, 'max']) + 1}: re-inserting the {int(holes[s])} missing ones as missed trials "
                         "would invent most of its table; check its 'trial' column")
    # re-insert dropped trials (gaps in `trial`) as missed trials
    full = [pd.DataFrame({"subject": s, "trial": np.arange(g["trial"].max() + 1)}) for s, g in out.groupby("subject", sort=False)]
    out = pd.concat(full, ignore_index=True).merge(out.drop(columns="episode"), on=["subject", "trial"], how="left")
    out["missed"] = out["choice1"].isna()  # every row of the input has a choice
    out["episode"] = 0
    return validate_trials(out)


def to_trials(
    df: pd.DataFrame,
    columns: Mapping[str, str],
    codes: Mapping[str, Mapping] | None = None,
    missed: Iterable = (-1,),
) -> pd.DataFrame:
    """Trial table from another lab's format.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per trial.
    columns : mapping
        Trial-table column -> source column, for ``subject``, ``choice1``, ``state2``, ``choice2`` and
        ``reward`` (required) and ``episode``, ``trial``, ``common`` (optional: ``episode`` defaults to 0,
        ``trial`` to the row order within subject and episode, ``common`` to ``choice1 == state2``).
    codes : mapping, optional
        Trial-table column -> {source value: 0/1}, e.g. ``{"choice1": {1: 0, 2: 1}}`` for 1/2-coded choices.
    missed : iterable
        Source values of ``choice1``/``state2``/``choice2`` that mark a missed trial (NaN always does),
        e.g. ``(0,)`` where 0 means "no response". Missed trials are kept and flagged in ``missed``.

    Returns
    -------
    pandas.DataFrame
        The validated trial table.

    Raises
    ------
    ValueError
        If a required column is not mapped or absent from ``df``, or the recoded values fail
        :func:`metarl_neuro.schema.validate_trials` (e.g. a choice outside {0, 1} that is not a missed code,
        or a NaN reward on a trial not missed).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    if not isinstance(columns, Mapping):
        raise TypeError(f"columns= must be a mapping of trial-table column -> source column, got {type(columns).__name__}")
    need = ("subject", "choice1", "state2", "choice2", "reward")
    unmapped = [c for c in need if c not in columns]
    if unmapped:
        raise ValueError(f"columns= must map the trial-table column(s) {unmapped} to source columns")
    absent = [src for src in columns.values() if src not in df.columns]
    if absent:
        raise ValueError(f"source column(s) {absent} not in the data; have {list(df.columns)}")
    codes = dict(codes or {})
    stray = [c for c in codes if c not in columns]
    if stray:
        raise ValueError(f"codes= names column(s) {stray} that columns= does not map; it maps {list(columns)}")
    bad = [c for c, m in codes.items() if not isinstance(m, Mapping)]
    if bad:
        raise TypeError(f"codes[{bad[0]!r}] must be a mapping of source value -> code, got {type(codes[bad[0]]).__name__}")
    missed = list(missed)
    out = pd.DataFrame({dst: df[src].to_numpy() for dst, src in columns.items()})
    is_missed = np.zeros(len(out), bool)
    for col in ("choice1", "state2", "choice2"):
        raw = out[col]
        is_missed |= raw.isna().to_numpy() | raw.isin(missed).to_numpy()
    for col, mapping in codes.items():
        unknown = ~is_missed & ~out[col].isin(list(mapping))
        if unknown.any():
            raise ValueError(
                f"column {col!r} has value(s) {sorted(pd.unique(out.loc[unknown, col]).tolist())[:5]} that are neither in "
                f"codes[{col!r}] nor missed codes {missed}"
            )
        out[col] = out[col].map(lambda v, m=mapping: m.get(v, v))
    for col in ("choice1", "state2", "choice2"):
        bad = ~is_missed & ~out[col].isin([0, 1])
        if bad.any():
            raise ValueError(f"column {col!r} (source {columns[col]!r}) must be 0 or 1 after codes= on trials that are "
                             f"not missed; found {sorted(map(repr, pd.unique(out.loc[bad, col])))[:5]} (map them with "
                             f"codes=, or list them in missed=)")
    out["missed"] = is_missed
    out["subject"] = out["subject"].astype(str)
    if "episode" not in out:
        out["episode"] = 0
    if "trial" not in out:
        out["trial"] = out.groupby(["subject", "episode"]).cumcount()
    if "common" not in out:
        valid = ~out["missed"]
        out["common"] = False
        out.loc[valid, "common"] = out.loc[valid, "choice1"].astype(int) == out.loc[valid, "state2"].astype(int)
    return validate_trials(out)
