"""What Wang et al. 2018's fixation / left / right simulations share (Sims 1, 2, 3, 6; ``CuedChoiceTask``): the
config fields, the trial table, the simulation, and the report's frame (printed analyses, figures, the one-line
summary of the paper's effect in ``summary.txt``). Each simulation's own analyses are in its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metarl_neuro.agents import run_frozen
from metarl_neuro.domains import REAL
from metarl_neuro.experiments._base import (
    TrainingConfig,
    agent_device,
    episode_reward,
    eval_sampler,
    eval_task,
    option,
    run_attrs,
    train_run,
)
from metarl_neuro.logs import activations_dataset, trial_ends
from metarl_neuro.run import Run, atomic_write, save_figures

__all__ = ["CUED_EXPERIMENTS", "CuedAnalysis", "CuedConfig", "choice_trials", "cued_report", "reward_evaluate", "reward_score", "simulate_cued"]


#: how the printed reports format a table: three decimals, no index
TABLE_FORMAT = {"float_format": lambda x: f"{x:.3f}", "index": False}

#: the fixation / left / right simulations of Wang et al. 2018 (Sims 1, 2, 3, 6), each a registered experiment
CUED_EXPERIMENTS = ("tsutsui", "behrens", "bromberg-martin", "stopper")


@dataclass(frozen=True)
class CuedConfig(TrainingConfig):
    """Fields shared by the fixation / left / right simulations of Wang et al. 2018 (Sims 1, 2, 3, 6)."""

    fixation_reward: float = option(0.0, "reward of a valid fixation (our choice)", domain=REAL)
    invalid_reward: float = option(-1.0, "reward of an invalid action (W18 Methods)", domain=REAL)

    def _task_kwargs(self, seed: int, device) -> dict:
        return {"fixation_reward": self.fixation_reward, "invalid_reward": self.invalid_reward, "seed": seed,
                "device": device, "check_actions": False}


def choice_trials(log: dict, active, subject: str) -> pd.DataFrame:
    """The trial table of a fixation / left / right task (:class:`~metarl_neuro.tasks.CuedChoiceTask`).

    Parameters
    ----------
    log : dict of str to torch.Tensor
        ``(S, B)`` log fields (``EvalRecord.log``).
    active : torch.Tensor
        ``(S, B)`` bool, the steps of each slot's first episode.
    subject : str
        Value of the ``subject`` column.

    Returns
    -------
    pandas.DataFrame
        One row per trial, sorted by episode and trial: ``subject``, ``episode`` (batch slot), ``trial``
        (0-based), ``choice`` (0 left, 1 right; -1 on a missed trial), ``reward`` (float64; NaN on a missed
        trial), ``missed`` (True where the trial was aborted or its action invalid: the schema's
        ``missed`` column), ``step`` (step in the episode at which the trial ended), then the task's own log
        fields (``p0_left``, ``volatile``, ``rewarded_side``, ``p_risky``, ...) with their values during the
        trial.
    """
    steps, slots, pick = trial_ends(log, active.numpy())
    valid = pick("valid").astype(bool)
    cols = {
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "episode": slots.astype("int64"),
        "trial": pick("trial").astype("int64"),
        "choice": np.where(valid, pick("choice"), -1).astype("int64"),
        "reward": np.where(valid, pick("outcome").astype("float64"), np.nan),
        "missed": ~valid,
        "step": pick("step_in_episode").astype("int64"),
    }
    base = {"trial", "phase", "trial_end", "valid", "choice", "outcome", "step_in_episode"}
    for k in log:
        if k not in base:
            v = pick(k)
            cols[k] = v.astype("float64") if v.dtype == np.float32 else v
    return pd.DataFrame(cols).sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


def reward_evaluate(config) -> Callable:
    """The tests during training of the cued-choice simulations: reward per test episode."""
    def evaluate(agent, state) -> dict:
        dev = agent_device(agent)
        return {"reward": episode_reward(run_frozen(agent, eval_task(config, config.eval_episodes, dev, "test"),
                                                    eval_sampler(config, dev)))}
    return evaluate


def simulate_cued(config: CuedConfig, experiment: str, out: Path, resume: bool = False, progress: bool = True,
                  more_tests: Callable | None = None, report: Callable | None = None) -> Path:
    """Train and test one of the fixation / left / right simulations of Wang et al. 2018 (Sims 1, 2, 3, 6).

    Training as every simulation (:func:`~metarl_neuro.experiments._base.train_run`, with the reward per test
    episode as the tests during training); the frozen test runs ``config.eval_episodes`` episodes (``tsutsui``:
    on the test distribution of p0, which includes the held-out values). ``more_tests(agent, test, trials)``, if
    given, returns the trial table to keep instead (``stopper``: the same test episodes under each simulated
    manipulation, with a ``manipulation`` column); ``test()`` plays the test episodes again. ``report(run)``
    prints the simulation's analyses.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    FileExistsError, FileNotFoundError
        As :func:`~metarl_neuro.experiments.two_step.simulate_two_step`.
    """
    t = train_run(config, experiment, out, resume, progress, reward_evaluate)
    run, config, agent = t.run, t.config, t.agent

    def test():
        task = eval_task(config, config.eval_episodes, t.device, "test")
        record = run_frozen(agent, task, eval_sampler(config, t.device))
        return choice_trials(record.log, record.active, run.path.name), record

    trials, record = test()
    if more_tests is not None:
        trials = more_tests(agent, config, lambda: test()[0], trials)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, run_attrs(t, experiment)))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    if report is not None:
        report(run, run.path / "figures")
    return run.path


@dataclass
class CuedAnalysis:
    """A cued-choice simulation's analyses of one run: ``tables`` (returned by the report), ``numbers`` (the
    per-seed summary of ``reproduce``), ``text`` (printed), ``figures(title) -> [(name, figure)]`` and the
    one-line ``summary`` of the paper's effect with our numbers."""

    tables: dict
    numbers: dict
    text: list[str]
    figures: Callable[[str], list]
    summary: str
    extra: dict = field(default_factory=dict)


