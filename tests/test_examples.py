"""The worked examples run end to end on a short budget."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_recurrent_ppo_example_trains_and_tabulates_stays(capsys):
    pytest.importorskip("sb3_contrib", reason="the example needs sb3-contrib (pip install -e '.[test]')")
    spec = importlib.util.spec_from_file_location("recurrent_ppo_two_step", EXAMPLES / "recurrent_ppo_two_step.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = example.main(["--timesteps", "800", "--envs", "2", "--eval-episodes", "2"])
    assert len(out["table"]) == 4 and out["table"]["n_trials"].sum() == 2 * 99  # 99 trials with a previous one
    assert -1 <= out["gap"] <= 1 and "model-based stay gap" in capsys.readouterr().out
