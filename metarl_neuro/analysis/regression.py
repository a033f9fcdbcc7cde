"""Logistic stay regressions of the two-step task (Daw et al. 2011; Miller et al. 2017; Wang et al. 2018 Fig. 5e).

References
----------
Daw, N. D. et al. (2011). Neuron 69, 1204 (one-trial-back regression, Supplemental Table 1).
Miller, K. J., Botvinick, M. M. & Brody, C. D. (2017). Dorsal hippocampus contributes to model-based planning.
Nat. Neurosci. 20, 1269 (lagged regression, model-based and model-free indices).
Wang, J. X. et al. (2018). Nat. Neurosci. 21, 860, Fig. 5e.
"""

from __future__ import annotations

import os
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from metarl_neuro.analysis.stay import add_stay_columns
from metarl_neuro.schema import check_int, validate_trials

__all__ = ["MixedStayRegression", "StayRegression", "mixed_stay_regression", "stay_regression"]

_NEEDED = ("subject", "episode", "trial", "choice1", "common", "reward")
_TYPES = ("CR", "CU", "RR", "RU")  # common/rare x rewarded/unrewarded
#: index -> weight of each trial type's coefficient, summed over lags (Miller et al. 2017)
INDEX_WEIGHTS = {
    "model_based": {"CR": 1, "CU": -1, "RR": -1, "RU": 1},
    "model_free": {"CR": 1, "CU": -1, "RR": 1, "RU": -1},
}


class StayRegression(NamedTuple):
    """Result of :func:`stay_regression`.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per (subject, term): ``subject`` ("pooled" for the pooled fit), ``term``, ``lag``, ``coef``,
        ``se``, ``z``, ``p``, ``n_trials``, ``converged``, ``warning``.
    indices : pandas.DataFrame
        One row per (subject, index): ``index`` ("model_based"/"model_free"), ``value``, ``se``, ``z``, ``p``.
    fits : dict
        statsmodels ``GLMResults`` per subject key ("pooled" and each subject id).
    """

    coefficients: pd.DataFrame
    indices: pd.DataFrame
    fits: dict


def _design_one_back(df: pd.DataFrame, coding: str) -> tuple[pd.Series, pd.DataFrame]:
    lo = -1.0 if coding == "effect" else 0.0
    reward = np.where(df["prev_rewarded"], 1.0, lo)
    transition = np.where(df["prev_common"], 1.0, lo)
    X = pd.DataFrame(
        {"intercept": 1.0, "reward": reward, "transition": transition, "reward:transition": reward * transition},
        index=df.index,
    )
    return df["stay"].astype(float), X


def _design_lagged(trials: pd.DataFrame, lags: int, bridge_missed: bool) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    df = validate_trials(trials, _NEEDED)
    if bridge_missed:
        df = df[~df["missed"]]
    sign = np.where(df["missed"], 0.0, np.where(df["choice1"] == 1, 1.0, -1.0))
    rewarded = df["reward"].to_numpy() > 0
    common = df["common"].to_numpy()
    kinds = {
        "CR": common & rewarded,
        "CU": common & ~rewarded,
        "RR": ~common & rewarded,
        "RU": ~common & ~rewarded,
    }
    base = pd.DataFrame({k: sign * v for k, v in kinds.items()}, index=df.index)
    g = base.groupby([df["subject"], df["episode"]], sort=False)
    cols = {"intercept": pd.Series(1.0, index=df.index)}
    for lag in range(1, lags + 1):
        shifted = g.shift(lag)
        for k in _TYPES:
            cols[f"{k}_{lag}"] = shifted[k]
    X = pd.DataFrame(cols)
    # trials with a full history of `lags` rows in their episode; missed trials give 0 predictors
    keep = X.notna().all(axis=1) & ~df["missed"]
    return df.loc[keep, "choice1"].astype(float), X[keep], df[keep]


