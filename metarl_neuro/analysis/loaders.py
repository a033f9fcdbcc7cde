"""Loaders of human and animal two-step data into the trial table (``metarl_neuro.schema``).

Missed trials are kept and flagged (``missed`` column), never silently dropped, so that "previous trial"
keeps its meaning; each analysis states how it treats them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from metarl_neuro.schema import as_float_column, as_int_column, require_rows, validate_trials

__all__ = ["from_hbayesdm", "from_kool2016", "from_nussenbaum2020", "to_trials"]

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

    References
    ----------
    Ahn, W.-Y., Haines, N. & Zhang, L. (2017). Revealing neurocomputational mechanisms of reinforcement learning and
    decision-making with the hBayesDM package. *Comput. Psychiatry* 1, 24-57.

    Examples
    --------
    hBayesDM's layout, with trial 3 dropped (a gap in ``trial``): it comes back as a missed trial.

    >>> import pandas as pd
    >>> raw = pd.DataFrame({"subjID": [1, 1, 1], "trial": [1, 2, 4], "level1_choice": [1, 2, 2],
    ...                     "level2_choice": [2, 3, 1], "reward": [1, 0, 1]})
    >>> trials = from_hbayesdm(raw)
    >>> columns = ["subject", "trial", "choice1", "state2", "common", "choice2", "reward", "missed"]
    >>> print(trials[columns].to_string(index=False))
    subject  trial  choice1  state2  common  choice2  reward  missed
          1      0        0       0    True        1     1.0   False
          1      1        1       1    True        0     0.0   False
          1      2       -1      -1   False       -1     NaN    True
          1      3        1       0   False        0     1.0   False
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

    Examples
    --------
    A lab's 1/2-coded choices and planets, 0 for no response:

    >>> import pandas as pd
    >>> raw = pd.DataFrame({"subj": ["s1"] * 4, "stage1": [1, 2, 2, 0], "planet": [1, 1, 2, 0],
    ...                     "stage2": [2, 1, 1, 0], "coins": [1, 0, 1, 0]})
    >>> t = to_trials(raw, {"subject": "subj", "choice1": "stage1", "state2": "planet", "choice2": "stage2",
    ...                     "reward": "coins"}, codes={c: {1: 0, 2: 1} for c in ("choice1", "state2", "choice2")},
    ...               missed=(0,))
    >>> print(t[["trial", "choice1", "state2", "common", "choice2", "reward", "missed"]].to_string(index=False))
     trial  choice1  state2  common  choice2  reward  missed
         0        0       0    True        1     1.0   False
         1        1       0   False        0     0.0   False
         2        1       1    True        0     1.0   False
         3       -1      -1   False       -1     NaN    True
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
    require_rows(df, "the data")
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


_KOOL = ("choice1", "choice2", "state2", "win", "stim_1_left")


def from_kool2016(df: pd.DataFrame, subject: str | None = None) -> pd.DataFrame:
    """Trial table from the layout of Kool, Cushman & Gershman 2016's two-step data (PLoS Comput Biol
    12:e1005090; github.com/wkool/tradeoffs, the Daw paradigm).

    One row per trial: ``choice1`` and ``choice2`` in {1, 2} with -1 for a missed choice, ``state2`` in
    {1, 2} (state 1 is the one commonly reached from choice 1: their likelihood counts ``state2 == choice1``
    as the majority transition), ``win`` (the trial's reward or points), ``stim_1_left`` in {1, 2} (the
    first-stage option shown on the left), and optional ``rt1``, ``rt2`` (seconds; -1 for a time-out) and
    ``subject``. A trial with either choice missed is a missed trial, as their likelihood skips it
    (``MB_MF_daw_rllik.m``: ``if choice1 == -1 || choice2 == -1, continue``).

    Parameters
    ----------
    df : pandas.DataFrame
        Their data, one row per trial, in trial order within subject.
    subject : str, optional
        Subject name when ``df`` holds one subject and has no ``subject`` column.

    Returns
    -------
    pandas.DataFrame
        Validated trial table: 0-based ``choice1``, ``state2``, ``choice2``, ``reward`` = ``win``, ``common`` =
        ``choice1 == state2``, ``missed``, ``stim_left`` (0/1, the column the ``kool2016`` hybrid variant needs)
        and ``rt1``, ``rt2`` (NaN for a time-out) where given.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If a column is missing, there is neither a ``subject`` column nor ``subject=``, or a value lies
        outside its codes (the message names the column and the values).

    References
    ----------
    Kool, W., Cushman, F. A. & Gershman, S. J. (2016). When does model-based control pay off? *PLoS Comput. Biol.*
    12, e1005090.

    Examples
    --------
    Three trials of one subject in their layout, the last one a time-out:

    >>> import pandas as pd
    >>> raw = pd.DataFrame({"choice1": [1, 2, -1], "choice2": [2, 1, -1], "state2": [1, 1, -1], "win": [1, 0, 0],
    ...                     "stim_1_left": [1, 2, 1], "rt1": [512, 620, -1], "rt2": [380, 402, -1]})
    >>> trials = from_kool2016(raw, subject="s1")
    >>> print(trials[["subject", "trial", "choice1", "state2", "common", "choice2", "reward", "missed"]].to_string(index=False))
    subject  trial  choice1  state2  common  choice2  reward  missed
         s1      0        0       0    True        1     1.0   False
         s1      1        1       0   False        0     0.0   False
         s1      2       -1      -1   False       -1     NaN    True
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in _KOOL if c not in df.columns]
    if missing:
        raise ValueError(f"Kool et al. 2016 data is missing column(s) {missing}; have {list(df.columns)}")
    if "subject" not in df.columns and subject is None:
        raise ValueError("Kool et al. 2016 data has no 'subject' column: pass subject= (one subject per file)")
    d = df.copy()
    if "subject" not in d.columns:
        d["subject"] = str(subject)
    d["_missed"] = (d["choice1"] == -1) | (d["choice2"] == -1)
    for col in ("choice1", "choice2", "state2", "stim_1_left"):
        bad = ~d["_missed"] & ~d[col].isin([1, 2])
        if bad.any():
            raise ValueError(f"column {col!r} must be 1 or 2 on trials not missed (-1); found "
                             f"{sorted(pd.unique(d.loc[bad, col]).tolist())[:5]}")
    one_two = {1: 0, 2: 1}
    out = to_trials(
        d.assign(c1=np.where(d["_missed"], -1, d["choice1"]), c2=np.where(d["_missed"], -1, d["choice2"]),
                 s2=np.where(d["_missed"], -1, d["state2"])),
        {"subject": "subject", "choice1": "c1", "state2": "s2", "choice2": "c2", "reward": "win"},
        codes={"choice1": one_two, "state2": one_two, "choice2": one_two}, missed=(-1,))
    # to_trials sorts by subject and trial (its trial: the row order within subject), as here
    order = d.groupby("subject", sort=False).cumcount().to_numpy()
    extra = pd.DataFrame({"subject": d["subject"].astype(str).to_numpy(), "trial": order,
                          "stim_left": np.where(d["stim_1_left"].isin([1, 2]), d["stim_1_left"] - 1, -1)})
    for rt in ("rt1", "rt2"):
        if rt in d.columns:
            v = pd.to_numeric(d[rt], errors="coerce").to_numpy(dtype=float)
            extra[rt] = np.where(v == -1, np.nan, v)
    return out.merge(extra, on=["subject", "trial"], how="left", validate="one_to_one")


