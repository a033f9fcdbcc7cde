"""Analyses of Wang 2018 Sims 1, 2, 3, 6 on synthetic tables with known answers."""

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from metarl_neuro.analysis import (
    lagged_choice_regression,
    matching_law,
    reversal_rpe,
    risky_choice,
    risky_choice_shift,
    volatility_learning_rates,
)
from metarl_neuro.schema import validate_choice_trials


def table(choices, rewards, episodes=None, **extra):
    n = len(choices)
    episodes = np.zeros(n, int) if episodes is None else np.asarray(episodes)
    trial = pd.Series(episodes).groupby(episodes).cumcount().to_numpy()
    return pd.DataFrame({"subject": "s", "episode": episodes, "trial": trial, "choice": choices,
                         "reward": rewards, **extra})


# ---------------------------------------------------------------- matching law
def test_matching_law_recovers_a_known_slope():
    """Episodes built so that log2(C_R/C_L) = 0.6 log2(R_R/R_L) + 0.2 exactly."""
    rows = []
    for e, x in enumerate((-2.0, -1.0, 0.0, 1.0, 2.0)):
        rl, rr = 8, round(8 * 2 ** x)
        cl = 40
        cr = round(cl * 2 ** (0.6 * x + 0.2))
        ch = [0] * cl + [1] * cr
        rw = [1.0] * rl + [0.0] * (cl - rl) + [1.0] * rr + [0.0] * (cr - rr)
        rows.append(table(ch, rw, [e] * len(ch)))
    rows.append(table([0, 0, 0], [1.0, 0.0, 0.0], [99] * 3))  # no right choice: dropped
    fit = matching_law(pd.concat(rows, ignore_index=True))
    assert fit.slope == pytest.approx(0.6, abs=0.02) and fit.intercept == pytest.approx(0.2, abs=0.03)
    assert fit.n_episodes == 5 and fit.n_dropped == 1 and fit.slope_ci[0] < fit.slope < fit.slope_ci[1]


def test_matching_law_needs_three_episodes():
    with pytest.raises(ValueError, match=">= 3 episodes"):
        matching_law(table([0, 1, 0, 1], [1.0, 1.0, 0.0, 0.0]))


# ---------------------------------------------------------------- lagged regression
def simulate_lagged(n, w_reward, w_choice, seed=0):
    """Choices from a known logistic model of the past: recover its weights."""
    rng = np.random.default_rng(seed)
    ch, rw = [], []
    for t in range(n):
        z = 0.0
        for k, (wr, wc) in enumerate(zip(w_reward, w_choice), start=1):
            if t - k >= 0:
                c = 1.0 if ch[t - k] == 1 else -1.0
                z += wr * (c if rw[t - k] > 0 else 0.0) + wc * c
        c = int(rng.random() < 1 / (1 + np.exp(-z)))
        ch.append(c)
        rw.append(float(rng.random() < 0.4))
    return table(ch, rw)


def test_lagged_choice_regression_recovers_weights():
    df = simulate_lagged(30000, [1.5, 0.7, 0.2], [-0.5, 0.1, 0.0])
    coef = lagged_choice_regression(df, lags=3).set_index(["regressor", "lag"])["coef"]
    for k, w in enumerate([1.5, 0.7, 0.2], start=1):
        assert coef[("reward", k)] == pytest.approx(w, abs=0.1)
    for k, w in enumerate([-0.5, 0.1, 0.0], start=1):
        assert coef[("choice", k)] == pytest.approx(w, abs=0.1)
    assert abs(coef[("bias", 0)]) < 0.1


def test_lagged_regression_missed_trials_and_bad_input():
    df = simulate_lagged(3000, [1.0], [0.0])
    df.loc[::10, "choice"] = -1
    df.loc[::10, "reward"] = np.nan
    out = lagged_choice_regression(df, lags=2)
    assert out.attrs["n_trials"] == int((df["choice"] >= 0).sum()) - (0 if df["choice"].iloc[0] < 0 else 1)
    with pytest.raises(ValueError, match="lags"):
        lagged_choice_regression(df, lags=0)
    with pytest.raises(ValueError, match="missing column"):
        lagged_choice_regression(df.drop(columns="reward"))
    bad = df.copy()
    bad.loc[5, "choice"] = 2
    with pytest.raises(ValueError, match="0 \\(left\\) or 1"):
        lagged_choice_regression(bad)


