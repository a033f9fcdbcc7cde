import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from metarl_neuro.analysis.hybrid import simulate_hybrid
from metarl_neuro.analysis.regression import stay_regression


def cell_table(stays: dict, n: int = 40) -> pd.DataFrame:
    """Trials whose previous (rewarded, common) cell and stay are set exactly: pairs of trials per episode."""
    rows, ep = [], 0
    for (rewarded, common), k in stays.items():
        for i in range(n):
            stay = i < k
            rows += [
                {"subject": "s", "episode": ep, "trial": 0, "choice1": 0, "common": common, "reward": float(rewarded)},
                {"subject": "s", "episode": ep, "trial": 1, "choice1": 0 if stay else 1, "common": True, "reward": 0.0},
            ]
            ep += 1
    return pd.DataFrame(rows)


STAYS = {(True, True): 32, (True, False): 12, (False, True): 14, (False, False): 30}  # of 40 each


def coefs(res, subject="pooled"):
    t = res.coefficients
    return t[t["subject"] == subject].set_index("term")["coef"]


def test_one_back_effect_coding_matches_cell_logits():
    L = {k: logit(v / 40) for k, v in STAYS.items()}
    rc, rr, uc, ur = L[(True, True)], L[(True, False)], L[(False, True)], L[(False, False)]
    c = coefs(stay_regression(cell_table(STAYS), groups=None))
    # saturated model: logit = b0 + br r + bt T + brt r T with r, T = +-1
    assert c["intercept"] == pytest.approx((rc + rr + uc + ur) / 4, abs=1e-6)
    assert c["reward"] == pytest.approx((rc + rr - uc - ur) / 4, abs=1e-6)
    assert c["transition"] == pytest.approx((rc - rr + uc - ur) / 4, abs=1e-6)
    assert c["reward:transition"] == pytest.approx((rc - rr - uc + ur) / 4, abs=1e-6)


def test_one_back_dummy_coding_matches_cell_logits():
    L = {k: logit(v / 40) for k, v in STAYS.items()}
    c = coefs(stay_regression(cell_table(STAYS), coding="dummy", groups=None))
    assert c["intercept"] == pytest.approx(L[(False, False)], abs=1e-6)
    assert c["reward"] == pytest.approx(L[(True, False)] - L[(False, False)], abs=1e-6)
    assert c["intercept"] + c["reward"] + c["transition"] + c["reward:transition"] == pytest.approx(L[(True, True)], abs=1e-6)


def test_indices_and_cluster_robust_pooled_fit():
    mb = simulate_hybrid({"alpha1": 0.6, "alpha2": 0.6, "lam": 0.6, "beta1": 6, "beta2": 4, "w": 1.0, "p": 0.1},
                         n_subjects=8, n_trials=200, seed=1)
    mf = simulate_hybrid({"alpha1": 0.6, "alpha2": 0.6, "lam": 1.0, "beta1": 6, "beta2": 4, "w": 0.0, "p": 0.1},
                         n_subjects=8, n_trials=200, seed=2)
    for lags in (1, 5):
        res_mb, res_mf = stay_regression(mb, lags=lags), stay_regression(mf, lags=lags)
        assert res_mb.fits["pooled"].cov_type == "cluster"
        idx_mb = res_mb.indices[res_mb.indices["subject"] == "pooled"].set_index("index")
        idx_mf = res_mf.indices[res_mf.indices["subject"] == "pooled"].set_index("index")
        # a model-based agent: model-based index well above 0 (z > 4); a model-free one: model-free index
        assert idx_mb.loc["model_based", "z"] > 4 and idx_mf.loc["model_free", "z"] > 4
        assert idx_mb.loc["model_based", "value"] > idx_mf.loc["model_based", "value"]
        assert set(res_mb.coefficients["subject"]) == {"pooled", *mb["subject"].unique()}
    lagged = stay_regression(mb, lags=5, groups=None)
    assert set(lagged.coefficients["lag"]) == {0, 1, 2, 3, 4, 5}
    # the index is the contrast of the coefficients, with SE from their covariance
    c = coefs(lagged)
    mbi = sum(c[f"CR_{k}"] - c[f"CU_{k}"] - c[f"RR_{k}"] + c[f"RU_{k}"] for k in range(1, 6))
    assert lagged.indices.set_index("index").loc["model_based", "value"] == pytest.approx(mbi)


@pytest.mark.parametrize(
    "kwargs, match", [({"lags": 0}, "lags"), ({"coding": "helmert"}, "coding"), ({"groups": "site"}, "groups")]
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stay_regression(cell_table(STAYS, n=5), **kwargs)


def test_missed_trials_do_not_enter():
    df = cell_table(STAYS)
    base = stay_regression(df, groups=None).coefficients
    extra = df.copy()
    extra.loc[extra["trial"] == 1, "trial"] = 2
    gap = extra[extra["trial"] == 2].assign(trial=1, choice1=-1, reward=np.nan, missed=True)
    with_missed = pd.concat([extra.assign(missed=False), gap], ignore_index=True)
    # every second trial now follows a missed one: nothing left to regress unless bridged
    with pytest.raises(ValueError, match="no trial"):
        stay_regression(with_missed, groups=None)
    bridged = stay_regression(with_missed, groups=None, bridge_missed=True).coefficients
    pd.testing.assert_series_equal(bridged["coef"], base["coef"])


def test_separation_is_flagged_not_hidden():
    # the agent of Wang 2018 can stay after every unrewarded-rare trial: that cell's logit is infinite
    t = stay_regression(cell_table({(True, True): 32, (True, False): 12, (False, True): 14, (False, False): 40}),
                        groups=None).coefficients
    assert not t["converged"].any() and t["warning"].str.contains("separation").all()


@pytest.mark.parametrize("lags", [1.5, "2", True])
def test_lags_must_be_an_integer(lags):
    with pytest.raises(ValueError, match="lags must be an integer"):
        stay_regression(cell_table(STAYS, n=5), lags=lags)


def test_unrewarded_data_is_a_named_error_pooled_and_a_recorded_problem_per_subject():
    """Issue 13: all rewards 0 raised numpy's LinAlgError."""
    none = cell_table(STAYS, n=5).assign(reward=0.0)
    with pytest.raises(ValueError, match=r"rank-deficient \(predictor\(s\) \['reward'\]"):
        stay_regression(none)
    mixed = pd.concat([cell_table(STAYS, n=10), none.assign(subject="t")], ignore_index=True)
    res = stay_regression(mixed, groups="subject")
    t = res.coefficients[res.coefficients["subject"] == "t"]
    assert t["coef"].isna().all() and not t["converged"].any() and "rank-deficient" in t["warning"].iloc[0]
    assert res.coefficients[res.coefficients["subject"] == "pooled"]["coef"].notna().all()
