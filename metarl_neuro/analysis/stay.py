"""Stay probabilities of the two-step task (Daw et al. 2011, Fig. 2; Wang et al. 2018, Fig. 5b-c)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metarl_neuro.schema import check_int, validate_trials

__all__ = ["add_stay_columns", "stay_probability"]

_NEEDED = ("subject", "episode", "trial", "choice1", "common", "reward")


def add_stay_columns(trials: pd.DataFrame, bridge_missed: bool = False, min_trial: int = 0) -> pd.DataFrame:
    """Validate a trial table and add ``stay``, ``prev_rewarded``, ``prev_common`` and ``prev_choice1``.

    Within each subject and episode (rows sorted by ``trial``), "previous" means the previous trial, which
    must be in the table: trial numbers that skip (rows dropped instead of flagged ``missed``) are an error,
    unless ``bridge_missed``. Missed trials (``missed`` column) are excluded; the trial after a missed one has
    no valid previous trial unless ``bridge_missed`` is True, in which case the previous valid trial (the
    previous row present) is used. The first trial of each episode has no previous trial. Trials without a
    valid previous trial are dropped.

    Where the table has ``state2``, ``common`` must agree with it: the trial table's convention is that
    state 0 is the common state of choice 0 (``common == (choice1 == state2)`` on valid trials).

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table (``subject``, ``episode``, ``trial``, ``choice1``, ``common``, ``reward``, optional
        ``missed``).
    bridge_missed : bool
        Bridge missed trials (see above).
    min_trial : int
        Only trials with ``trial >= min_trial`` (0-based) are counted; earlier ones still serve as the previous
        trial. Nussenbaum et al. 2020 (after Decker et al. 2016) analyse trials 10 on (1-based): ``min_trial=9``.

    Returns
    -------
    pandas.DataFrame
        The valid trials with a valid previous trial, with ``stay`` (bool: ``choice1`` equals the previous
        ``choice1``), ``prev_rewarded`` (bool: previous ``reward > 0``), ``prev_common`` (bool) and
        ``prev_choice1`` (int).

    Raises
    ------
    ValueError
        As :func:`metarl_neuro.schema.validate_trials`; for an episode with a single valid trial; for trial
        numbers that skip within an episode (without ``bridge_missed``); or for a ``common`` that contradicts
        ``choice1`` and ``state2``.

    References
    ----------
    Nussenbaum, K., Scheuplein, M., Phaneuf, C. V., Evans, M. D. & Hartley, C. A. (2020). Moving developmental
    research online: comparing in-lab and web-based studies of model-based reinforcement learning. *Collabra:
    Psychology* 6, 17213.

    Decker, J. H., Otto, A. R., Daw, N. D. & Hartley, C. A. (2016). From creatures of habit to goal-directed
    learners: tracking the developmental emergence of model-based reinforcement learning. *Psychol. Sci.* 27,
    848-858.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"subject": "s1", "episode": 0, "trial": range(4), "choice1": [0, 0, 1, 1],
    ...                    "common": [True, False, True, True], "reward": [1.0, 0.0, 1.0, 0.0]})
    >>> print(add_stay_columns(df)[["trial", "choice1", "prev_rewarded", "prev_common", "stay"]].to_string(index=False))
     trial  choice1  prev_rewarded  prev_common  stay
         1        0           True         True  True
         2        1          False        False False
         3        1           True         True  True
    """
    check_int(min_trial, "min_trial", 0, " (a 0-based trial index)")
    has_state2 = isinstance(trials, pd.DataFrame) and "state2" in trials.columns
    df = validate_trials(trials, (*_NEEDED, "state2") if has_state2 else _NEEDED)
    if df.empty:
        raise ValueError("the trial table has no rows (no trial to analyse)")
    if has_state2:
        ok = ~df["missed"]
        wrong = ok & (df["common"] != (df["choice1"] == df["state2"]))
        if wrong.any():
            first = df[wrong].iloc[0]
            raise ValueError(
                f"column 'common' contradicts choice1 / state2 on {int(wrong.sum())} trial(s) (first: subject "
                f"{first['subject']!r}, episode {first['episode']}, trial {first['trial']}); the trial table's "
                "convention is that state 0 is the common state of choice 0: recode state2 (or common) to it")
    if not bridge_missed:
        step = df.groupby(["subject", "episode"], sort=False)["trial"].diff()
        skip = step.notna() & (step != 1)
        if skip.any():
            first = df[skip].iloc[0]
            raise ValueError(
                f"trial numbers skip within an episode ({int(skip.sum())} place(s); first: subject "
                f"{first['subject']!r}, episode {first['episode']}, trial {first['trial']} follows trial "
                f"{int(first['trial'] - step[skip].iloc[0])}): keep missed trials as rows flagged 'missed', or pass "
                "bridge_missed=True to compare with the previous trial present")
    df = df.assign(_row=np.arange(len(df)))
    valid = df[~df["missed"]]
    sizes = valid.groupby(["subject", "episode"], sort=False).size()
    if (sizes < 2).any():
        first = sizes[sizes < 2].index[0]
        raise ValueError(f"episode {first[1]!r} of subject {first[0]!r} has fewer than two valid trials; stay needs two")
    source = valid if bridge_missed else df
    g = source.groupby(["subject", "episode"], sort=False)
    prev = pd.DataFrame(
        {
            "prev_choice1": g["choice1"].shift(1),
            "prev_reward": g["reward"].shift(1),
            "prev_common": g["common"].shift(1),
            "prev_missed": g["missed"].shift(1),
        }
    )
    out = source.join(prev)
    out = out[~out["missed"] & out["prev_missed"].eq(False)].copy()  # NaN (no previous row) is not False
    out["prev_choice1"] = out["prev_choice1"].astype("int64")
    out["prev_rewarded"] = out["prev_reward"] > 0
    out["prev_common"] = out["prev_common"].astype(bool)
    out["stay"] = out["choice1"] == out["prev_choice1"]
    out = out[out["trial"] >= min_trial]
    if out.empty:
        raise ValueError(f"no trial at or after min_trial={min_trial} has a valid previous trial (the last trial is "
                         f"{int(df['trial'].max())})")
    return out.drop(columns=["_row", "prev_reward", "prev_missed"])


def stay_probability(trials: pd.DataFrame, by_subject: bool = False, bridge_missed: bool = False,
                     min_trial: int = 0) -> pd.DataFrame:
    """P(stay at the first stage) by previous reward x previous transition.

    A trial is a *stay* when its first-stage choice repeats that of the previous trial. Within each subject
    and episode, "previous" means the previous row (after sorting by ``trial``); the first trial of each
    episode has no previous trial and is not counted. Missed trials (``missed`` column) are excluded, and the
    trial after a missed one is not counted unless ``bridge_missed`` (then the previous valid trial is used).

    Parameters
    ----------
    trials : pandas.DataFrame
        One row per trial with columns ``subject``, ``episode``, ``trial`` (int), ``choice1`` (0/1),
        ``common`` (bool) and ``reward`` (float; rewarded means ``> 0``).
    by_subject : bool
        If True, return one row per subject and condition instead of the pooled table.
    bridge_missed : bool
        Compare a trial after a missed one with the last valid trial.
    min_trial : int
        Count only trials with ``trial >= min_trial`` (0-based; earlier ones still serve as the previous trial),
        e.g. 9 for Nussenbaum et al. 2020's trials 10 on.

    Returns
    -------
    pandas.DataFrame
        Pooled (default): 4 rows, ``rewarded`` (bool) x ``transition`` ("common"/"rare"), with ``p_stay``
        (mean over subjects of each subject's stay fraction), ``sem`` (SEM across subjects; NaN for one
        subject), ``n_subjects`` and ``n_trials``. With ``by_subject``: ``subject``, ``rewarded``,
        ``transition``, ``p_stay``, ``n_trials``.

    Raises
    ------
    ValueError
        If a column is missing or has NaN, ``choice1`` lies outside {0, 1}, ``common`` is not boolean, a
        trial key repeats, or an episode has a single trial.

    References
    ----------
    Daw, N. D. et al. (2011). Neuron 69, 1204, Fig. 2. Wang, J. X. et al. (2018). Nat. Neurosci. 21, 860,
    Fig. 5b-c.

    Examples
    --------
    >>> df = pd.DataFrame({"subject": "s", "episode": 0, "trial": range(5),
    ...                    "choice1": [0, 0, 1, 1, 1], "common": [True, True, False, True, True],
    ...                    "reward": [1.0, 0.0, 1.0, 0.0, 0.0]})
    >>> stay_probability(df)[["rewarded", "transition", "p_stay", "n_trials"]]
       rewarded transition  p_stay  n_trials
    0     False     common     0.5         2
    1     False       rare     NaN         0
    2      True     common     1.0         1
    3      True       rare     1.0         1
    """
    df = add_stay_columns(trials, bridge_missed, min_trial)
    df["transition"] = np.where(df["prev_common"], "common", "rare")
    df = df.rename(columns={"prev_rewarded": "rewarded"})
    cells = pd.MultiIndex.from_product(
        [pd.unique(df["subject"]), [False, True], ["common", "rare"]], names=["subject", "rewarded", "transition"]
    )
    per_subject = (
        df.groupby(["subject", "rewarded", "transition"])["stay"]
        .agg(p_stay="mean", n_trials="size")
        .reindex(cells)
        .fillna({"n_trials": 0})
        .astype({"n_trials": "int64"})
        .reset_index()
    )
    if by_subject:
        return per_subject
    pooled = (
        per_subject.groupby(["rewarded", "transition"])
        .agg(
            p_stay=("p_stay", "mean"),
            sem=("p_stay", "sem"),
            n_subjects=("p_stay", "count"),
            n_trials=("n_trials", "sum"),
        )
        .reset_index()
    )
    return pooled
