import math

import numpy as np
import pandas as pd
import pytest

from metarl_neuro.analysis import harlow_performance, harlow_strategy


def wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return 100 * (centre - half), 100 * (centre + half)


def test_percent_correct_and_wilson_interval_by_hand():
    rows = []
    for stage, correct in ((100, [[0, 1], [1, 1], [0, 0], [1, 1]]), (200, [[1, 1], [0, 1], [1, 1], [0, 1]])):
        for e, ep in enumerate(correct):
            for t, c in enumerate(ep):
                rows.append({"training_episodes": stage, "episode": e, "trial": t, "correct": bool(c)})
    out = harlow_performance(pd.DataFrame(rows)).set_index(["training_episodes", "trial_number"])
    assert out.loc[(100, 1), "pct_correct"] == pytest.approx(50.0) and out.loc[(100, 2), "pct_correct"] == 75.0
    assert out.loc[(200, 2), "pct_correct"] == pytest.approx(100.0) and out.loc[(200, 2), "n"] == 4
    lo, hi = wilson(3, 4)
    assert out.loc[(100, 2), "ci_lo"] == pytest.approx(lo) and out.loc[(100, 2), "ci_hi"] == pytest.approx(hi)
    one = harlow_performance(pd.DataFrame(rows), by=None)  # stages pooled (their episodes stay distinct)
    assert list(one["trial_number"]) == [1, 2] and one["n"].tolist() == [8, 8]


def test_bad_input_is_named():
    df = pd.DataFrame({"episode": [0], "trial": [0], "correct": [True]})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['correct'\]"):
        harlow_performance(df.drop(columns="correct"))
    with pytest.raises(ValueError, match="'correct' must be boolean"):
        harlow_performance(df.assign(correct=2))
    with pytest.raises(ValueError, match="0-based"):
        harlow_performance(df.assign(trial=-1))
    with pytest.raises(TypeError, match="DataFrame"):
        harlow_performance({"episode": [0]})


def test_binding_separates_side_counting_from_object_binding():
    """Over all 20 orders of {L, L, L, R, R, R}: a side-counting agent scores the counting observer's 72% on
    trials 2-6 (60, 60, 70, 70, 100) and 50% on the balanced trials; an agent that knows the rewarded image
    scores 100% on both."""
    import itertools

    from metarl_neuro.analysis import harlow_binding

    orders = sorted(set(itertools.permutations([0, 0, 0, 1, 1, 1])))
    rows = []
    for e, order in enumerate(orders):
        for t, side in enumerate(order):
            left, right = 3 - order[:t].count(0), 3 - order[:t].count(1)
            guess = 0 if left > right else 1 if right > left else e % 2  # a tie: the counter guesses
            rows.append({"episode": e, "trial": t, "rewarded_side": side, "counter": guess == side})
    table = pd.DataFrame(rows)
    counter = harlow_binding(table.assign(correct=table["counter"]), by=None).iloc[0]
    assert counter["pct_counting"] == pytest.approx(72.0) and counter["n"] == 100
    assert counter["n_balanced"] == 24  # trial 3 after L R or R L (12 orders), trial 5 after 2 L 2 R (12)
    assert counter["pct_balanced"] == pytest.approx(50.0)
    assert counter["pct_correct"] == pytest.approx(100 * table[table.trial > 0]["counter"].mean())
    binder = harlow_binding(table.assign(correct=True), by=None).iloc[0]
    assert binder["pct_balanced"] == 100.0 and binder["pct_correct"] == 100.0
    # an episode whose first trial is missing from the table contributes nothing
    partial = harlow_binding(table.assign(correct=True).iloc[1:], by=None).iloc[0]
    assert partial["n"] == 95


def test_binding_bad_input():
    from metarl_neuro.analysis import harlow_binding

    t = pd.DataFrame({"episode": [0] * 4, "trial": range(4), "correct": [True] * 4, "rewarded_side": [0] * 4})
    with pytest.raises(ValueError, match="more than per_side=3"):
        harlow_binding(t, by=None)
    with pytest.raises(ValueError, match="rewarded_side"):
        harlow_binding(t.drop(columns="rewarded_side"), by=None)
    with pytest.raises(ValueError, match="0 \\(left\\) or 1"):
        harlow_binding(t.assign(rewarded_side=2), by=None)


