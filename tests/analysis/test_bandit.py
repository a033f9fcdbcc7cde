import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metarl_neuro.agents import baselines as bl
from metarl_neuro.analysis import (
    cumulative_regret,
    fit_rescorla_wagner,
    rescorla_wagner_nll,
    suboptimal_pulls,
)
from metarl_neuro.experiments.bandit import bandit_trials
from metarl_neuro.tasks import BanditTask


def table():
    # two policies x two episodes x three trials
    rows = []
    for policy, regrets in (("A", [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]]), ("B", [[0.2, 0.2, 0.2], [0.4, 0.4, 0.4]])):
        for e, rs in enumerate(regrets):
            for t, r in enumerate(rs):
                rows.append({"policy": policy, "episode": e, "trial": t, "regret": r, "optimal": r == 0})
    return pd.DataFrame(rows)


def test_cumulative_regret_by_hand():
    out = cumulative_regret(table()).set_index(["policy", "trial"])
    assert out.loc[("A", 2), "mean"] == pytest.approx(0.5)  # (1.0 + 0.0) / 2
    assert out.loc[("B", 0), "mean"] == pytest.approx(0.3) and out.loc[("B", 2), "mean"] == pytest.approx(0.9)
    assert out.loc[("B", 2), "trials"] == 3 and out.loc[("B", 2), "n_episodes"] == 2
    half = stats.t.ppf(0.975, 1) * np.std([0.6, 1.2], ddof=1) / np.sqrt(2)
    assert out.loc[("B", 2), "ci_hi"] - out.loc[("B", 2), "mean"] == pytest.approx(half)


def test_suboptimal_pulls_by_hand():
    out = suboptimal_pulls(table()).set_index("policy")
    assert out.loc["A", "mean"] == pytest.approx(1.0) and out.loc["A", "fraction"] == pytest.approx(2 / 6)
    assert out.loc["B", "mean"] == pytest.approx(3.0) and out.loc["B", "fraction"] == pytest.approx(1.0)


def test_rescorla_wagner_fit_recovers_the_learning_rate():
    B = 400
    tables = []
    for alpha in (0.15, 0.6):
        log = bl.run_policy(bl.RescorlaWagner(B, alpha=alpha, beta=8.0, seed=3), BanditTask(B, "restless", seed=4))
        t = bandit_trials(log, "sim", f"alpha={alpha}")
        tables.append(t)
    fit = fit_rescorla_wagner(pd.concat(tables), by="policy").set_index("policy")
    assert fit.loc["alpha=0.15", "alpha"] == pytest.approx(0.15, abs=0.05)
    assert fit.loc["alpha=0.6", "alpha"] == pytest.approx(0.6, abs=0.1)
    assert fit.loc["alpha=0.6", "beta"] == pytest.approx(8.0, rel=0.25)
    assert fit["converged"].all() and (fit["n_trials"] == B * 100).all()
    # the fit's NLL is the model's NLL at the estimate, and no worse than at the truth
    one = tables[0]
    best = fit.loc["alpha=0.15"]
    assert rescorla_wagner_nll(one, best["alpha"], best["beta"]) == pytest.approx(best["nll"])
    assert best["nll"] <= rescorla_wagner_nll(one, 0.15, 8.0) + 1e-6


def test_bad_input_is_named():
    t = table()
    with pytest.raises(ValueError, match=r"missing column\(s\) \['regret'\]"):
        cumulative_regret(t.drop(columns="regret"))
    bad = t.copy()
    bad.loc[0, "regret"] = -1.0
    with pytest.raises(ValueError, match="'regret' must be >= 0"):
        cumulative_regret(bad)
    with pytest.raises(ValueError, match="repeat a"):
        cumulative_regret(pd.concat([t, t]))
    t3 = t.assign(choice=2, reward=1.0)
    with pytest.raises(ValueError, match="two-armed choices"):
        fit_rescorla_wagner(t3, by="policy")
    with pytest.raises(TypeError, match="DataFrame"):
        suboptimal_pulls([1, 2])


def test_a_single_start_reaches_the_optimum_not_the_flat_alpha_zero_edge():
    """Issue 13: with n_starts=1, 4 of 6 seeds stopped at alpha 0, beta 0 (where beta has no effect)."""
    log = bl.run_policy(bl.RescorlaWagner(40, alpha=0.2, beta=4.0, seed=1), BanditTask(40, "restless", seed=2))
    t = bandit_trials(log, "sim", "rw")
    reference = fit_rescorla_wagner(t, by="policy", n_starts=20, seed=0).iloc[0]
    for seed in range(6):
        one = fit_rescorla_wagner(t, by="policy", n_starts=1, seed=seed).iloc[0]
        assert one["nll"] <= reference["nll"] + 1e-4 and one["alpha"] > 0.05, seed


def test_silently_wrong_inputs_of_issue_13_are_errors():
    t = table()
    with pytest.raises(ValueError, match="'optimal' must be boolean"):
        suboptimal_pulls(t.assign(optimal=t["optimal"].astype(str)))  # 'True' / 'False' read as all True
    with pytest.raises(ValueError, match="'optimal' must be boolean"):
        suboptimal_pulls(t.assign(optimal=2))
    inf = t.copy()
    inf.loc[1, "regret"] = np.inf
    with pytest.raises(ValueError, match="'regret' holds 1 infinite"):
        cumulative_regret(inf)
    for level in (1.5, 0, -1, float("nan"), "0.95"):
        with pytest.raises(ValueError, match="level must be a confidence level"):
            cumulative_regret(t, level=level)
    sim = t.assign(choice=[0, 1, 0] * 4, reward=1.0)
    for alpha, beta in ((np.nan, 1.0), (5.0, 1.0), (0.5, -3.0), (0.5, np.inf)):
        with pytest.raises(ValueError, match="must lie in"):
            rescorla_wagner_nll(sim[sim["policy"] == "A"], alpha, beta)
    with pytest.raises(ValueError, match="whole numbers"):
        fit_rescorla_wagner(sim.assign(choice=0.5), by="policy")
    with pytest.raises(ValueError, match="n_starts must be an integer"):
        fit_rescorla_wagner(sim, by="policy", n_starts=1.5)


def test_better_arm_probability_is_the_share_per_trial_with_an_interval_inside_0_1():
    from metarl_neuro.analysis import better_arm_probability

    df = pd.DataFrame({"policy": "a", "episode": np.repeat(np.arange(10), 2), "trial": np.tile([0, 1], 10),
                       "optimal": np.tile([False, True], 10)})
    out = better_arm_probability(df)
    assert out["p_better"].tolist() == [0.0, 1.0]
    assert (out["ci_lo"] >= 0).all() and (out["ci_hi"] <= 1).all() and out["ci_hi"].iloc[0] > 0
    with pytest.raises(ValueError, match="optimal"):
        better_arm_probability(df.drop(columns="optimal"))
