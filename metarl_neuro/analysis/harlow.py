"""Harlow learning-to-learn analyses (Harlow 1949; Wang et al. 2018, Fig. 6c)."""

from __future__ import annotations

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from metarl_neuro.schema import as_bool_column, as_int_column, check_level, require_rows

__all__ = ["harlow_binding", "harlow_performance", "harlow_strategy"]

_NEEDED = ("episode", "trial", "correct")


def harlow_performance(df: pd.DataFrame, by: str | None = "training_episodes", level: float = 0.95) -> pd.DataFrame:
    """Percent correct by trial number within the episode, per training stage (Wang et al. 2018, Fig. 6c).

    Parameters
    ----------
    df : pandas.DataFrame
        Harlow trial table (:func:`metarl_neuro.experiments.harlow_1d.harlow_trials`): ``episode``, ``trial`` (0-based),
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
        For no rows, a missing column, NaN (in a column read, or in the ``by`` or ``subject`` key), a ``correct``
        value other than True/False/0/1, a negative or non-integer
        episode or trial, a repeated (stage, subject, episode, trial) row, or ``level`` outside (0, 1).

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"episode": [0, 0, 0, 1, 1, 1], "trial": [0, 1, 2] * 2, "correct": [1, 1, 1, 0, 1, 1]})
    >>> print(harlow_performance(df, by=None)[["trial_number", "pct_correct", "n"]].to_string(index=False))
     trial_number  pct_correct  n
                1         50.0  2
                2        100.0  2
                3        100.0  2
    """
    level = check_level(level)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of trials, got {type(df).__name__}")
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        raise ValueError(f"Harlow trial table is missing column(s) {missing}; have {list(df.columns)}")
    require_rows(df, "the Harlow trial table")
    d = df.copy()
    if d[list(_NEEDED)].isna().any().any():
        raise ValueError("Harlow trial table has NaN in episode, trial or correct")
    keys = [by] if by is not None and by in d.columns else []
    for col in (*keys, *(["subject"] if "subject" in d.columns else [])):  # a NaN key would drop its episodes
        if d[col].isna().any():
            raise ValueError(f"Harlow trial table has {int(d[col].isna().sum())} NaN value(s) in {col!r}, which groups "
                             "its trials: each trial needs its value")
    d["correct"] = as_bool_column(d, "correct", " (True for a correct choice)")
    for col in ("episode", "trial"):
        d[col] = as_int_column(d, col)
    if (d["trial"] < 0).any():
        raise ValueError("column 'trial' must be 0-based and >= 0")
    unique = [*dict.fromkeys(c for c in (*keys, "training_episodes", "subject") if c in d.columns), "episode", "trial"]
    dup = d.duplicated(unique)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} row(s) repeat a ({', '.join(unique)}) key: each trial once")
    g = d.groupby([*keys, "trial"], sort=True)["correct"].agg(["sum", "count"]).reset_index()
    lo, hi = proportion_confint(g["sum"], g["count"], alpha=1 - level, method="wilson")
    out = g[keys].copy()
    out["trial_number"] = g["trial"] + 1
    out["pct_correct"] = 100 * g["sum"] / g["count"]
    out["ci_lo"], out["ci_hi"] = 100 * lo, 100 * hi
    out["n"] = g["count"]
    return out


