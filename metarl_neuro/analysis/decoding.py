"""LSTM activations as data: decoding, unit tuning and population PCA (Wang et al. 2018, Figs. 1e-f, 2e, 4c).

Every function takes the activations ``xarray.Dataset`` of a run (``Run.activations``; DESIGN.md, "Activations
dataset"), or the :class:`~metarl_neuro.run.Run` itself, which reads it; none opens a file. Each reads ``h`` at
one step of each trial: ``at="trial_start"`` (the first step of the trial: the state in which the first-stage choice is made) or
``at="outcome"`` (the step whose reward is the trial's outcome). Trial variables about the *previous* trial
(``prev_*``) are defined from trial 1 on; trial 0 of each episode is left out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
import xarray as xr
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, cross_val_score, permutation_test_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.multitest import multipletests

from metarl_neuro.schema import check_activations_source

__all__ = ["CHOICE_TARGETS", "CHOICE_TASK_TARGETS", "TWO_STEP_TARGETS", "UnitTuning", "decode_hidden", "population_pca", "trial_states", "unit_tuning"]

#: default decoding targets of the two-step task -> "categorical" or "continuous"
TWO_STEP_TARGETS = {
    "prev_reward": "categorical",
    "prev_choice": "categorical",
    "prev_transition": "categorical",
    "prev_reward_x_transition": "categorical",
    "better_state": "categorical",
    "value": "continuous",
}
#: default decoding targets of the fixation / left / right tasks (Wang 2018 Sims 1-3, 6)
CHOICE_TARGETS = {"prev_reward": "categorical", "prev_choice": "categorical", "value": "continuous"}
#: task variables of those tasks, decoded too where the dataset has them (read during the trial)
CHOICE_TASK_TARGETS = {"volatile": "categorical", "rewarded_side": "categorical", "p_risky": "categorical"}
_COMMON = ("h", "active", "trial", "trial_end", "outcome", "value")
_KIND_NEEDS = {"two-step": ("choice1", "common", "reward_prob_0"), "choice": ("choice", "valid")}


def _dataset(run_or_dataset) -> xr.Dataset:
    """The activations dataset: given, or a Run's (the Run reads its file; this module reads none)."""
    check_activations_source(run_or_dataset, "this analysis of the LSTM activations")
    ds = run_or_dataset if isinstance(run_or_dataset, xr.Dataset) else run_or_dataset.activations
    missing = [k for k in _COMMON if k not in ds.variables]
    if not missing and _kind(ds) is None:
        missing = [f"{' + '.join(v)} ({k})" for k, v in _KIND_NEEDS.items()]  # neither task's variables
    if missing:
        raise ValueError(f"activations dataset lacks {missing}; expected the DESIGN.md activations dataset")
    return ds


def _kind(ds: xr.Dataset) -> str | None:
    """``"two-step"`` or ``"choice"`` (fixation / left / right tasks) from the dataset's task variables."""
    for kind, needs in _KIND_NEEDS.items():
        if all(k in ds.variables for k in needs):
            return kind
    return None


def _targets(ds: xr.Dataset) -> dict:
    if _kind(ds) == "two-step":
        return dict(TWO_STEP_TARGETS)
    return {**CHOICE_TARGETS, **{k: v for k, v in CHOICE_TASK_TARGETS.items() if k in ds.variables}}


