import pandas as pd

from metarl_neuro.analyze import main as analyze_main
from metarl_neuro.experiments import Harlow1DConfig
from metarl_neuro.experiments.harlow_1d import simulate_harlow
from metarl_neuro.run import RUN_FILES, Run
from metarl_neuro.simulate import main


def test_harlow_run_folder_learning_curve_and_report(tmp_path, capsys):
    cfg = Harlow1DConfig(episodes=320, batch=32, eval_episodes=25, eval_every=64, device="cpu")
    run = Run.load(simulate_harlow(cfg, tmp_path / "h", progress=False))
    for f in RUN_FILES:
        assert (run.path / f).is_file(), f
    t = run.trials
    stages = sorted(t["training_episodes"].unique())
    assert len(stages) == 5 and stages[-1] >= 320  # four learning-curve stages and the final test
    curve = run.evaluations  # one row per test during training, the last (at the end) included
    assert list(curve["episodes"][:4]) == stages[:4] and len(curve) == 5
    assert curve[["correct_1", "correct_2_6"]].apply(lambda c: c.between(0, 100)).all().all()
    final = t[t["training_episodes"] == stages[-1]]
    assert final["episode"].nunique() == 25 and final["trial"].max() <= 5
    assert (final["rewarded_object"] >= 900).all()  # held-out objects
    for name in ("harlow_performance.png", "harlow_episode.png"):
        assert (run.path / "figures" / name).stat().st_size > 1000
    assert "% correct by trial within episode" in capsys.readouterr().out
    assert analyze_main([str(run.path)]) == 0
    assert "object win-stay" in capsys.readouterr().out  # the final test's strategy (harlow_strategy)
    assert analyze_main([str(run.path), "--hidden", "--permutations", "5", "--figures", str(tmp_path / "f")]) == 0
    out = capsys.readouterr().out.split("decoded from the LSTM state at each trial's choice step")[1]
    assert [line.split()[0] for line in out.strip().splitlines()[2:5]] == ["rewarded_side", "prev_reward",
                                                                          "prev_choice"]
    # same seed, same trials
    again = Run.load(simulate_harlow(cfg, tmp_path / "again", progress=False)).trials
    pd.testing.assert_frame_equal(t.drop(columns="subject"), again.drop(columns="subject"))


def test_harlow_cli(tmp_path):
    assert main(["harlow-1d", "--episodes", "64", "--eval-episodes", "5", "--no-progress", "--device", "cpu",
                 "--out", str(tmp_path / "cli")]) == 0
    assert Run.load(tmp_path / "cli").meta["experiment"] == "harlow-1d"


def test_episode_strip_bad_input():
    import numpy as np
    import pytest

    from metarl_neuro.analysis import plot_harlow_episode

    with pytest.raises(ValueError, match="observations must be"):
        plot_harlow_episode(np.zeros((3, 10)), np.zeros(3), code_size=10)


def test_harlow_pixels_end_to_end(tmp_path):
    args = ["harlow-pixels", "--episodes", "32", "--eval-episodes", "5", "--hidden-size", "16", "--episode-seconds", "4",
            "--curriculum", "none", "--no-progress", "--device", "cpu", "--out", str(tmp_path / "px")]
    assert main(args) == 0
    run = Run.load(tmp_path / "px")
    assert run.agent.__class__.__name__ == "ConvA2CLSTM"
    assert (run.path / "figures" / "harlow_episode.png").stat().st_size > 1000
    assert (run.trials["rewarded_object"] >= 1000).all()  # held-out images: the level's dummy colours 1001-2000
    assert analyze_main([str(run.path)]) == 0  # a harlow-pixels run folder gets the Harlow report


