"""LSTM activations as data: decoding, unit tuning, population PCA and its latent-state switches (Wang et al. 2018,
Figs. 1e-f, 2e, 4c).

Every function takes the activations ``xarray.Dataset`` of a run (``Run.activations``; DESIGN.md, "Activations
dataset"), or the :class:`~metarl_neuro.run.Run` itself, which reads it; none opens a file. Each reads ``h`` at
one step of each trial: ``at="trial_start"`` (the first step of the trial: the state in which the first-stage
choice is made) or ``at="outcome"`` (the step whose reward is the trial's outcome; in the Harlow tasks, 1-D and
pixels, the trial's last step, the state in which the choice is made with both objects in view, whose reward
arrives with the next step). Trial variables about the *previous* trial (``prev_*``) are defined from trial 1 on;
trial 0 of each episode is left out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
import xarray as xr
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import silhouette_score
from sklearn.model_selection import GroupKFold, cross_val_score, permutation_test_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.multitest import multipletests

from metarl_neuro.schema import check_activations_source

__all__ = [
    "CHOICE_TARGETS", "CHOICE_TASK_TARGETS", "TWO_STEP_TARGETS", "LatentSwitch", "UnitTuning", "bandit_state_pca",
    "block_tuning", "decode_hidden", "latent_state_switch", "population_pca", "trial_states", "unit_tuning",
]

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
_COMMON = ("h", "active", "trial", "trial_end", "value")
_KIND_NEEDS = {"two-step": ("choice1", "common", "reward_prob_0", "outcome"), "choice": ("choice", "valid", "outcome"),
               "harlow": ("choice", "correct", "rewarded_side")}


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
    """``"two-step"``, ``"choice"`` (fixation / left / right tasks) or ``"harlow"`` (Harlow 1-D and pixels: a
    trial's outcome is whether its choice was correct) from the dataset's task variables."""
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
        Activations dataset or its Run (two-step, a fixation / left / right task of
        :mod:`metarl_neuro.tasks.cued_choice`, or a Harlow task, 1-D or pixels).
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
        left / right and Harlow tasks: those of :data:`CHOICE_TASK_TARGETS` the task logs (e.g. ``volatile``;
        Harlow: ``rewarded_side``, the side of the rewarded object in this trial), read during the trial, and
        trials whose previous trial was missed are left out (Harlow: ``prev_reward`` is whether the previous
        choice was correct); last ``value`` (``V`` at the step). Rows are sorted by the episode coordinate, so
        the order of episodes in the dataset does not matter.

    Raises
    ------
    ValueError
        For an unknown ``at`` or a dataset without the needed variables.

    Examples
    --------
    The hidden state at the start of each trial, and the trial variables, of an untrained network on 10 two-step
    episodes:

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> task = TwoStepTask(batch_size=10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> states, table = trial_states(ds)
    >>> states.shape
    (990, 48)
    >>> table.columns[:6].tolist()
    ['episode', 'trial', 'step', 'prev_reward', 'prev_choice', 'prev_transition']
    """
    if at not in ("trial_start", "outcome"):
        raise ValueError(f"at must be 'trial_start' or 'outcome', got {at!r}")
    ds = _dataset(run_or_dataset)
    kind = _kind(ds)
    two_step = kind == "two-step"
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
    })
    table["rewarded"] = (ds["correct"].values[e_end, s_end].astype(bool) if kind == "harlow"
                         else ds["outcome"].values[e_end, s_end] > 0)
    if two_step:
        table["choice1"] = ds["choice1"].values[e_end, s_end]
        table["common"] = ds["common"].values[e_end, s_end].astype(bool)
        probs = sorted(k for k in ds.variables if str(k).startswith("reward_prob_"))
        p = np.stack([ds[k].values[e_end, s_end] for k in probs], 1).reshape(len(table), 2, -1).max(-1)
        table["better_state"] = (p[:, 1] > p[:, 0]).astype(int)
    else:
        chosen = ds["choice"].values[e_end, s_end]
        valid = chosen >= 0 if kind == "harlow" else ds["valid"].values[e_end, s_end].astype(bool)
        table["choice1"] = np.where(valid, chosen, -1)
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

    Examples
    --------
    The activations of an untrained network (a control for a trained one) on 10 two-step episodes; its input holds
    the last action and reward, so its state carries them:

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> task = TwoStepTask(batch_size=10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> table = decode_hidden(ds, targets=["prev_reward", "better_state"], n_permutations=5)
    >>> print(table[["target", "metric", "mean", "chance"]].round(2).to_string(index=False))
          target            metric  mean  chance
     prev_reward balanced_accuracy   1.0    0.50
    better_state balanced_accuracy   0.9    0.51
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
        row per variable with ``fraction_significant``, ``median_abs_r`` (median ``|partial r|`` over units),
        ``fraction_abs_r_over_0_2`` (units with ``|partial r|`` > 0.2: with tens of thousands of trials even
        tiny correlations are significant, so the effect size tells trained from untrained networks) and
        ``n_units``.

    Raises
    ------
    ValueError
        For an unknown variable or an incomplete dataset (as :func:`decode_hidden`).

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    The activations of an untrained network (a control for a trained one) on 10 two-step episodes; its input holds
    the last action and reward, so its state carries them:

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> task = TwoStepTask(batch_size=10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> tuning = unit_tuning(ds, variables=("prev_reward", "prev_action"))
    >>> print(tuning.summary[["variable", "n_units"]].to_string(index=False))
       variable  n_units
    prev_reward       48
    prev_action       48
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

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    PCA of an untrained network's hidden state at the start of each trial of 10 two-step episodes:

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> task = TwoStepTask(batch_size=10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> pca = population_pca(ds)
    >>> dict(pca.sizes)
    {'sample': 990, 'component': 2, 'unit': 48}
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


class LatentSwitch(NamedTuple):
    """Result of :func:`latent_state_switch`.

    ``reversals``: one row per reversal used, ``episode``, ``trial`` (the first trial of the new latent state),
    ``switch_trial`` (trials after it at which the projection first reaches 0.5; NaN if it never does within
    the window), ``largest_step`` (the largest change of the projection from one trial to the next),
    ``total_shift`` (projection ``window`` trials after the reversal minus one trial before it) and
    ``abruptness`` (``largest_step / total_shift``: 1 when the whole shift happens between two trials, about
    ``1 / (window + 1)`` when it is spread evenly; NaN where ``total_shift <= 0``).
    ``trajectory``: per ``since_reversal`` (-1 .. ``window``) the ``mean``, ``q25`` and ``q75`` of the
    projection over reversals, and ``n``.
    ``silhouette``: silhouette coefficient of the settled samples' scores, labelled by their latent state
    (scikit-learn ``silhouette_score``; 1: tight, separate clusters, 0: overlapping).
    ``n_settled``: settled samples behind the centroids.
    """

    reversals: pd.DataFrame
    trajectory: pd.DataFrame
    silhouette: float
    n_settled: int


def latent_state_switch(pca: xr.Dataset, state: str = "rewarded_side", settle: int = 3, window: int = 5,
                        silhouette_samples: int = 3000, seed: int = 0) -> LatentSwitch:
    """How abruptly the population state moves between latent-state clusters after a reversal (Wang 2018 Fig. 4c).

    Wang et al. 2018 (Fig. 4c, Simulation 3) show the PCA of the network's activity forming one cluster per
    latent state (which target is rewarded), the state jumping from one to the other after a reversal. This
    puts a number on both. The *settled* samples are those whose latent state has not changed for ``settle``
    trials (the sample's trial included); their mean scores per state are the two centroids. Each trial's
    scores are projected on the line between the centroids: ``u = (x - c_old) . (c_new - c_old) /
    |c_new - c_old|^2``, 0 at the old state's centroid and 1 at the new one's. For every reversal with
    ``settle`` settled trials before it and ``window`` trials after it (consecutive trials of one episode,
    without another reversal), the projection is followed from one trial before to ``window`` trials after.

    Parameters
    ----------
    pca : xarray.Dataset
        Output of :func:`population_pca` (``scores`` ``(sample, component)`` with per-sample coordinates
        ``episode``, ``trial`` and ``state``). The state is read at the step ``pca.attrs["at"]``: at the
        trial's start the network has not yet seen the reversal trial's outcome, so the switch shows one
        trial later.
    state : str
        Per-sample coordinate holding the latent state, with two values (default ``"rewarded_side"``,
        Bromberg-Martin et al. 2010's reversal task).
    settle : int
        Trials without a change that make a sample settled (>= 1). Default 3 (our choice).
    window : int
        Trials followed after a reversal (>= 1). Default 5 (our choice).
    silhouette_samples : int
        Settled samples drawn for the silhouette coefficient (its cost grows with their square).
    seed : int
        Seed of that draw.

    Returns
    -------
    LatentSwitch

    Raises
    ------
    ValueError
        If ``state`` is not a per-sample coordinate with exactly two values, ``settle`` or ``window`` is not an
        integer >= 1, or no reversal has the trials needed around it.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Bromberg-Martin, E. S., Matsumoto, M., Hong, S. & Hikosaka, O. (2010). A pallidus-habenula-dopamine pathway
    signals inferred stimulus values. *J. Neurophysiol.* 104, 1068-1076.

    Examples
    --------
    Two clusters in one dimension, and a state that jumps one trial after each reversal:

    >>> import numpy as np, xarray as xr
    >>> side = np.repeat([0, 1, 0, 1], 10)
    >>> x = np.r_[side[:1], side[:-1]].astype(float)  # the network learns the reversal one trial late
    >>> pca = xr.Dataset({"scores": (("sample", "component"), x[:, None])},
    ...                  coords={"episode": ("sample", np.zeros(40, int)), "trial": ("sample", np.arange(40)),
    ...                          "rewarded_side": ("sample", side)})
    >>> res = latent_state_switch(pca)
    >>> print(res.reversals[["trial", "switch_trial", "abruptness"]].to_string(index=False))
     trial  switch_trial  abruptness
        10           1.0         1.0
        20           1.0         1.0
        30           1.0         1.0
    >>> round(res.silhouette, 2)
    1.0
    """
    from metarl_neuro.domains import AT_LEAST_ONE, check_value

    settle = check_value("settle", settle, int, AT_LEAST_ONE, where="latent_state_switch")
    window = check_value("window", window, int, AT_LEAST_ONE, where="latent_state_switch")
    silhouette_samples = check_value("silhouette_samples", silhouette_samples, int, pd.Interval(2, np.inf, "left"),
                                     where="latent_state_switch")
    if not isinstance(pca, xr.Dataset) or "scores" not in pca:
        raise ValueError("latent_state_switch needs the Dataset of population_pca (with 'scores')")
    if state not in pca.coords or pca[state].dims != ("sample",):
        known = sorted(k for k in pca.coords if pca[k].dims == ("sample",))
        raise ValueError(f"state {state!r} is not a per-sample coordinate of the PCA; choose from {known}")
    df = pd.DataFrame({"episode": pca["episode"].values, "trial": pca["trial"].values,
                       "state": pca[state].values, "row": np.arange(pca.sizes["sample"])})
    values = np.unique(df["state"])
    if len(values) != 2:
        raise ValueError(f"state {state!r} must take exactly two values (two latent states), got {values.tolist()}")
    df = df.sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)
    X = pca["scores"].values[df["row"].to_numpy()].astype(np.float64)
    ep, tr, st = df["episode"].to_numpy(), df["trial"].to_numpy(), df["state"].to_numpy()
    follows = np.r_[False, (ep[1:] == ep[:-1]) & (tr[1:] == tr[:-1] + 1)]  # row i is the trial after row i - 1
    change = np.r_[False, follows[1:] & (st[1:] != st[:-1])]
    # run: consecutive rows of one state, counted from 1 (a run broken by a gap restarts at 1)
    run = np.ones(len(df), dtype=np.int64)
    for i in range(1, len(df)):
        if follows[i] and not change[i]:
            run[i] = run[i - 1] + 1
    settled = run >= settle
    if not all((settled & (st == v)).any() for v in values):
        raise ValueError(f"no settled samples ({settle} trials without a change) of both states {values.tolist()}")
    centre = {v: X[settled & (st == v)].mean(0) for v in values}
    rows, paths = [], []
    for i in np.nonzero(change)[0]:
        lo, hi = i - 1, i + window
        if hi >= len(df) or run[lo] < settle or not follows[i + 1:hi + 1].all() or change[i + 1:hi + 1].any():
            continue
        new, old = st[i], st[lo]
        axis = centre[new] - centre[old]
        u = (X[lo:hi + 1] - centre[old]) @ axis / (axis @ axis)
        reached = np.nonzero(u[1:] >= 0.5)[0]
        total, largest = float(u[-1] - u[0]), float(np.diff(u).max())
        rows.append({"episode": ep[i], "trial": int(tr[i]),
                     "switch_trial": float(reached[0]) if len(reached) else np.nan,
                     "largest_step": largest, "total_shift": total,
                     "abruptness": largest / total if total > 0 else np.nan})
        paths.append(u)
    if not rows:
        raise ValueError(f"no reversal has {settle} settled trials before it and {window} trials after it in one "
                         "episode; lower settle or window")
    paths = np.stack(paths)
    trajectory = pd.DataFrame({"since_reversal": np.arange(-1, window + 1), "mean": paths.mean(0),
                               "q25": np.quantile(paths, 0.25, axis=0), "q75": np.quantile(paths, 0.75, axis=0),
                               "n": len(paths)})
    Xs, labels = X[settled], st[settled]
    sil = float(silhouette_score(Xs, labels, sample_size=min(silhouette_samples, len(Xs)), random_state=seed))
    return LatentSwitch(pd.DataFrame(rows), trajectory, sil, int(settled.sum()))


def bandit_state_pca(run_or_dataset, order_by: str = "mean_0", trial: int = -1, n_components: int = 2) -> xr.Dataset:
    """PCA of a bandit agent's hidden state, and how the state at one trial orders the episodes (Wang 2018 Fig. 1).

    Wang et al. 2018 (Fig. 1e-f) project the LSTM state of an agent trained on two-armed bandits on its
    principal components and show that, by the end of the episode, the state is ordered by the arm's reward
    probability ``p_L``: the network holds its estimate of the bandit in its activity. Here the PCA is fitted to
    ``h`` on every trial of every episode (scikit-learn ``PCA``); the episodes' scores at ``trial`` are
    returned, with Spearman's rank correlation between the first component and ``order_by`` (scipy
    ``spearmanr``). The sign of a component is arbitrary, so ``|rho|`` is what to read.

    Parameters
    ----------
    run_or_dataset : xarray.Dataset or Run
        Activations dataset of a bandit run (``h``, ``active``, ``trial`` and ``order_by`` logged per step:
        ``simulate bandit``), or its Run.
    order_by : str
        Per-step variable that orders the episodes; default ``"mean_0"``, the left arm's reward probability
        ``p_L`` (constant within an episode except in the restless bandit).
    trial : int
        The trial (0-based) whose state is scored; negative counts from each episode's last trial (default -1,
        trial 100 of Wang 2018's 100-trial episodes).
    n_components : int
        Principal components kept (>= 1).

    Returns
    -------
    xarray.Dataset
        ``scores`` ``(sample, component)`` float32, one sample per episode (its state at ``trial``),
        ``explained_variance_ratio`` ``(component,)``, ``loadings`` ``(component, unit)``; per-sample
        coordinates ``episode``, ``trial`` and ``order_by``; attributes ``order_by``, ``spearman_rho`` and
        ``spearman_p`` (PC1 against ``order_by``).

    Raises
    ------
    ValueError
        If a variable is missing, ``n_components`` is not an integer >= 1 or more than the units, or no
        episode reaches ``trial``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    An untrained network, so ``rho`` means nothing here (a trained one: ``bandit_state_pca(Run.load(
    "runs/bandit/seed0"))``, and the ``bandit-correlated`` claim of ``reproduce``):

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import BanditTask
    >>> task = BanditTask(batch_size=20, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> pca = bandit_state_pca(ds)
    >>> pca["scores"].shape, pca.attrs["at"]
    ((20, 2), 'trial -1')
    >>> -1 <= pca.attrs["spearman_rho"] <= 1
    True
    """
    from metarl_neuro.domains import AT_LEAST_ONE, check_value

    check_activations_source(run_or_dataset, "bandit_state_pca")
    ds = run_or_dataset if isinstance(run_or_dataset, xr.Dataset) else run_or_dataset.activations
    missing = [k for k in ("h", "active", "trial", order_by) if k not in ds.variables]
    if missing:
        raise ValueError(f"activations dataset lacks {missing}; bandit_state_pca needs a bandit run's activations "
                         "(simulate bandit)")
    n_components = check_value("n_components", n_components, int, AT_LEAST_ONE, where="bandit_state_pca")
    trial = check_value("trial", trial, int, where="bandit_state_pca")
    h = ds["h"].values
    if n_components > h.shape[-1]:
        raise ValueError(f"n_components={n_components} is more than the {h.shape[-1]} units")
    active = ds["active"].values.astype(bool)
    trials = np.where(active, ds["trial"].values, -1)
    last = trials.max(axis=1)
    want = last + 1 + trial if trial < 0 else np.full_like(last, trial)
    e, s = np.nonzero((trials == want[:, None]) & active)
    e, first = np.unique(e, return_index=True)  # the trial's first step (one step per trial in the bandits)
    s = s[first]
    if len(e) < 3:
        raise ValueError(f"only {len(e)} episodes reach trial {trial}; need at least 3")
    pca = PCA(n_components=n_components).fit(h[active])
    scores = pca.transform(h[e, s])
    key = ds[order_by].values[e, s].astype(np.float64)
    if np.ptp(scores[:, 0]) == 0 or np.ptp(key) == 0:  # e.g. trial 0, before any input differs: no ordering
        rho, p = np.nan, np.nan
    else:
        rho, p = stats.spearmanr(scores[:, 0], key)
    return xr.Dataset(
        {
            "scores": (("sample", "component"), scores.astype(np.float32)),
            "explained_variance_ratio": ("component", pca.explained_variance_ratio_),
            "loadings": (("component", "unit"), pca.components_),
        },
        coords={"episode": ("sample", ds["episode"].values[e]), "trial": ("sample", trials[e, s].astype(np.int64)),
                order_by: ("sample", key), "component": np.arange(n_components), "unit": np.arange(h.shape[-1])},
        attrs={"order_by": order_by, "spearman_rho": float(rho), "spearman_p": float(p), "at": f"trial {trial}"},
    )


def block_tuning(run_or_dataset, variable: str = "volatile", at: str = "trial_start", alpha: float = 0.05) -> pd.DataFrame:
    """Units whose mean activity differs between the two conditions of a within-episode block design.

    A single-unit test of the kind used to count "units coding volatility" (Wang 2018 Simulation 2 reports
    37 +/- 1% of units; the text we have does not state its test): each unit's activity ``h`` at ``at`` is
    averaged over the trials of each condition of ``variable`` in each episode, and the per-episode difference
    (condition 1 minus condition 0) is tested against 0 across episodes (one-sample t test, scipy
    ``ttest_1samp``), uncorrected at ``alpha``. Episodes are the units of replication, so the autocorrelation of
    trials within a block does not inflate the count (unlike a trial-level correlation).

    Parameters
    ----------
    run_or_dataset : xarray.Dataset or Run
        Activations of a fixation / left / right task that logs ``variable`` (e.g. ``behrens``'s ``volatile``).
    variable : str
        Two-valued trial variable of :func:`trial_states` (default ``"volatile"``).
    at : {"trial_start", "outcome"}
        Step of each trial (:func:`trial_states`).
    alpha : float
        Significance level, uncorrected (default 0.05).

    Returns
    -------
    pandas.DataFrame
        One row per unit: ``unit``, ``mean_difference`` (activity in condition 1 minus 0, a.u.), ``t``, ``p``,
        ``significant`` (bool); ``attrs["fraction_significant"]`` (0-1) and ``attrs["n_episodes"]`` (episodes
        with both conditions).

    Raises
    ------
    ValueError
        If ``variable`` is not a logged two-valued trial variable, ``alpha`` is not in (0, 1), or fewer than 3
        episodes hold both conditions.

    Examples
    --------
    An untrained network on 10 episodes of Behrens' task, stable and volatile blocks:

    >>> import torch
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import BehrensTask
    >>> _ = torch.manual_seed(0)
    >>> task = BehrensTask(10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> units = block_tuning(ds)
    >>> units.columns.tolist()
    ['unit', 'mean_difference', 't', 'p', 'significant']
    >>> units.attrs["n_episodes"]
    10
    """
    from metarl_neuro.schema import check_level

    alpha = check_level(alpha, "alpha")
    X, trials = trial_states(run_or_dataset, at)
    if variable not in trials.columns:
        raise ValueError(f"{variable!r} is not a trial variable of these activations; they log "
                         f"{[c for c in trials.columns if c not in ('episode', 'trial', 'step')]}")
    values = np.unique(trials[variable])
    if len(values) != 2:
        raise ValueError(f"{variable!r} must take two values in the trials, got {values.tolist()}")
    df = pd.DataFrame(X)
    df["episode"], df["cond"] = trials["episode"].to_numpy(), trials[variable].to_numpy()
    means = df.groupby(["episode", "cond"]).mean()
    hi, lo = means.xs(values[1], level="cond"), means.xs(values[0], level="cond")
    both = hi.index.intersection(lo.index)
    if len(both) < 3:
        raise ValueError(f"only {len(both)} episodes hold both values of {variable!r}; need at least 3")
    diff = (hi.loc[both] - lo.loc[both]).to_numpy()
    res = stats.ttest_1samp(diff, 0.0, axis=0)
    out = pd.DataFrame({"unit": np.arange(diff.shape[1]), "mean_difference": diff.mean(0), "t": res.statistic,
                        "p": res.pvalue})
    out["significant"] = out["p"] < alpha
    out.attrs["fraction_significant"] = float(out["significant"].mean())
    out.attrs["n_episodes"] = int(len(both))
    return out
