"""Numbers across seeds: a reproduction's mean, SEM and 95% CI over independently trained agents.

The paper's figures are means over seeds (n = 8 in Wang et al. 2018, Figs. 3d and 5c): each seed is one
observation, and the interval is over seeds, not over episodes within a seed. It is Student's t interval
(scipy.stats) for an unbounded number; for a number with bounds (a probability in [0, 1], a percentage in
[0, 100]) it is the percentile bootstrap of the mean over seeds (:func:`scipy.stats.bootstrap`, 9,999 resamples,
seeded), which stays inside the bounds: the t interval of P(stay) 0.999 and 0.67 over 2 seeds ran to 2.9.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["across_seeds", "bounds_for", "curve_across_seeds"]

#: resamples of the bootstrap interval of a bounded metric
N_RESAMPLES = 9999


def bounds_for(metric: str, bounds: dict | None) -> tuple[float, float] | None:
    """The ``(lower, upper)`` range of ``metric`` from ``bounds`` (metric name or glob pattern -> range, e.g.
    ``{"trial_*": (0, 100)}``), or None for an unbounded metric.

    Parameters
    ----------
    metric : str
        A metric name of a per-seed summary or a learning curve.
    bounds : dict or None
        Metric name or ``fnmatch`` glob pattern -> ``(lower, upper)``; the first match wins.

    Returns
    -------
    tuple of float or None
        The metric's ``(lower, upper)``, or None where no key matches (or ``bounds`` is None).

    Examples
    --------
    >>> bounds_for("trial_3", {"trial_*": (0, 100)}), bounds_for("gap", {"trial_*": (0, 100)})
    ((0, 100), None)
    """
    for pattern, rng in (bounds or {}).items():
        if fnmatchcase(metric, pattern):
            return rng
    return None


def _interval(values: np.ndarray, level: float, bounded: tuple[float, float] | None = None) -> dict:
    n = len(values)
    mean = float(np.mean(values)) if n else float("nan")
    sem = float(stats.sem(values)) if n > 1 else float("nan")
    sd = float(np.std(values, ddof=1)) if n > 1 else float("nan")
    out = {"n": n, "mean": mean, "sd": sd, "sem": sem}
    if bounded is None:
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sem if n > 1 else float("nan")
        return {**out, "ci_lo": mean - half, "ci_hi": mean + half, "interval": "t"}
    lo_b, hi_b = bounded
    outside = values[(values < lo_b) | (values > hi_b)]
    if len(outside):
        raise ValueError(f"value(s) {outside[:3].tolist()} lie outside the metric's range [{lo_b}, {hi_b}]")
    if n < 2:
        lo = hi = float("nan")
    elif sd == 0:  # every seed the same: the bootstrap distribution is one point
        lo = hi = mean
    else:
        res = stats.bootstrap((values,), np.mean, confidence_level=level, method="percentile",
                              n_resamples=N_RESAMPLES, rng=np.random.default_rng(0))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return {**out, "ci_lo": lo, "ci_hi": hi, "interval": "bootstrap"}


def across_seeds(per_seed: pd.DataFrame, metrics: list[str] | None = None, level: float = 0.95,
                 bounds: dict | None = None) -> pd.DataFrame:
    """Mean, SD, SEM and confidence interval over seeds of each metric: Student's t, or for a metric with bounds
    the percentile bootstrap of the mean, which stays inside them.

    Parameters
    ----------
    per_seed : pandas.DataFrame
        One row per seed (a ``seed`` column, int) and one numeric column per metric; NaN where a seed has no
        value (that seed is left out of that metric's n).
    metrics : list of str, optional
        Columns to summarise (default: every numeric column but ``seed``).
    level : float
        Confidence level of the interval, in (0, 1) (default 0.95).
    bounds : dict, optional
        Metric name or glob pattern -> ``(lower, upper)``: the metrics that are probabilities, proportions or
        percentages (an :class:`~metarl_neuro.experiments.Experiment`'s ``bounded``).

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``metric``, ``n`` (seeds with a value), ``mean``, ``sd``, ``sem``, ``ci_lo``, ``ci_hi``
        (NaN for n < 2), ``interval`` (``"t"``: Student's t with n - 1 degrees of freedom; ``"bootstrap"``: the
        percentile bootstrap of the mean, :func:`scipy.stats.bootstrap` with 9,999 resamples, seeded, for a
        bounded metric; the mean itself where every seed has the same value) and ``values`` (the per-seed values,
        a list in seed order).

    Raises
    ------
    ValueError
        If ``seed`` is missing, a seed repeats, a metric column is missing or not numeric, a bounded metric has a
        value outside its bounds, or ``level`` is not in (0, 1).

    Examples
    --------
    >>> t = across_seeds(pd.DataFrame({"seed": [0, 1, 2], "p_stay": [0.999, 0.98, 0.6], "z": [1.0, 2.0, 3.0]}),
    ...                  bounds={"p_*": (0, 1)})
    >>> t[["metric", "interval"]].values.tolist(), bool(t["ci_hi"].iloc[0] <= 1)
    ([['p_stay', 'bootstrap'], ['z', 't']], True)
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
        rows.append({"metric": m, **_interval(values[~np.isnan(values)], level, bounds_for(m, bounds)),
                     "values": values.tolist()})
    return pd.DataFrame(rows, columns=["metric", "n", "mean", "sd", "sem", "ci_lo", "ci_hi", "interval", "values"])


def curve_across_seeds(evaluations: pd.DataFrame, metric: str, x: str = "episodes", level: float = 0.95,
                       every: int | None = None, bounds: tuple[float, float] | None = None) -> pd.DataFrame:
    """A learning curve's mean and confidence interval over seeds at each training stage (t, or the percentile
    bootstrap of the mean for a metric with ``bounds``, as :func:`across_seeds`).

    Parameters
    ----------
    evaluations : pandas.DataFrame
        The run folders' ``evaluations.csv`` stacked, with a ``seed`` column (one row per seed x test during
        training), ``x`` and ``metric``.
    metric, x : str
        The metric (e.g. ``gap``, ``correct_2_6``) and the training stage (default ``episodes``).
    level : float
        Confidence level of the interval (default 0.95).
    every : int, optional
        The tests' spacing in ``x`` (``--eval-every``): stages are rounded to its nearest multiple before
        grouping, since seeds whose episodes end at different steps are tested a few episodes apart (Harlow).
    bounds : (float, float), optional
        The metric's range (a probability, a percentage): the interval is then the bootstrap one, inside it.

    Returns
    -------
    pandas.DataFrame
        One row per value of ``x``: ``x``, ``n`` (seeds tested there), ``mean``, ``sd``, ``sem``, ``ci_lo``,
        ``ci_hi``, ``interval``.

    Raises
    ------
    ValueError
        If a column is missing, or ``every`` is not positive.

    Examples
    --------
    The stay-pattern gap of three seeds, tested at 1,000 and 2,000 training episodes:

    >>> import pandas as pd
    >>> evaluations = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "episodes": [1000, 2000] * 3,
    ...                             "gap": [0.10, 0.31, 0.12, 0.30, 0.08, 0.33]})
    >>> curve = curve_across_seeds(evaluations, "gap")
    >>> print(curve[["episodes", "n", "mean", "ci_lo", "ci_hi"]].round(3).to_string(index=False))
     episodes  n  mean  ci_lo  ci_hi
         1000  3 0.100  0.050  0.150
         2000  3 0.313  0.275  0.351
    """
    if every is not None and every < 1:
        raise ValueError(f"every must be a positive number of {x}, got {every}")
    missing = sorted({"seed", metric, x} - set(evaluations.columns))
    if missing:
        raise ValueError(f"evaluations has no column(s) {missing}")
    stage = evaluations[x] if not every else (evaluations[x] / every).round().astype("int64") * every
    rows = [{x: k, **_interval(g[metric].dropna().to_numpy(dtype=float), level, bounds)}
            for k, g in evaluations.groupby(stage.rename(x))]
    return pd.DataFrame(rows, columns=[x, "n", "mean", "sd", "sem", "ci_lo", "ci_hi", "interval"])
