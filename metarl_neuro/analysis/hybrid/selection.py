"""Model selection between hybrid-model fits: information criteria and random-effects Bayesian model selection."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["ModelSelection", "compare_models", "group_model_selection"]


def compare_models(fits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Model-comparison table from several :func:`fit_hybrid` results on the same subjects.

    Parameters
    ----------
    fits : dict of str to pandas.DataFrame
        Model label -> fit table.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``n_params``, summed ``nll``, ``aic``, ``bic``, ``delta_aic``/``delta_bic`` (to the
        best model), ``n_best_bic`` (subjects whose lowest BIC is this model's), sorted by ``bic``.

    Raises
    ------
    ValueError
        If the fits do not cover the same subjects.

    Examples
    --------
    Three simulated model-based subjects (w = 0.8), fitted with the learning rates, lambda and p known (for
    speed): the hybrid model beats the model-free one (w held at 0) by BIC.

    >>> from metarl_neuro.analysis import fit_hybrid, simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=3, n_trials=150, seed=1)
    >>> known = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "p": 0.1}
    >>> hybrid = fit_hybrid(trials, fixed=known, starts="random", n_starts=2)
    >>> mf = fit_hybrid(trials, fixed={**known, "w": 0.0}, starts="random", n_starts=2)
    >>> table = compare_models({"hybrid": hybrid, "mf": mf})
    >>> print(table[["model", "n_params", "delta_bic", "n_best_bic"]].round(1).to_string(index=False))
     model  n_params  delta_bic  n_best_bic
    hybrid         3        0.0           3
        mf         2       23.5           0
    """
    subjects = {k: set(v["subject"]) for k, v in fits.items()}
    first = next(iter(subjects.values()))
    if any(s != first for s in subjects.values()):
        raise ValueError("fits must cover the same subjects")
    bic = pd.DataFrame({k: v.set_index("subject")["bic"] for k, v in fits.items()})
    best = bic.idxmin(axis=1).value_counts()
    rows = [
        {"model": k, "n_params": int(v["n_params"].iloc[0]), "nll": v["nll"].sum(), "aic": v["aic"].sum(),
         "bic": v["bic"].sum(), "n_best_bic": int(best.get(k, 0))}
        for k, v in fits.items()
    ]
    out = pd.DataFrame(rows)
    out["delta_aic"] = out["aic"] - out["aic"].min()
    out["delta_bic"] = out["bic"] - out["bic"].min()
    return out.sort_values("bic").reset_index(drop=True)


class ModelSelection(NamedTuple):
    """Result of :func:`group_model_selection`."""

    table: pd.DataFrame  #: one row per model: frequency_mean, frequency_sd, exceedance, protected_exceedance
    attribution: pd.DataFrame  #: subjects x models: posterior probability that a subject's data come from a model
    bor: float  #: Bayesian omnibus risk: posterior probability that all models are equally frequent


