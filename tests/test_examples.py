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


def test_harlow_curriculum_example_widens_the_view_stage_by_stage(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("harlow_pixels_curriculum", EXAMPLES / "harlow_pixels_curriculum.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    args = ["--seed", "1", "--out", str(tmp_path), "--fovs", "45", "90", "--first-episodes", "4",
            "--stage-episodes", "4", "--last-episodes", "4", "--eval-every", "2", "--hidden-size", "8", "--batch", "4",
            "--episode-seconds", "2", "--eval-episodes", "2", "--device", "cpu", "--threads", "1"]
    out = example.main(args)
    from metarl_neuro.run import Run

    stages = [Run.load(tmp_path / "seed1" / f"fov{f}") for f in (45, 90)]
    assert [r.config.fov for r in stages] == [45.0, 90.0] and out["last"] == stages[-1].path
    assert not stages[0].config.init_from and stages[1].config.init_from == str(stages[0].path)
    assert stages[0].config.until == "correct_2_6>=90" and not stages[1].config.until and stages[1].config.episodes == 4
    # each view's final test is summarised (NaN here: 2-s episodes of an untrained network complete no trial)
    assert set(out["results"]) == {45.0, 90.0} and "correct_2_6" in out["results"][90.0]
    capsys.readouterr()
    example.main(args)  # the same command again: every stage finished, nothing retrained
    assert capsys.readouterr().out.count("finished, skipped") == 2