def test_silently_wrong_inputs_of_issue_13_are_errors():
    t = pd.DataFrame({"episode": [0, 0, 1, 1], "trial": [0, 1, 0, 1], "correct": [True, False, True, True]})
    with pytest.raises(ValueError, match="'trial' must hold whole numbers"):
        harlow_performance(t.assign(trial=[0, 0.5, 0, 1]), by=None)  # once trial_number 1.5
    with pytest.raises(ValueError, match=r"repeat a \(episode, trial\) key"):
        harlow_performance(pd.concat([t, t]), by=None)  # once counted twice
    with pytest.raises(ValueError, match="level must be a confidence level"):
        harlow_performance(t, by=None, level=2)
    with pytest.raises(ValueError, match="'correct' must be boolean"):
        harlow_performance(t.assign(correct=["yes", "no", "yes", "yes"]), by=None)


def _episodes(rng, n: int, choose) -> pd.DataFrame:
    """``n`` six-trial episodes with the level's shuffled L L L R R R sides; ``choose(trial, side)`` -> side."""
    rows = []
    for e in range(n):
        sides = rng.permutation([0, 0, 0, 1, 1, 1])
        for t, side in enumerate(sides):
            choice = choose(t, side)
            rows.append({"episode": e, "trial": t, "rewarded_side": side, "choice": choice, "correct": choice == side})
    return pd.DataFrame(rows)


def test_strategy_tells_object_binding_from_a_position_habit():
    """harlow_strategy: an agent bound to the rewarded object (chance on trial 1, then correct) wins-stays and
    loses-shifts every time; one that always goes right has a position habit of 1 and follows no outcome, and
    under the level's sides (without replacement) its win-stay falls below 0.5, its lose-shift above."""
    rng = np.random.default_rng(0)
    bound = _episodes(rng, 400, lambda t, side: side if t else int(rng.integers(2)))
    s = harlow_strategy(bound, by=None).iloc[0]
    assert s["win_stay"] == 1.0 and s["lose_shift"] == 1.0 and s["n"] == 400 * 5
    assert s["position_habit"] == pytest.approx(0.5, abs=0.03) and s["n_win"] + s["n_loss"] == s["n"]
    habit = harlow_strategy(_episodes(rng, 400, lambda t, side: 1), by=None).iloc[0]
    assert habit["position_habit"] == 1.0 and habit["side_stay"] == 1.0
    # after a win on the right, fewer rights are left: P(right next) = (3 - k - 1) / (5 - t) < 0.5 on average
    assert habit["win_stay"] < 0.45 < 0.55 < habit["lose_shift"]
    assert habit["win_stay_lo"] < habit["win_stay"] < habit["win_stay_hi"]
    # by stage, and only trials whose previous trial is in the table
    two = pd.concat([bound.assign(training_episodes=100), _episodes(rng, 50, lambda t, side: 0).assign(
        training_episodes=200)])
    assert harlow_strategy(two)["position_habit"].tolist() == [pytest.approx(0.5, abs=0.03), 1.0]
    gap = bound[bound["trial"] != 2]
    assert harlow_strategy(gap, by=None)["n"].item() == 400 * 3  # trials 2 and 4 lost their previous trial


def test_strategy_bad_input():
    t = pd.DataFrame({"episode": [0, 0], "trial": [0, 1], "correct": [True, False]})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['choice'\]"):
        harlow_strategy(t, by=None)
    with pytest.raises(ValueError, match="'choice' must be the side chosen"):
        harlow_strategy(t.assign(choice=[0, 2]), by=None)
    with pytest.raises(ValueError, match="needs trials after the first"):
        harlow_strategy(t.assign(choice=[0, 1]).iloc[:1], by=None)