_NUSSENBAUM = ("subject_id", "trial", "choice_1", "choice_2", "state", "reward")


def from_nussenbaum2020(df: pd.DataFrame) -> pd.DataFrame:
    """Trial table from the layout of Nussenbaum et al. 2020's two-step data (Collabra: Psychology 6:17; after
    Decker et al. 2016).

    Columns ``subject_id``, ``trial`` (1-based), ``choice_1`` and ``choice_2`` in {1, 2} with 0 for a missed
    choice, ``state`` in {2, 3} (2: the planet commonly reached from choice 1), ``reward``. The authors' files
    are read as they are (``online_data_for_matlab.txt`` of github.com/hartleylabnyu/online_two_step_replication,
    and Decker et al. 2016's ``choice1``, ``choice2``, ``state`` and ``money`` in this layout), with the
    authors' conventions (``mbmf_driver.m``):

    - a trial is missed where either choice is 0 (or NaN) or ``state`` is 0: their fits drop ``choice1 == 0 |
      choice2 == 0 | state == 0``; 25 rows of the online file have both choices and state 0;
    - ``choice1_recorded`` keeps the first-stage choice of a trial missed only later (-1 where there was none):
      the authors carry trial 9's first-stage choice (8's if 9 had none) into the stickiness of the first
      modelled trial whether or not trial 9 was completed, and ``start_values="reset"`` of the hybrid fits
      reads it;
    - a NaN ``reward`` on a subject's last trial, with both choices made, is a completed choice whose outcome
      went unrecorded (Decker et al. 2016's subject 1895): its choices enter the likelihood, as in the
      authors' fits, and no analysis reads its reward.

    Their analyses drop trials 1-9 (Decker et al. 2016); this loader keeps every trial, so the choice a later
    trial's stickiness refers to is there: fit with ``start_trial=9, start_values="reset"``
    (:func:`~metarl_neuro.analysis.fit_hybrid`), and count stays as their ``stay`` column does, from trial 10
    and across missed trials, with ``stay_probability(trials, min_trial=9, bridge_missed=True)``
    (:func:`~metarl_neuro.analysis.stay_probability`).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per trial, every trial of each subject (a missed one with choice 0).

    Returns
    -------
    pandas.DataFrame
        Validated trial table (0-based ``trial``, ``choice1``, ``state2``, ``choice2``; ``common`` =
        ``choice1 == state2``; ``missed``; ``choice1_recorded``).

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If the frame has no rows, a column is missing, ``trial`` is not a positive integer, repeats or skips a
        number within a subject, a choice or state lies outside its codes on a trial not missed, or a reward is
        NaN on a completed trial that is not its subject's last (the message names the column).

    References
    ----------
    Decker, J. H., Otto, A. R., Daw, N. D. & Hartley, C. A. (2016). From creatures of habit to goal-directed
    learners. Psychological Science 27:848-858.

    Nussenbaum, K., Scheuplein, M., Phaneuf, C. V., Evans, M. D. & Hartley, C. A. (2020). Moving developmental
    research online. Collabra: Psychology 6:17.

    Examples
    --------
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import from_nussenbaum2020
    >>> raw = pd.DataFrame({"subject_id": "sub1", "trial": [1, 2, 3], "choice_1": [1, 2, 2],
    ...                     "choice_2": [2, 0, 1], "state": [2, 3, 0], "reward": [1, 0, 1]})
    >>> from_nussenbaum2020(raw)[["trial", "choice1", "missed", "choice1_recorded"]]
       trial  choice1  missed  choice1_recorded
    0      0        0   False                 0
    1      1       -1    True                 1
    2      2       -1    True                 1
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in _NUSSENBAUM if c not in df.columns]
    if missing:
        raise ValueError(f"Nussenbaum et al. 2020 data is missing column(s) {missing}; have {list(df.columns)}")
    require_rows(df, "the data")
    trial = as_int_column(df, "trial")
    if (trial < 1).any():
        raise ValueError("'trial' must be 1-based (positive integers)")
    # the authors' files hold every trial (a missed one with choice 0): a skipped number is a malformed file, and
    # sorting by it would silently move rows (trial 10**9 between trials 1 and 2 once became the last)
    for subj, t in trial.groupby(df["subject_id"].to_numpy()):
        srt = np.sort(t.to_numpy())
        gaps = np.flatnonzero(np.diff(srt) > 1)
        if gaps.size:
            k = gaps[0]
            raise ValueError(f"subject {subj!r}: 'trial' skips from {srt[k]} to {srt[k + 1]}; the layout holds every "
                             "trial, a missed one with choice 0: check the file")
    none = lambda col: df[col].isna() | (df[col] == 0)
    missed = none("choice_1") | none("choice_2") | none("state")  # mbmf_driver.m: choice1, choice2 or state 0
    for col, allowed in (("choice_1", [1, 2]), ("choice_2", [1, 2]), ("state", [2, 3])):
        bad = ~none(col) & ~df[col].isin(allowed)
        if bad.any():
            raise ValueError(f"column {col!r} must be in {allowed} (0 where missed); found "
                             f"{sorted(pd.unique(df.loc[bad, col]).tolist())[:5]}")
    d = df.assign(trial0=trial - 1, c1=np.where(missed, 0, df["choice_1"]), c2=np.where(missed, 0, df["choice_2"]),
                  s2=np.where(missed, 0, df["state"]))
    out = to_trials(d, {"subject": "subject_id", "trial": "trial0", "choice1": "c1", "state2": "s2",
                        "choice2": "c2", "reward": "reward"},
                    codes={"choice1": {1: 0, 2: 1}, "choice2": {1: 0, 2: 1}, "state2": {2: 0, 3: 1}}, missed=(0,))
    recorded = pd.DataFrame({"subject": df["subject_id"].astype(str).to_numpy(), "trial": (trial - 1).to_numpy(),
                             "choice1_recorded": np.where(none("choice_1"), 0, df["choice_1"]).astype(np.int64) - 1})
    return out.merge(recorded, on=["subject", "trial"], how="left", validate="one_to_one")
