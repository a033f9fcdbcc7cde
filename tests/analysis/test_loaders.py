import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarl_neuro.analysis import (
    from_hbayesdm,
    from_kool2016,
    from_nussenbaum2020,
    hybrid_nll,
    stay_probability,
    to_trials,
)

HBAYESDM = Path(__file__).parents[1] / "reference" / "hbayesdm" / "ts_exampleData.txt"


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(HBAYESDM, sep="\t")


def test_hbayesdm_example_data(raw):
    df = from_hbayesdm(raw)
    assert df["subject"].nunique() == 11
    assert (~df["missed"]).sum() == len(raw) == 2190  # every real trial kept
    # gaps in `trial` come back as missed trials, e.g. subject 1 starts at trial 2
    first = df[df["subject"] == "1"].iloc[0]
    assert first["trial"] == 0 and first["missed"]
    row = raw.iloc[0]  # subject 1, trial 2: level1 1, level2 4, reward 1
    got = df[(df["subject"] == "1") & (df["trial"] == 1)].iloc[0]
    assert (got["choice1"], got["state2"], got["choice2"], got["reward"], got["common"]) == (0, 1, 1, 1.0, False)
    assert got["reward_prob_3"] == pytest.approx(row["B2prob"])
    # transitions: common means level-1 choice 1 -> options 1-2; the example data has ~70% common
    valid = df[~df["missed"]]
    assert 0.65 < valid["common"].mean() < 0.75
    table = stay_probability(df)
    assert table["n_subjects"].eq(11).all() and table["p_stay"].between(0, 1).all()


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.drop(columns="level2_choice"), r"missing column\(s\) \['level2_choice'\]"),
        (lambda d: d.assign(level1_choice=d["level1_choice"].replace(2, 3)), "'level1_choice' must be 1 or 2"),
        (lambda d: d.assign(level2_choice=d["level2_choice"].replace(4, 0)), "'level2_choice' must be 1-4"),
        (lambda d: d.assign(reward=d["reward"].where(d.index != 3)), "'reward' has missing"),
    ],
)
def test_hbayesdm_bad_input(raw, mutate, match):
    with pytest.raises(ValueError, match=match):
        from_hbayesdm(mutate(raw.head(50)))


def test_generic_loader_keeps_and_flags_missed_trials():
    lab = pd.DataFrame(
        {"id": ["p1"] * 5, "c1": [1, 2, 0, 2, 2], "st": [1, 1, 0, 2, 1], "c2": [2, 1, 0, 1, 2],
         "won": [1, 0, np.nan, 1, 0]}
    )
    codes = {"choice1": {1: 0, 2: 1}, "state2": {1: 0, 2: 1}, "choice2": {1: 0, 2: 1}}
    df = to_trials(lab, columns={"subject": "id", "choice1": "c1", "state2": "st", "choice2": "c2", "reward": "won"},
                   codes=codes, missed=(0,))
    assert len(df) == 5 and df["missed"].tolist() == [False, False, True, False, False]
    assert df["choice1"].tolist() == [0, 1, -1, 1, 1] and df["common"].tolist() == [True, False, False, True, False]
    assert df["trial"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match=r"must map .*\['reward'\]"):
        to_trials(lab, columns={"subject": "id", "choice1": "c1", "state2": "st", "choice2": "c2"})
    with pytest.raises(ValueError, match=r"'choice1' has value\(s\) \[0\] that are neither"):  # 0 is no choice code
        to_trials(lab.assign(won=lab["won"].fillna(0)), columns={"subject": "id", "choice1": "c1", "state2": "st",
                  "choice2": "c2", "reward": "won"}, codes=codes, missed=())


def test_issue_13_inputs_name_the_problem(raw):
    one = raw[raw["subjID"] == raw["subjID"].iloc[0]].copy()
    far = one.copy()
    far.iloc[-1, far.columns.get_loc("trial")] = 10_000_000  # once a 10,000,050-row table
    with pytest.raises(ValueError, match="trial numbers up to 10000000"):
        from_hbayesdm(far)
    with pytest.raises(ValueError, match="has no rows"):
        from_hbayesdm(one.iloc[:0])
    with pytest.raises(ValueError, match="'reward' holds 1 infinite"):
        from_hbayesdm(one.assign(reward=[np.inf] + [1.0] * (len(one) - 1)))
    with pytest.raises(ValueError, match="'trial' must hold whole numbers"):
        from_hbayesdm(one.assign(trial=one["trial"] + 0.5))
    generic = pd.DataFrame({"s": ["a"] * 3, "c1": [1, 2, 1], "s2": [1, 2, 2], "c2": [1, 1, 2], "r": [1.0, 0.0, 1.0]})
    mapping = {"subject": "s", "choice1": "c1", "state2": "s2", "choice2": "c2", "reward": "r"}
    with pytest.raises(ValueError, match=r"codes= names column\(s\) \['choice9'\]"):
        to_trials(generic, mapping, codes={"choice9": {1: 0, 2: 1}})
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        to_trials(generic.to_dict(), mapping)


