from fractions import Fraction
from functools import cache

import numpy as np
import pytest
import torch

from metarl_neuro.agents import baselines as bl
from metarl_neuro.tasks import BanditTask

# Gittins indices of a Bernoulli arm, discount 0.9, posterior Beta(a, b): the published 4-decimal values
# (Gittins, Glazebrook & Weber 2011, Multi-armed Bandit Allocation Indices, 2nd ed., Bernoulli/beta tables, as
# used in the test suite of GittinsIndices.jl, test/test_bernoulli_gittins.jl).
PUBLISHED_G09 = {(1, 1): 0.7029, (2, 1): 0.8001, (3, 1): 0.8452, (1, 2): 0.5001, (2, 2): 0.6346, (1, 3): 0.3796}


def test_gittins_indices_match_the_published_table():
    g = bl.gittins_indices(0.9, max_pulls=3, cache=False)
    for (a, b), value in PUBLISHED_G09.items():
        assert round(g[a - 1, b - 1], 4) == value, (a, b)
    assert np.isnan(g[3, 3])
    # more successes -> higher index; more failures -> lower
    assert g[1, 0] > g[0, 0] > g[0, 1]


@pytest.mark.parametrize("discount", [0.5, 0.9, 0.99])
def test_gittins_tolerance_bounds_the_distance_to_the_index(discount):
    # Newton's iterates rise to the root from below: at tol 1e-4 each index lies within 1e-4 under the index solved
    # to 1e-12, and bisection to 1e-9 on the same look-ahead brackets the latter
    coarse = bl.gittins_indices(discount, max_pulls=6, depth=60, tol=1e-4, cache=False)
    fine = bl.gittins_indices(discount, max_pulls=6, depth=60, tol=1e-12, cache=False)
    ok = ~np.isnan(fine)
    assert ((fine - coarse)[ok] >= 0).all() and ((fine - coarse)[ok] <= 1e-4).all()
    s, f = np.nonzero(ok)
    a, b = (1.0 + s)[:, None], (1.0 + f)[:, None]
    lo, hi = np.zeros_like(a), np.ones_like(a)
    while float((hi - lo).max()) > 1e-9:  # bisection: is continuing worth more than retiring at lam?
        lam = (lo + hi) / 2
        retire = lam / (1 - discount)
        v = np.maximum(retire, (a + np.arange(61)) / (a + b + 60) / (1 - discount))
        for d in range(59, -1, -1):
            mean = (a + np.arange(d + 1)) / (a + b + d)
            v = np.maximum(retire, mean * (1 + discount * v[:, 1:d + 2]) + (1 - mean) * discount * v[:, :d + 1])
        above = v > retire + 1e-12
        lo, hi = np.where(above, lam, lo), np.where(above, hi, lam)
    assert np.abs(fine[ok] - (lo + hi)[:, 0] / 2).max() < 2e-9


def test_gittins_table_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("METARL_NEURO_CACHE", str(tmp_path))
    first = bl.gittins_indices(0.8, max_pulls=4)
    files = list(tmp_path.glob("metarl_neuro/gittins_0.8_4_*.npy"))
    assert len(files) == 1
    np.save(files[0], np.zeros_like(first))  # the cache, not a recomputation, answers next time
    assert (bl.gittins_indices(0.8, max_pulls=4) == 0).all()
    with pytest.raises(ValueError, match="discount"):
        bl.gittins_indices(1.0)


def play(policy, outcomes):
    """Feed a policy fixed per-slot rewards: outcomes[t] is a (B,) array of the reward of trial t."""
    chosen = []
    for r in outcomes:
        a = policy.act()
        chosen.append(a)
        policy.update(a, r)
    return chosen


def test_ucb1_by_hand():
    p = bl.UCB1(1000, seed=0)
    a1, a2, a3 = play(p, [np.ones(1000), np.zeros(1000), np.zeros(1000)])
    # trial 1: both arms untried (ties broken at random); trial 2: the other arm
    assert 0.45 < a1.mean() < 0.55 and (a2 == 1 - a1).all()
    # trial 3: the rewarded arm: 1 + sqrt(2 ln 2 / 1) = 2.18 against 0 + 1.18
    assert (a3 == a1).all()