def harlow_binding(df: pd.DataFrame, by: str | None = "training_episodes", per_side: int = 3,
                   level: float = 0.95) -> pd.DataFrame:
    """Accuracy that side counting cannot explain: trials after the first whose past sides leave both sides
    equally likely.

    In DeepMind Lab's PsychLab Harlow level (and our surrogate) the rewarded image's sides over an episode's
    6 trials are a shuffled {L, L, L, R, R, R} (``harlow_factory.lua``), so an agent that only counts the
    sides seen so far predicts the next one above chance: 60, 60, 70, 70 and 100% on trials 2-6 (72% on
    average), without telling the images apart. On a *balanced* trial (as many L as R still to come, e.g.
    trial 3 after L, R) counting is at 50%; accuracy there measures object-reward binding.

    Parameters
    ----------
    df : pandas.DataFrame
        Harlow trial table: ``episode``, ``trial`` (0-based), ``correct``, ``rewarded_side`` (0 / 1), and the
        ``by`` column where given (and ``subject`` where present: episodes are told apart by it).
    by : str or None
        Column of the training stage (default ``training_episodes``; None or absent: one group).
    per_side : int
        Trials per side in an episode (3: the level's 6 trials).
    level : float
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per stage: ``pct_correct`` (trials 2 on, percent), ``pct_counting`` (the side-counting
        observer's expected percent on the same trials), ``n``, and on the balanced trials ``pct_balanced``,
        ``ci_lo``, ``ci_hi``, ``n_balanced``. Only trials whose earlier trials are all in the table count.

    Raises
    ------
    ValueError
        For no rows, a missing column, NaN (in a column read, or in the ``by`` or ``subject`` key), a side other
        than 0 / 1, more than ``per_side`` trials on one side, ``correct`` not boolean, or no trial after an
        episode's first; TypeError if ``df`` is not a DataFrame.

    Examples
    --------
    >>> t = pd.DataFrame({"episode": [0] * 3, "trial": [0, 1, 2], "rewarded_side": [0, 1, 1],
    ...                   "correct": [False, True, True]})
    >>> harlow_binding(t, by=None)[["pct_correct", "pct_counting", "pct_balanced", "n_balanced"]].round(1).values.tolist()
    [[100.0, 55.0, 100.0, 1.0]]
    """
    harlow_performance(df, by=by, level=level)  # the shared column and value checks
    if "rewarded_side" not in df.columns:
        raise ValueError(f"Harlow trial table is missing column(s) ['rewarded_side']; have {list(df.columns)}")
    if not df["rewarded_side"].isin([0, 1]).all():
        raise ValueError("column 'rewarded_side' must be 0 (left) or 1 (right)")
    keys, episode_keys, d = _in_episode_order(df, by)
    g = d.groupby(episode_keys, sort=False)
    left_before = g["rewarded_side"].transform(lambda s: (s == 0).cumsum().shift(fill_value=0))
    right_before = g["rewarded_side"].transform(lambda s: (s == 1).cumsum().shift(fill_value=0))
    complete = d["trial"] == g.cumcount()  # every earlier trial of the episode is in the table
    if ((left_before + (d["rewarded_side"] == 0) > per_side) | (right_before + (d["rewarded_side"] == 1) > per_side)).any():
        raise ValueError(f"an episode has more than per_side={per_side} trials on one side")
    a, b = per_side - left_before, per_side - right_before
    d["counting"] = a.combine(b, max) / (a + b)
    d["balanced"] = a == b
    later = d[complete & (d["trial"] >= 1)]
    if later.empty:
        raise ValueError("harlow_binding needs trials after the first of an episode (trial >= 1, every earlier trial "
                         "in the table); this table has none")
    rows = []
    for row, x in _stages(later, keys):
        bal = x[x["balanced"]]
        p, lo, hi = _wilson(bal["correct"].sum(), len(bal), level)
        row.update(pct_correct=100 * x["correct"].mean(), pct_counting=100 * x["counting"].mean(), n=len(x),
                   pct_balanced=100 * p, ci_lo=100 * lo, ci_hi=100 * hi, n_balanced=len(bal))
        rows.append(row)
    return pd.DataFrame(rows)