def _unidentified(X: pd.DataFrame) -> str:
    """Why the design's coefficients are not identified ("" if its columns are linearly independent)."""
    if np.linalg.matrix_rank(X.to_numpy()) == X.shape[1]:
        return ""
    flat = [c for c in X.columns if c != "intercept" and X[c].nunique() < 2]
    what = f"predictor(s) {flat} do not vary" if flat else "the predictors are collinear"
    return (f"the design is rank-deficient ({what}; e.g. no rewarded or no rare trial among "
            f"{len(X)} trials), so its coefficients are not identified")


def fit_logit(y: pd.Series, X: pd.DataFrame, groups: np.ndarray | None):
    """GLM-Binomial fit; cluster-robust covariance when ``groups`` has more than one cluster. ``(None, why)``
    for a rank-deficient design."""
    why = _unidentified(X)
    if why:
        return None, why
    model = sm.GLM(y, X, family=sm.families.Binomial())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if groups is not None and len(np.unique(groups)) > 1:
            res = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        else:
            res = model.fit()
    notes = {str(w.message).splitlines()[0] for w in caught}
    mu = np.asarray(res.mu)
    if np.any((mu > 1 - 1e-8) | (mu < 1e-8)):
        notes.add("quasi-complete separation: some fitted probabilities are 0 or 1, so the coefficients that "
                  "separate them are unbounded and their SEs meaningless")
    return res, "; ".join(sorted(notes))


def _lag(term: str) -> int:
    """Lag of a term: the suffix of ``CR_3``; 1 for the one-back terms; 0 for the intercept."""
    if term == "intercept":
        return 0
    head, _, tail = term.rpartition("_")
    return int(tail) if head in _TYPES else 1


def _table(key, res, message: str, n: int) -> pd.DataFrame:
    terms = list(res.params.index)
    return pd.DataFrame(
        {
            "subject": key,
            "term": terms,
            "lag": [_lag(t) for t in terms],
            "coef": res.params.to_numpy(),
            "se": res.bse.to_numpy(),
            "z": res.tvalues.to_numpy(),
            "p": res.pvalues.to_numpy(),
            "n_trials": n,
            "converged": bool(res.converged) and "separation" not in message.lower(),
            "warning": message,
        }
    )


def _indices(key, res, lags: int | None) -> pd.DataFrame:
    names = list(res.params.index)
    cov = res.cov_params().to_numpy()
    rows = []
    if lags is None:  # one-trial-back: MF = reward main effect, MB = reward x transition
        contrasts = {"model_based": {"reward:transition": 1.0}, "model_free": {"reward": 1.0}}
    else:
        contrasts = {
            idx: {f"{k}_{lag}": float(w) for k, w in weights.items() for lag in range(1, lags + 1)}
            for idx, weights in INDEX_WEIGHTS.items()
        }
    for idx, weights in contrasts.items():
        c = np.array([weights.get(n, 0.0) for n in names])
        value = float(c @ res.params.to_numpy())
        se = float(np.sqrt(c @ cov @ c))
        z = value / se if se > 0 else np.nan
        rows.append({"subject": key, "index": idx, "value": value, "se": se, "z": z, "p": 2 * stats.norm.sf(abs(z))})
    return pd.DataFrame(rows)


