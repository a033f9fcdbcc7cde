"""Intervals across seeds that respect their metric's bounds (issue 24, item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metarl_neuro.analysis import across_seeds, bounds_for, curve_across_seeds, plot_seed_curves


def test_a_probability_gets_the_bootstrap_interval_inside_its_bounds_where_t_runs_past_them():
    per_seed = pd.DataFrame({"seed": [0, 1], "ur": [0.999, 0.67], "mb_index": [38.0, 41.0]})
    t_only = across_seeds(per_seed).set_index("metric")
    assert t_only.loc["ur", "ci_hi"] > 1  # the t interval over 2 seeds: mean 0.83 +- 12.7 SEM
    table = across_seeds(per_seed, bounds={"ur": (0, 1)}).set_index("metric")
    lo, hi = table.loc["ur", ["ci_lo", "ci_hi"]]
    assert table.loc["ur", "interval"] == "bootstrap" and 0 <= lo <= table.loc["ur", "mean"] <= hi <= 1
    # two seeds: the bootstrap means are 0.67, 0.8345 or 0.999, so the 95% percentile interval is their range
    assert (lo, hi) == pytest.approx((0.67, 0.999))
    # an unbounded metric keeps Student's t over seeds
    mb = per_seed["mb_index"].to_numpy()
    assert table.loc["mb_index", "interval"] == "t"
    assert table.loc["mb_index", ["ci_lo", "ci_hi"]].tolist() == pytest.approx(
        list(stats.t.interval(0.95, 1, loc=mb.mean(), scale=stats.sem(mb))))


def test_bootstrap_interval_of_eight_seeds_covers_the_mean_and_is_reproducible():
    rng = np.random.default_rng(4)
    per_seed = pd.DataFrame({"seed": range(8), "correct_2_6": np.clip(rng.normal(92, 6, 8), 0, 100)})
    a = across_seeds(per_seed, bounds={"correct_*": (0, 100)})
    b = across_seeds(per_seed, bounds={"correct_*": (0, 100)})
    assert a.equals(b)  # seeded
    row = a.iloc[0]
    assert row["ci_lo"] < row["mean"] < row["ci_hi"] <= 100
    # the percentile bootstrap is narrower than t at n = 8 by about sqrt(7/8) * z / t: check it is in that range
    t_half = stats.t.ppf(0.975, 7) * row["sem"]
    assert 0.6 * t_half < (row["ci_hi"] - row["ci_lo"]) / 2 < 1.1 * t_half


def test_equal_seeds_one_seed_and_out_of_range_values():
    same = across_seeds(pd.DataFrame({"seed": [0, 1, 2], "rc": [1.0, 1.0, 1.0]}), bounds={"rc": (0, 1)}).iloc[0]
    assert same["ci_lo"] == same["ci_hi"] == 1.0
    one = across_seeds(pd.DataFrame({"seed": [0], "rc": [0.5]}), bounds={"rc": (0, 1)}).iloc[0]
    assert np.isnan(one["ci_lo"]) and np.isnan(one["ci_hi"])
    with pytest.raises(ValueError, match=r"outside the metric's range \[0, 1\]"):
        across_seeds(pd.DataFrame({"seed": [0, 1], "rc": [0.5, 1.5]}), bounds={"rc": (0, 1)})
    assert bounds_for("trial_2", {"trial_*": (0, 100)}) == (0, 100) and bounds_for("gap", {}) is None


def test_a_curve_band_past_the_axes_is_clipped_and_marked():
    evals = pd.DataFrame({"seed": [0, 1, 0, 1], "episodes": [1000, 1000, 2000, 2000], "gap": [0.1, 0.3, 0.30, 0.31]})
    curve = curve_across_seeds(evals, "gap")  # t over 2 seeds: the first band is far wider than the seeds
    fig = plot_seed_curves(curve, "gap", per_seed=evals)
    ax = fig.axes[0]
    y0, y1 = ax.get_ylim()
    assert curve["ci_hi"].iloc[0] > y1 and curve["ci_lo"].iloc[0] < y0
    markers = {line.get_marker() for line in ax.get_lines()}
    assert {"^", "v"} <= markers
    assert any("clipped" in t.get_text() for t in ax.get_legend().get_texts())
    bounded = curve_across_seeds(evals, "gap", bounds=(-1, 1))
    assert (bounded["interval"] == "bootstrap").all() and bounded["ci_hi"].le(1).all()