def test_pixel_config_fields_are_checked():
    import pytest

    from metarl_neuro.experiments import HarlowPixelsConfig, PsychLabHarlowConfig

    for bad, match in (({"fov": 5}, "fov must be"), ({"fine_look": 0, "saccade_look": 0}, "not both be 0"),
                       ({"episode_seconds": 0}, "episode_seconds"), ({"train_sides": "x"}, "train_sides must be"),
                       ({"start_range": -1}, "start_range")):
        with pytest.raises(ValueError, match=match):
            HarlowPixelsConfig(**bad)
    cfg = HarlowPixelsConfig(fine_look=0, train_sides="random")
    assert cfg.look_units() == (36,)
    task = cfg.make_task(4, 0, "cpu")
    assert task.n_actions == 3 and task.sides == "random" and task.id_range == (0, 1000)
    assert cfg.make_task(4, 0, "cpu", variant="test").sides == "level"  # tests always use the level's sides
    assert HarlowPixelsConfig(stimuli="procedural").make_task(2, 0, "cpu").id_range == (0, 461)
    assert PsychLabHarlowConfig().look_units() == (5, 36)


def test_init_from_starts_from_a_run_and_refuses_another_view_before_writing(tmp_path, capsys):
    small = ["--hidden-size", "8", "--device", "cpu", "--no-progress", "--episode-seconds", "2", "--batch", "4",
             "--eval-episodes", "2", "--curriculum", "none"]
    assert main(["harlow-pixels", "--episodes", "4", *small, "--out", str(tmp_path / "a")]) == 0
    assert main(["harlow-pixels", "--episodes", "4", "--init-from", str(tmp_path / "a"), *small,
                 "--out", str(tmp_path / "b")]) == 0
    assert len(Run.load(tmp_path / "b").meta["init_from_sha256"]) == 64
    # the auxiliary reward head never acts: runs with and without it start from each other
    assert main(["harlow-pixels", "--episodes", "4", "--init-from", str(tmp_path / "a"), "--reward-coef", "0.5",
                 *small, "--out", str(tmp_path / "aux")]) == 0
    assert main(["harlow-pixels", "--episodes", "0", "--init-from", str(tmp_path / "aux"), *small,
                 "--out", str(tmp_path / "noaux")]) == 0
    capsys.readouterr()
    # a frozen test in another view is refused before the run folder; training on in it is a curriculum stage
    assert main(["harlow-pixels", "--episodes", "0", "--init-from", str(tmp_path / "a"), "--fov", "60", *small,
                 "--out", str(tmp_path / "c")]) == 2
    assert "fov 90.0 there, 60.0 here" in capsys.readouterr().err and not (tmp_path / "c").exists()
    assert main(["harlow-pixels", "--episodes", "4", "--init-from", str(tmp_path / "a"), "--fov", "60", *small,
                 "--out", str(tmp_path / "c60")]) == 0
    assert "training on from" in capsys.readouterr().err and Run.load(tmp_path / "c60").config.fov == 60.0
    # a network of another form is refused before the run folder too, with the options that match it
    assert main(["harlow-pixels", "--episodes", "4", "--init-from", str(tmp_path / "a"), "--hidden-size", "16",
                 *small[2:], "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "hidden_size 8 there, 16 here" in err and "pass --hidden-size 8" in err and not (tmp_path / "d").exists()
    assert main(["harlow-pixels", "--episodes", "4", "--init-from", str(tmp_path / "a"), "--no-stacked", *small,
                 "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "stacked True there, False here" in err and "pass --stacked" in err and not (tmp_path / "e").exists()


def test_curriculum_trains_its_stages_as_separate_runs_would(tmp_path, capsys):
    """Issue 29 item 2: --curriculum trains each view in a run folder of its own, starting from the last one's
    network, and ends with the same network as the same stages run one by one with --init-from."""
    import pytest
    import torch

    from metarl_neuro.experiments import HarlowPixelsConfig
    from metarl_neuro.experiments._base import train_run

    small = ["--hidden-size", "8", "--device", "cpu", "--no-progress", "--episode-seconds", "2", "--batch", "4",
             "--eval-episodes", "2", "--threads", "1"]
    assert main(["harlow-pixels", "--episodes", "4", "--curriculum", "45:8,60:4", "--curriculum-eval-every", "4",
                 "--eval-every", "4", *small, "--out", str(tmp_path / "cur")]) == 0
    run = Run.load(tmp_path / "cur")
    assert run.config.fov == 90.0 and [s["fov"] for s in run.meta["curriculum"]] == [45.0, 60.0]
    assert [s["episodes"] for s in run.meta["curriculum"]] == [8, 4]
    assert run.meta["init_from_sha256"] == run.meta["curriculum"][-1]["checkpoint_sha256"]
    curve = run.evaluations_by_stage()  # the learning curve through the stages, on one axis of episodes
    assert curve["stage"].tolist() == [0, 0, 1, 2] and curve["fov"].tolist() == [45.0, 45.0, 60.0, 90.0]
    assert curve["episodes"].tolist() == [4, 8, 12, 16] and curve["stage_episodes"].tolist() == [4, 8, 4, 4]
    assert curve["eval_every"].tolist() == [4.0] * 4  # each stage's own spacing of tests: the report's grid
    first = Run.load(tmp_path / "cur" / "stages" / "fov45")
    assert first.config.until == "correct_2_6>=90" and first.config.eval_every == 4 and not first.config.init_from
    assert Run.load(tmp_path / "cur" / "stages" / "fov60").config.init_from == str(first.path)
    # the same stages, one simulate call each
    one = ["--curriculum", "none", "--eval-every", "4", *small]
    assert main(["harlow-pixels", "--episodes", "8", "--fov", "45", "--until", "correct_2_6>=90", *one,
                 "--out", str(tmp_path / "s45")]) == 0
    assert main(["harlow-pixels", "--episodes", "4", "--fov", "60", "--until", "correct_2_6>=90", *one,
                 "--init-from", str(tmp_path / "s45"), "--out", str(tmp_path / "s60")]) == 0
    assert main(["harlow-pixels", "--episodes", "4", *one, "--init-from", str(tmp_path / "s60"),
                 "--out", str(tmp_path / "s90")]) == 0
    mine, theirs = run.agent.state_dict(), Run.load(tmp_path / "s90").agent.state_dict()
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    # finished stages are skipped when a run without a checkpoint resumes its curriculum
    (tmp_path / "cur" / "checkpoint.pt").unlink()
    capsys.readouterr()
    assert main(["harlow-pixels", "--resume", *small, "--out", str(tmp_path / "cur")]) == 0
    assert capsys.readouterr().err.count("finished in") == 2
    # a caller that would skip the stages is refused, and a malformed curriculum names the option
    with pytest.raises(ValueError, match="only the experiment's simulate"):
        train_run(HarlowPixelsConfig(hidden_size=8, device="cpu"), "harlow-pixels", tmp_path / "x")
    assert not (tmp_path / "x" / "config.json").exists()
    for bad, match in (("45", "is not DEGREES:EPISODES"), ("5:100", "needs a view in"), ("60:10,45:10", "widen"),
                       ("45:0", "at least 1"), ("90:10", "below --fov")):
        with pytest.raises(ValueError, match=match):
            HarlowPixelsConfig(curriculum=bad)
    assert HarlowPixelsConfig(curriculum="None").stages() == () == HarlowPixelsConfig(episodes=0).stages()
    assert HarlowPixelsConfig(init_from=str(tmp_path / "s90")).stages() == ()  # a run from a network: no curriculum


def test_a_run_folder_from_before_the_curriculum_reads_as_it_ran(tmp_path):
    """A field added after a run folder was written takes the value that folder ran with (``legacy``), not today's
    default: a harlow-pixels folder without ``curriculum`` ran at its --fov alone."""
    import json

    (tmp_path / "config.json").write_text(json.dumps({"experiment": "harlow-pixels", "config": {"fov": 45.0}}))
    config = Run(tmp_path).config
    assert config.curriculum == "none" and config.fov == 45.0 and config.stages() == ()


def test_extend_trains_on_as_a_longer_run_would(tmp_path, capsys):
    """--resume --extend N: the run trains on to N episodes; training is deterministic, so its training log and its
    final test equal those of a run started with N episodes. The shorter run's final test, summary and network
    stay in extended_from_<episodes>/."""
    args = ["harlow-1d", "--device", "cpu", "--no-progress", "--eval-episodes", "4", "--batch", "8"]
    assert main([*args, "--episodes", "32", "--out", str(tmp_path / "short")]) == 0
    first = Run.load(tmp_path / "short").trials
    assert main([*args, "--episodes", "64", "--out", str(tmp_path / "short"), "--resume", "--extend", "64"]) == 0
    assert main([*args, "--episodes", "64", "--out", str(tmp_path / "long")]) == 0
    short, long = Run.load(tmp_path / "short"), Run.load(tmp_path / "long")
    assert short.meta["extended_from"] == [32] and short.config.episodes == 64
    cols = ["episodes", "steps", "loss", "entropy"]
    pd.testing.assert_frame_equal(short.training[cols], long.training[cols])
    pd.testing.assert_frame_equal(short.trials.drop(columns="subject"), long.trials.drop(columns="subject"))
    kept = tmp_path / "short" / "extended_from_32"
    pd.testing.assert_frame_equal(pd.read_parquet(kept / "trials.parquet"), first)
    assert (kept / "activations.nc").exists() and (kept / "checkpoint.pt").exists()
    assert not first.equals(short.trials)  # the test after 64 episodes, not the one after 32
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "short"), "--resume", "--extend", "50"]) == 2
    assert "already trains for 64 episodes" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "short"), "--extend", "300"]) == 2
    assert "--extend needs --resume" in capsys.readouterr().err