# ---------------------------------------------------------------- volatility
def rw_agent(p_left, alpha, beta, rng):
    q = np.array([0.5, 0.5])
    ch, rw = [], []
    for p in p_left:
        pr = 1 / (1 + np.exp(-beta * (q[1] - q[0])))
        c = int(rng.random() < pr)
        r = float(rng.random() < (p if c == 0 else 1 - p))
        q[c] += alpha * (r - q[c])
        ch.append(c)
        rw.append(r)
    return ch, rw


def test_volatility_learning_rates_recovers_block_alphas():
    """A learner with alpha 0.5 in volatile blocks and 0.1 in stable ones: the fits tell them apart."""
    rng = np.random.default_rng(0)
    rows = []
    for e in range(60):
        vol_first = e % 2 == 1
        chs, rws, vols, blocks = [], [], [], []
        for b in (0, 1):
            vol = vol_first if b == 0 else not vol_first
            p = np.where((np.arange(100) // 25) % 2 == 0, 0.8, 0.2) if vol else np.full(100, 0.75)
            ch, rw = rw_agent(p, 0.5 if vol else 0.1, 5.0, rng)
            chs += ch
            rws += rw
            vols += [vol] * 100
            blocks += [b] * 100
        rows.append(table(chs, rws, [e] * 200, volatile=vols, block=blocks))
    fit = volatility_learning_rates(pd.concat(rows, ignore_index=True))
    assert list(fit["block_label"]) == ["Stable 1", "Volatile 1", "Volatile 2", "Stable 2"]
    a = fit.set_index("block_label")["alpha"]
    assert a["Volatile 1"] > 0.3 and a["Volatile 2"] > 0.3 and a["Stable 1"] < 0.25 and a["Stable 2"] < 0.25
    with pytest.raises(ValueError, match="volatile"):
        volatility_learning_rates(table([0, 1], [1.0, 0.0]))


# ---------------------------------------------------------------- reversal RPE
def test_reversal_rpe_splits_experienced_and_inferred_targets():
    """Two steps per trial; the fixation step's rpe is set by hand to code (since, rewarded, experienced)."""
    # one episode: trials with since_reversal 0, 1, 2; targets L, R, L; rewarded side R after the reversal
    since = [-1, 0, 1, 2]
    target = [0, 0, 1, 0]
    rpe_fix = [9.0, -0.5, 0.7, 0.4]
    steps = []
    for t in range(4):
        common = {"trial": t, "valid": True, "since": since[t], "target": target[t]}
        steps.append({**common, "phase": 0, "rpe": rpe_fix[t]})
        steps.append({**common, "phase": 1, "rpe": 5.0})
    S = len(steps)
    def var(k, dtype):
        return (("episode", "step"), np.array([[s[k] for s in steps]], dtype=dtype))
    ds = xr.Dataset({"rpe": var("rpe", np.float32)}, coords={
        "active": (("episode", "step"), np.ones((1, S), bool)), "trial": var("trial", np.int64),
        "phase": var("phase", np.int64), "valid": var("valid", bool), "since_reversal": var("since", np.int64),
        "target_side": var("target", np.int64),
        "target_rewarded": (("episode", "step"), np.array([[s["target"] == 1 for s in steps]])),
    })
    out = reversal_rpe(ds).set_index(["since_reversal", "target_rewarded", "experienced"])["mean_rpe"]
    assert out[(0, False, False)] == pytest.approx(-0.5)  # first trial: nothing seen yet
    assert out[(1, True, False)] == pytest.approx(0.7)  # right target, only left seen: inferred
    assert out[(2, False, True)] == pytest.approx(0.4)  # left again: experienced
    assert len(out) == 3  # the trial before the first reversal is left out
    with pytest.raises(ValueError, match="lacks"):
        reversal_rpe(ds.drop_vars("since_reversal"))


# ---------------------------------------------------------------- risky choice
def test_risky_choice_and_shift_over_subjects():
    rows = []
    for s, (none, block, stim) in enumerate([(0.5, 0.3, 0.7), (0.6, 0.5, 0.8), (0.4, 0.3, 0.5)]):
        for m, frac in (("none", none), ("block", block), ("stimulate", stim)):
            n = 1000
            k = int(frac * n)
            rows.append(pd.DataFrame({"subject": f"seed{s}", "manipulation": m, "episode": np.arange(n) // 10,
                                      "trial": np.arange(n) % 10, "choice": [1] * k + [0] * (n - k),
                                      "reward": 1.0, "risky_side": 1, "p_risky": 0.5}))
    df = pd.concat(rows, ignore_index=True)
    rc = risky_choice(df)
    assert len(rc) == 9 and rc["risky"].between(rc["ci_lo"], rc["ci_hi"]).all()
    shift = risky_choice_shift(df).set_index("manipulation")
    assert shift.loc["block", "shift"] == pytest.approx(-0.1333, abs=1e-3)
    assert shift.loc["stimulate", "shift"] == pytest.approx(0.1667, abs=1e-3)
    assert shift.loc["block", "sem"] == pytest.approx(np.std([-0.2, -0.1, -0.1], ddof=1) / np.sqrt(3), abs=1e-3)
    half = 4.303 * shift.loc["stimulate", "sem"]  # t(2) 97.5% quantile
    assert shift.loc["stimulate", "ci_lo"] == pytest.approx(shift.loc["stimulate", "shift"] - half, abs=1e-3)
    assert (shift["n_subjects"] == 3).all()
    with pytest.raises(ValueError, match="control"):
        risky_choice_shift(df[df["manipulation"] != "none"])
    with pytest.raises(ValueError, match="manipulation"):
        risky_choice_shift(df.drop(columns="manipulation"))


def test_validate_choice_trials_marks_missed_and_names_bad_columns():
    df = table([0, -1, 1], [1.0, np.nan, 0.0])
    out = validate_choice_trials(df)
    assert list(out["missed"]) == [False, True, False]
    with pytest.raises(TypeError):
        validate_choice_trials([1, 2])
    with pytest.raises(ValueError, match="'reward' is NaN"):
        validate_choice_trials(table([0, 1], [np.nan, 1.0]))
    with pytest.raises(ValueError, match="repeat"):
        validate_choice_trials(pd.concat([df, df]))


def test_runs_on_a_simulated_task_table():
    """The table the simulations write goes through every behavioural analysis."""
    from metarl_neuro.experiments._cued import choice_trials
    from metarl_neuro.tasks import TsutsuiTask

    task = TsutsuiTask(40, seed=0)
    task.reset()
    gen = torch.Generator().manual_seed(0)
    logs = []
    for _ in range(200):
        a = torch.where(task.phase == 0, 0, 1 + torch.randint(0, 2, (40,), generator=gen))
        logs.append(task.step(a)[3])
    log = {k: torch.stack([lg[k] for lg in logs]) for k in logs[0]}
    active = (torch.cumsum(torch.stack([lg["trial_end"] & (lg["trial"] == 0) for lg in logs]).long(), 0) <= 1)
    df = choice_trials(log, active, "random")
    assert (df.groupby("episode")["trial"].min() == 0).all()
    assert abs(matching_law(df).slope) < 0.3  # a random chooser ignores the reward ratio: slope near 0
    assert len(lagged_choice_regression(df, lags=2)) == 5


def test_silently_wrong_inputs_of_issue_13_are_errors():
    t = pd.DataFrame({"episode": np.repeat(np.arange(4), 20), "trial": np.tile(np.arange(20), 4),
                      "choice": np.tile([0, 1], 40), "reward": 1.0})
    with pytest.raises(ValueError, match="'choice' must hold whole numbers"):
        matching_law(t.assign(choice=np.tile([0, 0.5], 40)))  # once truncated to 0
    with pytest.raises(ValueError, match="'reward' holds 40 infinite"):
        matching_law(t.assign(reward=np.tile([1.0, np.inf], 40)))
    with pytest.raises(ValueError, match="'volatile' must be boolean"):
        volatility_learning_rates(t.assign(volatile=np.where(t["episode"] % 2, "yes", "no"), block=0))
    with pytest.raises(ValueError, match="'risky_side' must be 0"):
        risky_choice(t.assign(risky_side=5, manipulation="none", p_risky=0.5))
    with pytest.raises(ValueError, match="level must be a confidence level"):
        risky_choice(t.assign(risky_side=1, manipulation="none", p_risky=0.5), level=-1)
    for lags in (1.5, "2", True, 0):
        with pytest.raises(ValueError, match="lags must be an integer"):
            lagged_choice_regression(t, lags=lags)
    with pytest.raises(ValueError, match="reaches past the start of every episode"):
        lagged_choice_regression(t, lags=1000)  # once ran for minutes
