"""``python -m metarl_neuro.analyze PATH``: the analyses of a run folder or of a CSV of human two-step data.

A run folder gets its experiment's report (``EXPERIMENTS[name].report``, :mod:`metarl_neuro.experiments`): a
bandit run the regret per policy, a Harlow one the percent correct by trial, one of Wang 2018's Simulations 1, 2,
3, 6 its analyses and one-line summary; a data file the two-step analyses.

With ``--hidden`` (run folders), also the analyses of the LSTM activations (:func:`hidden_report`).

Prints the stay-probability table, the one-back and lagged stay regressions and the hybrid-model fit, and
writes ``stay_probability.png``, ``lagged_regression.png`` and both side by side in ``two_step_summary.png``
(as Wang et al. 2018 Fig. 5c, 5e; into the run's ``figures/``, or next to the
CSV unless ``--figures DIR``).

    python -m metarl_neuro.analyze runs/two-step/seed0
    python -m metarl_neuro.analyze runs/two-step/seed0 --hidden   # also the LSTM analyses (Figs. 2e, 5f, 1e)
    python -m metarl_neuro.analyze ts_exampleData.txt --format hbayesdm --sep '\t'
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from metarl_neuro.analysis import from_hbayesdm, to_trials
from metarl_neuro.experiments import get as get_experiment
from metarl_neuro.experiments._cued import CUED_EXPERIMENTS
from metarl_neuro.experiments.bandit import bandit_report
from metarl_neuro.experiments.harlow_1d import HARLOW_TEST_IMAGES, harlow_report  # noqa: F401
from metarl_neuro.experiments.two_step import hidden_report, two_step_report
from metarl_neuro.run import Run, save_figures

__all__ = [
    "bandit_report", "cued_report", "harlow_report", "hidden_report", "main", "read_table", "save_figures",
    "two_step_report",
]


def cued_report(run: Run, figures: Path | None = None, n_permutations: int = 20) -> dict:
    """The report of one of Wang 2018's fixation / left / right runs (``tsutsui``, ``behrens``, ``bromberg-martin``,
    ``stopper``): its analyses printed, its figures, and the one-line summary of the paper's effect (also in
    ``summary.txt``).

    Raises
    ------
    ValueError
        If the run is not one of these simulations.
    """
    experiment = run.meta["experiment"]
    if experiment not in CUED_EXPERIMENTS:
        raise ValueError(f"{run.path} holds a {experiment!r} run, not a fixation / left / right simulation")
    return get_experiment(experiment).report(run, figures, permutations=n_permutations)


def read_table(path: Path, sep: str = ",") -> pd.DataFrame:
    """Read a CSV / TSV data file; every problem is a ``ValueError`` naming the file and what to do.

    Raises
    ------
    ValueError
        If the file is not UTF-8 text, holds a header only (no trial), cannot be parsed, or has a single column
        whose name holds another separator (e.g. a TSV read with the default ``--sep ','``).
    """
    try:
        raw = pd.read_csv(path, sep=sep)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path} could not be parsed with separator {sep!r}: {err}") from None
    if raw.shape[1] == 1:
        for other, flag in (("\t", "'\\t'"), (";", "';'"), (",", "','"), (" ", "' '")):
            if other != sep and other in str(raw.columns[0]):
                raise ValueError(f"{path} has one column {str(raw.columns[0])[:60]!r} with separator {sep!r}; "
                                 f"it looks separated by {other!r}: pass --sep {flag}")
    if raw.empty:
        raise ValueError(f"{path} holds a header but no rows (no trial to analyse)")
    return raw


def load_trials(path: Path, fmt: str, sep: str, run: Run | None = None) -> tuple[pd.DataFrame, float, Path]:
    """Trials, the task's common-transition probability and the figures folder for ``path`` (``run``: the
    run folder at ``path``, already loaded)."""
    if path.is_dir():
        run = run or Run.load(path)
        return run.trials, run.config.common_prob, run.path / "figures"
    if not path.is_file():
        raise FileNotFoundError(f"no run folder or data file at {path}")
    raw = read_table(path, sep)
    if fmt == "hbayesdm":
        trials = from_hbayesdm(raw)
    else:
        cols = [c for c in ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward", "common")
                if c in raw.columns]
        trials = to_trials(raw, columns={c: c for c in cols})
        if "missed" in raw.columns:
            trials["missed"] = trials["missed"] | raw["missed"].astype(bool).to_numpy()
    return trials, 0.7, path.parent


def _check_args(args) -> str:
    """What is wrong with the command line's values, before any work ("" if nothing)."""
    if args.common_prob is not None and not 0.5 <= args.common_prob <= 1:  # also refuses nan
        return f"--common-prob must be a probability in [0.5, 1] (the common transition's), got {args.common_prob}"
    if args.starts < 1:
        return f"--starts must be >= 1, got {args.starts}"
    if args.permutations < 1:
        return f"--permutations must be >= 1, got {args.permutations}"
    if args.jobs == 0:
        return "--jobs must not be 0 (a number of processes, or -1 for all cores)"
    if not args.path.exists():
        return f"no run folder or data file at {args.path}"
    if args.figures is not None and args.figures.exists() and not args.figures.is_dir():
        return f"--figures {args.figures} is a file; name a folder (it is created if missing)"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.analyze``."""
    ap = argparse.ArgumentParser(prog="python -m metarl_neuro.analyze", description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="a run folder, or a CSV/TSV of two-step trials")
    ap.add_argument("--format", choices=("hbayesdm", "generic"), default="generic",
                    help="CSV format: hbayesdm (subjID, level1_choice, level2_choice, reward) or generic "
                         "(the trial-table columns: subject, choice1, state2, choice2, reward, ...)")
    ap.add_argument("--sep", default=",", help="CSV field separator (use '\\t' for tab-separated files)")
    ap.add_argument("--common-prob", type=float, default=None,
                    help="common-transition probability for the hybrid fit (default: the run's, or 0.7)")
    ap.add_argument("--figures", type=Path, default=None, help="folder for the figures")
    ap.add_argument("--starts", type=int, default=10,
                    help="random starts per subject (and per round, with adaptive starts) of the hybrid fit")
    ap.add_argument("--start-strategy", choices=("adaptive", "random"), default="adaptive",
                    help="adaptive: as many starts as each subject needs to reach its best optimum (fit_hybrid's "
                         "default); random: --starts random starts only (faster)")
    ap.add_argument("--hidden", action="store_true",
                    help="run folders: also decode task variables from the LSTM, unit tuning, the RPE regression "
                         "and the population PCA (figures decoding.png, unit_tuning.png, rpe_regression.png, "
                         "population_pca.png)")
    ap.add_argument("--permutations", type=int, default=100, help="label permutations of the decoding chance level")
    ap.add_argument("--jobs", type=int, default=None, help="parallel jobs of the decoding permutations")
    args = ap.parse_args(argv)
    problem = _check_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        sep = "\t" if args.sep in ("\\t", "tab") else args.sep
        if args.path.is_dir():
            run = Run.load(args.path)
            exp = get_experiment(run.meta["experiment"])
            if args.hidden and exp.name != "two-step":
                raise ValueError(f"--hidden is for two-step runs; {args.path} holds a {exp.name!r} run")
            exp.report(run, args.figures or run.path / "figures", starts=args.start_strategy, n_starts=args.starts,
                       common_prob=args.common_prob, hidden=args.hidden, permutations=args.permutations,
                       jobs=args.jobs)
            return 0
        if args.hidden:
            raise ValueError("--hidden needs a run folder (with activations.nc), not a data file")
        trials, common_prob, figures = load_trials(args.path, args.format, sep)
        two_step_report(trials, args.common_prob or common_prob, args.figures or figures, args.path.name,
                        args.starts, args.start_strategy)
    except (ValueError, FileNotFoundError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