def stay_regression(
    trials: pd.DataFrame,
    lags: int = 1,
    coding: str = "effect",
    groups: str | None = "subject",
    bridge_missed: bool = False,
    min_trial: int = 0,
) -> StayRegression:
    """Logistic regression of first-stage choices on past rewards and transitions.

    ``lags=1`` (Daw et al. 2011): ``logit P(stay_t) = b0 + b_r r + b_t T + b_rt r T`` with ``r`` the previous
    trial's reward and ``T`` its transition (common), effect-coded (+1/-1) or dummy-coded (1/0). The
    model-free index is ``b_r`` and the model-based index ``b_rt`` (effect coding: ``b_rt > 0`` is the
    model-based reward x transition interaction).

    ``lags > 1`` (Miller et al. 2017; Wang et al. 2018 Fig. 5e): ``logit P(choice1_t = 1) = b0 + sum_k sum_X
    b_{X,k} x_{X,t-k}`` for trial types X in CR, CU, RR, RU (common/rare x rewarded/unrewarded), where
    ``x_{X,t-k}`` is +1 if trial ``t-k`` was of type X and its choice was 1, -1 if of type X with choice 0,
    else 0. Model-based index ``sum_k (b_CR - b_CU - b_RR + b_RU)``; model-free index
    ``sum_k (b_CR + b_RR - b_CU - b_RU)``; their SEs from the coefficient covariance ``c' Sigma c``.

    Missed trials (``missed``) are excluded as outcomes. ``lags=1``: the trial after a missed one has no
    previous trial unless ``bridge_missed``. ``lags>1``: a missed trial contributes 0 to every predictor
    (it carries no choice), unless ``bridge_missed`` (missed rows removed, lags counted over valid trials).
    Only trials with ``lags`` earlier trials in their episode are outcomes.

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table (``subject``, ``episode``, ``trial``, ``choice1``, ``common``, ``reward``, optional
        ``missed``).
    lags : int
        1 for the one-trial-back model, > 1 for the lagged model.
    coding : {"effect", "dummy"}
        Coding of reward and transition in the one-trial-back model.
    groups : str or None
        ``"subject"``: fit each subject too, and give the pooled fit cluster-robust (sandwich) SEs with
        subjects as clusters. We use cluster-robust SEs rather than a random-effects GLMM because
        statsmodels' ``BinomialBayesMixedGLM`` is a variational-Bayes approximation without frequentist
        p-values and is slow on ~10^5 trials, while the sandwich estimator gives consistent SEs for the
        population-averaged effect with many subjects. ``None``: pooled fit with model-based SEs only.
    bridge_missed : bool
        See above.
    min_trial : int
        Only trials with ``trial >= min_trial`` (0-based) are outcomes; earlier ones still enter as history
        (Nussenbaum et al. 2020: trials 10 on, ``min_trial=9``).

    Returns
    -------
    StayRegression
        ``coefficients`` and ``indices`` tables and the statsmodels fits.

    Raises
    ------
    ValueError
        As :func:`metarl_neuro.schema.validate_trials`; for ``lags`` not an integer >= 1, an unknown
        ``coding`` or ``groups``; if no trial has enough history; if the pooled design is rank-deficient (e.g.
        no rewarded trial: its coefficients are not identified). A subject's own rank-deficient fit
        (``groups="subject"``) is recorded as NaN rows with ``converged`` False and the reason in ``warning``.

    References
    ----------
    Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based influences on humans'
    choices and striatal prediction errors. *Neuron* 69, 1204-1215.

    Miller, K. J., Botvinick, M. M. & Brody, C. D. (2017). Dorsal hippocampus contributes to model-based planning.
    *Nat. Neurosci.* 20, 1269-1276.

    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Nussenbaum, K., Scheuplein, M., Phaneuf, C. V., Evans, M. D. & Hartley, C. A. (2020). Moving developmental
    research online: comparing in-lab and web-based studies of model-based reinforcement learning. *Collabra:
    Psychology* 6, 17213.

    Examples
    --------
    The one-back regression of a simulated, mostly model-based learner: the reward x transition interaction
    (the model-based signature, Daw 2011) is positive:

    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> p = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.6, "beta1": 4.0, "beta2": 4.0, "w": 0.7, "p": 0.1}
    >>> c = stay_regression(simulate_hybrid(p, n_subjects=1, n_trials=200, seed=1)).coefficients
    >>> print(c[c["subject"] == "pooled"][["term", "coef"]].round(2).to_string(index=False))
                 term  coef
            intercept  0.63
               reward -0.21
           transition -0.15
    reward:transition  0.28
    """
    check_int(lags, "lags")
    if coding not in ("effect", "dummy"):
        raise ValueError(f"coding must be 'effect' or 'dummy', got {coding!r}")
    if groups not in ("subject", None):
        raise ValueError(f"groups must be 'subject' or None, got {groups!r}")
    check_int(min_trial, "min_trial", 0, " (a 0-based trial index)")
    if lags == 1:
        df = add_stay_columns(trials, bridge_missed, min_trial)
        y, X = _design_one_back(df, coding)
    else:
        y, X, df = _design_lagged(trials, lags, bridge_missed)
        keep = (df["trial"] >= min_trial).to_numpy()
        y, X, df = y[keep], X[keep], df[keep]
    if len(y) == 0:
        raise ValueError(f"no trial has {lags} earlier trial(s) in its episode")
    subjects = df["subject"].astype(str).to_numpy()
    keys = ["pooled"] + (sorted(pd.unique(subjects)) if groups == "subject" else [])
    coef_tables, index_tables, fits = [], [], {}
    for key in keys:
        sel = np.ones(len(y), bool) if key == "pooled" else subjects == key
        cluster = pd.factorize(subjects)[0] if key == "pooled" and groups == "subject" else None
        res, message = fit_logit(y[sel], X[sel], cluster)
        if res is None:
            if key == "pooled":
                raise ValueError(f"stay_regression: {message}")
            coef_tables.append(pd.DataFrame({"subject": key, "term": list(X.columns), "lag": [_lag(t) for t in X.columns],
                                             "coef": np.nan, "se": np.nan, "z": np.nan, "p": np.nan,
                                             "n_trials": int(sel.sum()), "converged": False, "warning": message}))
            index_tables.append(pd.DataFrame({"subject": key, "index": list(INDEX_WEIGHTS) if lags > 1 else
                                              ["model_based", "model_free"], "value": np.nan, "se": np.nan,
                                              "z": np.nan, "p": np.nan}))
            continue
        fits[key] = res
        coef_tables.append(_table(key, res, message, int(sel.sum())))
        index_tables.append(_indices(key, res, None if lags == 1 else lags))
    return StayRegression(pd.concat(coef_tables, ignore_index=True), pd.concat(index_tables, ignore_index=True), fits)


