"""Each malformed input listed in issue 13, run on the current code: the error it now gives (or the result).

    python benchmarks/bad_input_cases.py
"""
import warnings

import numpy as np
import pandas as pd

from metarl_neuro import analysis as A
from metarl_neuro.agents import baselines as bl
from metarl_neuro.experiments.bandit import bandit_trials
from metarl_neuro.tasks import BanditTask


def run(label, f):
    try:
        out = f()
        print(f"- {label}: NO ERROR -> {str(out)[:100]!r}")
    except Exception as e:  # noqa: BLE001 - report whatever the case raises
        print(f"- {label}: {type(e).__name__}: {str(e)[:230]}")


def main() -> None:
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    band = pd.DataFrame({"policy": "p", "episode": np.repeat(range(4), 10), "trial": np.tile(range(10), 4),
                         "regret": rng.random(40) * (rng.random(40) < .5), "choice": rng.integers(0, 2, 40),
                         "reward": rng.integers(0, 2, 40).astype(float)})
    band["optimal"] = band["regret"] == 0
    ch = pd.DataFrame({"episode": np.repeat(range(6), 30), "trial": np.tile(range(30), 6), "choice": rng.integers(0, 2, 180),
                       "reward": rng.integers(0, 2, 180).astype(float), "volatile": np.repeat([0, 1] * 3, 30).astype(bool),
                       "block": 0, "risky_side": 1, "manipulation": "none", "p_risky": 0.5})
    ts = pd.DataFrame({"subject": "s", "episode": 0, "trial": range(60), "choice1": rng.integers(0, 2, 60)})
    ts["common"] = rng.random(60) < .7
    ts["state2"] = np.where(ts["common"], ts["choice1"], 1 - ts["choice1"])
    ts["choice2"] = 0
    ts["reward"] = rng.integers(0, 2, 60).astype(float)
    daw = {"alpha1": .5, "alpha2": .5, "lam": .5, "beta1": 2., "beta2": 2., "w": .5, "p": .1}
    hv = pd.DataFrame({"episode": np.repeat(range(3), 6), "trial": np.tile(range(6), 3), "correct": True,
                       "rewarded_side": np.tile([0, 0, 0, 1, 1, 1], 3)})
    print("Silently wrong before:")
    run("suboptimal_pulls, optimal as 'True'/'False'", lambda: A.suboptimal_pulls(band.assign(optimal=band["optimal"].astype(str))))
    run("suboptimal_pulls, optimal = 2", lambda: A.suboptimal_pulls(band.assign(optimal=2)))
    run("volatility_learning_rates, volatile 'yes'/'no'", lambda: A.volatility_learning_rates(ch.assign(volatile=np.where(ch["volatile"], "yes", "no"))))
    run("risky_choice, risky_side 5", lambda: A.risky_choice(ch.assign(risky_side=5)))
    run("matching_law, a choice of 0.5", lambda: A.matching_law(ch.assign(choice=ch["choice"].astype(float).where(ch.index != 3, 0.5))))
    run("fit_rescorla_wagner, a choice of 0.5", lambda: A.fit_rescorla_wagner(band.assign(choice=band["choice"].astype(float).where(band.index != 3, 0.5)), by="policy"))
    run("fit_hybrid start_trial=10000", lambda: A.fit_hybrid(ts, start_trial=10000, n_starts=1))
    run("fit_hybrid start_trial=-5", lambda: A.fit_hybrid(ts, start_trial=-5, n_starts=1))
    run("fit_hybrid common_prob=1.5", lambda: A.fit_hybrid(ts, common_prob=1.5, n_starts=1))
    run("fit_hybrid common_prob=nan", lambda: A.fit_hybrid(ts, common_prob=np.nan, n_starts=1))
    run("hybrid_nll w=NaN", lambda: A.hybrid_nll({**daw, "w": np.nan}, ts))
    run("hybrid_nll alpha1=5", lambda: A.hybrid_nll({**daw, "alpha1": 5.}, ts))
    run("hybrid_nll beta1=-3", lambda: A.hybrid_nll({**daw, "beta1": -3.}, ts))
    run("rescorla_wagner_nll alpha=NaN", lambda: A.rescorla_wagner_nll(band, np.nan, 1.))
    run("rescorla_wagner_nll alpha=5", lambda: A.rescorla_wagner_nll(band, 5., 1.))
    run("stay_probability reward=inf", lambda: A.stay_probability(ts.assign(reward=ts["reward"].where(ts.index != 4, np.inf))))
    run("matching_law reward=inf", lambda: A.matching_law(ch.assign(reward=ch["reward"].where(ch.index != 4, np.inf))))
    raw = pd.read_csv("tests/reference/hbayesdm/ts_exampleData.txt", sep="\t")
    run("from_hbayesdm reward=inf", lambda: A.from_hbayesdm(raw.assign(reward=raw["reward"].astype(float).where(raw.index != 2, np.inf))))
    run("cumulative_regret regret=inf in one row", lambda: A.cumulative_regret(band.assign(regret=band["regret"].where(band.index != 5, np.inf))))
    run("cumulative_regret level=1.5", lambda: A.cumulative_regret(band, level=1.5))
    run("cumulative_regret level=0", lambda: A.cumulative_regret(band, level=0))
    run("harlow_performance level=2", lambda: A.harlow_performance(hv, by=None, level=2))
    run("risky_choice level=-1", lambda: A.risky_choice(ch, level=-1))
    run("harlow_performance trial 0.5", lambda: A.harlow_performance(hv.assign(trial=hv["trial"].astype(float).where(hv.index != 1, 0.5)), by=None))
    run("harlow_performance duplicated rows", lambda: A.harlow_performance(pd.concat([hv, hv]), by=None))
    run("stay_probability every other trial dropped", lambda: A.stay_probability(ts.iloc[::2]))
    run("stay_probability common contradicting choice1/state2", lambda: A.stay_probability(ts.assign(common=~ts["common"])))
    one = raw[raw["subjID"] == raw["subjID"].iloc[0]].copy(); one.iloc[-1, one.columns.get_loc("trial")] = 10_000_000
    run("from_hbayesdm one trial number 1e7", lambda: A.from_hbayesdm(one))
    log = bl.run_policy(bl.RescorlaWagner(40, alpha=0.2, beta=4.0, seed=1), BanditTask(40, "restless", seed=2))
    t = bandit_trials(log, "sim", "rw")
    fits = [A.fit_rescorla_wagner(t, by="policy", n_starts=1, seed=s).iloc[0] for s in range(6)]
    print(f"- fit_rescorla_wagner(n_starts=1), seeds 0-5 (simulated alpha 0.2, beta 4): alpha "
          f"{[round(f['alpha'], 3) for f in fits]}, beta {[round(f['beta'], 2) for f in fits]}")
    print("Unclear before:")
    run("stay_probability reward 'yes'/'no'", lambda: A.stay_probability(ts.assign(reward=np.where(ts["reward"] > 0, "yes", "no"))))
    run("stay_probability string episodes", lambda: A.stay_probability(ts.assign(episode="a")))
    run("stay_regression lags=1.5", lambda: A.stay_regression(ts, lags=1.5))
    run("lagged_choice_regression lags='2'", lambda: A.lagged_choice_regression(ch, lags="2"))
    run("stay_regression all rewards 0", lambda: A.stay_regression(ts.assign(reward=0.0)))
    run("hybrid_nll on an empty table", lambda: A.hybrid_nll(daw, ts.iloc[:0]))
    run("from_hbayesdm empty frame", lambda: A.from_hbayesdm(raw.iloc[:0]))
    run("to_trials codes key naming no column", lambda: A.to_trials(raw, {"subject": "subjID", "choice1": "level1_choice", "state2": "level2_choice", "choice2": "level2_choice", "reward": "reward"}, codes={"choice9": {1: 0}}))
    run("to_trials a dict", lambda: A.to_trials(raw.to_dict(), {}))
    for fn in ("reversal_rpe", "decode_hidden", "unit_tuning", "rpe_regression", "population_pca"):
        run(f"{fn} given a DataFrame", lambda fn=fn: getattr(A, fn)(ts))
    run("lagged_choice_regression lags=1000", lambda: A.lagged_choice_regression(ch, lags=1000))


if __name__ == "__main__":
    main()
