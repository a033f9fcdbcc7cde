import json

import pandas as pd
import pytest
import torch
import xarray as xr

from metarl_neuro.experiments import TwoStepConfig
from metarl_neuro.experiments.two_step import simulate_two_step
from metarl_neuro.run import RUN_FILES, Run
from metarl_neuro.schema import TWO_STEP_COLUMNS, validate_trials
from metarl_neuro.simulate import main, make_parser

SMALL = ["--episodes", "96", "--batch", "16", "--eval-episodes", "12", "--no-progress", "--device", "cpu"]


def tiny(tmp_path, name="run", **kw):
    cfg = TwoStepConfig(**{"episodes": 96, "batch": 16, "eval_episodes": 12, "device": "cpu", **kw})
    return simulate_two_step(cfg, tmp_path / name, progress=False)


def trials(run_dir):
    return pd.read_parquet(run_dir / "trials.parquet").drop(columns="subject")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny(tmp_path_factory.mktemp("sim"))


def test_run_folder_contents(run_dir, capsys):
    for f in RUN_FILES:
        assert (run_dir / f).is_file(), f
    assert (run_dir / "figures" / "stay_probability.png").stat().st_size > 1000
    run = Run.load(run_dir)
    assert run.config == TwoStepConfig(episodes=96, batch=16, eval_episodes=12, device="cpu")
    assert run.meta["experiment"] == "two-step" and len(run.meta["config_hash"]) == 16
    assert list(run.trials.columns[: len(TWO_STEP_COLUMNS)]) == list(TWO_STEP_COLUMNS)
    assert {"reward_prob_0", "reward_prob_1"} <= set(run.trials.columns)
    assert len(run.trials) == 12 * 100 and run.trials.groupby("episode").size().eq(100).all()
    validate_trials(run.trials)
    training = run.training
    assert training["episodes"].iloc[-1] >= 96 and training["update"].tolist() == list(range(1, len(training) + 1))


def test_activations_dataset(run_dir):
    ds = Run.load(run_dir).activations
    # one step per trial in the compressed structure (at least 3 in the paper one)
    assert ds["h"].dims == ("episode", "step", "unit") and ds["h"].shape[0] == 12 and ds["h"].shape[2] == 48
    assert ds.sizes["step"] >= 100
    assert (ds["active"].sum("step") >= 100).all()
    assert int(ds["trial_end"].where(ds["active"], False).sum()) == 12 * 100
    assert ds["h"].dtype == "float32" and ds["policy"].dims == ("episode", "step", "action")
    assert ds.attrs["seed"] == 0 and "config_hash" in ds.attrs
    for coord in ("trial", "stage", "action_taken", "reward", "choice1", "state2", "reward_prob_0"):
        assert ds[coord].dims == ("episode", "step"), coord
    assert float(abs(ds["policy"].sum("action") - 1).where(ds["active"]).max()) < 1e-5
    assert bool(ds["h"].where(~ds["active"]).isnull().all())  # steps after an episode ended are NaN
    # the agent's TD error follows its definition (gamma: the run's), with V = 0 after the last step
    gamma = Run.load(run_dir).config.gamma
    assert ds.attrs["gamma"] == gamma == 0.5
    for ep in range(12):
        one = ds.isel(episode=ep).where(ds["active"].isel(episode=ep), drop=True)
        v, r, rpe = one["value"].values, one["reward"].values, one["rpe"].values
        assert abs(rpe[:-1] - (r[:-1] + gamma * v[1:] - v[:-1])).max() < 1e-5
        assert abs(rpe[-1] - (r[-1] - v[-1])) < 1e-5


def test_agent_reloads(run_dir):
    agent = Run.load(run_dir).agent
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(a, b) for a, b in zip(agent.state_dict().values(), ckpt["model"].values()))


def test_same_seed_same_trials(tmp_path, run_dir):
    again = tiny(tmp_path, "again")
    # identical but for the subject column, which is the run folder's name
    pd.testing.assert_frame_equal(trials(again), trials(run_dir))
    other = tiny(tmp_path, "other", seed=1)
    assert not pd.read_parquet(other / "trials.parquet")["choice1"].equals(pd.read_parquet(run_dir / "trials.parquet")["choice1"])


def test_existing_folder_needs_resume(run_dir):
    with pytest.raises(FileExistsError, match="--resume"):
        simulate_two_step(TwoStepConfig(episodes=96, batch=16, eval_episodes=12), run_dir, progress=False)


