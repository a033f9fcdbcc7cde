"""Hierarchical EM fits (Huys et al. 2011) of the hybrid models."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from metarl_neuro.analysis import fit_hierarchical, fit_hybrid, group_model_selection, simulate_hybrid
from metarl_neuro.analysis.hybrid import MODELS

# Kool et al. 2016's hybrid model without stickiness: alpha, beta, lam, w free (bounds 0-1, beta 0-20)
KW = MODELS["hybrid"]


def _subjects(n, n_trials, seed):
    rng = np.random.default_rng(seed)
    true = pd.DataFrame({"alpha": expit(rng.normal(0.0, 0.6, n)), "beta": 20 * expit(rng.normal(-1.2, 0.3, n)),
                         "lam": expit(rng.normal(0.5, 0.6, n)), "w": expit(rng.normal(0.0, 0.8, n)), "st": 0.0,
                         "respst": 0.0})
    return true, simulate_hybrid(true, n_trials=n_trials, variant="kool2016", seed=seed)


@pytest.fixture(scope="module")
def fitted():
    true, df = _subjects(12, 60, seed=3)
    return true, df, fit_hierarchical(df, **KW, n_samples=300)


@pytest.mark.slow
def test_group_distribution_laplace_and_sampled_evidence(fitted):
    _true, _df, h = fitted
    assert h.converged and h.n_iter >= 2
    g = h.group.set_index("parameter")
    assert list(g.index) == ["alpha", "beta", "lam", "w"]
    # the group median of the inverse temperature lies near the population's (20 * expit(-1.2) = 4.63)
    assert 3.0 < g.loc["beta", "median"] < 7.0
    assert (g["lower"] <= g["median"]).all() and (g["median"] <= g["upper"]).all()
    # EM climbs: the Laplace log marginal likelihood ends above where it started
    hist = h.history["log_marginal_laplace"].to_numpy()
    assert hist[-1] > hist[0]
    # two approximations of the same log p(D_i | group): Monte Carlo and Laplace agree to within a nat per subject
    diff = h.subjects["log_evidence"] - h.subjects["log_evidence_laplace"]
    assert diff.abs().max() < 1.0
    n = h.subjects["n_trials"].sum()
    assert h.ibic == pytest.approx(-2 * h.subjects["log_evidence"].sum() + 2 * 4 * np.log(n))
    assert (h.subjects[["st", "respst"]] == 0).all().all()  # fixed parameters reported


@pytest.mark.slow
def test_estimates_are_shrunk_towards_the_group(fitted):
    _true, df, h = fitted
    mle = fit_hybrid(df, **KW, starts="random", n_starts=4)
    for k in ("alpha", "lam", "w"):
        spread = lambda v: np.std(logit(np.clip(v, 1e-4, 1 - 1e-4)))
        assert spread(h.subjects[k]) < spread(mle[k])
    # the posterior modes cost likelihood, never more than the prior gives back
    assert (h.subjects["nll"].to_numpy() >= mle["nll"].to_numpy() - 1e-6).all()


@pytest.mark.slow
def test_model_selection_takes_hierarchical_fits(fitted):
    _true, df, h = fitted
    h_mf = fit_hierarchical(df, **MODELS["mf"], n_samples=300)
    sel = group_model_selection({"hybrid": h, "mf": h_mf})
    assert set(sel.table["model"]) == {"hybrid", "mf"}
    assert np.allclose(sel.attribution.sum(axis=1), 1)


@pytest.mark.parametrize("kw, match", [({"tol": 0}, "tol"), ({"n_samples": 0}, "n_samples"),
                                       ({"max_iter": 1.5}, "max_iter"), ({"fixed": {"nope": 1}}, "nope")])
def test_bad_arguments_are_named(kw, match):
    _, df = _subjects(2, 20, seed=1)
    with pytest.raises(ValueError, match=match):
        fit_hierarchical(df, **{**KW, **kw})


def test_one_subject_is_refused():
    _, df = _subjects(1, 20, seed=1)
    with pytest.raises(ValueError, match="at least two subjects"):
        fit_hierarchical(df, **KW)
