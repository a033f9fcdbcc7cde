"""Mixed-effects stay regression (lme4 through rpy2) against lme4 run from R on the hBayesDM example."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarl_neuro.analysis import from_hbayesdm, mixed_stay_regression, simulate_hybrid

REF = Path(__file__).parents[1] / "reference"
HBAYESDM = REF / "hbayesdm" / "ts_exampleData.txt"


def _have_lme4() -> bool:
    try:
        from metarl_neuro.analysis.regression import _lme4

        _lme4()
    except ImportError:
        return False
    return True


needs_lme4 = pytest.mark.skipif(not _have_lme4(), reason="needs rpy2, R and R's lme4")


@needs_lme4
@pytest.mark.parametrize("correlated", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_matches_lme4_run_from_r_on_the_hbayesdm_example(correlated):
    ref = pd.read_csv(REF / "lme4" / "hbayesdm_stay_glmer.csv")
    ref = ref[ref["correlated"] == correlated].set_index("term")
    trials = from_hbayesdm(pd.read_csv(HBAYESDM, sep="\t"))
    res = mixed_stay_regression(trials, correlated=correlated)
    assert res.n_trials == ref["n_trials"].iloc[0] == 2163 and res.n_subjects == 11
    fixed = res.fixed.set_index("term").loc[ref.index]
    # the same model and data; rows reach R in another order (subjects sorted as text), so the optimiser's path,
    # not the optimum, differs a little
    np.testing.assert_allclose(fixed["coef"], ref["coef"], atol=2e-3)
    np.testing.assert_allclose(fixed["se"], ref["se"], atol=2e-3)
    sd = res.random[res.random["term2"] == ""].set_index("term").loc[ref.index, "sd"]
    np.testing.assert_allclose(sd, ref["random_sd"], atol=1e-2)
    assert res.loglik == pytest.approx(ref["loglik"].iloc[0], abs=1e-3)
    n_corr = (res.random["term2"] != "").sum()
    assert n_corr == (6 if correlated else 0)
    mb = res.indices.set_index("index").loc["model_based"]
    assert mb["value"] == fixed.loc["reward:transition", "coef"] and mb["p"] < 1e-3  # Daw 2011's MB effect


@needs_lme4
def test_a_python_started_after_r_still_finds_its_packages():
    # starting R prepends the system's library folder to LD_LIBRARY_PATH; a child Python then loaded the system's
    # libpython and lost its site-packages (a killed-and-resumed simulate run in a subprocess never started)
    import subprocess
    import sys

    from metarl_neuro.analysis.regression import _lme4

    _lme4()
    out = subprocess.run([sys.executable, "-c", "import metarl_neuro, torch; print('ok')"], capture_output=True, check=False,
                         text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@needs_lme4
@pytest.mark.slow
def test_recovers_the_direction_of_simulated_model_based_and_model_free_subjects():
    common = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.6, "beta1": 5.0, "beta2": 5.0, "p": 0.1}
    mb = simulate_hybrid({**common, "w": 1.0}, n_subjects=8, n_trials=200, seed=1)
    mf = simulate_hybrid({**common, "w": 0.0}, n_subjects=8, n_trials=200, seed=2)
    i_mb = mixed_stay_regression(mb, correlated=False).indices.set_index("index")
    i_mf = mixed_stay_regression(mf, correlated=False).indices.set_index("index")
    assert i_mb.loc["model_based", "value"] > 0.3 and i_mb.loc["model_based", "p"] < 0.01
    assert i_mf.loc["model_free", "value"] > 0.3 and abs(i_mf.loc["model_based", "value"]) < i_mb.loc["model_based", "value"] / 2


@pytest.mark.parametrize("kw, err, match", [({"coding": "binary"}, ValueError, "coding"),
                                            ({"correlated": "yes"}, TypeError, "correlated"),
                                            ({"min_trial": -1}, ValueError, "min_trial")])
def test_bad_arguments_are_named_before_any_work(kw, err, match):
    trials = simulate_hybrid({"alpha1": .5, "alpha2": .5, "lam": .5, "beta1": 3., "beta2": 3., "w": .5, "p": 0.},
                             n_subjects=2, n_trials=30)
    with pytest.raises(err, match=match):
        mixed_stay_regression(trials, **kw)


def test_one_subject_is_refused():
    trials = simulate_hybrid({"alpha1": .5, "alpha2": .5, "lam": .5, "beta1": 3., "beta2": 3., "w": .5, "p": 0.},
                             n_subjects=1, n_trials=30)
    with pytest.raises(ValueError, match="at least two subjects"):
        mixed_stay_regression(trials)