def test_incomplete_folder_is_named(run_dir, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((run_dir / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match=r"missing \['checkpoint.pt'.*--resume"):
        Run.load(partial)
    with pytest.raises(FileNotFoundError, match="no run folder"):
        Run.load(tmp_path / "nowhere")


def test_killed_run_resumes_to_the_same_result(tmp_path, kill_after_checkpoint):
    args = ["two-step", "--episodes", "640", "--batch", "16", "--eval-episodes", "12", "--no-progress",
            "--device", "cpu", "--checkpoint-every-s", "0", "--eval-every", "160", "--lr-final", "0",
            "--entropy-final", "0.01"]  # annealed: the schedule resumes where it was
    killed = tmp_path / "killed"
    kill_after_checkpoint(args, killed)
    ckpt = torch.load(killed / "checkpoint.pt", weights_only=False)
    assert ckpt["train"]["update"] > 0 and ckpt["train"]["episodes"] < 640
    assert main([*args, "--out", str(killed), "--resume"]) == 0
    straight = tmp_path / "straight"
    assert main([*args, "--out", str(straight)]) == 0
    pd.testing.assert_frame_equal(trials(killed), trials(straight))
    a, b = xr.open_dataset(killed / "activations.nc"), xr.open_dataset(straight / "activations.nc")
    xr.testing.assert_equal(a["h"], b["h"])
    a.close()
    b.close()
    cols = ["update", "episodes", "steps", "mean_episode_reward", "loss", "lr", "entropy_coef"]
    pd.testing.assert_frame_equal(pd.read_csv(killed / "training.csv")[cols],
                                  pd.read_csv(straight / "training.csv")[cols])
    # the learning curve too: the same tests at the same points, with the same results (wall_s aside)
    curve = Run(killed).evaluations.drop(columns="wall_s")
    assert len(curve) == 4
    pd.testing.assert_frame_equal(curve, Run(straight).evaluations.drop(columns="wall_s"))


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        make_parser().parse_args(["two-step", "--help"])
    text = capsys.readouterr().out
    for opt in ("--seed", "--episodes", "--batch", "--device", "--out", "--resume", "--structure", "--lr"):
        assert opt in text
    for f in json.loads(json.dumps(TwoStepConfig().to_dict())):
        assert f"--{f.replace('_', '-')}" in text


def test_cli_errors_are_reported(tmp_path, capsys):
    # the field's parser refuses it while the command line is read
    assert main(["two-step", *SMALL, "--common-prob", "1.5", "--out", str(tmp_path / "x")]) == 2
    assert "argument --common-prob: common_prob must be a number in [0, 1], got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["two-step", *SMALL, "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "no run to resume" in capsys.readouterr().err


def test_paper_structure_end_to_end(paper_structure_run):
    run = Run.load(paper_structure_run)
    assert run.trials.groupby("episode").size().eq(100).all()
    ds = run.activations
    assert ds.sizes["action"] == 3 and ds.sizes["step"] >= 300
    # an untrained agent makes wrong actions, paid -1 (Wang 2018 Methods)
    assert float(ds["reward"].where(~ds["correct"].astype(bool) & ds["active"]).min()) == -1.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(tmp_path, capsys):
    assert main(["two-step", *SMALL[:-2], "--device", "cuda", "--out", str(tmp_path / "x")]) == 2
    assert "torch.cuda.is_available() is False" in capsys.readouterr().err


def test_untrained_run_with_zero_episodes(tmp_path):
    run = Run.load(tiny(tmp_path, "untrained", episodes=0))
    assert run.training.empty and len(run.trials) == 12 * 100
    with pytest.raises(ValueError, match="episodes must be an integer >= 0"):
        TwoStepConfig(episodes=-1)


def test_help_of_every_subcommand_renders(capsys):
    """``--help`` of each experiment (a '%' in a help text once crashed argparse's formatting)."""
    from metarl_neuro.analyze import main as analyze_main
    from metarl_neuro.experiments import EXPERIMENTS

    for argv, entry in [([], main), *[([name], main) for name in EXPERIMENTS], ([], analyze_main)]:
        with pytest.raises(SystemExit) as exit_info:
            entry([*argv, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "usage:" in text and "(default: )" not in text and "%%" not in text, argv


def test_bad_options_are_refused_before_any_work(tmp_path, capsys):
    """Issue 13: --max-grad-norm -1 trained (torch flipped the gradient); --seed -1 failed after training."""
    (tmp_path / "afile").write_text("")
    for argv, message in ((["--max-grad-norm", "-1"], "max_grad_norm must be a number > 0"),
                          (["--seed", "-1"], "seed must be an integer >= 0"),
                          (["--lr", "nan"], "lr must be a number"),
                          (["--out", str(tmp_path / "afile")], "is a file, not a folder")):
        argv = ["two-step", *SMALL, *(["--out", str(tmp_path / "x")] if "--out" not in argv else []), *argv]
        assert main(argv) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "x").exists()


def test_corrupt_run_files_are_named(run_dir, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    for name in ("activations.nc", "trials.parquet", "checkpoint.pt"):
        (bad / name).write_bytes((run_dir / name).read_bytes()[:300])
    run = Run.load(bad)
    with pytest.raises(ValueError, match="activations.nc is truncated or corrupt"):
        _ = run.activations
    with pytest.raises(ValueError, match="trials.parquet is truncated or corrupt"):
        _ = run.trials
    assert main(["two-step", *SMALL, "--out", str(bad), "--resume"]) == 2
    assert "checkpoint.pt is truncated or corrupt" in capsys.readouterr().err
    (bad / "config.json").write_text(json.dumps({"experiment": "three-step", "config": {}}))
    with pytest.raises(ValueError, match="unknown experiment 'three-step'"):
        _ = Run.load(bad).config


def test_a_full_disk_is_an_error_naming_the_file_and_leaves_nothing_partial(run_dir, tmp_path, monkeypatch):
    """The write is one Python write of the in-memory file (HDF5 writing to a full disk crashed the process);
    a real full tmpfs is in issue 13's note. Here the write fails with ENOSPC as it does there."""
    import errno
    from pathlib import Path

    run = Run(tmp_path / "full")
    ds = xr.open_dataset(run_dir / "activations.nc").load()

    def full(self, data):
        with self.open("wb") as f:
            f.write(bytes(data)[:100])  # a part is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="cannot write .*activations.nc: No space left on device"):
        run.save_activations(ds)
    assert list((tmp_path / "full").iterdir()) == []