def trial_states(run_or_dataset, at: str = "trial_start") -> tuple[np.ndarray, pd.DataFrame]:
    """Hidden state ``h`` at one step of every trial, and the trial variables.

    Parameters
    ----------
    run_or_dataset : xarray.Dataset or Run
        Activations dataset or its Run (two-step, or a fixation / left / right task of
        :mod:`metarl_neuro.tasks.cued_choice`).
    at : {"trial_start", "outcome"}
        Step of the trial (module docstring; in a fixation / left / right task the trial starts at its
        fixation step).

    Returns
    -------
    X : numpy.ndarray
        ``(n_trials, n_units)`` float32 (the dtype of the stored activations): ``h`` at the chosen step of
        trials 1.. of each episode.
    trials : pandas.DataFrame
        One row per trial (same order): ``episode``, ``trial``, ``step`` and the variables ``prev_reward``,
        ``prev_choice``, then, two-step: ``prev_transition``, ``prev_reward_x_transition`` (1 where the
        previous trial was rewarded-common or unrewarded-rare: where a model-based agent repeats),
        ``better_state`` (second-stage state with the higher reward probability during the trial); fixation /
        left / right tasks: those of :data:`CHOICE_TASK_TARGETS` the task logs (e.g. ``volatile``), read
        during the trial, and trials whose previous trial was missed are left out; last ``value`` (``V`` at
        the step). Rows are sorted by the episode coordinate, so the order of episodes in the dataset does not
        matter.

    Raises
    ------
    ValueError
        For an unknown ``at`` or a dataset without the needed variables.
    """
    if at not in ("trial_start", "outcome"):
        raise ValueError(f"at must be 'trial_start' or 'outcome', got {at!r}")
    ds = _dataset(run_or_dataset)
    two_step = _kind(ds) == "two-step"
    active = ds["active"].values.astype(bool)
    ep, st = np.nonzero(active)
    steps = pd.DataFrame({"e": ep, "s": st, "trial": ds["trial"].values[ep, st],
                          "end": ds["trial_end"].values[ep, st].astype(bool)})
    ends = steps[steps["end"]]
    e_end, s_end = ends["e"].to_numpy(), ends["s"].to_numpy()
    table = pd.DataFrame({
        "e": e_end,
        "episode": ds["episode"].values[e_end],
        "trial": ends["trial"].to_numpy(),
        "s_end": s_end,
        "rewarded": ds["outcome"].values[e_end, s_end] > 0,
    })
    if two_step:
        table["choice1"] = ds["choice1"].values[e_end, s_end]
        table["common"] = ds["common"].values[e_end, s_end].astype(bool)
        probs = sorted(k for k in ds.variables if str(k).startswith("reward_prob_"))
        p = np.stack([ds[k].values[e_end, s_end] for k in probs], 1).reshape(len(table), 2, -1).max(-1)
        table["better_state"] = (p[:, 1] > p[:, 0]).astype(int)
    else:
        valid = ds["valid"].values[e_end, s_end].astype(bool)
        table["choice1"] = np.where(valid, ds["choice"].values[e_end, s_end], -1)
        extras = [k for k in CHOICE_TASK_TARGETS if k in ds.variables]
        for k in extras:
            table[k] = ds[k].values[e_end, s_end]
    start = steps.groupby(["e", "trial"])["s"].min().rename("s_start")
    table = table.join(start, on=["e", "trial"]).sort_values(["episode", "trial"], kind="stable")
    g = table.groupby("e", sort=False)
    table["prev_reward"] = g["rewarded"].shift(1)
    table["prev_choice"] = g["choice1"].shift(1)
    if two_step:
        table["prev_transition"] = g["common"].shift(1)
    table = table[table["prev_reward"].notna() & (table["prev_choice"].fillna(-1) >= 0)].copy()
    for col in ("prev_reward", "prev_choice") + (("prev_transition",) if two_step else ()):
        table[col] = table[col].astype(int)
    if two_step:
        table["prev_reward_x_transition"] = (table["prev_reward"] == table["prev_transition"]).astype(int)
    table["step"] = table["s_start"] if at == "trial_start" else table["s_end"]
    e, s = table["e"].to_numpy(), table["step"].to_numpy()
    table["value"] = ds["value"].values[e, s].astype(float)
    X = ds["h"].values[e, s].astype(np.float32)
    cols = ["episode", "trial", "step", *_targets(ds)]
    return X, table[cols].reset_index(drop=True)


