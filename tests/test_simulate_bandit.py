import pandas as pd
import pytest

from metarl_neuro.analyze import main as analyze_main
from metarl_neuro.experiments import BanditConfig
from metarl_neuro.experiments.bandit import simulate_bandit
from metarl_neuro.run import RUN_FILES, Run
from metarl_neuro.simulate import main


def tiny(**kw):
    return BanditConfig(**{"episodes": 64, "batch": 16, "eval_episodes": 20, "device": "cpu", **kw})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return simulate_bandit(tiny(), tmp_path_factory.mktemp("bandit") / "run", progress=False)


def test_run_folder_agent_and_baselines_on_the_same_episodes(run_dir, capsys):
    for f in RUN_FILES:
        assert (run_dir / f).is_file(), f
    assert (run_dir / "figures" / "regret.png").stat().st_size > 1000
    run = Run.load(run_dir)
    t = run.trials
    assert set(t["policy"]) == {"meta-rl", "UCB1", "Thompson", "Gittins", "Bayes-optimal"}
    assert (t.groupby("policy").size() == 20 * 100).all()
    # every policy met the same bandits
    means = t.pivot_table(index=["episode", "trial"], columns="policy", values="mean_0")
    assert means.nunique(axis=1).eq(1).all()
    ds = run.activations
    assert ds["h"].shape == (20, 100, 48) and ds.attrs["variant"] == "independent"
    assert run.agent.n_actions == 2


def test_same_seed_same_trials(run_dir, tmp_path):
    again = simulate_bandit(tiny(), tmp_path / "again", progress=False)
    a = pd.read_parquet(run_dir / "trials.parquet").drop(columns="subject")
    b = pd.read_parquet(again / "trials.parquet").drop(columns="subject")
    pd.testing.assert_frame_equal(a, b)


def test_test_variant_restless_and_eleven_arm(tmp_path, capsys):
    r = Run.load(simulate_bandit(tiny(variant="restless"), tmp_path / "restless", progress=False))
    assert set(r.trials["policy"]) == {"meta-rl", "UCB1", "Thompson", "Gittins", "Rescorla-Wagner"}
    assert "Rescorla-Wagner fits by volatility" in capsys.readouterr().out
    r = Run.load(simulate_bandit(tiny(variant="eleven-arm"), tmp_path / "eleven", progress=False))
    assert set(r.trials["policy"]) == {"meta-rl"} and r.trials["trial"].max() == 4
    assert r.agent.n_actions == 11
    r = Run.load(simulate_bandit(tiny(variant="easy", test_variant="medium"), tmp_path / "em", progress=False))
    assert set(r.trials["mean_0"].round(2)) == {0.25, 0.75}


def test_cli_cross_test_and_analyze(tmp_path, capsys):
    args = ["bandit", "--episodes", "16", "--batch", "16", "--eval-episodes", "6", "--device", "cpu", "--no-progress"]
    assert main([*args, "--cross-test", "--out", str(tmp_path / "cross")]) == 0
    m = pd.read_csv(tmp_path / "cross" / "regret_matrix.csv", index_col=0)
    assert list(m.index) == ["independent", "uniform", "easy", "medium", "hard"] and list(m.columns) == list(m.index)
    assert (m.to_numpy() >= 0).all() and (tmp_path / "cross" / "figures" / "regret_matrix.png").is_file()
    capsys.readouterr()
    assert analyze_main([str(tmp_path / "cross" / "train-easy")]) == 0
    assert "Cumulative expected regret at trial 100" in capsys.readouterr().out
    assert main(["bandit", "--variant", "nope"]) == 2  # the field's parser refuses it (status 2)
    assert "variant must be one of" in capsys.readouterr().err


def test_help_documents_every_bandit_option(capsys):
    from metarl_neuro.simulate import make_parser

    with pytest.raises(SystemExit):
        make_parser().parse_args(["bandit", "--help"])
    text = capsys.readouterr().out
    for f in BanditConfig().to_dict():
        assert f"--{f.replace('_', '-')}" in text
    assert "--cross-test" in text and "eleven-arm" in text


def test_bad_config_is_a_clear_error(capsys):
    assert main(["bandit", "--n-trials", "-1", "--no-progress"]) == 2
    assert "n_trials must be an integer >= 0" in capsys.readouterr().err


def test_correlated_arms_experiment_summarises_fig1(tmp_path, capsys):
    """Wang 2018 Fig. 1 (issue 24): the bandit-correlated experiment trains on p_R = 1 - p_L, and its summary holds
    the share of better-arm choices on trials 2-10 per policy and the PC1 ordering by p_L."""
    from metarl_neuro.experiments import get

    exp = get("bandit-correlated")
    cfg = exp.config(episodes=32, batch=16, eval_episodes=20, device="cpu")
    out = exp.simulate(cfg, tmp_path / "corr", progress=False)
    run = Run.load(out)
    assert run.meta["experiment"] == "bandit-correlated" and run.activations.attrs["variant"] == "uniform"
    t = run.trials
    assert (t["mean_0"] + t["mean_1"]).round(6).eq(1).all()  # correlated arms
    s = exp.summarize(run)
    for k in ("better_meta_rl", "better_thompson", "better_bayes_optimal", "pc1_order", "regret_meta_rl"):
        assert 0 <= s[k] <= (1 if k != "regret_meta_rl" else 100), k
    # the policies' shares are means of their better-arm choices on trials 2-10
    mine = t[(t["policy"] == "meta-rl") & t["trial"].between(1, 9)]["optimal"].mean()
    assert s["better_meta_rl"] == pytest.approx(mine)
    assert analyze_main([str(out)]) == 0
    assert "Spearman rho" in capsys.readouterr().out and (out / "figures" / "state_pca.png").is_file()
