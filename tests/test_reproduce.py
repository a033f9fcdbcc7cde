"""reproduce / report / sweep on a real local Ray cluster of 2 CPUs (issue 16; in the slow step: about 40 s), and the
across-seed statistics."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metarl_neuro.analysis import across_seeds, curve_across_seeds
from metarl_neuro.experiments import EXPERIMENTS, HarlowPixelsConfig, TwoStepConfig
from metarl_neuro.report import write_report
from metarl_neuro.reproduce import main as reproduce_main
from metarl_neuro.reproduce import parse_overrides, plan, reproduce, sigterm_interrupts
from metarl_neuro.run import Run

ray = pytest.importorskip("ray")

#: a two-step run of a few seconds: 128 training episodes, 40 test episodes
TINY = {"episodes": 128, "eval_every": 64, "until": "", "eval_episodes": 40, "checkpoint_every_s": 0.0}


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster with 2 worker CPUs, shut down after the module's tests."""
    # address="local": a cluster of its own even where another runs, or where a dead one left its address file
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_across_seeds_is_the_t_interval_over_seeds():
    per_seed = pd.DataFrame({"seed": [2, 0, 1], "gap": [0.30, 0.25, np.nan], "rc": [0.9, 1.0, 0.95]})
    table = across_seeds(per_seed).set_index("metric")
    values = np.array([0.25, 0.30])  # seed order; the NaN seed is left out of n
    lo, hi = stats.t.interval(0.95, 1, loc=values.mean(), scale=stats.sem(values))
    assert table.loc["gap", "n"] == 2 and table.loc["gap", "mean"] == pytest.approx(0.275)
    assert (table.loc["gap", "ci_lo"], table.loc["gap", "ci_hi"]) == pytest.approx((lo, hi))
    assert table.loc["rc", "values"] == [1.0, 0.95, 0.9]  # in seed order
    with pytest.raises(ValueError, match="repeats seed"):
        across_seeds(pd.DataFrame({"seed": [0, 0], "gap": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="'seed' column"):
        across_seeds(pd.DataFrame({"gap": [1.0]}))
    curve = curve_across_seeds(pd.DataFrame({"seed": [0, 1, 0, 1], "episodes": [10, 10, 20, 20],
                                             "gap": [0.0, 0.2, 0.3, 0.3]}), "gap")
    assert curve["mean"].tolist() == pytest.approx([0.1, 0.3]) and curve["n"].tolist() == [2, 2]
    # Harlow seeds are tested a few episodes apart (episodes end at different steps): grouped by --eval-every
    harlow = pd.DataFrame({"seed": [0, 0, 1, 1], "episodes": [1512, 3009, 1504, 3006], "c": [58.0, 44, 52, 42]})
    binned = curve_across_seeds(harlow, "c", every=1500)
    assert binned["episodes"].tolist() == [1500, 3000] and binned["mean"].tolist() == [55.0, 43.0]
    with pytest.raises(ValueError, match="every must be"):
        curve_across_seeds(harlow, "c", every=0)


def test_overrides_and_plan_fail_before_any_task(tmp_path):
    assert parse_overrides(["two-step.episodes=500", "lr=0.01"], ["two-step", "bandit"]) == {
        "two-step": {"episodes": 500, "lr": 0.01}, "bandit": {"lr": 0.01}}
    with pytest.raises(ValueError, match="no config of.*'nope'"):
        parse_overrides(["nope=1"], ["two-step"])
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        parse_overrides(["episodes"], ["two-step"])
    with pytest.raises(ValueError, match="episodes must be an integer, got 'many'"):
        parse_overrides(["two-step.episodes=many"], ["two-step"])
    with pytest.raises(ValueError, match=r"gamma must be a number in \[0, 1\]"):
        plan(["two-step"], [0], "full", {"two-step": {"gamma": 2.0}}, tmp_path)
    assert reproduce_main(["no-such-experiment", "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())  # nothing written


def test_psychlab_harlow_is_the_frozen_test_of_the_pixel_seeds(tmp_path):
    """Issue 24 item 4: with harlow-pixels in the sweep, psychlab-harlow seed k tests seed k's network frozen on the
    real level (0 training episodes, init_from its folder) and waits for it; alone, it trains as configured."""
    tasks = plan(["harlow-pixels", "psychlab-harlow"], [0, 3], "full", {}, tmp_path)
    lab = {t["seed"]: t for t in tasks if t["experiment"] == "psychlab-harlow"}
    for seed in (0, 3):
        assert lab[seed]["values"]["episodes"] == 0 and lab[seed]["after"] == "harlow-pixels"
        assert lab[seed]["values"]["init_from"] == str(tmp_path / "harlow-pixels" / f"seed{seed}")
    assert all(t["after"] == "" for t in tasks if t["experiment"] == "harlow-pixels")
    alone = plan(["psychlab-harlow"], [0], "full", {}, tmp_path)[0]
    assert alone["after"] == "" and "init_from" not in alone["values"]
    # --set still wins: fine-tune 100 episodes on the level from each seed's network
    tuned = plan(["harlow-pixels", "psychlab-harlow"], [0], "full", {"psychlab-harlow": {"episodes": 100}}, tmp_path)
    assert [t["values"]["episodes"] for t in tuned if t["experiment"] == "psychlab-harlow"] == [100]
    # the tested network's view, action set and form travel with it; the test's own settings stay its own
    carried = plan(["harlow-pixels", "psychlab-harlow"], [0], "full",
                   {"harlow-pixels": {"stacked": False, "fov": 90.0, "hidden_size": 64, "lr": 1e-3}}, tmp_path)
    lab = next(t for t in carried if t["experiment"] == "psychlab-harlow")
    assert {k: lab["values"].get(k) for k in ("stacked", "fov", "hidden_size")} == {
        "stacked": False, "fov": 90.0, "hidden_size": 64}
    assert "lr" not in lab["values"]


def _finished(task: dict, checkpoint: bytes = b"", tested: bytes | None = None) -> None:
    """Lay down a plan task's run folder as a finished seed: config, summary, and the checkpoint's bytes (a frozen
    test records the SHA-256 of the network it tested)."""
    config = EXPERIMENTS[task["experiment"]].config(**task["values"])
    run = Run(task["folder"])
    run.path.mkdir(parents=True)
    meta = {"experiment": task["experiment"], "config": config.to_dict(), "config_hash": task["config_hash"]}
    if tested is not None:
        meta["init_from_sha256"] = hashlib.sha256(tested).hexdigest()
    run.save_meta(meta)
    (run.path / "checkpoint.pt").write_bytes(checkpoint)
    (run.path / "seed_summary.json").write_text(json.dumps(
        {"wall_s": 1.0, "resumed": False, "config_hash": task["config_hash"], "summary": {"correct_1": 50.0}}))


def test_a_longer_budget_extends_finished_seeds_and_retests_their_frozen_tests(tmp_path):
    """Issue 24: the same sweep with a larger episodes trains finished seeds on (state "extend"); any other change
    is refused; a frozen test is run again where its seed's network changed or will ("retest")."""
    pair = ["harlow-pixels", "psychlab-harlow"]
    tasks = plan(pair, [0, 1], "full", {"harlow-pixels": {"episodes": 600}}, tmp_path)
    for t in tasks:
        _finished(t, b"net", tested=b"net" if t["experiment"] == "psychlab-harlow" else None)
    states = {(t["experiment"], t["seed"]): t["state"] for t in plan(pair, [0, 1], "full",
                                                                    {"harlow-pixels": {"episodes": 600}}, tmp_path)}
    assert set(states.values()) == {"finished"}
    # seed 1's network changed after its test (an extension finished, its test killed): that test is stale
    (tmp_path / "harlow-pixels" / "seed1" / "checkpoint.pt").write_bytes(b"net, trained on")
    states = {(t["experiment"], t["seed"]): t["state"] for t in plan(pair, [0, 1], "full",
                                                                    {"harlow-pixels": {"episodes": 600}}, tmp_path)}
    assert states == {("harlow-pixels", 0): "finished", ("harlow-pixels", 1): "finished",
                      ("psychlab-harlow", 0): "finished", ("psychlab-harlow", 1): "retest"}
    longer = plan(pair, [0, 1], "full", {"harlow-pixels": {"episodes": 1200}}, tmp_path)
    assert [(t["experiment"], t["state"]) for t in longer] == [("harlow-pixels", "extend")] * 2 + [
        ("psychlab-harlow", "retest")] * 2
    assert all(t["summary"] is None for t in longer)
    assert [t["episodes"] for t in longer] == [1200, 1200, 0, 0]
    # a default that grew extends as a larger --set does (harlow-pixels' default is longer than 600 episodes)
    grown = plan(pair[:1], [0, 1], "full", {}, tmp_path)
    assert [(t["state"], t["episodes"]) for t in grown] == [("extend", HarlowPixelsConfig().episodes)] * 2
    assert all("episodes" not in t["values"] for t in grown)
    for other in ({"episodes": 300}, {"episodes": 1200, "lr": 1e-3}):  # shorter, or another setting too
        with pytest.raises(ValueError, match="another config.*a larger episodes extends it"):
            plan(pair, [0], "full", {"harlow-pixels": other}, tmp_path)


def test_publish_copies_the_report_and_nothing_of_the_runs(tmp_path, monkeypatch):
    """Issue 24 item 4: `report OUT --publish docs/reproduction` writes what a repository commits: the report, its
    figures, the aggregate tables and the provenance; no run folder, checkpoint or log; stale files go. A claim
    that fails in some seed has its measured reason printed under the top table (a claim that holds does not)."""
    import dataclasses

    from metarl_neuro.experiments._base import Claim
    from metarl_neuro.report import main as report_main
    from metarl_neuro.reproduce import record_sweep, run_seed

    exp = EXPERIMENTS["two-step"]
    monkeypatch.setitem(EXPERIMENTS, "two-step", dataclasses.replace(exp, claims=(
        Claim("gap", "never", lambda s: False, falls_short="measured: why it fails"),
        Claim("rc", "always", lambda s: True, falls_short="not printed: it holds"), *exp.claims)))

    out, dest = tmp_path / "root", tmp_path / "docs" / "reproduction"
    values = {"episodes": 64, "batch": 16, "eval_episodes": 20, "until": "", "eval_every": 0, "seed": 0}
    run_seed("two-step", values, str(out / "two-step" / "seed0"), str(out / "logs" / "seed0.log"))
    record_sweep(out, "python -m metarl_neuro.reproduce two-step --seeds 1", 5.0, [{"status": "done"}])
    (out / "harlow-1d" / "seed0").mkdir(parents=True)  # a seed still training: no summary yet
    (dest / "figures").mkdir(parents=True)
    (dest / "figures" / "gone_seeds.png").write_bytes(b"old")  # an experiment no longer in the root
    assert report_main([str(out), "--publish", str(dest)]) == 0
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == ["aggregate/two-step_seeds.csv", "aggregate/two-step_summary.csv", "figures/two-step_seeds.png",
                     "report.html", "report.md", "reproduce.json"]
    assert (dest / "report.md").read_text() == (out / "report.md").read_text()
    md, html = (dest / "report.md").read_text(), (dest / "report.html").read_text()
    assert "- two-step `gap` (0 of 1 seeds): measured: why it fails" in md and "<li>two-step `gap`" in html
    assert "not printed" not in md + html
    top = md[md.index("## Every claim"):md.index("## Cost per experiment")]  # its claims wait in the top table
    saved = json.loads((out / "two-step" / "seed0" / "seed_summary.json").read_text())
    cost = next(line for line in md.splitlines() if line.startswith("| two-step | 1 | "))  # the cost: CPU time
    assert 0 < saved["cpu_s"] and cost.endswith(f"| {saved['cpu_s'] / 3600:.2f} |")
    assert top.count("none of 1 finished yet") == sum(c.holds is not None for c in EXPERIMENTS["harlow-1d"].claims) > 0
    del saved["cpu_s"]  # a summary written before the CPU time was recorded: the wall time, marked
    (out / "two-step" / "seed0" / "seed_summary.json").write_text(json.dumps(saved))
    assert report_main([str(out)]) == 0
    cost = next(line for line in (out / "report.md").read_text().splitlines() if line.startswith("| two-step | 1 | "))
    assert cost.endswith(f"| {saved['wall_s'] / 3600:.2f} (wall) |")
    assert report_main([str(tmp_path / "nothing"), "--publish", str(dest)]) == 2


def test_sigterm_stops_a_sweep_as_ctrl_c_does_then_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="signal 15"):
        with sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs at the next bytecode; the sleep is cut short
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.slow
def test_a_background_sweep_stops_on_sigterm_and_records_it(tmp_path):
    """Started as a script's background job (SIGINT ignored from birth, so kill -INT cannot reach it), the sweep
    stops on SIGTERM: exit status 130, the sweep recorded as interrupted, its local Ray cluster shut down."""
    cmd = [sys.executable, "-m", "metarl_neuro.reproduce", "two-step", "--seeds", "1", "--num-cpus", "1",
           "--set", "two-step.episodes=1000000", "--set", "two-step.checkpoint_every_s=1", "--out", str(tmp_path),
           "--no-progress", "--no-report"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 600  # a local Ray cluster's start is slow on a busy machine
        while not (tmp_path / "two-step" / "seed0" / "checkpoint.pt").exists():  # the seed trains
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no checkpoint within 600 s"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # ignored, as in a background job
        time.sleep(2)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()  # reaped, its pipe closed (else a ResourceWarning fails a later test)
    assert proc.returncode == 130, err
    assert "interrupted: the same command continues the sweep" in err
    sweeps = json.loads((tmp_path / "reproduce.json").read_text())["sweeps"]
    assert sweeps[-1]["status"] == "interrupted"


@pytest.mark.slow
def test_reproduce_runs_seeds_as_ray_tasks_then_skips_them(cluster, tmp_path, capsys):
    over = {"two-step": TINY}
    results = reproduce(["two-step"], [0, 1], tmp_path, overrides=over, progress=False)
    assert sorted((r["seed"], r["status"]) for r in results) == [(0, "done"), (1, "done")]
    for seed in (0, 1):  # ordinary run folders, with the config asked for
        run = Run.load(tmp_path / "two-step" / f"seed{seed}")
        assert run.config == TwoStepConfig(**TINY, structure="paper", seed=seed)  # the reproduction's structure
        assert len(run.evaluations) == 2 and (tmp_path / "logs" / f"two-step-seed{seed}.log").exists()
        saved = json.loads((run.path / "seed_summary.json").read_text())
        assert set(saved["summary"]) >= {"gap", "rc", "rr", "uc", "ur", "mb_index", "mf_index"}
    # a killed seed: its summary gone, the run folder half-written (no trials): resumed, the other one skipped
    (tmp_path / "two-step" / "seed1" / "seed_summary.json").unlink()
    (tmp_path / "two-step" / "seed1" / "trials.parquet").unlink()
    before = (tmp_path / "two-step" / "seed0" / "checkpoint.pt").stat().st_mtime_ns
    again = reproduce(["two-step"], [0, 1], tmp_path, overrides=over, progress=False)
    assert sorted((r["seed"], r["status"]) for r in again) == [(0, "skipped"), (1, "resumed")]
    assert (tmp_path / "two-step" / "seed0" / "checkpoint.pt").stat().st_mtime_ns == before
    assert "finished earlier, skipped" in capsys.readouterr().err
    # another config into the same folders is refused before any task
    with pytest.raises(ValueError, match="another config"):
        reproduce(["two-step"], [0], tmp_path, overrides={"two-step": {**TINY, "lr": 1e-3}}, progress=False)

    # issue 24: each invocation is recorded with its command and commit, and the report opens with every claim
    from metarl_neuro.reproduce import record_sweep, source_commit

    record_sweep(tmp_path, "python -m metarl_neuro.reproduce two-step --seeds 2", 12.0, results)
    record_sweep(tmp_path, "python -m metarl_neuro.reproduce two-step --seeds 2", 3.0, again)
    html, md = write_report(tmp_path, ["two-step"], [0, 1, 2])
    text = md.read_text()
    assert "| two-step | 2 |" in text and "No summary for seed(s) [2]" in text
    assert "model-based index" in text and "of 2 seeds" in text
    first = text[text.index("## Every claim"):text.index("## Cost per experiment")]
    assert first.count("| two-step ") == len(EXPERIMENTS["two-step"].claims)  # the paper's structure: Fig. 5f too
    assert "of 2 seeds" in first and "`python -m metarl_neuro.reproduce two-step --seeds 2`" in text
    assert source_commit().split()[0] in text and "| 2 / 0 / 0 |" in text and "| 1 / 1 / 0 |" in text
    # an invocation killed with its session keeps its line, marked running; an update rewrites that line only
    record_sweep(tmp_path, "python -m metarl_neuro.reproduce two-step --seeds 8", None, None, status="running")
    saved = record_sweep(tmp_path, "python -m metarl_neuro.reproduce two-step --seeds 2", 4.0, again, index=1,
                         status="interrupted")["sweeps"]
    assert [s["status"] for s in saved] == ["finished", "interrupted", "running"] and saved[2]["wall_s"] is None
    html, md = write_report(tmp_path, ["two-step"], [0, 1])
    assert "| running |  |" in md.read_text() and "interrupted" in html.read_text()
    # a running entry whose process is gone (a session's SIGKILL) becomes "killed" when the next invocation starts
    assert saved[2]["pid"] == os.getpid()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    provenance = json.loads((tmp_path / "reproduce.json").read_text())
    provenance["sweeps"][2]["pid"] = int(gone.stdout)
    (tmp_path / "reproduce.json").write_text(json.dumps(provenance))
    saved = record_sweep(tmp_path, "python -m metarl_neuro.reproduce two-step --seeds 8", None, None,
                         status="running")["sweeps"]
    assert [s["status"] for s in saved] == ["finished", "interrupted", "killed", "running"]
    provenance = json.loads((tmp_path / "reproduce.json").read_text())
    provenance["sweeps"][3]["commit"] = "0000000"  # the commit the invocation started at; HEAD moved since
    (tmp_path / "reproduce.json").write_text(json.dumps(provenance))
    saved = record_sweep(tmp_path, "python -m metarl_neuro.reproduce two-step --seeds 8", 1.0, None, index=3)["sweeps"]
    assert saved[3]["status"] == "finished" and "pid" not in saved[3] and saved[3]["commit"] == "0000000"
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 2  # Fig. 5c from the seeds and the learning curve, embedded
    per_seed = pd.read_csv(tmp_path / "aggregate" / "two-step_seeds.csv")
    assert per_seed["seed"].tolist() == [0, 1]
    summary = pd.read_csv(tmp_path / "aggregate" / "two-step_summary.csv").set_index("metric")
    assert summary.loc["gap", "mean"] == pytest.approx(per_seed["gap"].mean())

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:  # the report renders in a real headless browser
        shot = tmp_path / "shot.png"
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                        f"--screenshot={shot}", html.as_uri()], check=True, capture_output=True, timeout=120)
        assert shot.stat().st_size > 20_000


@pytest.mark.slow
def test_reproduce_extends_finished_seeds_as_longer_runs(cluster, tmp_path, capsys):
    """Issue 24: rerun with a larger episodes, reproduce trains the finished seeds on; training is deterministic, so
    each ends as a run started with that length (training log, final test, summary), and the first end is kept."""
    reproduce(["two-step"], [0, 1], tmp_path / "a", overrides={"two-step": TINY}, progress=False)
    longer = {"two-step": {**TINY, "episodes": 256}}
    again = reproduce(["two-step"], [0, 1], tmp_path / "a", overrides=longer, progress=False)
    assert sorted((r["seed"], r["status"]) for r in again) == [(0, "resumed"), (1, "resumed")]
    assert "training on from 128 to 256 episodes" in capsys.readouterr().err
    fresh = reproduce(["two-step"], [0, 1], tmp_path / "b", overrides=longer, progress=False)
    for seed, (ext, new) in enumerate(zip(sorted(again, key=lambda r: r["seed"]),
                                          sorted(fresh, key=lambda r: r["seed"]))):
        a, b = (Run.load(tmp_path / root / "two-step" / f"seed{seed}") for root in ("a", "b"))
        assert a.meta["extended_from"] == [128] and a.config == b.config
        pd.testing.assert_frame_equal(a.training.drop(columns="steps_per_s"), b.training.drop(columns="steps_per_s"))
        pd.testing.assert_frame_equal(a.trials.drop(columns="subject"), b.trials.drop(columns="subject"))
        assert pd.Series(ext["summary"]).equals(pd.Series(new["summary"]))  # NaN where both are NaN
        assert (a.path / "extended_from_128" / "trials.parquet").exists()
    assert {r["status"] for r in reproduce(["two-step"], [0, 1], tmp_path / "a", overrides=longer,
                                           progress=False)} == {"skipped"}


@pytest.mark.slow
@pytest.mark.deepmind_lab
def test_the_frozen_test_waits_for_its_seed_and_loads_its_network(cluster, tmp_path):
    """Issue 24 item 4 on a real cluster and the real level: psychlab-harlow seed 0 runs after harlow-pixels seed 0
    and tests that network (the checkpoint's SHA-256 is in its config's record), with no training; trained on,
    the pixel seed is tested again."""
    pytest.importorskip("deepmind_lab")
    tiny = {"episodes": 16, "batch": 4, "hidden_size": 16, "eval_episodes": 4, "episode_seconds": 0.5,
            "checkpoint_every_s": 0.0}
    over = {"harlow-pixels": {**tiny, "eval_every": 0, "curriculum": "none"}, "psychlab-harlow": {"batch": 2, "eval_episodes": 2,
                                                                            "hidden_size": 16, "episode_seconds": 0.5}}
    results = reproduce(["harlow-pixels", "psychlab-harlow"], [0], tmp_path, overrides=over, progress=False)
    assert sorted((r["experiment"], r["status"]) for r in results) == [("harlow-pixels", "done"),
                                                                       ("psychlab-harlow", "done")]
    lab = Run.load(tmp_path / "psychlab-harlow" / "seed0")
    assert lab.config.episodes == 0 and lab.config.init_from == str(tmp_path / "harlow-pixels" / "seed0")
    ckpt = tmp_path / "harlow-pixels" / "seed0" / "checkpoint.pt"
    assert lab.meta["init_from_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert (tmp_path / "psychlab-harlow" / "seed0" / "config.json").stat().st_mtime > ckpt.stat().st_mtime
    # the pixel seed trained on: its frozen test runs again on the new network, the earlier one kept aside
    first = lab.meta["init_from_sha256"]
    longer = {**over, "harlow-pixels": {**over["harlow-pixels"], "episodes": 32}}
    again = reproduce(["harlow-pixels", "psychlab-harlow"], [0], tmp_path, overrides=longer, progress=False)
    assert sorted((r["experiment"], r["status"]) for r in again) == [("harlow-pixels", "resumed"),
                                                                     ("psychlab-harlow", "done")]
    lab = Run.load(tmp_path / "psychlab-harlow" / "seed0")
    assert lab.meta["init_from_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest() != first
    kept = list((tmp_path / "psychlab-harlow" / "superseded").iterdir())
    assert len(kept) == 1 and Run.load(kept[0]).meta["init_from_sha256"] == first
    assert (tmp_path / "harlow-pixels" / "seed0" / "extended_from_16" / "trials.parquet").exists()


@pytest.mark.slow
def test_sweep_on_a_local_ray_cluster(cluster, tmp_path):
    from ray import tune

    from metarl_neuro.sweep import parse_param, sweep

    assert parse_param("lr=loguniform:1e-4:1e-2", TwoStepConfig)[0] == "lr"
    with pytest.raises(ValueError, match="LO < HI"):
        parse_param("lr=uniform:1:0", TwoStepConfig)
    with pytest.raises(ValueError, match="no field 'nope'"):
        parse_param("nope=uniform:0:1", TwoStepConfig)
    with pytest.raises(ValueError, match="batch must be an integer, got .lots."):
        parse_param("batch=choice:8,lots", TwoStepConfig)
    params = {"lr": tune.loguniform(1e-3, 1e-2), "gamma": tune.uniform(0.5, 0.9)}
    table, top = sweep("two-step", params, samples=3, out=tmp_path, base={**TINY, "eval_every": 0}, top=2,
                       select_episodes=20, verbose=0)
    assert len(table) == 3 and len(top) == 2 and sorted(table["sample"]) == [0, 1, 2]
    assert table["seed"].tolist() == table["sample"].tolist()
    assert table["select"].is_monotonic_decreasing and top["select"].tolist() == table["select"].head(2).tolist()
    assert table["lr"].between(1e-3, 1e-2).all() and table["gamma"].between(0.5, 0.9).all()
    for _, row in table.iterrows():  # each sample's run folder has its own values; the scores are its test halves
        run = Run.load(row["folder"])
        assert run.config.lr == pytest.approx(row["lr"]) and run.config.seed == row["seed"]
        trials = run.trials
        from metarl_neuro.experiments.two_step import two_step_metrics

        assert row["select"] == pytest.approx(two_step_metrics(trials[trials["episode"] < 20])["gap"], nan_ok=True)
        assert row["heldout"] == pytest.approx(two_step_metrics(trials[trials["episode"] >= 20])["gap"], nan_ok=True)
    assert pd.read_csv(tmp_path / "top.csv")["sample"].tolist() == top["sample"].tolist()


def test_a_malformed_seed_summary_is_refused_naming_the_file(tmp_path):
    from metarl_neuro.run import read_seed_summary

    good = {"wall_s": 3.0, "resumed": False, "config_hash": "abc", "summary": {"gap": 0.3}}
    (tmp_path / "seed_summary.json").write_text(json.dumps(good))
    assert read_seed_summary(tmp_path) == good  # written before the CPU time was recorded: still read
    for bad, what in (({**good, "cpu_s": "1 min"}, "cpu_s"), ({**good, "cpu_s": True}, "cpu_s"),
                      ({**good, "wall_s": None}, "wall_s"), ({**good, "summary": {"gap": "high"}}, "summary")):
        (tmp_path / "seed_summary.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=f"seed_summary.json is not a seed summary.*{what}"):
            read_seed_summary(tmp_path)
    assert read_seed_summary(tmp_path / "none") is None