def harlow_strategy(df: pd.DataFrame, by: str | None = "training_episodes", level: float = 0.95) -> pd.DataFrame:
    """What a Harlow learner's choices follow on trials 2 on: the object's last outcome, or a side.

    Harlow (1950)'s error-factor analysis of learning sets in its two plainest terms. An agent that has bound
    objects to reward repeats the object that was just rewarded (*win-stay*) and leaves the one that was not
    (*lose-shift*): both near 1. One with a *position habit* chooses one side whatever the objects: the side it
    prefers near 1, and since the rewarded object's side is drawn afresh each trial, win-stay and lose-shift at
    0.5. The rewarded object is fixed within an episode, so win-stay is P(correct | the previous trial correct)
    and lose-shift P(correct | the previous trial incorrect).

    Parameters
    ----------
    df : pandas.DataFrame
        Harlow trial table: ``episode``, ``trial`` (0-based), ``correct`` (bool), ``choice`` (the side chosen:
        0 left, 1 right), and the ``by`` column where given (and ``subject`` where present).
    by : str or None
        Column of the training stage (default ``training_episodes``; None or absent: one group).
    level : float
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per stage: ``win_stay`` and ``lose_shift`` (proportions, with ``win_stay_lo`` / ``_hi`` and
        ``lose_shift_lo`` / ``_hi``, and their trial counts ``n_win``, ``n_loss``), ``position_habit`` (the share
        of choices on the side chosen more often, 0.5-1), ``side_stay`` (P(the same side as on the previous
        trial)) and ``n`` (trials 2 on whose previous trial is in the table).

    Raises
    ------
    ValueError
        For no rows, a missing column, NaN, ``choice`` other than 0 / 1, ``correct`` not boolean, or no trial
        after an episode's first; TypeError if ``df`` is not a DataFrame.

    Examples
    --------
    >>> t = pd.DataFrame({"episode": [0] * 4, "trial": [0, 1, 2, 3], "choice": [1, 1, 1, 1],
    ...                   "correct": [True, False, True, False]})
    >>> harlow_strategy(t, by=None)[["win_stay", "lose_shift", "position_habit"]].values.tolist()
    [[0.0, 1.0, 1.0]]
    """
    harlow_performance(df, by=by, level=level)  # the shared column and value checks
    if "choice" not in df.columns:
        raise ValueError(f"Harlow trial table is missing column(s) ['choice']; have {list(df.columns)}")
    choice = as_int_column(df, "choice")
    if not choice.isin([0, 1]).all():
        raise ValueError("column 'choice' must be the side chosen, 0 (left) or 1 (right)")
    keys, episode_keys, d = _in_episode_order(df.assign(choice=choice.to_numpy()), by)
    prev = d.groupby(episode_keys, sort=False)[["trial", "correct", "choice"]].shift(1)
    follows = prev["trial"].eq(d["trial"] - 1)  # the trial before is in the table
    if not follows.any():
        raise ValueError("harlow_strategy needs trials after the first of an episode, with the trial before in the "
                         "table; this table has none")
    later = d[follows].assign(prev_correct=prev.loc[follows, "correct"], prev_choice=prev.loc[follows, "choice"])
    rows = []
    for row, x in _stages(later, keys):
        won = x["prev_correct"].astype(bool)
        for name, hits, n in (("win_stay", x.loc[won, "correct"].sum(), won.sum()),
                              ("lose_shift", x.loc[~won, "correct"].sum(), (~won).sum())):
            row[name], row[f"{name}_lo"], row[f"{name}_hi"] = _wilson(hits, n, level)
        right = x["choice"].mean()
        row.update(n_win=int(won.sum()), n_loss=int((~won).sum()), position_habit=max(right, 1 - right),
                   side_stay=float((x["choice"] == x["prev_choice"]).mean()), n=len(x))
        rows.append(row)
    return pd.DataFrame(rows)


def _in_episode_order(df: pd.DataFrame, by: str | None) -> tuple[list, list, pd.DataFrame]:
    """The stage keys (``[by]`` where given and present, else none), the keys that tell episodes apart (stage,
    ``subject`` where present, ``episode``), and a copy of ``df`` sorted by them and ``trial``, with a fresh index
    and ``correct`` as bool."""
    keys = [by] if by is not None and by in df.columns else []
    episode_keys = [*keys, *(["subject"] if "subject" in df.columns else []), "episode"]
    d = df.sort_values([*episode_keys, "trial"], kind="stable").reset_index(drop=True)
    d["correct"] = d["correct"].astype(bool)
    return keys, episode_keys, d


def _stages(rows: pd.DataFrame, keys: list):
    """Each training stage's rows, with the stage's key values as a dict to start its output row (one group, and
    an empty dict, without keys)."""
    for stage, x in (rows.groupby(keys, sort=True) if keys else [((), rows)]):
        yield dict(zip(keys, stage if isinstance(stage, tuple) else (stage,))), x


def _wilson(hits, n, level: float) -> tuple[float, float, float]:
    """Proportion ``hits / n`` and its Wilson interval at ``level``; all three NaN where ``n`` is 0."""
    if not n:
        return float("nan"), float("nan"), float("nan")
    lo, hi = proportion_confint(int(hits), int(n), alpha=1 - level, method="wilson")
    return hits / n, lo, hi