# ----------------------------------------------------------------- Kool et al. 2016 and Nussenbaum et al. 2020 layouts
# Small hand-made files in each lab's column layout (issue 15, item 8); every expected value worked by hand.
KOOL_CSV = """choice1,choice2,state2,win,stim_1_left,rt1,rt2
1,2,1,1,2,0.5,0.6
2,1,1,0,1,0.7,0.4
-1,-1,-1,0,1,-1,-1
2,-1,2,0,2,0.3,-1
2,2,2,1,1,0.9,0.8
"""


def test_kool2016_layout_by_hand():
    t = from_kool2016(pd.read_csv(io.StringIO(KOOL_CSV)), subject="s1")
    assert list(t["trial"]) == [0, 1, 2, 3, 4] and (t["subject"] == "s1").all()
    assert list(t["missed"]) == [False, False, True, True, False]  # a missed first or second choice: missed
    ok = t[~t["missed"]]
    assert list(ok["choice1"]) == [0, 1, 1] and list(ok["state2"]) == [0, 0, 1] and list(ok["choice2"]) == [1, 0, 1]
    assert list(ok["common"]) == [True, False, True]  # state 1 (ours 0) is common from choice 1 (ours 0)
    assert list(ok["reward"]) == [1.0, 0.0, 1.0]
    assert list(t["stim_left"]) == [1, 0, 0, 1, 0]
    assert t["rt1"].tolist()[:2] == [0.5, 0.7] and np.isnan(t["rt1"][2]) and np.isnan(t["rt2"][3])
    # the kool2016 hybrid variant reads it as is (stim_left present); its likelihood is finite
    nll = hybrid_nll({"alpha": 0.5, "beta": 2.0, "lam": 0.5, "w": 0.5, "st": 0.2, "respst": 0.1}, t,
                     variant="kool2016")
    assert np.isfinite(np.asarray(nll, dtype=float)).all()


def test_kool2016_errors_name_the_problem():
    d = pd.read_csv(io.StringIO(KOOL_CSV))
    with pytest.raises(ValueError, match="pass subject="):
        from_kool2016(d)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['win'\]"):
        from_kool2016(d.drop(columns="win"), subject="s1")
    with pytest.raises(ValueError, match=r"'state2' must be 1 or 2.*\[3\]"):
        from_kool2016(d.assign(state2=[1, 3, -1, 2, 2]), subject="s1")
    two = pd.concat([d.assign(subject="a"), d.assign(subject="b")])
    assert from_kool2016(two).groupby("subject").size().to_dict() == {"a": 5, "b": 5}


NUSSENBAUM_CSV = """subject_id,trial,choice_1,choice_2,state,reward
a,1,1,2,2,1
a,2,2,1,2,0
a,3,0,0,0,
a,4,2,2,3,1
b,1,1,1,3,0
"""


def test_nussenbaum2020_layout_by_hand():
    t = from_nussenbaum2020(pd.read_csv(io.StringIO(NUSSENBAUM_CSV)))
    a, b = t[t["subject"] == "a"], t[t["subject"] == "b"]
    assert list(a["trial"]) == [0, 1, 2, 3] and list(a["missed"]) == [False, False, True, False]
    ok = a[~a["missed"]]
    assert list(ok["choice1"]) == [0, 1, 1] and list(ok["state2"]) == [0, 0, 1] and list(ok["choice2"]) == [1, 0, 1]
    assert list(ok["common"]) == [True, False, True]  # planet 2 (ours 0) is common from choice 1 (ours 0)
    assert b["choice1"].tolist() == [0] and b["state2"].tolist() == [1] and not b["common"].iloc[0]
    # the stay analysis runs on it: a's trial 4 follows the missed trial 3, so it has no previous trial unless
    # bridge_missed compares it with trial 2
    a_only = t[t["subject"] == "a"]
    assert stay_probability(a_only)["n_trials"].sum() == 1
    assert stay_probability(a_only, bridge_missed=True)["n_trials"].sum() == 2


def test_nussenbaum2020_errors_name_the_problem():
    d = pd.read_csv(io.StringIO(NUSSENBAUM_CSV))
    with pytest.raises(ValueError, match=r"'state' must be in \[2, 3\].*\[1\]"):
        from_nussenbaum2020(d.assign(state=[2, 1, 0, 3, 3]))
    with pytest.raises(ValueError, match="1-based"):
        from_nussenbaum2020(d.assign(trial=[0, 1, 2, 3, 1]))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['state'\]"):
        from_nussenbaum2020(d.drop(columns="state"))
