from pathlib import Path

import pandas as pd

from metarl_neuro.analyze import main
from metarl_neuro.experiments import TwoStepConfig
from metarl_neuro.experiments.two_step import simulate_two_step

HBAYESDM = Path(__file__).parent / "reference" / "hbayesdm" / "ts_exampleData.txt"


def test_analyze_hbayesdm_csv(tmp_path, capsys):
    assert main([str(HBAYESDM), "--format", "hbayesdm", "--sep", "\\t", "--figures", str(tmp_path), "--starts", "1", "--start-strategy", "random"]) == 0
    out = capsys.readouterr().out
    assert "reward:transition" in out and "model_based" in out and "Hybrid model fit" in out
    assert out.count("True") >= 11  # one converged fit per subject (and stay rows)
    for name in ("stay_probability.png", "lagged_regression.png", "two_step_summary.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_analyze_generic_csv_and_run_folder(tmp_path, capsys):
    run = simulate_two_step(TwoStepConfig(episodes=32, batch=16, eval_episodes=4, device="cpu"), tmp_path / "run",
                            progress=False)
    assert (run / "figures" / "lagged_regression.png").is_file()  # simulate runs the same report
    capsys.readouterr()
    assert main([str(run), "--starts", "1", "--start-strategy", "random"]) == 0
    assert "P(stay)" in capsys.readouterr().out
    csv = tmp_path / "trials.csv"
    pd.read_parquet(run / "trials.parquet").to_csv(csv, index=False)
    assert main([str(csv), "--starts", "1", "--start-strategy", "random", "--common-prob", "0.8"]) == 0
    assert "P(common) = 0.8" in capsys.readouterr().out


def test_analyze_errors(tmp_path, capsys):
    assert main([str(tmp_path / "nothing.csv")]) == 2
    assert "no run folder or data file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"subject": ["a"], "choice1": [0]}).to_csv(bad, index=False)
    assert main([str(bad)]) == 2
    assert "must map" in capsys.readouterr().err


def test_analyze_hidden_on_a_paper_structure_run(paper_structure_run, capsys):
    run = paper_structure_run
    capsys.readouterr()
    assert main([str(run), "--starts", "1", "--start-strategy", "random", "--hidden", "--permutations", "5"]) == 0
    out = capsys.readouterr().out
    assert "Decoding from h" in out and "prev_reward_x_transition" in out
    assert "Units coding each variable" in out
    # a 32-episode agent's choices may barely depend on rewards: the hybrid fit then finds learning rates near 0
    # and the report says why it skips the RPE regression (tests/analysis/test_rpe.py checks the regression)
    regressed = "Agent RPE at the second-stage state" in out
    assert regressed or "RPE regression skipped: the learner's rpe_mb are constant" in out
    for name in ("decoding", "unit_tuning", "population_pca") + (("rpe_regression",) if regressed else ()):
        assert (run / "figures" / f"{name}.png").stat().st_size > 1000


def test_analyze_hidden_needs_a_run_folder(tmp_path, capsys):
    assert main([str(HBAYESDM), "--format", "hbayesdm", "--sep", "\\t", "--figures", str(tmp_path), "--starts", "1", "--start-strategy", "random",
                 "--hidden"]) == 2
    assert "--hidden needs a run folder" in capsys.readouterr().err


def test_harlow_report_of_test_episodes_without_a_completed_trial(tmp_path, capsys):
    """An untrained pixel agent may finish no trial in a short test episode: the report says so, draws nothing."""
    from metarl_neuro.experiments.harlow_1d import harlow_report
    columns = ["training_episodes", "episode", "trial", "correct", "rewarded_side"]
    table = harlow_report(pd.DataFrame(columns=columns), tmp_path / "figures", "empty")
    assert table.empty and "no trial was completed" in capsys.readouterr().out
    assert not (tmp_path / "figures").exists()


def test_analyze_refuses_bad_options_and_names_unreadable_files(tmp_path, capsys):
    """Issue 13: --common-prob 2 printed 'P(common) = 2.0' and fitted; a TSV read as CSV gave a column error."""
    tsv = tmp_path / "trials.tsv"
    pd.read_csv(HBAYESDM, sep=r"\s+").head(20).to_csv(tsv, sep="\t", index=False)
    assert main([str(tsv), "--format", "hbayesdm", "--common-prob", "2"]) == 2
    assert "--common-prob must be a probability in [0.5, 1]" in capsys.readouterr().err
    assert main([str(tsv), "--format", "hbayesdm"]) == 2
    assert "pass --sep '\\t'" in capsys.readouterr().err
    header = tmp_path / "header.csv"
    header.write_text("subject,choice1,state2,choice2,reward\n")
    assert main([str(header)]) == 2 and "holds a header but no rows" in capsys.readouterr().err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("subject,choice1\nJos\xe9,1\n".encode("latin-1"))
    assert main([str(latin)]) == 2 and "is not UTF-8 text" in capsys.readouterr().err
    assert main([str(tsv), "--figures", str(tsv)]) == 2 and "is a file" in capsys.readouterr().err


def test_data_files_in_the_published_layouts(tmp_path):
    """--format kool2016 and nussenbaum2020 read the labs' own layouts (the loaders' conventions)."""
    from metarl_neuro.analyze import load_trials

    nus = Path(__file__).parent / "data" / "nussenbaum2020" / "online_data_for_matlab_excerpt.txt"
    trials = load_trials(nus, "nussenbaum2020", ",")
    assert set(trials["subject"]) == {"sub100", "sub102"} and "choice1_recorded" in trials
    kool = pd.DataFrame({"subject": "s1", "choice1": [1, 2, -1, 2], "choice2": [2, 1, -1, 2], "state2": [1, 2, 1, 1],
                         "win": [1, 0, 0, 1], "stim_1_left": [1, 2, 2, 1]})
    kool.to_csv(tmp_path / "kool.csv", index=False)
    trials = load_trials(tmp_path / "kool.csv", "kool2016", ",")
    assert trials["missed"].tolist() == [False, False, True, False] and trials["stim_left"].tolist()[:2] == [0, 1]
    assert main([str(tmp_path / "kool.csv"), "--format", "kool", "--bayes", "mb"]) == 2  # not a format: argparse
