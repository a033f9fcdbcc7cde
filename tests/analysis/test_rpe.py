import numpy as np
import pandas as pd
import pytest
import xarray as xr

from metarl_neuro.analysis import agent_state_rpe, hybrid_values, rpe_regression, simulate_hybrid
from metarl_neuro.run import Run
from metarl_neuro.tasks.two_step import TwoStepStage

PARAMS = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.0, "beta1": 5.0, "beta2": 5.0, "w": 0.5, "p": 0.0}


def table(c1, s2, r):
    n = len(c1)
    return pd.DataFrame({"subject": "s", "episode": 0, "trial": np.arange(n), "choice1": c1, "state2": s2,
                         "common": np.equal(c1, s2), "choice2": 0, "reward": np.asarray(r, float)})


def test_hybrid_values_by_hand():
    # trial 0: c1 0 -> s2 0 (common), r 1; trial 1: c1 1 -> s2 0 (rare), r 0; trial 2: c1 0 -> s2 1 (rare), r 1
    v = hybrid_values(PARAMS, table([0, 1, 0], [0, 0, 1], [1, 0, 1]), common_prob=0.8)
    # before trial 1: Q2(0) = 0.5 (0 + 0.5 * 1), Q1 = 0; Q_MB(1) = 0.8 * V(1) + 0.2 * V(0) = 0.1
    # before trial 2: Q1(1) = 0.5 * (0.5 - 0) = 0.25, Q2(0) = 0.5 + 0.5 * (0 - 0.5) = 0.25; Q_MB(0) = 0.8 * 0.25
    np.testing.assert_allclose(v["rpe_mf"], [0.0, 0.5, 0.0])
    np.testing.assert_allclose(v["rpe_mb"], [0.0, 0.4, -0.2])
    np.testing.assert_allclose(v["rpe_outcome"], [1.0, -0.5, 1.0])
    np.testing.assert_allclose(v["q_mb"], [0.0, 0.1, 0.2])
    with pytest.raises(ValueError, match=r"params lack \['lam'\]"):
        hybrid_values({k: x for k, x in PARAMS.items() if k != "lam"}, table([0], [0], [1]))


def paper_run(tmp_path, target: str, n_episodes: int = 20, n_trials: int = 60, noise: float = 0.05):
    """A run folder whose trials come from a hybrid learner and whose activations have the paper structure
    (fixation, first stage, second stage: 3 steps per trial), the agent's RPE at each first-stage step being
    ``2 * <target>`` of that learner plus noise, and noise at every other step."""
    trials = simulate_hybrid(PARAMS, n_subjects=n_episodes, n_trials=n_trials, common_prob=0.8, seed=4)
    trials["episode"] = trials["subject"].str[3:].astype(int)
    trials["subject"] = "run"
    values = hybrid_values(PARAMS, trials, common_prob=0.8)
    rng = np.random.default_rng(0)
    E, S = n_episodes, 3 * n_trials
    rpe = rng.standard_normal((E, S)).astype(np.float32)
    signal = values[target].to_numpy().reshape(E, n_trials)
    rpe[:, 1::3] = 2 * signal + noise * rng.standard_normal((E, n_trials))
    step = ("episode", "step")
    ds = xr.Dataset(
        {"rpe": (step, rpe)},
        coords={"episode": np.arange(E), "step": np.arange(S), "active": (step, np.ones((E, S), bool)),
                "stage": (step, np.tile([TwoStepStage.FIXATION, TwoStepStage.FIRST, TwoStepStage.SECOND], (E, n_trials))),
                "trial": (step, np.tile(np.repeat(np.arange(n_trials), 3), (E, 1)))},
    )
    run = Run(tmp_path / target)
    run.save_meta({"experiment": "two-step", "config": {"common_prob": 0.8}})
    run.save_trials(trials)
    run.save_activations(ds)
    return run, ds, values


@pytest.mark.parametrize("target", ["rpe_mb", "rpe_mf"])
def test_rpe_regression_recovers_the_error_the_agent_carries(tmp_path, target):
    run, ds, _ = paper_run(tmp_path, target)
    res = rpe_regression(run.trials, run.activations, fit=PARAMS)  # the data; the Run form below
    t = res.table.set_index("regressors")
    this, other = ("model-based", "model-free") if target == "rpe_mb" else ("model-free", "model-based")
    assert t.loc[this, "r2"] > 0.95
    assert t.loc[this, "unique_r2"] > 0.05 and t.loc[other, "unique_r2"] < 0.01
    # issue 24: the other regressor alone explains what its correlation with the carried error allows
    assert t.loc[other, "r2"] == pytest.approx(t.loc[other, "shared_r2"], abs=0.01)
    assert t.loc[other, "shared_r2"] == pytest.approx(t.loc[other, "corr_mb_mf"] ** 2)
    slope = t.loc["both", "slope_mb" if target == "rpe_mb" else "slope_mf"]
    assert slope == pytest.approx(2.0, abs=0.05)
    assert len(res.trials) == 20 * 60 and t.loc["both", "n_trials"] == 20 * 60
    # the agent's RPE is read at the first-stage step before the second-stage state
    a = agent_state_rpe(ds)
    assert (a["step"] % 3 == 1).all() and len(a) == 20 * 60


def test_rpe_regression_fits_the_learner_by_default(tmp_path):
    run, _, _ = paper_run(tmp_path, "rpe_mb", n_episodes=8, n_trials=40)
    res = rpe_regression(run)
    assert {"alpha1", "w", "nll"} <= set(res.params.index)
    assert res.table.set_index("regressors").loc["model-based", "r2"] > 0.5


def test_rpe_regression_bad_input(tmp_path):
    with pytest.raises(TypeError, match=r"takes data, not a path: pass Run.load\("):
        rpe_regression(tmp_path)  # the analyses read no file (issue 26)
    run, ds, _ = paper_run(tmp_path, "rpe_mb", n_episodes=5, n_trials=10)
    with pytest.raises(ValueError, match="structure='paper'"):
        agent_state_rpe(ds.assign_coords(stage=ds["stage"] * 0 + int(TwoStepStage.FIRST)))
    with pytest.raises(ValueError, match=r"lacks \['rpe'\]"):
        agent_state_rpe(ds.drop_vars("rpe"))
    with pytest.raises(ValueError, match="fit has 2 rows"):
        rpe_regression(run, fit=pd.DataFrame([PARAMS, PARAMS]))
    with pytest.raises(TypeError, match=r"needs the activations \(xarray.Dataset, Run.activations\)"):
        rpe_regression(run.trials)
    with pytest.raises(TypeError, match="a DataFrame is a trial table"):
        rpe_regression(run.trials, run.trials)


def test_a_learner_that_does_not_learn_is_named(tmp_path):
    run, _, _ = paper_run(tmp_path, "rpe_mb", n_episodes=5, n_trials=10)
    with pytest.raises(ValueError, match="rpe_mb and rpe_mf are constant"):
        rpe_regression(run, fit={**PARAMS, "alpha1": 0.0, "alpha2": 0.0})
