"""Tests during training (``--eval-every``) and the stopping criterion (``--until``), issue 14."""

import math

import pandas as pd
import pytest

from metarl_neuro.agents import Criterion
from metarl_neuro.experiments import BanditConfig, Harlow1DConfig, PsychLabHarlowConfig, TwoStepConfig
from metarl_neuro.experiments.bandit import simulate_bandit
from metarl_neuro.experiments.two_step import simulate_two_step
from metarl_neuro.run import Run
from metarl_neuro.simulate import main

METRICS = ("gap", "rc", "ur", "regret", "thompson_regret")


def test_criterion_parses_clauses_and_needs_every_clause_twice():
    c = Criterion.parse("gap>=0.3, rc >= 0.95,ur>=0.95", METRICS)
    assert c.clauses == (("gap", ">=", 0.3), ("rc", ">=", 0.95), ("ur", ">=", 0.95)) and c.held == 2
    assert str(c) == "gap>=0.3,rc>=0.95,ur>=0.95"
    ok, short = {"gap": 0.31, "rc": 0.99, "ur": 0.97}, {"gap": 0.31, "rc": 0.94, "ur": 0.97}
    assert c.met([short, ok, ok]) and not c.met([ok, short]) and not c.met([ok])
    assert not c.holds({"gap": math.nan, "rc": 1.0, "ur": 1.0})  # NaN never holds
    m = Criterion.parse("regret<thompson_regret", METRICS, held=1)  # a metric on the right
    assert m.met([{"regret": 4.0, "thompson_regret": 5.0}]) and not m.met([{"regret": 5.0, "thompson_regret": 5.0}])


@pytest.mark.parametrize("text,match", [
    ("gap=0.3", "expected METRIC OP VALUE"), ("gap>=", "expected METRIC OP VALUE"), ("", "METRIC OP VALUE"),
    ("gapp>=0.3", "unknown metric 'gapp'.*gap, rc"), ("regret<thompson", "unknown metric 'thompson'"),
    ("gap>=nan", "not a finite number"), ("gap>=inf", "not a finite number"), ("gap>=0.3,", "expected"),
])
def test_criterion_errors_name_the_problem(text, match):
    with pytest.raises(ValueError, match=match):
        Criterion.parse(text, METRICS)


def test_configs_check_until_before_any_work():
    with pytest.raises(ValueError, match="needs evaluations during training: pass --eval-every"):
        TwoStepConfig(until="gap>=0.3", eval_every=0)
    with pytest.raises(ValueError, match="unknown metric 'correct_2_6'"):
        TwoStepConfig(until="correct_2_6>=90", eval_every=100)
    with pytest.raises(ValueError, match="until_held must be an integer >= 1"):
        TwoStepConfig(until="gap>=0.3", eval_every=100, until_held=0)
    with pytest.raises(ValueError, match="eval_every must be an integer >= 0"):
        TwoStepConfig(eval_every=-1, until="")
    # the default two-step run stops on the issue-14 criterion; '' trains the whole budget
    assert str(TwoStepConfig().criterion()) == "gap>=0.3,rc>=0.95,ur>=0.95"
    assert TwoStepConfig(until="").criterion() is None
    with pytest.raises(ValueError, match="not available for psychlab-harlow"):
        PsychLabHarlowConfig(eval_every=100)
    assert Harlow1DConfig(until="correct_2_6>=90").criterion().clauses == (("correct_2_6", ">=", 90.0),)
    assert BanditConfig(until="regret<thompson_regret", eval_every=10).criterion().held == 2


def test_cli_refuses_a_bad_criterion_and_writes_nothing(tmp_path, capsys):
    assert main(["two-step", "--eval-every", "32", "--until", "gap>0.3;", "--out", str(tmp_path / "r")]) == 2
    assert "'0.3;' is not a finite number or a metric's name" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_training_stops_when_the_criterion_held_twice(tmp_path, capsys):
    # gap >= -1 holds at every test: training stops at the second, long before the 100k-episode budget
    cfg = TwoStepConfig(episodes=100_000, batch=16, eval_episodes=12, device="cpu", eval_every=48, until="gap>=-1")
    run = Run.load(simulate_two_step(cfg, tmp_path / "r", progress=False))
    curve = run.evaluations
    assert list(curve["episodes"]) == [48, 96] and list(curve["update"]) == [3, 6]
    assert set(TwoStepConfig.METRICS) <= set(curve.columns) and (curve["wall_s"].diff().dropna() > 0).all()
    assert curve[["rc", "rr", "uc", "ur"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (curve["reward"].between(0, 100)).all()  # reward per 100-trial test episode
    assert len(run.training) == 6 and run.trials["episode"].nunique() == 12  # the final test still runs
    assert "training stopped at 96 episodes, 6 updates" in capsys.readouterr().err


def test_tests_during_training_leave_training_unchanged(tmp_path):
    """The tests use their own task and sampler: the training log is that of a run without them."""
    kw = {"episodes": 96, "batch": 16, "eval_episodes": 12, "device": "cpu"}
    a = Run.load(simulate_two_step(TwoStepConfig(**kw, eval_every=32), tmp_path / "a", progress=False))
    b = Run.load(simulate_two_step(TwoStepConfig(**kw), tmp_path / "b", progress=False))
    cols = ["update", "episodes", "loss", "entropy"]
    pd.testing.assert_frame_equal(a.training[cols], b.training[cols])
    pd.testing.assert_frame_equal(a.trials, b.trials.assign(subject=a.trials["subject"]))
    assert len(a.evaluations) == 3 and b.evaluations.empty


def test_bandit_criterion_against_thompson_on_the_same_episodes(tmp_path):
    cfg = BanditConfig(episodes=64, batch=16, eval_episodes=20, device="cpu", eval_every=32)
    run = Run.load(simulate_bandit(cfg, tmp_path / "b", progress=False))
    curve = run.evaluations
    assert len(curve) == 2 and curve["thompson_regret"].nunique() == 1  # Thompson: the same episodes, once
    # the final test's Thompson regret on the same episodes is the one the tests compared with
    from metarl_neuro.analysis import cumulative_regret

    r = cumulative_regret(run.trials)
    final = r[(r["trial"] == r["trial"].max())].set_index("policy")["mean"]
    assert curve["thompson_regret"].iloc[0] == pytest.approx(final["Thompson"])
    assert curve["regret"].iloc[-1] == pytest.approx(final["meta-rl"])
