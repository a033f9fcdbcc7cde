"""benchmarks/w16_stacked_vs_single.py, the count behind issue 29's stacked-against-single table, on real run folders.

Two tiny ``harlow-w16`` seeds, one per form, each trained by ``reproduce`` on a real local Ray cluster into its own
``--out`` folder, as the guide runs the comparison, without a stopping rule (``until=''``, on which the script
once failed: it read the seed's own rule). The script must read each folder's form from its config, count neither
untrained seed at ceiling on either reading, draw the curves, and refuse two folders of one form. The power of
Fisher's test at W16's shares, which the script prints, is checked alone (fast) against the normal approximation.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from metarl_neuro.reproduce import main as reproduce

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "w16_stacked_vs_single.py"
TINY = {"episodes": 24, "batch": 4, "episode_seconds": 20, "eval_every": 8, "eval_episodes": 20, "threads": 1,
        "until": ""}

slow = pytest.mark.slow  # two Ray clusters and two short pixel trainings, about a minute


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("w16")
    for form, stacked in (("stacked", "true"), ("single", "false")):
        sets = [a for k, v in {**TINY, "stacked": stacked}.items() for a in ("--set", f"harlow-w16.{k}={v}")]
        assert reproduce(["harlow-w16", "--seeds", "1", "--num-cpus", "1", "--cpus-per-task", "1", *sets,
                          "--out", str(root / form), "--no-progress"]) == 0
    return root


def script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120)


@slow
def test_the_shares_count_each_reading_of_ceiling_per_form_and_draw_the_curves(folders, tmp_path):
    figure = tmp_path / "curves.png"
    out = script(folders / "single", folders / "stacked", "--figure", figure)
    assert out.returncode == 0, out.stderr
    shares = out.stdout.split("| form | at ceiling in training")[1].split("\n\n")[0]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:4]]
            for line in shares.splitlines() if line.startswith(("| stacked |", "| single |"))}
    # (at ceiling in training, final test at ceiling), each "k of n, share% [Wilson interval]"
    assert rows == {"stacked": ["0 of 1, 0% [0, 79]"] * 2, "single": ["0 of 1, 0% [0, 79]"] * 2}
    assert "ours p = 1 (in training), 1 (final test); W16's counts p = 0.017" in out.stdout
    # each seed trained its whole budget of 24 episodes, its tests every 8 read (rule_met_at empty), finished
    for form in ("stacked", "single"):
        table = out.stdout.split(f"## {form} LSTM")[1]
        row = next(line for line in table.splitlines() if line.startswith("|      0 |"))
        cells = [c.strip() for c in row.split("|")[1:-1]]
        # (seed, finished, tests, left_chance_at, rule_met_at, episodes, rule, trial_1, correct_2_10, final, cpu_s)
        assert cells[1] == "True" and len(cells[2].split(" / ")) == 3 and cells[5] == "24"
        assert cells[4] == "<NA>" and cells[6] == "no" and cells[9] == "no"
        # left_chance_at (the test from which every test is above 65%) is set only where the last test is above 65%
        assert cells[3] == "<NA>" or float(cells[2].split(" / ")[-1]) > 65
    assert "| stacked | none met it | 1 |" in out.stdout and "| single | none met it | 1 |" in out.stdout
    assert figure.stat().st_size > 10_000


@slow
def test_two_folders_of_one_form_are_refused(folders):
    out = script(folders / "stacked", folders / "stacked")
    assert out.returncode != 0
    assert "not one stacked and one single form" in out.stderr


def test_fishers_power_at_w16s_shares_is_the_exact_sum_and_near_the_normal_approximation():
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    spec = importlib.util.spec_from_file_location("w16_stacked_vs_single", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    power = module.fisher_power
    # one seed a form: no outcome reaches p < 0.05; more seeds, more power
    assert power(1, 1) == 0.0
    assert power(5, 5) < power(8, 8) < power(16, 16) < power(60, 60) < 1
    # exact at 8 + 8: the outcomes with p < 0.05 are few, and their probability small
    assert power(8, 8) == pytest.approx(0.0434, abs=5e-4)
    # Fisher's test is conservative: below the normal approximation's power, and near it with many seeds
    normal = NormalIndPower().power(proportion_effectsize(0.43, 0.26), 60, 0.05)
    assert normal - 0.1 < power(60, 60) < normal
