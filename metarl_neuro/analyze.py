"""``python -m metarl_neuro.analyze PATH``: the analyses of a run folder or of a CSV of people's choices.

A run folder gets its experiment's report (``EXPERIMENTS[name].report``, :mod:`metarl_neuro.experiments`): a
bandit run the regret per policy, a Harlow one the percent correct by trial, one of Wang 2018's Simulations 1, 2,
3, 6 its analyses and one-line summary, a two-step run the stay analyses and the hybrid fit. A data file gets the
``report_data`` of the experiment named by ``--experiment`` (default ``two-step``: the stay-probability table, the
one-back and lagged stay regressions and the hybrid-model fit, with ``stay_probability.png``,
``lagged_regression.png`` and ``two_step_summary.png`` as Wang et al. 2018 Fig. 5c, 5e next to the file unless
``--figures DIR``). Options that only one experiment's report takes come from that experiment
(``Experiment.report_options``; two-step and the Harlow forms: ``--hidden``, the analyses of the LSTM activations).

    python -m metarl_neuro.analyze runs/two-step/seed0
    python -m metarl_neuro.analyze runs/two-step/seed0 --hidden   # also the LSTM analyses (Figs. 2e, 5f, 1e)
    python -m metarl_neuro.analyze runs/harlow-pixels/seed0 --hidden   # the rewarded side in the state at the choice
    python -m metarl_neuro.analyze ts_exampleData.txt --format hbayesdm --sep '\t'
    python -m metarl_neuro.analyze ts_exampleData.txt --format hbayesdm --sep '\t' --bayes ts_par4,ts_par6

``--bayes MODEL[,MODEL...]`` fits each named model of :data:`metarl_neuro.analysis.hybrid.MODELS` to a data file
by hierarchical Bayesian inference (:func:`metarl_neuro.analysis.fit_bayesian`, hBayesDM's hierarchy) instead of
the report: it prints each posterior's group parameters and convergence checks, and the LOO table, and writes
``<file>_<model>.nc`` (the InferenceData, ``arviz.from_netcdf`` reads it) and ``<file>_<model>_ppc.png`` (the
posterior predictive check) next to the file unless ``--figures DIR``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from metarl_neuro.analysis import from_hbayesdm, from_kool2016, from_nussenbaum2020, to_trials
from metarl_neuro.experiments import EXPERIMENTS
from metarl_neuro.experiments import get as get_experiment
from metarl_neuro.run import Run

__all__ = ["load_trials", "main", "read_table"]


def read_table(path: Path, sep: str = ",") -> pd.DataFrame:
    """Read a CSV / TSV data file; every problem is a ``ValueError`` naming the file and what to do.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    sep : str
        Column separator.

    Returns
    -------
    pandas.DataFrame
        The table as read.

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


