"""End to end: Wang 2018 Sims 1, 2, 3, 6 write the standard run folder, their figures and a summary line."""


import pandas as pd
import pytest
import xarray as xr

from metarl_neuro.analyze import main as analyze_main
from metarl_neuro.experiments import (
    BehrensConfig,
    BrombergMartinConfig,
    StopperConfig,
    TsutsuiConfig,
    TwoStepConfig,
)
from metarl_neuro.experiments.two_step import simulate_two_step
from metarl_neuro.run import RUN_FILES, Run
from metarl_neuro.simulate import main, simulate

TINY = {"episodes": 32, "batch": 16, "eval_episodes": 12, "device": "cpu"}
CASES = {
    "tsutsui": (TsutsuiConfig(**TINY, min_trials=20, max_trials=30), ("matching", "choice_regression", "unit_tuning")),
    "behrens": (BehrensConfig(**TINY, block_trials=20, reversal_min=4, reversal_max=6), ("learning_rates", "unit_tuning")),
    "bromberg-martin": (BrombergMartinConfig(**TINY, n_trials=40, block_min=4, block_max=8),
                        ("reversal_rpe", "population_pca")),
    "stopper": (StopperConfig(**TINY, n_trials=20), ("risky_choice",)),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cued")
    return {name: simulate(name, cfg, base / name, progress=False) for name, (cfg, _) in CASES.items()}


@pytest.mark.parametrize("name", CASES)
def test_run_folder_figures_and_summary(runs, name):
    path = runs[name]
    for f in RUN_FILES:
        assert (path / f).is_file(), f
    for fig in CASES[name][1]:
        assert (path / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    summary = (path / "summary.txt").read_text()
    assert summary.startswith("Sim ") and "paper" in summary
    run = Run.load(path)
    t = run.trials
    assert {"subject", "episode", "trial", "choice", "reward", "missed"} <= set(t.columns)
    assert t["choice"].isin([-1, 0, 1]).all() and (t["reward"].isna() == t["missed"]).all()
    ds = run.activations
    assert "h" in ds and "phase" in ds.variables and ds.sizes["episode"] == 12


def test_stopper_tests_the_manipulations_on_the_same_episodes(runs):
    t = Run.load(runs["stopper"]).trials
    assert set(t["manipulation"]) == {"none", "block", "stimulate"}
    by = t.groupby("manipulation")
    assert by.size().nunique() == 1  # a trial count fixed per episode: same trials under each manipulation
    assert by["episode"].nunique().eq(12).all()
    p = t.pivot_table(index=["episode", "trial"], columns="manipulation", values="p_risky")
    assert p.nunique(axis=1).eq(1).all()  # same episodes under every manipulation
    assert Run.load(runs["stopper"]).agent.__class__.__name__ == "RPEInputA2C"


def test_tsutsui_tests_on_the_held_out_distribution(runs):
    p = Run.load(runs["tsutsui"]).trials.groupby("episode")["p0_left"].first()
    assert p.between(0, 0.5).all()


def test_same_seed_same_trials(runs, tmp_path):
    cfg = CASES["bromberg-martin"][0]
    again = simulate("bromberg-martin", cfg, tmp_path / "again", progress=False)
    a = pd.read_parquet(runs["bromberg-martin"] / "trials.parquet").drop(columns="subject")
    b = pd.read_parquet(again / "trials.parquet").drop(columns="subject")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow  # about 25 s: in CI's slow step, to keep the default suite under 5 minutes
def test_killed_run_resumes_to_the_same_result(tmp_path, kill_after_checkpoint):
    """SIGKILL mid-training, resume: the same trials (the RPE-input agent and the task state round-trip)."""
    args = ["stopper", "--episodes", "3000", "--batch", "16", "--eval-episodes", "8", "--n-trials", "20",
            "--no-progress", "--device", "cpu", "--checkpoint-every-s", "0"]
    killed = tmp_path / "killed"
    kill_after_checkpoint(args, killed)
    assert main([*args, "--out", str(killed), "--resume"]) == 0
    straight = tmp_path / "straight"
    assert main([*args, "--out", str(straight)]) == 0
    a = pd.read_parquet(killed / "trials.parquet").drop(columns="subject")
    b = pd.read_parquet(straight / "trials.parquet").drop(columns="subject")
    pd.testing.assert_frame_equal(a, b)


def test_cli_alias_analyze_and_errors(runs, tmp_path, capsys):
    args = ["--episodes", "16", "--batch", "16", "--eval-episodes", "6", "--device", "cpu", "--no-progress",
            "--n-trials", "20", "--block-min", "3", "--block-max", "5"]
    assert main(["bromberg_martin", *args, "--out", str(tmp_path / "bm")]) == 0
    assert "Sim 3" in capsys.readouterr().out
    assert analyze_main([str(runs["behrens"])]) == 0
    assert "Sim 2 (Behrens" in capsys.readouterr().out
    assert main(["stopper", "--agent", "lstm", *args[:8], "--out", str(tmp_path / "st")]) == 2
    assert "rpe-input" in capsys.readouterr().err
    assert not (tmp_path / "st").exists()  # refused before any training
    assert main(["behrens", "--lr", "-1", "--out", str(tmp_path / "x")]) == 2
    with pytest.raises(ValueError, match="unknown experiment .harlow."):
        simulate("harlow", CASES["stopper"][0], tmp_path / "y")


def test_two_step_learns_with_the_rpe_input_network(tmp_path):
    """The RPE-input architecture plugs into the two-step simulation (the learning check is in the note)."""
    cfg = TwoStepConfig(episodes=64, batch=32, eval_episodes=8, device="cpu", agent="rpe-input", threads=1)
    run = Run.load(simulate_two_step(cfg, tmp_path / "ts", progress=False))
    assert run.agent.__class__.__name__ == "RPEInputA2C"
    ds = xr.open_dataset(run.path / "activations.nc", engine="h5netcdf")
    assert ds.sizes["unit"] == 2 * 48 + 1