def decode_hidden(
    run_or_dataset,
    targets: dict | list | None = None,
    at: str = "trial_start",
    cv: int = 5,
    n_permutations: int = 100,
    seed: int = 0,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Cross-validated linear decoding of task variables from the LSTM hidden state ``h``.

    Categorical targets: logistic regression, scored by balanced accuracy; continuous targets: ridge
    regression (alpha 1), scored by R². Features are standardised inside each training fold
    (``StandardScaler`` in the pipeline); folds are grouped by episode (``GroupKFold``), so no episode is split
    between training and test. Chance comes from ``n_permutations`` label permutations *within* episodes
    (``sklearn.model_selection.permutation_test_score`` with the episodes as groups).

    Parameters
    ----------
    run_or_dataset : xarray.Dataset or Run
        Activations dataset or its Run.
    targets : list or dict, optional
        Names from :data:`TWO_STEP_TARGETS` (two-step runs) or :data:`CHOICE_TARGETS` and
        :data:`CHOICE_TASK_TARGETS` (fixation / left / right tasks, e.g. ``volatile``) (default: all of them
        the dataset has), or name -> "categorical"/"continuous".
    at : {"trial_start", "outcome"}
        Step of each trial whose ``h`` is decoded.
    cv : int
        Number of folds.
    n_permutations : int
        Label permutations for the chance level and the p-value.
    seed : int
        Seed of the permutations.
    n_jobs : int, optional
        Parallel jobs for the permutations (joblib).

    Returns
    -------
    pandas.DataFrame
        One row per target: ``target``, ``metric``, ``mean`` and ``sd`` over folds, ``chance`` (mean over
        permutations), ``chance_lo``/``chance_hi`` (2.5 and 97.5 percentiles), ``p_value``
        ((1 + #permutation scores >= score) / (1 + n_permutations)), ``n_trials``.

    Raises
    ------
    ValueError
        For an unknown target, a target with a single class, a dataset without ``h`` (or the other needed
        variables), or fewer episodes than folds.

    References
    ----------
    Wang, J. X. et al. (2018). Nat. Neurosci. 21, 860 (decoding of task variables from the LSTM).
    """
    ds = _dataset(run_or_dataset)
    X, trials = trial_states(ds, at)
    known = _targets(ds)
    if targets is None:
        targets = known
    elif not isinstance(targets, dict):
        unknown = [t for t in targets if t not in known]
        if unknown:
            raise ValueError(f"unknown target(s) {unknown}; known: {sorted(known)}")
        targets = {t: known[t] for t in targets}
    unknown = [t for t in targets if t not in trials.columns]
    if unknown:
        raise ValueError(f"unknown target(s) {unknown}; known: {sorted(known)}")
    groups = trials["episode"].to_numpy()
    if len(np.unique(groups)) < cv:
        raise ValueError(f"need at least {cv} episodes for {cv}-fold cross-validation, got {len(np.unique(groups))}")
    folds = GroupKFold(n_splits=cv)
    rows = []
    for name, kind in targets.items():
        y = trials[name].to_numpy()
        if kind == "categorical":
            if len(np.unique(y)) < 2:
                raise ValueError(f"target {name!r} takes a single value; it cannot be decoded")
            est = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky", max_iter=100))
            scoring = "balanced_accuracy"
        else:
            est = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
            scoring = "r2"
        scores = cross_val_score(est, X, y, groups=groups, cv=folds, scoring=scoring)
        _, perm, p = permutation_test_score(est, X, y, groups=groups, cv=folds, n_permutations=n_permutations,
                                            random_state=seed, scoring=scoring, n_jobs=n_jobs)
        rows.append({"target": name, "metric": scoring, "mean": scores.mean(), "sd": scores.std(ddof=1),
                     "chance": perm.mean(), "chance_lo": np.percentile(perm, 2.5),
                     "chance_hi": np.percentile(perm, 97.5), "p_value": p, "n_trials": len(y)})
    return pd.DataFrame(rows)


class UnitTuning(NamedTuple):
    """Result of :func:`unit_tuning`: ``units`` (one row per unit x variable) and ``summary``."""

    units: pd.DataFrame
    summary: pd.DataFrame


def unit_tuning(
    run_or_dataset,
    variables: tuple[str, ...] = ("prev_action", "prev_reward", "prev_action_x_reward", "value"),
    at: str = "trial_start",
    alpha: float = 0.05,
    cluster: str | None = None,
) -> UnitTuning:
    """Per-unit partial correlations of ``h`` with task variables (Wang et al. 2018, Fig. 2e).

    For each unit, OLS of its activity at ``at`` on all ``variables`` together (statsmodels): the partial
    correlation of the unit with a variable, controlling for the others, is ``t / sqrt(t^2 + df_resid)`` of
    that variable's coefficient, with its two-sided p-value. ``prev_action`` and ``prev_reward`` are
    effect-coded (+1/-1; action 1, rewarded) and ``prev_action_x_reward`` is their product. A unit codes a
    variable when its Benjamini-Hochberg FDR-corrected p-value (across units, per variable) is below
    ``alpha``.

    Parameters
    ----------
    run_or_dataset : xarray.Dataset or Run
        Activations dataset or its Run.
    variables : tuple of str
        From ``prev_action``, ``prev_reward``, ``prev_action_x_reward``, ``value``, and where the task has them
        ``prev_transition`` (two-step), ``volatile`` (Behrens task: units tracking volatility, Wang 2018 Sim 2)
        and ``rewarded_side`` (reversal task); binary ones effect-coded +1/-1.
    at : {"trial_start", "outcome"}
        Step of each trial.
    alpha : float
        FDR level.
    cluster : {None, "episode"}
        ``"episode"``: p-values from cluster-robust standard errors with the episodes as clusters (statsmodels
        ``cov_type="cluster"``). Trials of one episode are not independent, and a variable that is constant
        over many trials (``volatile`` in a 100-trial block) makes the plain OLS p-values far too small:
        with tens of thousands of trials nearly every unit "tracks" it. The partial correlation (the effect
        size) is the same either way.

    Returns
    -------
    UnitTuning
        ``units``: ``unit``, ``variable``, ``partial_r``, ``p``, ``p_fdr``, ``significant``; ``summary``: one
        row per variable with ``fraction_significant``, ``median_abs_r`` (median |partial r| over units),
        ``fraction_abs_r_over_0_2`` (units with |partial r| > 0.2: with tens of thousands of trials even
        tiny correlations are significant, so the effect size tells trained from untrained networks) and
        ``n_units``.

    Raises
    ------
    ValueError
        For an unknown variable or an incomplete dataset (as :func:`decode_hidden`).
    """
    X, trials = trial_states(run_or_dataset, at)
    design = pd.DataFrame({
        "prev_action": np.where(trials["prev_choice"] == 1, 1.0, -1.0),
        "prev_reward": np.where(trials["prev_reward"] == 1, 1.0, -1.0),
        "value": trials["value"].to_numpy(),
    })
    for col in ("prev_transition", "volatile", "rewarded_side"):
        if col in trials.columns:
            design[col] = np.where(trials[col].astype(int) == 1, 1.0, -1.0)
    design["prev_action_x_reward"] = design["prev_action"] * design["prev_reward"]
    unknown = [v for v in variables if v not in design.columns]
    if unknown:
        raise ValueError(f"unknown variable(s) {unknown}; known: {sorted(design.columns)}")
    if cluster not in (None, "episode"):
        raise ValueError(f"cluster must be None or 'episode', got {cluster!r}")
    exog = sm.add_constant(design[list(variables)])
    X = X.astype(np.float64)
    groups = trials["episode"].to_numpy()
    rows = []
    for u in range(X.shape[1]):
        res = sm.OLS(X[:, u], exog).fit()
        p = res.pvalues
        if cluster:  # same fit, cluster-robust covariance (normal reference, as fit(cov_type="cluster"))
            robust = res.get_robustcov_results(cov_type="cluster", groups=groups, use_t=False)
            p = pd.Series(robust.pvalues, index=exog.columns)
        for v in variables:
            t = res.tvalues[v]
            rows.append({"unit": u, "variable": v, "partial_r": t / np.sqrt(t * t + res.df_resid), "p": p[v]})
    units = pd.DataFrame(rows)
    units["p_fdr"] = units.groupby("variable")["p"].transform(lambda p: multipletests(p, method="fdr_bh")[1])
    units["significant"] = units["p_fdr"] < alpha
    units["abs_r"] = units["partial_r"].abs()
    summary = (units.groupby("variable", sort=False)
               .agg(fraction_significant=("significant", "mean"), median_abs_r=("abs_r", "median"),
                    fraction_abs_r_over_0_2=("abs_r", lambda r: float((r > 0.2).mean())),
                    n_units=("unit", "nunique")).reset_index())
    units = units.drop(columns="abs_r")
    return UnitTuning(units, summary)


def population_pca(run_or_dataset, at: str = "trial_start", n_components: int = 2) -> xr.Dataset:
    """PCA of the population activity ``h`` at one step of each trial (Wang et al. 2018, Figs. 1e-f, 4c).

    Parameters
    ----------
    run_or_dataset : xarray.Dataset or Run
        Activations dataset or its Run.
    at : {"trial_start", "outcome"}
        Step of each trial.
    n_components : int
        Principal components kept.

    Returns
    -------
    xarray.Dataset
        ``scores`` ``(sample, component)``, ``explained_variance_ratio`` ``(component,)``, ``loadings``
        ``(component, unit)``; per-sample coordinates ``episode``, ``trial`` and the trial variables of
        :func:`trial_states` (colour the scatter by any of them).

    Raises
    ------
    ValueError
        As :func:`trial_states`.
    """
    X, trials = trial_states(run_or_dataset, at)
    pca = PCA(n_components=n_components).fit(X)
    coords = {c: ("sample", trials[c].to_numpy()) for c in trials.columns}
    return xr.Dataset(
        {
            "scores": (("sample", "component"), pca.transform(X)),
            "explained_variance_ratio": ("component", pca.explained_variance_ratio_),
            "loadings": (("component", "unit"), pca.components_),
        },
        coords={**coords, "component": np.arange(n_components), "unit": np.arange(X.shape[1])},
        attrs={"at": at},
    )
