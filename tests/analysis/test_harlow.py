import math

import pandas as pd
import pytest

from metarl_neuro.analysis import harlow_performance


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
    one = harlow_performance(pd.DataFrame(rows).drop(columns="training_episodes"))
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