class MixedStayRegression(NamedTuple):
    """Result of :func:`mixed_stay_regression`.

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed effect (``intercept``, ``reward``, ``transition``, ``reward:transition``): ``coef``,
        ``se`` (Wald, from the Laplace-approximated likelihood), ``z``, ``p``.
    random : pandas.DataFrame
        The subject-level random effects' covariance: one row per variance (``term``, ``term2`` empty) and per
        correlation (``term``, ``term2``): ``variance`` / ``sd`` or ``corr``.
    indices : pandas.DataFrame
        ``model_based`` (the reward x transition fixed effect) and ``model_free`` (the reward fixed effect):
        ``value``, ``se``, ``z``, ``p``.
    loglik, aic, bic : float
        Laplace-approximated log-likelihood (nats), AIC and BIC as lme4 reports them.
    n_trials, n_subjects : int
    formula : str
        The lme4 formula fitted.
    singular : bool
        lme4's ``isSingular``: a variance at 0 or a correlation at +-1 (the random-effects structure is more than
        the data support; simplify it, e.g. ``correlated=False``).
    warning : str
        lme4's convergence messages and warnings, "" if none.
    """

    fixed: pd.DataFrame
    random: pd.DataFrame
    indices: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    n_trials: int
    n_subjects: int
    formula: str
    singular: bool
    warning: str


