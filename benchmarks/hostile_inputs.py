"""The hostile-input survey of issue 25: each class of malformed input, tried at the public entry point, and how
it ends.

``python benchmarks/hostile_inputs.py [--csv OUT.csv]`` prints one row per case: its class, the case, and the
outcome:

- ``clear``: a ``ValueError`` / ``TypeError`` / ``OSError`` (or a command's exit status 2) whose message names
  what is wrong;
- ``accepted``: no error (the input was taken, and a result or a run came back);
- ``documented``: the input is taken with a documented, correct behaviour (a note saying what happens; a
  boolean parsed as written);
- ``unclear``: any other exception (``AttributeError``, ``KeyError``, a torch traceback, ...).

Run it on two commits to compare them (the issue's note gives the table before -> after). The tests hold each
class to ``clear`` one by one (``tests/test_trust.py``, ``tests/analysis/test_malformed_inputs.py``); this
script is the survey across them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch


def _beta(a, b):
    return torch.distributions.Beta(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))


class _Documented(Exception):
    """Raised by a case whose input was taken with the documented, correct behaviour."""


def _outcome(fn) -> tuple[str, str]:
    """Run ``fn``; classify how it ended."""
    err_buf = io.StringIO()
    try:
        with contextlib.redirect_stderr(err_buf), contextlib.redirect_stdout(io.StringIO()):
            rc = fn()
    except SystemExit as e:
        return ("clear" if e.code == 2 else "unclear"), err_buf.getvalue().strip().splitlines()[-1][:160] if err_buf.getvalue().strip() else f"exit {e.code}"
    except _Documented as e:
        return "documented", str(e)[:160]
    except (ValueError, TypeError, OSError) as e:
        return "clear", f"{type(e).__name__}: {str(e)[:160]}"
    except Exception as e:  # noqa: BLE001 - the survey classifies every other type as unclear
        return "unclear", f"{type(e).__name__}: {str(e)[:160]}"
    if isinstance(rc, int) and not isinstance(rc, bool) and rc == 2:
        msg = err_buf.getvalue().strip().splitlines()
        return "clear", msg[-1][:160] if msg else "exit 2"
    return "accepted", f"returned {type(rc).__name__}"


def cases(tmp: Path):
    """``(class, case, callable)`` for every case of the survey."""
    from metarl_neuro import analysis
    from metarl_neuro.analysis.hybrid import simulate_hybrid

    df = simulate_hybrid({"alpha1": .5, "alpha2": .5, "lam": .5, "beta1": 3, "beta2": 3, "w": .5, "p": .1},
                         n_subjects=2, n_trials=40, seed=1)
    fit = dict(starts="random", n_starts=1, maxiter=2)
    yield "bounds", "learning rate bounded up to 5", lambda: analysis.fit_hybrid(df, bounds={"alpha1": (0, 5)}, **fit)
    yield "bounds", "negative inverse temperature", lambda: analysis.fit_hybrid(df, bounds={"beta1": (-1, 5)}, **fit)
    yield "bounds", "w beyond [0, 1]", lambda: analysis.fit_hybrid(df, bounds={"w": (0, 1.5)}, **fit)
    yield "priors", "priors under MLE", lambda: analysis.fit_hybrid(df, priors={"alpha1": _beta(2., 2.)}, **fit)
    yield "priors", "unknown parameter", lambda: analysis.fit_hybrid(df, method="map", priors={"zeta": _beta(2., 2.)},
                                                                    **fit)
    yield "priors", "a list", lambda: analysis.fit_hybrid(df, method="map", priors=[_beta(2., 2.)], **fit)
    yield "priors", "support misses the bounds", lambda: analysis.fit_hybrid(
        df, method="map", priors={"beta1": _beta(2., 2.)}, **fit)
    yield "priors", "a number, not a distribution", lambda: analysis.fit_hybrid(df, method="map",
                                                                               priors={"alpha1": 0.5}, **fit)
    yield "fixed", "text value", lambda: analysis.fit_hybrid(df, fixed={"lam": "0.5"}, **fit)

    bic = pd.DataFrame({"subject": ["a", "b"], "bic": [10.0, 12.0]})
    yield "group_model_selection", "duplicated subjects", lambda: analysis.group_model_selection(
        {"m1": pd.concat([bic, bic]), "m2": pd.concat([bic, bic]).assign(bic=[11.0, 13, 11, 13])})
    yield "group_model_selection", "a list", lambda: analysis.group_model_selection([bic, bic])
    yield "group_model_selection", "a dict of lists", lambda: analysis.group_model_selection({"m1": [1], "m2": [2]})
    yield "group_model_selection", "a table without bic", lambda: analysis.group_model_selection(
        {"m1": bic.drop(columns="bic"), "m2": bic})

    kool = pd.DataFrame({"choice1": [1, 2, 1], "choice2": [1, 2, 2], "state2": [1, 2, 1], "win": [1, 0, 1],
                         "stim_1_left": [1, 2, 1], "subject": ["s"] * 3})
    yield "loaders", "to_trials: text reward", lambda: analysis.to_trials(
        pd.DataFrame({"s": ["a"] * 3, "c1": [0, 1, 0], "st": [0, 1, 1], "c2": [0, 1, 0], "r": ["1", "x", "0"]}),
        {"subject": "s", "choice1": "c1", "state2": "st", "choice2": "c2", "reward": "r"})
    yield "loaders", "to_trials: empty frame", lambda: analysis.to_trials(
        pd.DataFrame({"s": [], "c1": [], "st": [], "c2": [], "r": []}),
        {"subject": "s", "choice1": "c1", "state2": "st", "choice2": "c2", "reward": "r"})
    yield "loaders", "from_kool2016: empty frame", lambda: analysis.from_kool2016(kool.iloc[:0])
    yield "loaders", "from_kool2016: text points", lambda: analysis.from_kool2016(kool.assign(win=["1", "x", "0"]))
    nuss = pd.DataFrame({"subject_id": ["a"] * 3, "trial": [1, 2, 3], "choice_1": [1, 2, 1], "choice_2": [1, 2, 1],
                         "state": [2, 3, 2], "reward": [1, 0, 1]})
    yield "loaders", "from_nussenbaum2020: empty frame", lambda: analysis.from_nussenbaum2020(nuss.iloc[:0])
    yield "loaders", "from_nussenbaum2020: absurd trial numbers", lambda: analysis.from_nussenbaum2020(
        nuss.assign(trial=[1, 10**9, 2]))
    yield "loaders", "from_nussenbaum2020: text reward", lambda: analysis.from_nussenbaum2020(
        nuss.assign(reward=["1", "x", "0"]))
    hb = pd.DataFrame({"subjID": [1] * 3, "level1_choice": [1, 2, 1], "level2_choice": [1, 3, 2],
                       "reward": [1, 0, 1], "trial": [1, 2, 10**7]})
    yield "loaders", "from_hbayesdm: absurd trial numbers", lambda: analysis.from_hbayesdm(hb)

    harlow = pd.DataFrame({"episode": [0, 0, 1, 1], "trial": [0, 1, 0, 1], "rewarded_side": [0, 1, 1, 0],
                           "correct": [True, True, False, True]})
    yield "harlow_binding", "only first trials (a row with n = 0)", lambda: _nonempty(
        analysis.harlow_binding(harlow[harlow.trial == 0], by=None))
    yield "harlow_binding", "NaN episode key", lambda: analysis.harlow_binding(
        harlow.assign(episode=[0, 0, np.nan, np.nan]), by=None)
    yield "harlow_binding", "NaN stage key", lambda: analysis.harlow_binding(
        harlow.assign(stage=[1, 1, np.nan, np.nan]), by="stage")

    from metarl_neuro.agents.training import Criterion

    yield "Criterion", "fractional held", lambda: Criterion.parse("gap>=0.3", ("gap",), 1.5)
    yield "Criterion", "string held", lambda: Criterion.parse("gap>=0.3", ("gap",), "2")
    yield "Criterion", "infinite threshold", lambda: Criterion.parse("gap>=inf", ("gap",), 2)
    from metarl_neuro.experiments import TwoStepConfig

    yield "Criterion", "--until with --eval-every longer than the run", lambda: _note(
        lambda: _simulate(["two-step", "--episodes", "64", "--eval-every", "1000", "--until", "gap>=0.3",
                           "--eval-episodes", "4", "--out", str(tmp / "long_eval")]), "never checked")
    yield "Criterion", "until_held as text in the config", lambda: TwoStepConfig(until_held="2")

    from metarl_neuro.tasks.gym import TwoStepEnv

    yield "gymnasium", "string for a bool keyword", lambda: TwoStepEnv(meta_rl_inputs="no")

    def config_json_wrong_types():
        from metarl_neuro.run import Run

        folder = tmp / "wrongtypes"
        _simulate(["two-step", "--episodes", "0", "--eval-episodes", "2", "--out", str(folder)])
        meta = json.loads((folder / "config.json").read_text())
        meta["config"]["batch"] = "64"
        (folder / "config.json").write_text(json.dumps(meta))
        return Run(folder).config

    yield "config.json", "wrong types (batch as text)", config_json_wrong_types

    from metarl_neuro import reproduce, sweep
    from metarl_neuro.experiments import HarlowPixelsConfig

    yield "reproduce --set", "seed", lambda: reproduce.parse_overrides(["seed=3"], ["two-step"])
    yield "reproduce --set", "bool 'maybe'", lambda: reproduce.parse_overrides(["stacked=maybe"], ["harlow-pixels"])
    yield "reproduce --set", "out of domain (gamma=2)", lambda: reproduce.parse_overrides(["gamma=2"], ["two-step"])
    yield "sweep --param", "range outside the domain", lambda: sweep.parse_param("gamma=uniform:0.5:1.5", TwoStepConfig)
    yield "sweep --param", "float range for an int field", lambda: sweep.parse_param("batch=uniform:8:64",
                                                                                     TwoStepConfig)
    yield "sweep --param", "the seed field", lambda: sweep.parse_param("seed=randint:0:9", TwoStepConfig)
    yield "sweep --param", "bool choice 'false'", lambda: _is(
        sweep.parse_param("stacked=choice:false", HarlowPixelsConfig)[1].categories, [False])

    from metarl_neuro import report

    (tmp / "empty_root").mkdir()
    yield "report", "empty root", lambda: report.main([str(tmp / "empty_root")])

    def summary_missing_field():
        folder = tmp / "root" / "two-step" / "seed0"
        folder.mkdir(parents=True)
        (folder / "seed_summary.json").write_text(json.dumps({"summary": {"gap": 0.3}}))
        return report.aggregate(tmp / "root", "two-step", [0])

    yield "report", "seed_summary.json without wall_s", summary_missing_field

    def checkpoint_case(edit):
        def run():
            src = tmp / "ckpt_src"
            if not src.exists():
                _simulate(["two-step", "--episodes", "64", "--eval-episodes", "2", "--out", str(src),
                           "--checkpoint-every-s", "0"])
            folder = tmp / f"ckpt_{edit}"
            shutil.copytree(src, folder)
            from metarl_neuro.run import Run

            if edit == "hidden_size":
                meta = json.loads((folder / "config.json").read_text())
                meta["config"]["hidden_size"] = 32
                (folder / "config.json").write_text(json.dumps(meta))
                return Run(folder).agent
            if edit == "other_experiment":
                other = tmp / "ckpt_bandit"
                if not other.exists():
                    _simulate(["bandit", "--episodes", "32", "--eval-episodes", "2", "--out", str(other)])
                shutil.copy(other / "checkpoint.pt", folder / "checkpoint.pt")
                return Run(folder).agent
            ckpt = torch.load(folder / "checkpoint.pt", weights_only=True)
            del ckpt["optimizer"]
            torch.save(ckpt, folder / "checkpoint.pt")
            return _simulate(["two-step", "--resume", "--extend", "128", "--out", str(folder)])
        return run

    yield "checkpoint", "another experiment's checkpoint", checkpoint_case("other_experiment")
    yield "checkpoint", "edited hidden_size", checkpoint_case("hidden_size")
    yield "checkpoint", "checkpoint without its optimiser (--resume)", checkpoint_case("no_optimizer")

    yield "empty input", "stay_probability", lambda: analysis.stay_probability(df.iloc[:0])
    yield "empty input", "stay_regression", lambda: analysis.stay_regression(df.iloc[:0])
    yield "empty input", "harlow_performance", lambda: analysis.harlow_performance(harlow.iloc[:0], by=None)
    yield "empty input", "harlow_binding", lambda: analysis.harlow_binding(harlow.iloc[:0], by=None)
    yield "empty input", "fit_hybrid", lambda: analysis.fit_hybrid(df.iloc[:0], **fit)
    yield "empty input", "cumulative_regret", lambda: analysis.cumulative_regret(pd.DataFrame(
        {"policy": [], "episode": [], "trial": [], "regret": []}))
    yield "empty input", "matching_law", lambda: analysis.matching_law(pd.DataFrame(
        {"episode": [], "trial": [], "choice": [], "reward": []}))
    yield "empty input", "lagged_choice_regression", lambda: analysis.lagged_choice_regression(pd.DataFrame(
        {"episode": [], "trial": [], "choice": [], "reward": []}))


def _simulate(argv):
    from metarl_neuro.simulate import main

    return main([*argv, "--no-progress"])


def _nonempty(table):
    """A result whose rows are all n = 0 / NaN counts as accepted (the survey's point: it should be an error)."""
    return table


def _note(fn, text):
    """``accepted`` unless the command says ``text`` on stderr (a documented behaviour, counted as clear)."""
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        rc = fn()
    if text in buf.getvalue():
        raise _Documented(f"said: {buf.getvalue().strip().splitlines()[0][:150]}")
    return rc


def _is(value, expected):
    if list(value) != expected:
        raise AssertionError(f"parsed as {list(value)}, not {expected}")
    raise _Documented(f"parsed as {list(value)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for cls, case, fn in cases(Path(d)):
            outcome, detail = _outcome(fn)
            rows.append({"class": cls, "case": case, "outcome": outcome, "detail": detail})
            print(f"{outcome:9s} {cls:22s} {case:48s} {detail}", flush=True)
    table = pd.DataFrame(rows)
    print(table.groupby("outcome").size().to_string())
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
