from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarl_neuro.analysis import from_hbayesdm, stay_probability, to_trials

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