def cued_report(run: Run, figures: Path | None, analysis: CuedAnalysis) -> dict:
    """Print a cued-choice simulation's analyses, write its figures (default: the run's ``figures/``) and its
    one-line summary (printed and written to ``summary.txt``); return its tables and ``summary``."""
    figures = figures or run.path / "figures"
    for block in analysis.text:
        print(f"\n{block}")
    save_figures(figures, analysis.figures(f"{run.meta['experiment']}, {run.path.name}"))
    print(f"\n{analysis.summary}")
    atomic_write(run.path / "summary.txt", lambda p: Path(p).write_text(analysis.summary + "\n"))
    return {**analysis.tables, "summary": analysis.summary}


def reward_score(run: Run, episodes: np.ndarray) -> float:
    """The sweeps' objective of the cued-choice simulations: mean reward per trial on the test episodes
    ``episodes`` (missed trials count as 0; of the intact network where there are manipulations)."""
    trials = run.trials
    if "manipulation" in trials.columns:
        trials = trials[trials["manipulation"] == "none"]
    trials = trials[trials["episode"].isin(episodes)]
    return float(trials["reward"].fillna(0.0).mean())


def tuning_line(tuning, variables) -> str:
    """``"prev_action 40%, ..."``: the fraction of units coding each variable (:func:`~metarl_neuro.analysis.unit_tuning`)."""
    s = tuning.summary.set_index("variable")
    return ", ".join(f"{v} {100 * s.loc[v, 'fraction_significant']:.0f}%" for v in variables)


def tuning_numbers(tuning, variables) -> dict:
    """``{"units_<variable>": percent of units coding it}`` for the per-seed summaries."""
    s = tuning.summary.set_index("variable")
    return {f"units_{v}": 100 * float(s.loc[v, "fraction_significant"]) for v in variables}
