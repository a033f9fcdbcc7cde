"""The two-step task (Wang et al. 2018, Simulation 4, Fig. 5): config, trial table, simulation, report, summary.

``python -m metarl_neuro.simulate two-step`` trains an A2C-LSTM agent, tests it on 300 frozen-weight episodes
and prints the stay table, the stay regressions and the hybrid-model fit; ``python -m metarl_neuro.analyze RUN
[--hidden]`` repeats them (with ``--hidden``, the analyses of the LSTM activations, Figs. 1e, 2e, 5f).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from metarl_neuro.agents import EvalRecord, run_frozen
from metarl_neuro.analysis import (
    decode_hidden,
    fit_hybrid,
    plot_decoding,
    plot_lagged_regression,
    plot_population_pca,
    plot_rpe_regression,
    plot_stay_probability,
    plot_unit_tuning,
    population_pca,
    rpe_regression,
    stay_probability,
    stay_regression,
    unit_tuning,
)
from metarl_neuro.domains import AT_LEAST_ONE, UNIT_INTERVAL
from metarl_neuro.experiments._base import (
    Claim,
    Experiment,
    TrainingConfig,
    agent_device,
    episode_reward,
    eval_sampler,
    eval_task,
    one_writer,
    option,
    run_attrs,
    train_run,
)
from metarl_neuro.logs import activations_dataset, trial_ends
from metarl_neuro.run import Run, save_figures
from metarl_neuro.schema import TWO_STEP_COLUMNS, validate_trials

__all__ = [
    "EXPERIMENT", "TwoStepConfig", "hidden_report", "simulate_two_step", "two_step_metrics", "two_step_report",
    "two_step_trials",
]


@dataclass(frozen=True)
class TwoStepConfig(TrainingConfig):
    """Two-step task experiment (Wang et al. 2018, Simulation 4, Fig. 5)."""

    episodes: int = option(
        100_000,
        "training episodes at most: training stops earlier once --until holds (W18: 10k episodes one at a time); "
        "0 evaluates the untrained agent, the control of the activation analyses",
    )
    batch: int = option(64, "episodes simulated in parallel per update (departure from our earlier 32, issue 14: with "
                    "gamma 0.5 and lr 7e-3 the default criterion held after 235-407 updates, 15-26k episodes (seeds "
                    "0-2), against 1,188-1,813 updates at batch 32, lr 3e-3, gamma 0.9; see docs/measurements.md, Speed)")
    lr: float = option(7e-3, "RMSProp learning rate (our choice, issue 14: best of 5e-3 and 7e-3 at batch 64, 7e-3 and "
                   "1e-2 at batch 128, in updates to the criterion; W18 Methods: 7e-4)")
    gamma: float = option(0.5, "discount factor per step (departure from W18's 0.9: a step is a whole trial here and its "
                      "reward comes at once; at batch 32, 0.5 and 0.3 reached the criterion in 594 updates, 0.9 in "
                      "1,407 (seed 0); docs/measurements.md, Speed)")
    eval_every: int = option(1000, "test the frozen network every this many training episodes on the 300 test episodes "
                         "of the final test (evaluations.csv; --until); 0: never")
    until: str = option("gap>=0.3,rc>=0.95,ur>=0.95",
                    "stop training once this holds on --until-held consecutive tests (issue 14: the stay-pattern gap "
                    "min(rc, ur) - max(rr, uc) >= 0.3 with both model-based stays >= 0.95; the Bayes-optimal "
                    "observer's gap is 0.337); '' trains for all --episodes", metavar="METRIC>=VALUE")
    unroll: int = option(100, "BPTT unroll in steps per update (W18: 100-300; one compressed episode)")
    structure: str = option(
        "compressed",
        "trial structure: compressed (one step per trial) or paper (fixation, choice, cue, action; W18 Methods)",
        choices=("compressed", "paper"),
    )
    common_prob: float = option(0.8, "probability of the common transition (W18 Fig. 5a)", domain=UNIT_INTERVAL)
    reward_high: float = option(0.9, "higher second-stage reward probability; the other state pays 1 - it (W18 Fig. 5a)", domain=UNIT_INTERVAL)
    swap_prob: float = option(0.025, "probability per trial that the two states swap reward probabilities (W18 Methods)", domain=UNIT_INTERVAL)
    n_trials: int = option(100, "trials per episode (W18 Methods)", domain=AT_LEAST_ONE)

    #: P(stay) rewarded-common, rewarded-rare, unrewarded-common, unrewarded-rare; the stay-pattern gap
    #: min(rc, ur) - max(rr, uc) (docs/measurements.md); reward per trial
    METRICS: ClassVar[tuple[str, ...]] = ("gap", "rc", "rr", "uc", "ur", "reward")

    def __post_init__(self):
        super().__post_init__()

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """The config's :class:`~metarl_neuro.tasks.TwoStepTask` with ``batch_size`` episodes (``variant``
        is not used)."""
        from metarl_neuro.tasks import SwappingRewards, TwoStepTask

        return TwoStepTask(batch_size, common_prob=self.common_prob,
                           rewards=SwappingRewards(self.reward_high, self.swap_prob), n_trials=self.n_trials,
                           structure=self.structure, seed=seed, device=device, check_actions=False)


def two_step_trials(record: EvalRecord, subject: str) -> pd.DataFrame:
    """The two-step trial table (``metarl_neuro.schema.TWO_STEP_COLUMNS``) of a frozen evaluation.

    Parameters
    ----------
    record : EvalRecord
        From :func:`metarl_neuro.agents.run_frozen` on a :class:`~metarl_neuro.tasks.TwoStepTask`.
    subject : str
        Value of the ``subject`` column (the run's name).

    Returns
    -------
    pandas.DataFrame
        One row per (episode, trial); ``episode`` is the batch slot, ``reward`` the trial's outcome, then
        the latent ``reward_prob_<k>`` columns.
    """
    log = record.log
    steps, slots, pick = trial_ends(log, record.active.numpy())
    cols = {
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "episode": slots.astype("int64"),
        "trial": pick("trial"),
        "choice1": pick("choice1"),
        "state2": pick("state2"),
        "common": pick("common"),
        "choice2": pick("choice2"),
        "reward": pick("outcome").astype("float64"),
    }
    for k in sorted(k for k in log if k.startswith("reward_prob_")):
        cols[k] = pick(k).astype("float64")
    df = pd.DataFrame(cols).astype({c: d for c, (d, _) in TWO_STEP_COLUMNS.items()})
    return df.sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


def two_step_metrics(trials: pd.DataFrame) -> dict:
    """The stay probabilities ``rc, rr, uc, ur`` (rewarded / unrewarded x common / rare) of a two-step trial
    table and the stay-pattern gap ``min(rc, ur) - max(rr, uc)`` (docs/measurements.md; the Bayes-optimal observer's
    is 0.337). A cell without trials is NaN, and so is the gap."""
    p = stay_probability(trials).set_index(["rewarded", "transition"])["p_stay"]
    rc, rr, uc, ur = (float(p.get(k, np.nan)) for k in ((True, "common"), (True, "rare"), (False, "common"),
                                                          (False, "rare")))
    return {"gap": min(rc, ur) - max(rr, uc), "rc": rc, "rr": rr, "uc": uc, "ur": ur}


def _two_step_evaluate(config: TwoStepConfig) -> Callable:
    """The tests during training (``--eval-every``): the final test's episodes, their stay metrics."""
    def evaluate(agent, state) -> dict:
        dev = agent_device(agent)
        record = run_frozen(agent, eval_task(config, config.eval_episodes, dev), eval_sampler(config, dev))
        return {**two_step_metrics(two_step_trials(record, "test")), "reward": episode_reward(record)}
    return evaluate


@one_writer
def simulate_two_step(config: TwoStepConfig, out: Path, resume: bool = False, progress: bool = True,
                      experiment: str = "two-step") -> Path:
    """Train, evaluate with frozen weights, write the run folder and print the two-step analyses.

    The analyses (:func:`two_step_report`): stay probabilities, one-back and lagged
    stay regressions and the daw2011 hybrid fit of the agent's test trials, with the figures
    ``figures/stay_probability.png`` and ``figures/lagged_regression.png``.

    Parameters
    ----------
    config : TwoStepConfig
        The experiment (ignored in favour of the saved one when resuming).
    out : pathlib.Path
        Run folder.
    resume : bool
        Continue from ``out/checkpoint.pt`` with the config saved in ``out/config.json``.
    progress : bool
        Show the progress bar.
    experiment : str
        The registered name written to ``config.json`` (a variant of the task registers its own).

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    FileExistsError
        If ``out`` already holds a run and ``resume`` is False.
    FileNotFoundError
        If ``resume`` is True and ``out`` holds no ``config.json``.
    """
    t = train_run(config, experiment, out, resume, progress, _two_step_evaluate)
    run, config = t.run, t.config
    # Frozen-weight evaluation on episodes of its own seed.
    record = run_frozen(t.agent, eval_task(config, config.eval_episodes, t.device), eval_sampler(config, t.device))
    trials = two_step_trials(record, subject=run.path.name)
    acts = activations_dataset(record, config.gamma, run_attrs(t, experiment))
    run.save_trials(trials)
    run.save_activations(acts)

    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    # the agent is one subject with thousands of trials, whose likelihood has one clear optimum: 10 random starts
    # (the adaptive ones agree with them; python -m metarl_neuro.analyze RUN runs those)
    two_step_report(trials, config.common_prob, run.path / "figures", f"{experiment}, {run.path.name}", starts="random")
    return run.path


_FIT_COLUMNS = ["subject", "alpha1", "alpha2", "lam", "beta1", "beta2", "w", "p", "nll", "n_trials", "converged"]


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


def report(run: Run, figures: Path, starts: str = "adaptive", n_starts: int = 10, common_prob: float | None = None,
           hidden: bool = False, permutations: int = 100, jobs: int | None = None, **_) -> dict:
    """``python -m metarl_neuro.analyze RUN`` on a two-step run: :func:`two_step_report` of its test trials (at the
    run's common-transition probability unless ``common_prob``), and with ``hidden`` :func:`hidden_report`."""
    out = two_step_report(run.trials, common_prob or run.config.common_prob, figures, run.path.name, n_starts, starts)
    if hidden:
        out["hidden"] = hidden_report(run, figures, permutations, out["fit"], jobs)
    return out


def report_data(trials: pd.DataFrame, figures: Path, title: str, common_prob: float | None = None,
                starts: str = "adaptive", n_starts: int = 10, hidden: bool = False, **_) -> dict:
    """``python -m metarl_neuro.analyze FILE``: :func:`two_step_report` of a data file's trial table (at
    ``common_prob``, default 0.7: Daw et al. 2011's task).

    Raises
    ------
    ValueError
        With ``hidden``: a data file holds no LSTM activations.
    """
    if hidden:
        raise ValueError("--hidden needs a run folder (with activations.nc), not a data file")
    return two_step_report(trials, common_prob or 0.7, figures, title, n_starts, starts)


def _report_options(parser) -> None:
    parser.add_argument("--hidden", action="store_true",
                        help="two-step runs: also decode task variables from the LSTM, unit tuning, the RPE regression "
                             "and the population PCA (figures decoding.png, unit_tuning.png, rpe_regression.png, "
                             "population_pca.png)")


def summarize(run: Run) -> dict:
    """The paper's two-step effects in one seed (Wang 2018 Fig. 5c, 5e, 5f).

    Returns
    -------
    dict
        ``rc, rr, uc, ur`` (P(stay) after rewarded / unrewarded x common / rare trials) and ``gap``
        (:func:`two_step_metrics`); ``mb_index`` and ``mf_index`` (Miller et al. 2017's indices of the 5-lag stay
        regression, pooled over episodes) and their z values ``mb_z``, ``mf_z``; and, for ``--structure paper`` runs,
        ``rpe_r2_mb`` and ``rpe_r2_mf`` (r² of the agent's RPE at the second-stage state on a model-based /
        model-free learner's, Fig. 5f), ``rpe_r2_mf_unique`` (what the model-free RPE adds beyond the model-based
        one) and ``rpe_r2_mf_if_mb`` (the model-free r² of a purely model-based RPE:
        :func:`~metarl_neuro.analysis.rpe_regression`'s ``shared_r2``).
    """
    out = two_step_metrics(run.trials)
    idx = stay_regression(run.trials, lags=5).indices.set_index(["subject", "index"])
    out["mb_index"], out["mf_index"] = (float(idx.loc[("pooled", k), "value"]) for k in ("model_based", "model_free"))
    out["mb_z"], out["mf_z"] = (float(idx.loc[("pooled", k), "z"]) for k in ("model_based", "model_free"))
    if run.config.structure == "paper":
        try:
            table = rpe_regression(run).table.set_index("regressors")
        except ValueError as err:  # e.g. an untrained agent, whose fitted learner does not learn: no RPE to regress
            print(f"RPE regression not measured: {err}")
            table = pd.DataFrame(np.nan, index=["model-based", "model-free"], columns=["r2", "unique_r2", "shared_r2"])
        out["rpe_r2_mb"], out["rpe_r2_mf"] = (float(table.loc[k, "r2"]) for k in ("model-based", "model-free"))
        out["rpe_r2_mf_unique"] = float(table.loc["model-free", "unique_r2"])
        out["rpe_r2_mf_if_mb"] = float(table.loc["model-free", "shared_r2"])
    return out


_CELLS = {"rc": "rewarded,\ncommon", "rr": "rewarded,\nrare", "uc": "unrewarded,\ncommon", "ur": "unrewarded,\nrare"}


def figure(runs: list[Run], summaries: pd.DataFrame, title: str = "two-step"):
    """Wang 2018 Fig. 5c from N seeds: P(stay) by previous reward x transition, mean with its 95% CI across seeds
    and each seed's value (``summaries``: one row per seed, :func:`summarize`'s columns)."""
    from metarl_neuro.analysis.plots import plot_seed_values

    return plot_seed_values(summaries, _CELLS, ylabel="P(stay)", title=title, ylim=(0, 1.05))


def score(run: Run, episodes: np.ndarray) -> float:
    """The sweeps' objective: the stay-pattern gap (:func:`two_step_metrics`) on the test episodes ``episodes``."""
    trials = run.trials
    return two_step_metrics(trials[trials["episode"].isin(episodes)])["gap"]


EXPERIMENT = Experiment(
    name="two-step", config=TwoStepConfig, simulate=simulate_two_step, report=report, summarize=summarize,
    paper="Wang et al. 2018, Simulation 4 (two-step task), Fig. 5",
    claims=(
        Claim("gap", "model-based stays: rewarded-common and unrewarded-rare above rewarded-rare and "
              "unrewarded-common (Fig. 5c)", lambda s: s["gap"] > 0),
        Claim("mb_index", "model-based index > 0 (Fig. 5e; here: z > 1.96)", lambda s: s["mb_z"] > 1.96),
        Claim("mf_index", "model-free index near 0 (Fig. 5e); here: below the model-based index",
              lambda s: s["mf_index"] < s["mb_index"]),
        Claim("rpe_r2_mb", "RPE regression r² 0.89 for the model-based RPE, above the model-free one's (Fig. 5f; "
              "--structure paper runs only)", lambda s: s.get("rpe_r2_mb", np.nan) > s.get("rpe_r2_mf", np.nan)),
        Claim("rpe_r2_mf_unique", "model-free RPE r² near 0 (Fig. 5f: 5.8e-7), read as what it adds beyond the "
              "model-based RPE: below 0.05. Alone it explains about as much as it would of a purely model-based RPE "
              "(rpe_r2_mf_if_mb), because the two learners' errors correlate (--structure paper runs only)",
              lambda s: s.get("rpe_r2_mf_unique", np.nan) < 0.05),
    ),
    figure=figure, evaluation=_two_step_evaluate, score=score, resources={"num_cpus": 1},
    # the reproduction runs the paper's trial structure: Fig. 5f's RPE regression needs its second-stage step (issue
    # 24: 129-206 s a seed against 23 s compressed; gap 0.33-0.41, MB r2 0.79-0.86, seeds 0-2)
    reproduce_defaults={"structure": "paper"},
    report_options=_report_options, report_data=report_data,
    bounded={"rc": (0.0, 1.0), "rr": (0.0, 1.0), "uc": (0.0, 1.0), "ur": (0.0, 1.0), "gap": (-1.0, 1.0),
             "rpe_r2_*": (0.0, 1.0)},
)