_GLMER = """
function(d, formula) {
  msgs <- character(0)
  m <- withCallingHandlers(
    lme4::glmer(stats::as.formula(formula), data = d, family = stats::binomial),
    warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleMessage") })
  vc <- as.data.frame(lme4::VarCorr(m))
  list(coef = summary(m)$coefficients, vc_var1 = as.character(vc$var1), vc_var2 = as.character(vc$var2),
       vc_vcov = vc$vcov, vc_sdcor = vc$sdcor, loglik = as.numeric(stats::logLik(m)), aic = stats::AIC(m),
       bic = stats::BIC(m), singular = lme4::isSingular(m),
       msgs = paste(unique(c(msgs, m@optinfo$conv$lme4$messages)), collapse = "; "))
}
"""


def _lme4():
    """rpy2's handle on R and lme4, or an ImportError that says how to install them."""
    saved = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
    except ImportError as err:  # also rpy2's own failure to find or load R
        raise ImportError("mixed_stay_regression runs R's lme4 through rpy2: pip install 'metarl_neuro[mixed]' "
                          f"(rpy2; 3.5.x for R < 4.5) and R with lme4 (Debian: apt-get install r-base-core "
                          f"r-cran-lme4) ({err})") from err
    finally:
        # starting R prepends R's and the system's library folders to LD_LIBRARY_PATH; a Python started from this
        # process afterwards (e.g. by subprocess) would then load the system's libpython and lose its packages. R's
        # libraries are loaded by now, so put it back.
        if saved is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = saved
    ok = ro.r('isTRUE(suppressWarnings(requireNamespace("lme4", quietly = TRUE)))')[0]
    if not ok:
        raise ImportError("R's lme4 package is not installed (Debian: apt-get install r-cran-lme4; elsewhere "
                          "R -e 'install.packages(\"lme4\")')")
    return ro


