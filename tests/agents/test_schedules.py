"""Linear annealing of the learning rate and the entropy weight (A2CSettings.at, TrainingConfig.lr_final)."""

import math

import pandas as pd
import pytest

from metarl_neuro.agents import A2CSettings


def test_settings_anneal_linearly_over_the_budget_and_stop_at_the_end():
    s = A2CSettings(20, 0.9, 1.0, 0.05, 0.2, 50.0, lr=1e-3, lr_final=0.0, entropy_final=0.0)
    for frac, lr, ent in ((0.0, 1e-3, 0.2), (0.25, 7.5e-4, 0.15), (1.0, 0.0, 0.0), (3.0, 0.0, 0.0)):
        now, got = s.at(frac)
        assert math.isclose(got, lr, abs_tol=1e-15) and math.isclose(now.entropy_coef, ent, abs_tol=1e-15)
    constant = A2CSettings(20, 0.9, 1.0, 0.05, 0.2, 50.0, lr=1e-3)
    now, lr = constant.at(0.5)
    assert now is constant and lr is None


def test_training_csv_records_the_annealed_values(tmp_path):
    from metarl_neuro.simulate import main

    out = tmp_path / "run"
    assert main(["bandit", "--episodes", "96", "--batch", "16", "--eval-episodes", "8", "--no-progress", "--device",
                 "cpu", "--lr", "0.004", "--lr-final", "0", "--entropy-final", "0.01", "--out", str(out)]) == 0
    rows = pd.read_csv(out / "training.csv")
    before = rows["episodes"].shift(fill_value=0)  # the update's schedule is read before it runs
    assert rows["lr"].tolist() == pytest.approx((0.004 * (1 - before / 96)).tolist())
    assert rows["entropy_coef"].tolist() == pytest.approx((0.05 + (0.01 - 0.05) * before / 96).tolist())


@pytest.mark.parametrize("field", ["lr_final", "entropy_final"])
def test_a_negative_target_other_than_off_is_refused(field):
    from metarl_neuro.experiments import TwoStepConfig

    with pytest.raises(ValueError, match=field):
        TwoStepConfig(**{field: -0.5})
    with pytest.raises(ValueError, match=field):
        TwoStepConfig(**{field: -2.0})