def group_model_selection(fits: dict[str, pd.DataFrame] | pd.DataFrame) -> ModelSelection:
    """Random-effects Bayesian model selection across subjects (Stephan et al. 2009; Rigoux et al. 2014).

    Each subject's data are taken to come from one of the models, with model frequencies drawn from a
    Dirichlet distribution; variational Bayes (the ``groupBMC`` package's port of VBA-toolbox's
    ``VBA_groupBMC``) gives their posterior, the exceedance probability of each model (the posterior probability
    that it is the most frequent) and the protected exceedance probability, which discounts it by the chance
    that the frequencies do not differ at all (Rigoux et al. 2014, Eq. 7). Daw et al. 2011 report exceedance
    probabilities.

    The prior on the frequencies is the package's default, a Dirichlet with counts 1/K over K models (the
    null hypothesis of the omnibus risk uses those counts as the frequencies).

    Parameters
    ----------
    fits : dict of str to pandas.DataFrame or HierarchicalFit, or pandas.DataFrame
        Model label -> :func:`fit_hybrid` table on the same subjects, whose log model evidence is approximated by
        ``-bic / 2`` (Schwarz); or model label -> :func:`metarl_neuro.analysis.fit_hierarchical` result, whose
        per-subject ``log_evidence`` (``log p(D_i | group)``, Huys et al. 2011) is used; or a DataFrame of log
        evidences (nats), one row per subject (index) and one column per model.

    Returns
    -------
    ModelSelection
        ``table`` (sorted by ``exceedance``), ``attribution`` and ``bor``.

    Raises
    ------
    TypeError
        If ``fits`` is neither a dict nor a DataFrame, or a dict value is neither a table nor a hierarchical fit.
    ValueError
        If there are fewer than two models, a fit lacks its ``subject`` or ``bic`` column, repeats a subject (its
        evidence would count twice), the fits do not cover the same subjects, or a log evidence is not finite.

    References
    ----------
    Stephan, K. E. et al. (2009). Bayesian model selection for group studies. NeuroImage 46, 1004-1017.
    Rigoux, L. et al. (2014). Bayesian model selection for group studies - revisited. NeuroImage 84, 971-985.

    Examples
    --------
    Log evidences (nats) of four subjects under two models: the hybrid model is the more frequent.

    >>> import pandas as pd
    >>> evidence = pd.DataFrame({"hybrid": [-100.0, -120.0, -90.0, -110.0], "mf": [-104.0, -125.0, -91.0, -109.0]})
    >>> result = group_model_selection(evidence)
    >>> print(result.table[["model", "frequency_mean", "exceedance"]].round(2).to_string(index=False))
     model  frequency_mean  exceedance
    hybrid            0.86        0.97
        mf            0.14        0.03
    """
    from groupBMC.groupBMC import GroupBMC

    if isinstance(fits, pd.DataFrame):
        if fits.index.duplicated().any():
            raise ValueError(f"the log-evidence table repeats subject(s) {sorted(map(str, fits.index[fits.index.duplicated()].unique()))[:5]} "
                             "in its index: one row per subject")
        try:
            L = fits.astype(float)
        except (TypeError, ValueError):
            raise ValueError("the log-evidence table must hold numbers (nats), one column per model") from None
    elif isinstance(fits, dict):
        tables = {}
        for k, v in fits.items():
            if hasattr(v, "ibic") and hasattr(v, "subjects"):  # HierarchicalFit: sampled log p(D_i | group)
                table, column, scale = v.subjects, "log_evidence", 1.0
            elif isinstance(v, pd.DataFrame):
                table, column, scale = v, "bic", -0.5
            else:
                raise TypeError(f"fits[{k!r}] must be a fit_hybrid table or a fit_hierarchical result, got "
                                f"{type(v).__name__}")
            absent = [c for c in ("subject", column) if c not in table.columns]
            if absent:
                raise ValueError(f"fits[{k!r}] has no column(s) {absent}: pass fit_hybrid's table (subject, bic) or "
                                 "fit_hierarchical's result")
            dup = table["subject"].duplicated()
            if dup.any():
                raise ValueError(f"fits[{k!r}] repeats subject(s) {sorted(map(str, table.loc[dup, 'subject'].unique()))[:5]}: "
                                 "each subject's evidence would count more than once")
            tables[k] = scale * table.set_index("subject")[column].astype(float)
        first = set(next(iter(tables.values())).index) if tables else set()
        if any(set(t.index) != first for t in tables.values()):
            raise ValueError("fits must cover the same subjects")
        L = pd.DataFrame(tables)
    else:
        raise TypeError(f"fits must be a dict of model label -> fit, or a DataFrame of log evidences, got "
                        f"{type(fits).__name__}")
    if L.shape[1] < 2:
        raise ValueError(f"model selection needs at least two models, got {list(L.columns)}")
    if not np.isfinite(L.to_numpy()).all():
        raise ValueError("every log evidence (-bic / 2) must be finite; a fit failed for some subject")
    vb = GroupBMC(L.to_numpy().T)
    res = vb.get_result()
    table = pd.DataFrame({"model": list(L.columns), "frequency_mean": res.frequency_mean,
                          "frequency_sd": np.sqrt(res.frequency_var), "exceedance": res.exceedance_probability,
                          "protected_exceedance": res.protected_exceedance_probability})
    attribution = pd.DataFrame(res.attribution.T, index=L.index, columns=L.columns)
    bor = float(special.expit(vb.F0() - vb.F1()))  # 1 / (1 + exp(F1 - F0)), Rigoux et al. 2014 Eq. 6
    return ModelSelection(table.sort_values("exceedance", ascending=False, ignore_index=True), attribution, bor)