def test_wang2016_form_ten_trials_an_iti_and_its_rewards():
    """harlow-w16 (issue 29): +0.2 / +1 / -1, 10 trials with a shuffled 5 L 5 R in tests, a 10-step blank gap after
    each choice (no fixation can pay in it), 3,600 steps at most; the level form's config is unchanged."""
    import numpy as np

    from metarl_neuro.experiments import HarlowPixelsConfig, HarlowW16Config
    from metarl_neuro.tasks.psychlab import play_scripted

    config = HarlowW16Config(device="cpu")
    assert (config.trials, config.iti_steps, config.episode_seconds, config.rewards) == (10, 10, 240.0, "wang2016")
    task = config.make_task(4, 0, "cpu", "test")
    assert task.n_trials == 10 and task.geometry.gap_frames == 40 and task.episode_frames == 3600 * 4
    assert HarlowPixelsConfig().make_task(1, 0, "cpu").geometry.gap_frames == 5  # the level's form
    rec = play_scripted(task, 600, epsilon=0.0, seed=0)
    rec = rec._replace(reward=rec.reward.astype(np.float64).round(6))
    assert set(np.unique(rec.reward)) <= {0.0, 0.2, 1.0, -1.0} and (rec.reward == 0.2).sum() >= 20
    for b in range(4):
        ends = np.nonzero(rec.done[:, b])[0]
        assert len(ends) and rec.trial_end[: ends[0] + 1, b].sum() == 10  # the first episode: 10 trials
        assert sorted(rec.sides[b][0]) == [0] * 5 + [1] * 5
        trial_ends = np.nonzero(rec.trial_end[:, b] & ~rec.done[:, b])[0]  # not an episode's last
        fixations = np.nonzero(rec.reward[:, b] == 0.2)[0]
        for t in trial_ends:  # the next fixation is paid only after the 10-step gap
            nxt = fixations[fixations > t]
            assert len(nxt) == 0 or nxt[0] - t >= 10