def load_trials(path: Path, fmt: str, sep: str) -> pd.DataFrame:
    """The trial table of the data file ``path`` (``fmt``: ``"hbayesdm"``, ``"kool2016"``, ``"nussenbaum2020"``
    (the layouts of :func:`~metarl_neuro.analysis.from_hbayesdm`, :func:`~metarl_neuro.analysis.from_kool2016`,
    :func:`~metarl_neuro.analysis.from_nussenbaum2020`) or ``"generic"``).

    Parameters
    ----------
    path : pathlib.Path
        The data file.
    fmt : {"hbayesdm", "kool2016", "nussenbaum2020", "generic"}
        Its layout; ``"generic"`` is the toolkit's trial table itself.
    sep : str
        Column separator (``","``; ``"\\t"`` for hBayesDM's files).

    Returns
    -------
    pandas.DataFrame
        The validated trial table.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        As :func:`read_table`, and for a table that is not a trial table
        (:func:`~metarl_neuro.analysis.to_trials`).
    """
    if not path.is_file():
        raise FileNotFoundError(f"no run folder or data file at {path}")
    raw = read_table(path, sep)
    if fmt == "hbayesdm":
        trials = from_hbayesdm(raw)
    elif fmt == "kool2016":
        trials = from_kool2016(raw)
    elif fmt == "nussenbaum2020":
        trials = from_nussenbaum2020(raw)
    else:
        cols = [c for c in ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward", "common")
                if c in raw.columns]
        trials = to_trials(raw, columns={c: c for c in cols})
        if "missed" in raw.columns:
            trials["missed"] = trials["missed"] | raw["missed"].astype(bool).to_numpy()
    return trials


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
    if args.bayes is not None:
        from metarl_neuro.analysis.hybrid import MODELS

        unknown = [m for m in args.bayes.split(",") if m not in MODELS]
        if unknown or not args.bayes:
            return f"--bayes: unknown model(s) {unknown or [args.bayes]}; choose from {sorted(MODELS)}"
        if args.path.is_dir():
            return "--bayes fits a data file of people's choices (CSV/TSV), not a run folder"
        if args.cores is not None and args.cores < 1:
            return f"--cores must be >= 1, got {args.cores}"
        for name in ("draws", "warmup", "chains"):
            if getattr(args, name) < 1:
                return f"--{name} must be >= 1, got {getattr(args, name)}"
        try:
            args.priors = parse_priors(args.prior or [])
            from metarl_neuro.analysis import group_priors

            for m in args.bayes.split(","):
                group_priors(m, args.priors)
        except (TypeError, ValueError) as e:
            return f"--prior: {e}"
    if args.figures is not None and args.figures.exists() and not args.figures.is_dir():
        return f"--figures {args.figures} is a file; name a folder (it is created if missing)"
    return ""


def parse_priors(items: list[str]) -> dict:
    """``--prior NAME=MU_LOC,MU_SCALE,SIGMA_SCALE`` options as ``fit_bayesian``'s ``priors=``.

    Raises
    ------
    ValueError
        For an option not of that form (the message quotes it).
    """
    out = {}
    for item in items:
        name, eq, rest = item.partition("=")
        values = rest.split(",")
        try:
            numbers = [float(v) for v in values]
        except ValueError:
            numbers = []
        if not eq or not name or len(numbers) != 3:
            raise ValueError(f"{item!r} is not NAME=MU_LOC,MU_SCALE,SIGMA_SCALE (e.g. beta=0,1,0.2)")
        out[name] = dict(zip(("mu_loc", "mu_scale", "sigma_scale"), numbers))
    return out


