"""``python -m metarl_neuro.analyze PATH``: the analyses of a run folder or of a CSV of human two-step data.

A bandit run folder gets :func:`bandit_report` (regret per policy), a Harlow one :func:`harlow_report`, one of
Wang 2018's Simulations 1, 2, 3, 6 (``tsutsui``, ``behrens``, ``bromberg-martin``, ``stopper``) :func:`cued_report`;
everything else the two-step analyses.

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

import matplotlib.pyplot as plt
import pandas as pd

from metarl_neuro.analysis import (
    cumulative_regret,
    decode_hidden,
    fit_hybrid,
    fit_rescorla_wagner,
    from_hbayesdm,
    harlow_binding,
    harlow_performance,
    lagged_choice_regression,
    matching_law,
    plot_choice_regression,
    plot_cumulative_regret,
    plot_decoding,
    plot_harlow_performance,
    plot_lagged_regression,
    plot_learning_rates,
    plot_matching,
    plot_population_pca,
    plot_reversal_rpe,
    plot_risky_choice,
    plot_rpe_regression,
    plot_stay_probability,
    plot_unit_tuning,
    population_pca,
    reversal_rpe,
    risky_choice,
    risky_choice_shift,
    rpe_regression,
    stay_probability,
    stay_regression,
    suboptimal_pulls,
    to_trials,
    unit_tuning,
    volatility_learning_rates,
)
from metarl_neuro.run import Run, atomic_write
from metarl_neuro.schema import validate_trials

__all__ = [
    "bandit_report", "cued_report", "harlow_report", "hidden_report", "main", "read_table", "save_figures",
    "two_step_report",
]

_FIT_COLUMNS = ["subject", "alpha1", "alpha2", "lam", "beta1", "beta2", "w", "p", "nll", "n_trials", "converged"]


def save_figures(folder: Path, figs) -> None:
    """Write each ``(name, figure)`` of ``figs`` to ``folder/<name>.png`` and close the figure.

    Parameters
    ----------
    folder : Path
        Output folder (made if needed).
    figs : iterable of (str, matplotlib.figure.Figure)
        File stem and figure; each is written as a 120-dpi PNG through :func:`metarl_neuro.run.atomic_write`
        (temporary file, then rename), so a killed report never leaves a half-written image.

    Raises
    ------
    OSError
        If the folder cannot be written.
    """
    for name, fig in figs:
        atomic_write(Path(folder) / f"{name}.png", lambda p, f=fig: f.savefig(p, format="png", dpi=120))
        plt.close(fig)


def two_step_report(trials: pd.DataFrame, common_prob: float, figures: Path, title: str, n_starts: int = 10,
                    starts: str = "adaptive") -> dict:
    """Run the two-step analyses, print them and write the figures.

    ``n_starts`` and ``starts`` are :func:`metarl_neuro.analysis.fit_hybrid`'s (``"adaptive"``: as many starts
    as each subject needs; ``"random"``: ``n_starts`` random starts, faster).

    The hybrid model is Daw 2011's (``daw2011``, fixed transitions at ``common_prob``); where the second
    stage has a single option (Wang 2018's task) only first-stage choices enter the likelihood.

    Returns
    -------
    dict
        ``stay`` (table), ``one_back`` and ``lagged`` (:class:`~metarl_neuro.analysis.StayRegression`) and
        ``fit`` (table).
    """
    stay = stay_probability(trials)
    one_back = stay_regression(trials, lags=1)
    lagged = stay_regression(trials, lags=5)
    checked = validate_trials(trials, ("choice2",))
    one_option = not (checked.loc[~checked["missed"], "choice2"] == 1).any()
    print(f"fitting the hybrid model to {trials['subject'].nunique()} subject(s), "
          + (f"{n_starts} random starts each ..." if starts == "random" else "adaptive starts ..."),
          file=sys.stderr, flush=True)
    fit = fit_hybrid(trials, "daw2011", common_prob=common_prob, likelihood="stage1" if one_option else "both",
                     n_starts=n_starts, starts=starts)
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    print("\nP(stay) by previous reward x transition (Daw 2011):")
    shown = stay.assign(rewarded=stay["rewarded"].map({True: "rewarded", False: "unrewarded"}))
    if (shown["n_subjects"] <= 1).all():  # no SEM across one subject
        shown = shown.drop(columns=["sem", "n_subjects"])
    print(shown.rename(columns={"rewarded": "previous"}).to_string(**fmt))
    print("\nOne-back logistic regression (effect coding), pooled:")
    c = one_back.coefficients
    print(c[c["subject"] == "pooled"][["term", "coef", "se", "z", "p", "warning"]].to_string(**fmt))
    print("\nLagged regression (5 trials back): model-based and model-free indices, pooled:")
    i = lagged.indices
    print(i[i["subject"] == "pooled"].to_string(**fmt))
    print(f"\nHybrid model fit (daw2011, P(common) = {common_prob}, {'stage-1' if one_option else 'both-stage'} likelihood):")
    print(fit[[k for k in _FIT_COLUMNS if k in fit.columns]].rename(columns={"p": "persev_p"}).to_string(**fmt))
    print("(persev_p: Daw 2011's perseveration weight p on repeating the last first-stage choice, not a p-value)")
    summary, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.8), layout="constrained")  # Wang 2018 Fig. 5c and 5e side by side
    plot_stay_probability(stay, ax=ax1, title=title)
    plot_lagged_regression(lagged.coefficients, ax=ax2)
    save_figures(figures, [("stay_probability", plot_stay_probability(stay, title=title)),
                           ("lagged_regression", plot_lagged_regression(lagged.coefficients, title=title)),
                           ("two_step_summary", summary)])
    return {"stay": stay, "one_back": one_back, "lagged": lagged, "fit": fit}


def bandit_report(trials: pd.DataFrame, figures: Path, title: str) -> dict:
    """The bandit analyses of a test: regret per policy, suboptimal pulls, Rescorla-Wagner fits (restless).

    Prints the mean cumulative expected regret at the last trial with its 95% CI over episodes and the
    suboptimal pulls per episode for every policy, then (restless bandit) the Rescorla-Wagner fits of each
    policy by volatility; writes ``regret.png`` (Wang et al. 2016, Fig. 2).

    Returns
    -------
    dict
        ``regret`` (per trial), ``final`` (last trial), ``suboptimal`` and ``rescorla_wagner`` (or None).
    """
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    regret = cumulative_regret(trials)
    final = regret[regret["trial"] == regret["trial"].max()].sort_values("mean").reset_index(drop=True)
    sub = suboptimal_pulls(trials)
    print(f"\nCumulative expected regret at trial {int(final['trials'].iloc[0])} (mean, 95% CI over "
          f"{int(final['n_episodes'].iloc[0])} episodes), lowest first:")
    print(final[["policy", "mean", "ci_lo", "ci_hi", "n_episodes"]].to_string(**fmt))
    print("\nSuboptimal pulls per episode:")
    print(sub[["policy", "mean", "ci_lo", "ci_hi", "fraction"]].to_string(**fmt))
    rw = None
    if trials["high_volatility"].any():
        rw = fit_rescorla_wagner(trials, by=["policy", "high_volatility"])
        print("\nRescorla-Wagner fits by volatility (restless bandit; Wang 2016 Sec. 3.1.4):")
        print(rw.to_string(**fmt))
    save_figures(figures, [("regret", plot_cumulative_regret(regret, title=title))])
    return {"regret": regret, "final": final, "suboptimal": sub, "rescorla_wagner": rw}


#: what the test images of each Harlow form are, for the report's heading
HARLOW_TEST_IMAGES = {
    "harlow-1d": "held-out objects",
    "harlow-pixels": "held-out images",
    "psychlab-harlow": "the level's image pool: it has no held-out set switch; ids 1-1000",
}


def harlow_report(trials: pd.DataFrame, figures: Path, title: str, images: str = "held-out objects") -> pd.DataFrame:
    """Percent correct by trial number at each training stage (Wang 2018 Fig. 6c), printed and drawn
    (``harlow_performance.png``); ``images`` says what the test images were (:data:`HARLOW_TEST_IMAGES`)."""
    if trials.empty:  # e.g. an untrained pixel agent that never fixated in a short test episode
        print(f"\nno trial was completed in the test episodes ({images}); nothing to report or draw")
        return pd.DataFrame(columns=["training_episodes", "trial_number", "pct_correct", "n"])
    table = harlow_performance(trials)
    wide = table.pivot(index="training_episodes", columns="trial_number", values="pct_correct")
    print(f"\n% correct by trial within episode ({images}), rows: training episodes:")
    print(wide.round(1).to_string())
    final = table[table["training_episodes"] == table["training_episodes"].max()]
    later = trials[(trials["training_episodes"] == trials["training_episodes"].max()) & (trials["trial"] >= 1)]
    print(f"final: trial 1 {final['pct_correct'].iloc[0]:.1f}%, trials 2-{int(final['trial_number'].max())} "
          f"{100 * later['correct'].mean():.1f}% ({int(final['n'].iloc[0])} episodes)")
    n = trials.groupby(["training_episodes", "episode"])["rewarded_side"].agg(["sum", "count"])
    if trials["trial"].max() == 5 and bool(((n["sum"] <= 3) & (n["count"] - n["sum"] <= 3)).all()):
        b = harlow_binding(trials).iloc[-1]  # the level's shuffled L L L R R R sides: side counting predicts
        print(f"side counting alone would get {b['pct_counting']:.1f}% of these; on the {int(b['n_balanced'])} "
              f"trials where it is at chance (as many L as R to come): {b['pct_balanced']:.1f}% "
              f"[{b['ci_lo']:.1f}, {b['ci_hi']:.1f}] (harlow_binding)")
    save_figures(figures, [("harlow_performance", plot_harlow_performance(table, title=title))])
    return table


def hidden_report(run: Run, figures: Path, n_permutations: int = 100, fit: pd.DataFrame | None = None,
                  n_jobs: int | None = None) -> dict:
    """The analyses of the LSTM activations of a two-step run, printed, with their figures.

    Decoding of the task variables from ``h`` at trial start (:func:`~metarl_neuro.analysis.decode_hidden`,
    ``decoding.png``), unit tuning (:func:`~metarl_neuro.analysis.unit_tuning`, Wang 2018 Fig. 2e,
    ``unit_tuning.png``), the RPE regression (:func:`~metarl_neuro.analysis.rpe_regression`, Fig. 5f,
    ``rpe_regression.png``; only for a task with a separate second-stage step, ``--structure paper``) and
    the population PCA coloured by the previous reward (Fig. 1e, ``population_pca.png``).

    Returns
    -------
    dict
        ``decoding``, ``tuning`` (:class:`~metarl_neuro.analysis.UnitTuning`), ``rpe``
        (:class:`~metarl_neuro.analysis.RPERegression` or None) and ``pca``.
    """
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    ds = run.activations.load()  # read once, shared by the decoding, tuning and PCA
    decoding = decode_hidden(ds, n_permutations=n_permutations, n_jobs=n_jobs)
    print(f"\nDecoding from h at trial start (grouped {5}-fold CV; chance from {n_permutations} within-episode "
          "label permutations):")
    print(decoding.to_string(**fmt))
    tuning = unit_tuning(ds)
    print("\nUnits coding each variable (partial correlation, BH-FDR 0.05; Wang 2018 Fig. 2e):")
    print(tuning.summary.to_string(**fmt))
    try:
        rpe = rpe_regression(run, fit=fit)
    except ValueError as err:
        rpe = None
        print(f"\nRPE regression skipped: {err}")
    else:
        print("\nAgent RPE at the second-stage state regressed on a hybrid learner's RPEs (Wang 2018 Fig. 5f):")
        print(rpe.table.to_string(**fmt))
    pca = population_pca(ds)
    evr = ", ".join(f"{v:.1%}" for v in pca["explained_variance_ratio"].values)
    print(f"\nPopulation PCA of h at trial start: explained variance {evr}")
    figs = [("decoding", plot_decoding(decoding, title=run.path.name)),
            ("unit_tuning", plot_unit_tuning(tuning.units, title=run.path.name)),
            ("population_pca", plot_population_pca(pca, "prev_reward", title=run.path.name))]
    if rpe is not None:
        figs.append(("rpe_regression", plot_rpe_regression(rpe, title=run.path.name)))
    save_figures(figures, figs)
    return {"decoding": decoding, "tuning": tuning, "rpe": rpe, "pca": pca}


def _tuning_line(tuning, variables) -> str:
    s = tuning.summary.set_index("variable")
    return ", ".join(f"{v} {100 * s.loc[v, 'fraction_significant']:.0f}%" for v in variables)


def cued_report(run: Run, figures: Path | None = None, n_permutations: int = 20) -> dict:
    """The analyses of a Wang et al. 2018 fixation / left / right run (Sims 1, 2, 3, 6), printed with figures.

    - ``tsutsui`` (Sim 1): :func:`~metarl_neuro.analysis.matching_law` (``matching.png``, Fig. 2d),
      :func:`~metarl_neuro.analysis.lagged_choice_regression` on 15 lags (``choice_regression.png``, Fig. 2f),
      :func:`~metarl_neuro.analysis.unit_tuning` of a_{t-1}, r_{t-1}, a_{t-1} x r_{t-1}, v_t at fixation
      (``unit_tuning.png``, Fig. 2e).
    - ``behrens`` (Sim 2): :func:`~metarl_neuro.analysis.volatility_learning_rates` (``learning_rates.png``,
      Fig. 3d), decoding of ``volatile`` from ``h`` (``n_permutations`` within-episode permutations) and the
      units tracking volatility (:func:`~metarl_neuro.analysis.unit_tuning` with ``volatile``, p-values
      clustered by episode, as in Sim 1).
    - ``bromberg-martin`` (Sim 3): :func:`~metarl_neuro.analysis.reversal_rpe` (``reversal_rpe.png``, Fig. 4b)
      and the population PCA coloured by the rewarded side (``population_pca.png``, Fig. 4c).
    - ``stopper`` (Sim 6): :func:`~metarl_neuro.analysis.risky_choice` and
      :func:`~metarl_neuro.analysis.risky_choice_shift` per manipulation (``risky_choice.png``, Fig. 7).

    Each ends with a one-line summary of the paper's effect with our number, also written to the run's
    ``summary.txt``.

    Returns
    -------
    dict
        The analysis tables, and ``summary`` (the line).

    Raises
    ------
    ValueError
        If the run is not one of these simulations.
    """
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    experiment = run.meta["experiment"]
    figures = figures or run.path / "figures"
    trials, title = run.trials, f"{experiment}, {run.path.name}"
    out: dict = {}
    if experiment == "tsutsui":
        m = matching_law(trials)
        reg = lagged_choice_regression(trials, lags=15)
        variables = ("prev_action", "prev_reward", "prev_action_x_reward", "value")
        tuning = unit_tuning(run.activations.load(), variables, cluster="episode")
        print(f"\nMatching law (Fig. 2d): slope {m.slope:.3f} [{m.slope_ci[0]:.3f}, {m.slope_ci[1]:.3f}], "
              f"bias {m.intercept:.3f}, R2 {m.r2:.3f} ({m.n_episodes} episodes; {m.n_dropped} without both sides)")
        print("\nLagged choice regression (Lau & Glimcher 2005; Fig. 2f):")
        print(reg.to_string(**fmt))
        print("\nUnits coding each variable at fixation (partial correlation; BH-FDR 0.05 on p-values clustered by "
              "episode; Fig. 2e):")
        print(tuning.summary.to_string(**fmt))
        lag1 = float(reg[(reg["regressor"] == "reward") & (reg["lag"] == 1)]["coef"].iloc[0])
        kind = ("undermatching" if m.slope_ci[1] < 1 else "overmatching" if m.slope_ci[0] > 1 else "strict matching")
        summary = (f"Sim 1 (Tsutsui, matching): log choice ratio vs log reward ratio slope {m.slope:.2f} "
                   f"[{m.slope_ci[0]:.2f}, {m.slope_ci[1]:.2f}] ({kind}; paper Fig. 2d: choices follow the matching "
                   f"law); lag-1 reward coefficient {lag1:.2f}; units coding {_tuning_line(tuning, variables)}")
        save_figures(figures, [("matching", plot_matching(m, title=title)),
                               ("choice_regression", plot_choice_regression(reg, title=title)),
                               ("unit_tuning", plot_unit_tuning(tuning.units, title=title))])
        out.update(matching=m, regression=reg, tuning=tuning)
    elif experiment == "behrens":
        rates = volatility_learning_rates(trials)
        ds = run.activations.load()
        decoding = decode_hidden(ds, targets=["volatile"], n_permutations=n_permutations)
        variables = ("prev_action", "prev_reward", "prev_action_x_reward", "value", "volatile")
        tuning = unit_tuning(ds, variables, cluster="episode")
        print("\nRescorla-Wagner fits per block (Fig. 3d):")
        print(rates.to_string(**fmt))
        print(f"\nDecoding volatility from h at fixation ({n_permutations} within-episode permutations):")
        print(decoding.to_string(**fmt))
        print("\nUnits coding each variable at fixation (partial correlation; BH-FDR 0.05 on p-values clustered by "
              "episode):")
        print(tuning.summary.to_string(**fmt))
        vol = rates[rates["volatile"]]["alpha"].mean()
        stab = rates[~rates["volatile"]]["alpha"].mean()
        frac = float(tuning.summary.set_index("variable").loc["volatile", "fraction_significant"])
        summary = (f"Sim 2 (Behrens, volatility): fitted learning rate {vol:.3f} in volatile vs {stab:.3f} in "
                   f"stable blocks (paper: higher when volatile); volatility decoded from h with balanced accuracy "
                   f"{decoding['mean'].iloc[0]:.3f} (chance {decoding['chance'].iloc[0]:.3f}); "
                   f"{100 * frac:.0f}% of units track volatility (paper: 37 +/- 1%)")
        save_figures(figures, [("learning_rates", plot_learning_rates(rates, title=title)),
                               ("unit_tuning", plot_unit_tuning(tuning.units, title=title))])
        out.update(learning_rates=rates, decoding=decoding, tuning=tuning)
    elif experiment == "bromberg-martin":
        ds = run.activations.load()
        table = reversal_rpe(ds)
        pca = population_pca(ds)
        print("\nRPE at target onset after a reversal (Fig. 4b; target_rewarded: its value after the reversal):")
        print(table.to_string(**fmt))
        evr = ", ".join(f"{v:.1%}" for v in pca["explained_variance_ratio"].values)
        print(f"\nPopulation PCA of h at fixation: explained variance {evr}")

        def cell(k, rew, exp):
            r = table[(table["since_reversal"] == k) & (table["target_rewarded"] == rew) & (table["experienced"] == exp)]
            return float(r["mean_rpe"].iloc[0]) if len(r) else float("nan")

        summary = (f"Sim 3 (Bromberg-Martin, inferred value): RPE at target onset on trial 1 after a reversal "
                   f"{cell(0, True, False):+.2f} (now-rewarded) / {cell(0, False, False):+.2f} (now-unrewarded); "
                   f"on trial 2 experienced {cell(1, True, True):+.2f} / {cell(1, False, True):+.2f}, inferred "
                   f"{cell(1, True, False):+.2f} / {cell(1, False, False):+.2f} (paper: both flip)")
        save_figures(figures, [("reversal_rpe", plot_reversal_rpe(table, title=title)),
                               ("population_pca", plot_population_pca(pca, "rewarded_side", title=title))])
        out.update(reversal_rpe=table, pca=pca)
    elif experiment == "stopper":
        rc = risky_choice(trials)
        shift = risky_choice_shift(trials)
        print("\n% risky choices per manipulation and reward probability (Fig. 7; Wilson 95% CI):")
        print(rc.to_string(**fmt))
        print("\nShift from the intact network:")
        print(shift.to_string(**fmt))
        overall = risky_choice(trials, by=("manipulation",)).set_index("manipulation")["risky"]
        summary = (f"Sim 6 (Stopper, RPE input): risky choices {100 * overall['none']:.1f}% intact, "
                   f"{100 * overall['block']:.1f}% under block after risky wins, {100 * overall['stimulate']:.1f}% "
                   f"under stimulation after risky losses (paper: block lowers, stimulation raises)")
        save_figures(figures, [("risky_choice", plot_risky_choice(rc, title=title))])
        out.update(risky_choice=rc, shift=shift)
    else:
        raise ValueError(f"{run.path} holds a {experiment!r} run, not a fixation / left / right simulation")
    print(f"\n{summary}")
    atomic_write(run.path / "summary.txt", lambda p: Path(p).write_text(summary + "\n"))
    out["summary"] = summary
    return out


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


#: Wang 2018's fixation / left / right simulations (:func:`cued_report`)
_CUED = ("tsutsui", "behrens", "bromberg-martin", "stopper")
#: experiment of a run folder -> its report (two-step runs get :func:`two_step_report`)
_REPORTS = {"bandit": bandit_report, "harlow-1d": harlow_report, "harlow-pixels": harlow_report,
            "psychlab-harlow": harlow_report}


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
        run = Run.load(args.path) if args.path.is_dir() else None
        report_of = _REPORTS.get(run.meta["experiment"]) if run is not None else None
        if run is not None and run.meta["experiment"] in _CUED:
            cued_report(run, args.figures, args.permutations)
            return 0
        if report_of is harlow_report:
            harlow_report(run.trials, args.figures or run.path / "figures", run.path.name,
                          HARLOW_TEST_IMAGES[run.meta["experiment"]])
            return 0
        if report_of is not None:
            report_of(run.trials, args.figures or run.path / "figures", run.path.name)
            return 0
        trials, common_prob, figures = load_trials(args.path, args.format, sep, run)
        if args.hidden and not args.path.is_dir():
            raise ValueError("--hidden needs a run folder (with activations.nc), not a data file")
        report = two_step_report(trials, args.common_prob or common_prob, args.figures or figures, args.path.name,
                                 args.starts, args.start_strategy)
        if args.hidden:
            hidden_report(run, args.figures or figures, args.permutations, report["fit"], args.jobs)
    except (ValueError, FileNotFoundError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