def mixed_stay_regression(
    trials: pd.DataFrame,
    coding: str = "effect",
    correlated: bool = True,
    bridge_missed: bool = False,
    min_trial: int = 0,
) -> MixedStayRegression:
    """Mixed-effects logistic regression of stays (Daw et al. 2011), fitted by R's lme4 (``glmer``) through rpy2.

    ``stay ~ reward * transition + (1 + reward * transition | subject)``: the one-trial-back design of
    :func:`stay_regression` (previous trial's reward and transition, effect- or dummy-coded) with every
    coefficient random across subjects, as Daw et al. 2011 fitted it with lme4 (Supplemental Table 1); the
    random effects are correlated (``|``) or independent (``||``, ``correlated=False``). Maximum likelihood by
    the Laplace approximation (lme4's default for ``glmer``); Wald z tests for the fixed effects.

    Why lme4: statsmodels' ``BinomialBayesMixedGLM`` (variational Bayes) gives fixed effects within 0.01 of
    lme4's on the hBayesDM example but posterior SDs 2-3 times smaller than lme4's SEs (0.054 vs 0.107-0.159),
    and no correlated random slopes; bambi / PyMC did not import beside matplotlib 3.11 (arviz uses the removed
    ``matplotlib.style.core``). R and lme4 are the reference implementation the papers used.

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table (``subject``, ``episode``, ``trial``, ``choice1``, ``common``, ``reward``, optional
        ``missed``), at least two subjects.
    coding : {"effect", "dummy"}
        Coding of reward and transition (+1/-1 as Daw 2011, or 1/0).
    correlated : bool
        Correlated random effects (lme4 ``|``, the default and Daw 2011's) or independent (``||``).
    bridge_missed, min_trial
        As :func:`stay_regression`.

    Returns
    -------
    MixedStayRegression

    Raises
    ------
    ValueError
        As :func:`stay_regression`; for fewer than two subjects.
    TypeError
        For a ``correlated`` that is not a bool.
    ImportError
        If rpy2, R or lme4 is missing (the message says how to install them).
    RuntimeError
        If lme4 fails to fit (its error message is kept).

    References
    ----------
    Daw, N. D. et al. (2011). Neuron 69, 1204. Bates, D. et al. (2015). Fitting linear mixed-effects models
    using lme4. J. Stat. Softw. 67(1).

    Examples
    --------
    Six simulated model-based subjects (w = 0.8); the fit runs in R (lme4's ``glmer``), and the example is skipped
    where rpy2 is not installed:

    >>> import pytest
    >>> _ = pytest.importorskip("rpy2", reason="R, lme4 and rpy2 are needed")
    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=6, n_trials=150, seed=0)
    >>> fit = mixed_stay_regression(trials, correlated=False)
    >>> fit.fixed["term"].tolist()
    ['intercept', 'reward', 'transition', 'reward:transition']
    >>> bool(fit.indices.set_index("index").loc["model_based", "value"] > 0)
    True
    """
    if coding not in ("effect", "dummy"):
        raise ValueError(f"coding must be 'effect' or 'dummy', got {coding!r}")
    if not isinstance(correlated, (bool, np.bool_)):
        raise TypeError(f"correlated must be True or False, got {correlated!r}")
    check_int(min_trial, "min_trial", 0, " (a 0-based trial index)")
    df = add_stay_columns(trials, bridge_missed, min_trial)
    y, X = _design_one_back(df, coding)
    if len(y) == 0:
        raise ValueError("no trial has a previous trial in its episode")
    subjects = df["subject"].astype(str).to_numpy()
    if len(np.unique(subjects)) < 2:
        raise ValueError(f"a mixed-effects regression needs at least two subjects, got {len(np.unique(subjects))}")
    why = _unidentified(X)
    if why:
        raise ValueError(f"mixed_stay_regression: {why}")
    ro = _lme4()
    bar = "|" if correlated else "||"
    formula = f"stay ~ reward * transition + (1 + reward + transition + rt {bar} subject)"
    data = ro.DataFrame({"stay": ro.IntVector(y.astype(int).tolist()),
                         "reward": ro.FloatVector(X["reward"].tolist()),
                         "transition": ro.FloatVector(X["transition"].tolist()),
                         "rt": ro.FloatVector(X["reward:transition"].tolist()),
                         "subject": ro.FactorVector(ro.StrVector(subjects.tolist()))})
    from rpy2.rinterface_lib.embedded import RRuntimeError

    try:
        out = ro.r(_GLMER)(data, formula)
    except RRuntimeError as err:
        raise RuntimeError(f"lme4::glmer failed on {formula}: {err}") from err
    res = {k: out.rx2(k) for k in out.names}
    coef = np.asarray(res["coef"])
    terms = ["intercept", "reward", "transition", "reward:transition"]
    fixed = pd.DataFrame({"term": terms, "coef": coef[:, 0], "se": coef[:, 1], "z": coef[:, 2], "p": coef[:, 3]})
    name = {"(Intercept)": "intercept", "reward": "reward", "transition": "transition", "rt": "reward:transition"}
    v1 = [name.get(str(v), str(v)) for v in res["vc_var1"]]
    v2 = ["" if str(v) in ("NA", "NA_character_") else name.get(str(v), str(v)) for v in res["vc_var2"]]
    vcov, sdcor = np.asarray(res["vc_vcov"]), np.asarray(res["vc_sdcor"])
    is_var = np.array([b == "" for b in v2])
    random = pd.DataFrame({"term": v1, "term2": v2, "variance": np.where(is_var, vcov, np.nan),
                           "sd": np.where(is_var, sdcor, np.nan), "corr": np.where(is_var, np.nan, sdcor)})
    idx = fixed.set_index("term")
    indices = pd.DataFrame([{"index": k, "value": idx.loc[t, "coef"], "se": idx.loc[t, "se"], "z": idx.loc[t, "z"],
                             "p": idx.loc[t, "p"]} for k, t in (("model_based", "reward:transition"),
                                                                 ("model_free", "reward"))])
    return MixedStayRegression(fixed, random, indices, float(res["loglik"][0]), float(res["aic"][0]),
                               float(res["bic"][0]), len(y), len(np.unique(subjects)), formula,
                               bool(res["singular"][0]), str(res["msgs"][0]))
