import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metarl_neuro.analysis import stay_probability


def table(choice1, common, reward, subject="s", episode=0):
    return pd.DataFrame(
        {"subject": subject, "episode": episode, "trial": range(len(choice1)), "choice1": choice1,
         "common": common, "reward": reward}
    )


def cell(t, rewarded, transition, col="p_stay"):
    return t.set_index(["rewarded", "transition"]).loc[(rewarded, transition), col]


def test_eight_trial_table_by_hand():
    # trial: 0  1  2  3  4  5  6  7
    c1 = [0, 0, 1, 1, 0, 0, 0, 1]
    cm = [True, False, True, True, False, True, True, False]
    rw = [1, 1, 0, 1, 0, 0, 1, 0]
    # previous (rewarded, common) -> stay for trials 1..7:
    # 1: (R, C) stay; 2: (R, rare) switch; 3: (U, C) stay; 4: (R, C) switch; 5: (U, rare) stay;
    # 6: (U, C) stay; 7: (R, C) switch
    t = stay_probability(table(c1, cm, rw))
    assert len(t) == 4
    assert cell(t, True, "common") == pytest.approx(1 / 3) and cell(t, True, "common", "n_trials") == 3
    assert cell(t, True, "rare") == 0.0 and cell(t, True, "rare", "n_trials") == 1
    assert cell(t, False, "common") == 1.0 and cell(t, False, "common", "n_trials") == 2
    assert cell(t, False, "rare") == 1.0 and cell(t, False, "rare", "n_trials") == 1
    assert t["n_subjects"].tolist() == [1, 1, 1, 1] and t["sem"].isna().all()


def test_previous_means_previous_row_within_episode_and_sem_across_subjects():
    a = table([0, 0, 0], [True] * 3, [1, 1, 1], subject="a", episode=0)
    b = table([1, 0], [True, True], [1, 1], subject="a", episode=1)  # first trial of an episode is not counted
    c = table([0, 1, 1], [True] * 3, [1, 1, 1], subject="b")
    t = stay_probability(pd.concat([a, b, c]))
    # subject a: stays 2 of 3 (R, C); subject b: 1 of 2
    per = stay_probability(pd.concat([a, b, c]), by_subject=True)
    got = per[(per.rewarded) & (per.transition == "common")].set_index("subject")["p_stay"]
    assert got["a"] == pytest.approx(2 / 3) and got["b"] == pytest.approx(0.5)
    assert cell(t, True, "common") == pytest.approx((2 / 3 + 0.5) / 2)
    assert cell(t, True, "common", "sem") == pytest.approx(np.std([2 / 3, 0.5], ddof=1) / np.sqrt(2))


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.drop(columns="common"), r"missing column\(s\) \['common'\]"),
        (lambda d: d.assign(choice1=[0, 2, 1]), "'choice1' must be 0 or 1"),
        (lambda d: d.assign(reward=[1.0, np.nan, 0.0]), "'reward' has 1 missing"),
        (lambda d: d.assign(common=["yes", "no", "yes"]), "'common' must be boolean"),
        (lambda d: d.assign(episode=[0, 1, 1]), "fewer than two valid trials"),
        (lambda d: d.assign(trial=[0, 0, 1]), "repeat"),
    ],
)
def test_bad_input_is_named(mutate, match):
    with pytest.raises(ValueError, match=match):
        stay_probability(mutate(table([0, 1, 1], [True, False, True], [1.0, 0.0, 1.0])))


def test_non_dataframe_is_a_type_error():
    with pytest.raises(TypeError, match="DataFrame"):
        stay_probability(table([0, 1], [True, True], [1.0, 0.0]).to_numpy())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_sub=st.integers(1, 3))
def test_row_and_episode_order_do_not_matter(seed, n_sub):
    rng = np.random.default_rng(seed)
    parts = [
        table(rng.integers(0, 2, 12), rng.random(12) < 0.7, rng.integers(0, 2, 12).astype(float), f"s{s}", e)
        for s in range(n_sub)
        for e in range(3)
    ]
    df = pd.concat(parts, ignore_index=True)
    shuffled = df.sample(frac=1.0, random_state=seed)
    pd.testing.assert_frame_equal(stay_probability(df), stay_probability(shuffled))
    renumbered = df.assign(episode=df["episode"].map({0: 7, 1: 3, 2: 5}))
    pd.testing.assert_frame_equal(stay_probability(df), stay_probability(renumbered))


def test_missed_trials_are_excluded_or_bridged():
    # trial 2 is missed: trial 3 has no valid previous trial unless bridged to trial 1
    df = table([0, 0, -1, 0, 0], [True, True, False, True, True], [1.0, 1.0, np.nan, 1.0, 1.0])
    df["missed"] = [False, False, True, False, False]
    t = stay_probability(df)
    assert cell(t, True, "common", "n_trials") == 2  # trials 1 and 4
    t = stay_probability(df, bridge_missed=True)
    assert cell(t, True, "common", "n_trials") == 3  # trials 1, 3 (vs trial 1) and 4
    with pytest.raises(ValueError, match="'reward' has 1 missing"):
        stay_probability(df.assign(missed=False))


def _six():
    return pd.DataFrame({"subject": "s", "episode": 0, "trial": range(6), "choice1": [0, 0, 1, 1, 0, 0],
                         "state2": [0, 1, 1, 1, 0, 0], "common": [True, False, True, True, True, True],
                         "reward": [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]})


def test_skipping_trial_numbers_are_refused_or_bridged():
    """Issue 13: with every other trial dropped, the remaining rows were treated as consecutive trials."""
    every_other = _six().iloc[::2]
    with pytest.raises(ValueError, match="trial numbers skip within an episode .* trial 2 follows trial 0"):
        stay_probability(every_other)
    bridged = stay_probability(every_other, bridge_missed=True)
    assert bridged["n_trials"].sum() == 2  # trials 2 and 4, each against the previous trial present


def test_common_that_contradicts_choice_and_state_is_refused():
    bad = _six()
    bad.loc[3, "common"] = False  # choice 1 -> state 1 is common
    with pytest.raises(ValueError, match="'common' contradicts choice1 / state2 on 1 trial"):
        stay_probability(bad)
    assert stay_probability(_six().drop(columns="state2"))["n_trials"].sum() == 5  # nothing to check against


def test_unclear_inputs_of_issue_13_name_the_problem():
    with pytest.raises(ValueError, match="'reward' must hold numbers"):
        stay_probability(_six().assign(reward=["yes", "no"] * 3))
    with pytest.raises(ValueError, match="'episode' must hold integers"):
        stay_probability(_six().assign(episode="a"))
    inf = _six()
    inf.loc[2, "reward"] = np.inf
    with pytest.raises(ValueError, match="'reward' holds 1 infinite"):
        stay_probability(inf)