def make_parser() -> argparse.ArgumentParser:
    """The options every report takes; :func:`main` adds those of the path's experiment
    (``Experiment.report_options``)."""
    ap = argparse.ArgumentParser(prog="python -m metarl_neuro.analyze", description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="a run folder, or a CSV/TSV of trials")
    data = [name for name, exp in EXPERIMENTS.items() if exp.report_data is not None]
    ap.add_argument("--experiment", choices=data, default=data[0] if data else None,
                    help="data files: the experiment whose task the file's trials come from (default: %(default)s)")
    ap.add_argument("--format", choices=("hbayesdm", "kool2016", "nussenbaum2020", "generic"), default="generic",
                    help="CSV format: hbayesdm (subjID, level1_choice, level2_choice, reward), kool2016 (Kool et "
                         "al. 2016: subject, choice1, choice2, state2, win, stim_1_left), nussenbaum2020 "
                         "(subject_id, trial, choice_1, choice_2, state, reward) or generic (the trial-table "
                         "columns: subject, choice1, state2, choice2, reward, ...)")
    ap.add_argument("--sep", default=",", help="CSV field separator (use '\\t' for tab-separated files)")
    ap.add_argument("--common-prob", type=float, default=None,
                    help="common-transition probability for the hybrid fit (default: the run's, or 0.7)")
    ap.add_argument("--figures", type=Path, default=None, help="folder for the figures")
    ap.add_argument("--starts", type=int, default=10,
                    help="random starts per subject (and per round, with adaptive starts) of the hybrid fit")
    ap.add_argument("--start-strategy", choices=("adaptive", "random"), default="adaptive",
                    help="adaptive: as many starts as each subject needs to reach its best optimum (fit_hybrid's "
                         "default); random: --starts random starts only (faster)")
    ap.add_argument("--permutations", type=int, default=100, help="label permutations of the decoding chance level")
    ap.add_argument("--jobs", type=int, default=None, help="parallel jobs of the decoding permutations")
    ap.add_argument("--bayes", metavar="MODEL[,MODEL...]", default=None,
                    help="data files: hierarchical Bayesian fits of these named models (analysis.fit_bayesian; "
                         "e.g. ts_par4,ts_par6,ts_par7) instead of the report")
    ap.add_argument("--draws", type=int, default=3000, help="--bayes: draws per chain after warm-up (hBayesDM's)")
    ap.add_argument("--warmup", type=int, default=1000, help="--bayes: warm-up iterations per chain (hBayesDM's)")
    ap.add_argument("--chains", type=int, default=4, help="--bayes: chains (hBayesDM's)")
    ap.add_argument("--prior", action="append", metavar="NAME=MU_LOC,MU_SCALE,SIGMA_SCALE", default=None,
                    help="--bayes: a group prior other than hBayesDM's, on the unconstrained scale: mu_pr ~ "
                         "Normal(MU_LOC, MU_SCALE), sigma ~ HalfNormal(SIGMA_SCALE) (HalfCauchy for stickiness); "
                         "repeatable, e.g. --prior beta=0,1,0.5")
    ap.add_argument("--seed", type=int, default=0, help="--bayes: seed of the sampler")
    ap.add_argument("--cores", type=int, default=None,
                    help="--bayes: chains sampled at once (default: one per CPU core, at most --chains)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.analyze``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments without the program's name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 done, 2 bad input or an unreadable / unwritable file (the message names it).
    """
    ap = make_parser()
    try:  # first the path, to know its experiment; then every option, the experiment's own among them
        first, _ = ap.parse_known_args(argv)
        run = Run.load(first.path) if first.path.is_dir() else None
        exp = get_experiment(run.meta["experiment"] if run is not None else first.experiment)
        if exp.report_options is not None:
            exp.report_options(ap)
        args = ap.parse_args(argv)
    except SystemExit as exit_:
        if exit_.code != 2:  # --help
            raise
        return 2
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problem = _check_args(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.bayes is not None:
        try:
            sep = "\t" if args.sep in ("\\t", "tab") else args.sep
            return bayes_report(load_trials(args.path, args.format, sep), args.bayes.split(","),
                                args.figures or args.path.parent, args.path.stem, args)
        except (ValueError, FileNotFoundError, TypeError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    not_report = ("path", "figures", "format", "sep", "experiment", "bayes", "draws", "warmup", "chains", "seed",
                  "cores")
    options = {k: v for k, v in vars(args).items() if k not in not_report}
    options.update(starts=args.start_strategy, n_starts=args.starts)
    del options["start_strategy"]
    try:
        if run is not None:
            exp.report(run, args.figures or run.path / "figures", **options)
            return 0
        if exp.report_data is None:
            raise ValueError(f"the {exp.name!r} experiment has no analyses of data files")
        sep = "\t" if args.sep in ("\\t", "tab") else args.sep
        trials = load_trials(args.path, args.format, sep)
        exp.report_data(trials, args.figures or args.path.parent, args.path.name, **options)
    except (ValueError, FileNotFoundError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def bayes_report(trials: pd.DataFrame, models: list[str], folder: Path, stem: str, args) -> int:
    """``--bayes``: fit each model, print its group posterior and checks, the LOO table; write the posteriors
    (NetCDF) and the posterior predictive figures."""
    import warnings

    from metarl_neuro.analysis.bayesian import (
        SamplingWarning,
        bayesian_diagnostics,
        compare_bayesian,
        fit_bayesian,
        plot_posterior_predictive,
        posterior_predictive,
    )
    from metarl_neuro.run import atomic_write, save_figures

    common_prob = args.common_prob or 0.7
    fits = {}
    for m in models:
        print(f"\n== {m}: NUTS, {args.chains} chains x {args.draws} draws after {args.warmup} warm-up", flush=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SamplingWarning)
            idata = fit_bayesian(trials, m, draws=args.draws, warmup=args.warmup, chains=args.chains, seed=args.seed,
                                 common_prob=common_prob, cores=args.cores or min(args.chains, os.cpu_count() or 1),
                                 priors=getattr(args, "priors", None) or None)
        table = bayesian_diagnostics(idata, warn=False)
        group = table[[not i.startswith(tuple(f"{v}[" for v in idata.posterior["parameter"].values)) or
                       i.startswith("sigma[") for i in table.index]]
        print(group.round(3).to_string())
        st = idata.sample_stats.attrs
        print(f"divergent transitions {st['n_divergent']}, lowest E-BFMI {st['min_bfmi']:.2f}, largest R-hat "
              f"{st['max_rhat']:.3f}, lowest bulk / tail ESS {st['min_ess_bulk']:.0f} / {st['min_ess_tail']:.0f}; "
              f"{idata.posterior.attrs['sampling_time']:.0f} s")
        for w in caught:
            print(f"WARNING: {w.message}")
        path = atomic_write(folder / f"{stem}_{m}.nc", idata.to_netcdf)
        print(f"posterior: {path}")
        ppc = posterior_predictive(idata, trials)
        print("posterior predictive check, P(stay) by previous outcome x transition (95% intervals over draws):")
        print(ppc.stay.round(3).to_string(index=False))
        save_figures(folder, [(f"{stem}_{m}_ppc", plot_posterior_predictive(ppc, title=f"{stem}: {m}"))])
        fits[m] = idata
    print("\n== PSIS-LOO over subjects (LOOIC, deviance scale; warning: Pareto k above 0.7)")
    if len(fits) > 1:
        print(compare_bayesian(fits).round(2).to_string())
        print("\n== beside them, the same models by Huys et al. 2011's EM (fit_hierarchical): integrated BIC, and "
              "random-effects model selection over subjects (group_model_selection of their log p(D_i | group))")
        print(hierarchical_comparison(trials, models, common_prob).round(3).to_string(index=False))
    else:
        import arviz as az

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            loo = az.loo(next(iter(fits.values())), scale="deviance")
        print(f"{models[0]}: LOOIC {loo['elpd_loo']:.2f} (SE {loo['se']:.2f}), p_loo {loo['p_loo']:.2f}, "
              f"Pareto k above 0.7 in {int((loo['pareto_k'] > 0.7).sum())} subject(s)")
    return 0


def hierarchical_comparison(trials: pd.DataFrame, models: list[str], common_prob: float) -> pd.DataFrame:
    """iBIC (``fit_hierarchical``) and random-effects BMS (``group_model_selection``) of the named ``models``
    (:data:`~metarl_neuro.analysis.hybrid.MODELS`), one row per model: ``ibic``, the model's expected frequency
    and its protected exceedance probability."""
    from metarl_neuro.analysis import fit_hierarchical, group_model_selection
    from metarl_neuro.analysis.hybrid import MODELS

    fits = {m: fit_hierarchical(trials, common_prob=common_prob, **MODELS[m]) for m in models}
    bms = group_model_selection(fits).table.set_index("model")
    return pd.DataFrame({"model": models, "ibic": [fits[m].ibic for m in models],
                         "bms_frequency": [bms.loc[m, "frequency_mean"] for m in models],
                         "protected_exceedance": [bms.loc[m, "protected_exceedance"] for m in models]})


if __name__ == "__main__":
    sys.exit(main())
