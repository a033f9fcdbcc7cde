"""Is the agent's reward prediction error model-based? (Wang et al. 2018, Fig. 5f).

The agent's RPE is its TD error ``delta_t = r_t + gamma * V_{t+1} - V_t`` (the ``rpe`` variable of the
activations dataset) at the step whose next observation is the second-stage state: the moment the
transition is revealed. A model-free learner's error at that moment is ``Q2(s2) - Q1(c1)``, a model-based
learner's is ``V(s2) - Q_MB(c1)`` (:func:`metarl_neuro.analysis.hybrid.hybrid_values`). Wang et al. 2018
regress the first on each of the others and find r² = 0.89 for the model-based error and near 0 for the
model-free one.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
import xarray as xr

from metarl_neuro.analysis.hybrid import fit_hybrid, hybrid_values
from metarl_neuro.schema import check_activations_source
from metarl_neuro.tasks.two_step import TwoStepStage

__all__ = ["RPERegression", "agent_state_rpe", "rpe_regression"]


class RPERegression(NamedTuple):
    """Result of :func:`rpe_regression`.

    ``table``: one row per regressor set (``"model-based"``, ``"model-free"``, ``"both"``) with ``r2``,
    ``slope_mb``/``slope_mf`` (NaN where not in the model), ``intercept``, ``p_mb``/``p_mf``, ``n_trials``,
    ``unique_r2`` (semipartial r²: what the row's regressor adds to the other one, ``r2(both) - r2(other)``),
    ``corr_mb_mf`` (correlation of the two regressors; in this task they correlate, so each alone
    explains part of the other's variance) and ``shared_r2`` (``corr_mb_mf ** 2``: the r² that either regressor
    alone gets for an RPE that *is* the other one; the model-free row's r² of a purely model-based agent).
    ``trials``: per trial ``episode``, ``trial``, ``agent_rpe``, ``rpe_mb``, ``rpe_mf`` (the scatter of
    Fig. 5f). ``params``: the learner's parameters used.
    """

    table: pd.DataFrame
    trials: pd.DataFrame
    params: pd.Series


def agent_state_rpe(activations: xr.Dataset) -> pd.DataFrame:
    """The agent's TD error at the arrival in the second-stage state, one value per trial.

    Parameters
    ----------
    activations : xarray.Dataset
        Activations dataset (DESIGN.md) with ``rpe``, ``active``, ``stage`` and ``trial``, from a task with a
        separate second-stage step (``TwoStepTask(structure="paper")``, or ``"compressed"`` with two
        second-stage options, Daw 2011).

    Returns
    -------
    pandas.DataFrame
        ``episode``, ``trial``, ``step`` (the first-stage step whose next observation is the second-stage
        state) and ``agent_rpe`` (float64, reward units), sorted by episode and trial.

    Raises
    ------
    ValueError
        If a variable is missing, or the task has no second-stage step (the compressed Wang 2018 structure
        reveals the state and the outcome in the same observation, so the two errors cannot be separated).

    Examples
    --------
    The TD error at the second-stage state of an untrained network, in the paper's trial structure (10 episodes of
    100 trials):

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> task = TwoStepTask(batch_size=10, structure="paper", seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> rpe = agent_state_rpe(ds)
    >>> rpe.columns.tolist(), len(rpe)
    (['episode', 'trial', 'step', 'agent_rpe'], 1000)
    """
    check_activations_source(activations, "agent_state_rpe", paths=False)
    missing = [k for k in ("rpe", "active", "stage", "trial") if k not in activations.variables]
    if missing:
        raise ValueError(f"activations dataset lacks {missing}; expected the DESIGN.md activations dataset")
    active = activations["active"].values.astype(bool)
    stage = np.where(active, activations["stage"].values, -1)
    e, s = np.nonzero(stage == TwoStepStage.SECOND)
    if len(e) == 0:
        raise ValueError(
            "the activations have no second-stage step (stage == SECOND): the agent's RPE at the arrival in the "
            "second-stage state needs TwoStepTask(structure='paper') (simulate two-step --structure paper)"
        )
    steps = pd.DataFrame({"e": e, "s": s, "trial": activations["trial"].values[e, s]})
    first = steps.groupby(["e", "trial"], sort=True)["s"].min().reset_index()
    before = first["s"].to_numpy() - 1
    ok = (before >= 0) & (stage[first["e"].to_numpy(), np.maximum(before, 0)] == TwoStepStage.FIRST)
    first, before = first[ok], before[ok]
    ee = first["e"].to_numpy()
    return pd.DataFrame({
        "episode": activations["episode"].values[ee],
        "trial": first["trial"].to_numpy().astype(np.int64),
        "step": before,
        "agent_rpe": activations["rpe"].values[ee, before].astype(np.float64),
    }).sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


def _params(fit, trials: pd.DataFrame, variant: str, common_prob: float) -> pd.Series:
    if fit is None:
        fit = fit_hybrid(trials, variant, n_starts=5, starts="random", common_prob=common_prob, likelihood="stage1")
    if isinstance(fit, pd.DataFrame):
        if len(fit) != 1:
            raise ValueError(f"fit has {len(fit)} rows; pass the row of the subject whose trials these are")
        fit = fit.iloc[0]
    return pd.Series(fit, dtype=object)


def rpe_regression(
    trials,
    activations: xr.Dataset | None = None,
    fit: pd.DataFrame | pd.Series | dict | None = None,
    variant: str = "daw2011",
    common_prob: float | None = None,
) -> RPERegression:
    """Regress the agent's RPE at the second-stage state on a hybrid learner's model-based and model-free RPEs.

    The learner (``variant``, parameters from ``fit``) experiences the recorded trials
    (:func:`~metarl_neuro.analysis.hybrid_values`); its ``rpe_mb`` and ``rpe_mf`` at each trial's
    arrival in the second-stage state are the regressors of the agent's TD error at that step
    (:func:`agent_state_rpe`), by ordinary least squares (statsmodels) with an intercept: once each alone
    (the r² of Wang et al. 2018, Fig. 5f) and once together (the unique contribution of each). The
    timing (second-stage state onset) and the error definitions are our reading of Fig. 5f; the paper's
    Methods do not spell them out.

    The two learners' errors share the second-stage value ``Q2(s2)``, and the model-free first-stage value
    tracks the same mixture of second-stage values that the model-based one computes, so the regressors
    correlate (``corr_mb_mf`` about 0.72-0.75 on trained agents' trials, issue 24). The model-free error alone
    therefore explains ``shared_r2`` (about 0.5) of an RPE that is purely model-based; the paper's model-free r²
    near 0 is matched by ``unique_r2`` of the model-free row, what it adds beyond the model-based error.

    Parameters
    ----------
    trials : pandas.DataFrame or Run
        The evaluation trial table (``Run.trials``) of a task with a separate second-stage step
        (``--structure paper``); or a :class:`~metarl_neuro.run.Run`, whose ``trials``, ``activations`` and
        configured ``common_prob`` are used (the run reads its files; this function reads none).
    activations : xarray.Dataset
        The activations of the same episodes (``Run.activations``); omitted when ``trials`` is a Run.
    fit : pandas.DataFrame (one row), Series or dict, optional
        The learner's parameters, e.g. the run's row of :func:`~metarl_neuro.analysis.fit_hybrid`. Default:
        fit ``variant`` to the first-stage choices (maximum likelihood, 5 starts).
    variant : str
        Hybrid-model variant (default ``"daw2011"``).
    common_prob : float, optional
        Transition probability the learner assumes; default the run's ``common_prob``, or 0.8 (Wang 2018) for a
        trial table.

    Returns
    -------
    RPERegression

    Raises
    ------
    TypeError
        For a path (``Run.load(path)`` opens the folder) or anything else that is neither a trial table nor a Run,
        or activations that are not an xarray.Dataset.
    ValueError
        If the task has no second-stage step, ``fit`` has several rows or lacks a parameter, the agent's and the
        table's trials do not match, or the learner's RPEs are constant (e.g. fitted to an untrained agent whose
        choices ignore rewards: pass the trained agent's fit).

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    On a run of ``simulate two-step --structure paper`` (the Run reads the folder; this function reads none):

    >>> from metarl_neuro.run import Run                                  # doctest: +SKIP
    >>> run = Run.load("runs/paper/seed0")                                 # doctest: +SKIP
    >>> rpe_regression(run.trials, run.activations).table                  # doctest: +SKIP

    A path is refused, with the call to make instead:

    >>> rpe_regression("runs/paper/seed0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: rpe_regression takes data, not a path: pass Run.load('runs/paper/seed0') (metarl_neuro.run), ...
    """
    if isinstance(trials, (str, os.PathLike)):
        raise TypeError(f"rpe_regression takes data, not a path: pass Run.load({str(trials)!r}) (metarl_neuro.run), "
                        "or its .trials and .activations")
    if not isinstance(trials, pd.DataFrame) and hasattr(trials, "trials") and hasattr(trials, "activations"):
        run = trials  # a Run: it reads its own files
        if activations is not None:
            raise TypeError("rpe_regression: pass a Run alone, or a trial table with its activations")
        if common_prob is None:
            common_prob = float(run.meta["config"].get("common_prob", 0.8))
        trials, activations = run.trials, run.activations
    if isinstance(trials, xr.Dataset) or not isinstance(trials, pd.DataFrame):
        raise TypeError(f"rpe_regression needs the trial table (pandas.DataFrame, Run.trials) and the activations "
                        f"(xarray.Dataset, Run.activations), or a Run; got {type(trials).__name__} first")
    if activations is None:
        raise TypeError("rpe_regression needs the activations (xarray.Dataset, Run.activations) beside the trial table")
    check_activations_source(activations, "rpe_regression", paths=False)
    common_prob = 0.8 if common_prob is None else common_prob
    agent = agent_state_rpe(activations)
    params = _params(fit, trials, variant, common_prob)
    model = hybrid_values(params, trials, variant, common_prob=common_prob)
    data = agent.merge(model[["episode", "trial", "rpe_mb", "rpe_mf"]], on=["episode", "trial"], how="inner")
    data = data.dropna(subset=["agent_rpe", "rpe_mb", "rpe_mf"])
    if len(data) < 3:
        raise ValueError(f"only {len(data)} trials match between the activations and the trial table")
    flat = [c for c in ("rpe_mb", "rpe_mf") if float(data[c].std()) < 1e-12]
    if flat:
        raise ValueError(
            f"the learner's {' and '.join(flat)} are constant (learning rates {params.get('alpha1', '?')}, "
            f"{params.get('alpha2', '?')}: a fit to choices that do not depend on rewards); pass fit= with the "
            "parameters of another run, e.g. the trained agent's, to use the same learner"
        )
    rows = []
    for name, cols in (("model-based", ["rpe_mb"]), ("model-free", ["rpe_mf"]), ("both", ["rpe_mb", "rpe_mf"])):
        res = sm.OLS(data["agent_rpe"], sm.add_constant(data[cols])).fit()
        rows.append({
            "regressors": name,
            "r2": res.rsquared,
            "slope_mb": res.params.get("rpe_mb", np.nan),
            "slope_mf": res.params.get("rpe_mf", np.nan),
            "intercept": res.params["const"],
            "p_mb": res.pvalues.get("rpe_mb", np.nan),
            "p_mf": res.pvalues.get("rpe_mf", np.nan),
            "n_trials": int(res.nobs),
        })
    table = pd.DataFrame(rows)
    r2 = dict(zip(table["regressors"], table["r2"]))
    table["unique_r2"] = [r2["both"] - r2["model-free"], r2["both"] - r2["model-based"], np.nan]
    table["corr_mb_mf"] = np.corrcoef(data["rpe_mb"], data["rpe_mf"])[0, 1]
    table["shared_r2"] = table["corr_mb_mf"] ** 2
    return RPERegression(table, data.reset_index(drop=True), params)