def test_thompson_by_hand():
    p = bl.Thompson(40000, seed=1)
    rows = np.arange(40000)
    p.update(np.zeros(40000, int), np.ones(40000))  # arm 0 paid once: Beta(2, 1) against Beta(1, 1)
    # P(X > Y), X ~ Beta(2, 1), Y ~ U(0, 1): E[X] = 2/3
    assert abs((p.act() == 0).mean() - 2 / 3) < 0.01
    assert (p.s[rows, 0] == 1).all()


@cache
def brute_force(s0, f0, s1, f1, left):
    """Expected remaining reward of the Bayes-optimal policy, by plain recursion in exact fractions."""
    if left == 0:
        return Fraction(0)
    best = Fraction(-1)
    for arm in (0, 1):
        s, f = (s0, f0) if arm == 0 else (s1, f1)
        m = Fraction(1 + s, 2 + s + f)
        win = brute_force(s0 + 1, f0, s1, f1, left - 1) if arm == 0 else brute_force(s0, f0, s1 + 1, f1, left - 1)
        lose = brute_force(s0, f0 + 1, s1, f1, left - 1) if arm == 0 else brute_force(s0, f0, s1, f1 + 1, left - 1)
        best = max(best, m * (1 + win) + (1 - m) * lose)
    return best


def test_finite_horizon_dp_by_hand():
    assert bl.bayes_optimal_independent(1)[0] == pytest.approx(0.5)
    # horizon 2: pull any arm (1/2); after a success stay (2/3), after a failure switch (1/2)
    assert bl.bayes_optimal_independent(2)[0] == pytest.approx(0.5 + 0.5 * 2 / 3 + 0.5 * 0.5)
    assert float(brute_force(0, 0, 0, 0, 2)) == pytest.approx(13 / 12)
    assert bl.bayes_optimal_independent(3)[0] == pytest.approx(float(brute_force(0, 0, 0, 0, 3)))
    assert bl.bayes_optimal_independent(6)[0] == pytest.approx(float(brute_force(0, 0, 0, 0, 6)))
    # dependent arms, uniform prior: 1/2, then the arm now believed better pays 2/3
    q = bl.bayes_optimal_dependent(2)
    assert q[0].max() == pytest.approx(0.5 + 2 / 3)
    # two-point prior {0.1, 0.9}: after one observation the better-looking arm pays 0.9*0.9 + 0.1*0.1
    q = bl.bayes_optimal_dependent(2, prior=0.1)
    assert q[0].max() == pytest.approx(0.5 + 0.82)


def test_dependent_dp_is_greedy_in_the_posterior_mean():
    # both arms inform about p0 alike, so the optimal arm is the one with the larger posterior mean:
    # arm 0 exactly when the evidence for "arm 0 is better" outweighs the rest (a > b), a tie when a == b
    for prior in (None, 0.25, 0.4):
        for t, q in enumerate(bl.bayes_optimal_dependent(30, prior)):
            a = np.arange(t + 1)
            assert np.array_equal(q[:, 0] > q[:, 1] + 1e-12, a > t - a)
            assert np.allclose(q[a == t - a, 0], q[a == t - a, 1])


@pytest.mark.parametrize("variant", ["independent", "hard"])
def test_bayes_optimal_beats_thompson_and_ucb_on_average(variant):
    B = 2000
    regret = {}
    for policy in (bl.BayesOptimal(B, variant, 100, seed=0), bl.Thompson(B, seed=0), bl.UCB1(B, seed=0)):
        log = bl.run_policy(policy, BanditTask(B, variant, seed=11))
        assert log["regret"].shape == (100, B)
        regret[policy.name] = float(log["regret"].sum(0).mean())
    assert regret["Bayes-optimal"] < regret["Thompson"] < regret["UCB1"]


def test_rescorla_wagner_learner():
    p = bl.RescorlaWagner(20000, alpha=0.5, beta=10.0, seed=2)
    p.q[:] = [1.0, 0.0]
    assert abs((p.act() == 0).mean() - 1 / (1 + np.exp(-10))) < 0.005
    p.update(np.zeros(20000, int), np.zeros(20000))
    assert np.allclose(p.q[:, 0], 0.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="no exact Bayes-optimal policy for variant 'restless'"):
        bl.BayesOptimal(2, "restless")
    g = bl.Gittins(1, max_pulls=2)
    g.s[:] = 3
    with pytest.raises(ValueError, match="max_pulls"):
        g.act()
    assert torch.is_tensor(bl.run_policy(bl.UCB1(2), BanditTask(2, n_trials=3))["choice"])
