"""Risky choice and simulated optogenetics on an RPE-input network (Wang et al. 2018, Simulation 6, Fig. 7;
Stopper et al. 2014)."""


from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from metarl_neuro.agents import rpe_manipulation
from metarl_neuro.analysis import plot_risky_choice, risky_choice, risky_choice_shift
from metarl_neuro.domains import AT_LEAST_ONE, NON_NEGATIVE, REAL, UNIT_INTERVAL
from metarl_neuro.experiments._base import Claim, Experiment, one_writer, option
from metarl_neuro.experiments._cued import (
    TABLE_FORMAT,
    CuedAnalysis,
    CuedConfig,
    cued_report,
    reward_evaluate,
    reward_score,
    simulate_cued,
)
from metarl_neuro.run import Run

__all__ = ["EXPERIMENT", "MANIPULATIONS", "StopperConfig"]


@dataclass(frozen=True)
class StopperConfig(CuedConfig):
    """Risky choice and simulated optogenetics on an RPE-input network (Wang et al. 2018, Simulation 6, Fig. 7)."""

    agent: str = option("rpe-input", "network: rpe-input (W18 Sim 6) or lstm", choices=("lstm", "rpe-input"))
    entropy_coef: float = option(0.2, "weight beta_e of the entropy bonus (our choice: payoffs up to 4; with W18's 0.05 "
                             "the policy became deterministic early and, in 1 of 3 seeds, always risky; measured)")
    n_trials: int = option(50, "trials per episode (our choice)", domain=AT_LEAST_ONE)
    small_reward: float = option(1.0, "payoff of the certain lever (Stopper et al. 2014: 1 pellet)", domain=REAL)
    large_reward: float = option(4.0, "payoff of the risky lever when it pays (Stopper et al. 2014: 4 pellets)", domain=REAL)
    risky_prob_high: float = option(0.5, "risky lever's reward probability in half of the episodes (Stopper 2014)", domain=UNIT_INTERVAL)
    risky_prob_low: float = option(0.125, "risky lever's reward probability in the other half (Stopper 2014)", domain=UNIT_INTERVAL)
    manipulation: float = option(2.0, "size of the simulated optogenetic RPE offset: block subtracts it after risky "
                             "wins, stimulation adds it after risky losses (timing: Stopper 2014; size: our choice, half "
                             "the large reward; 1 left near-deterministic agents unmoved, measured)", domain=NON_NEGATIVE)

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.StopperTask` (``variant`` not used)."""
        from metarl_neuro.tasks import StopperTask

        return StopperTask(batch_size, self.n_trials, self.small_reward, self.large_reward,
                           (self.risky_prob_high, self.risky_prob_low), **self._task_kwargs(seed, device))


#: Stopper et al. 2014's manipulations: name -> (sign of the RPE offset, the risky outcome after which it acts)
MANIPULATIONS = {"block": (-1.0, "win"), "stimulate": (1.0, "loss")}


def _manipulated_tests(agent, config: StopperConfig, test, intact: pd.DataFrame) -> pd.DataFrame:
    """The intact test and the same test episodes under each manipulation of :data:`MANIPULATIONS` (the RPE input
    decremented by ``config.manipulation`` after risky wins: block; incremented after risky losses: stimulation;
    Stopper et al. 2014, Wang 2018 Fig. 7), with a ``manipulation`` column."""
    tables = [intact.assign(manipulation="none")]
    risky_action = 1 + config.make_task(1, 0, "cpu").risky_side
    for name, (sign, when) in MANIPULATIONS.items():
        agent.manipulation = rpe_manipulation(risky_action, sign * config.manipulation, when)
        tables.append(test().assign(manipulation=name))
    agent.manipulation = None
    return pd.concat(tables, ignore_index=True)


def analyze(run: Run, n_permutations: int = 20) -> CuedAnalysis:
    """Sim 6's analyses of a run: :func:`~metarl_neuro.analysis.risky_choice` and
    :func:`~metarl_neuro.analysis.risky_choice_shift` per manipulation (Fig. 7). ``n_permutations`` is not used."""
    trials = run.trials
    rc = risky_choice(trials)
    shift = risky_choice_shift(trials)
    overall = risky_choice(trials, by=("manipulation",)).set_index("manipulation")["risky"]
    summary = (f"Sim 6 (Stopper, RPE input): risky choices {100 * overall['none']:.1f}% intact, "
               f"{100 * overall['block']:.1f}% under block after risky wins, {100 * overall['stimulate']:.1f}% "
               f"under stimulation after risky losses (paper: block lowers, stimulation raises)")
    text = ["% risky choices per manipulation and reward probability (Fig. 7; Wilson 95% CI):\n" + rc.to_string(**TABLE_FORMAT),
            "Shift from the intact network:\n" + shift.to_string(**TABLE_FORMAT)]
    numbers = {f"risky_{k}": 100 * float(overall[k]) for k in ("none", "block", "stimulate")}
    numbers.update(shift_block=numbers["risky_block"] - numbers["risky_none"],
                   shift_stimulate=numbers["risky_stimulate"] - numbers["risky_none"])
    return CuedAnalysis({"risky_choice": rc, "shift": shift}, numbers, text,
                        lambda title: [("risky_choice", plot_risky_choice(rc, title=title))], summary)


def report(run: Run, figures: Path | None = None, permutations: int = 20, **_) -> dict:
    """``python -m metarl_neuro.analyze RUN``: :func:`analyze`, printed, figure ``risky_choice.png`` and
    ``summary.txt``."""
    return cued_report(run, figures, analyze(run, permutations))


def summarize(run: Run) -> dict:
    """Sim 6 in one seed: percent risky choices intact (``risky_none``), under block (``risky_block``) and
    stimulation (``risky_stimulate``), and the shifts from intact in points (``shift_block``,
    ``shift_stimulate``; Fig. 7)."""
    return analyze(run).numbers


@one_writer
def simulate(config: StopperConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train and test (:func:`~metarl_neuro.experiments._cued.simulate_cued`) intact and under each manipulation,
    then :func:`report`.

    Raises
    ------
    ValueError
        Without the RPE-input agent (the manipulations act on its RPE input), before any training.
    """
    if config.agent != "rpe-input":  # before any training
        raise ValueError("the stopper manipulations act on the RPE input: use --agent rpe-input")
    return simulate_cued(config, "stopper", out, resume, progress, more_tests=_manipulated_tests, report=report)


def figure(runs: list[Run], summaries: pd.DataFrame, title: str = "stopper"):
    """Wang 2018 Fig. 7 from N seeds: percent risky choices intact, under block and under stimulation, mean with
    its 95% CI across seeds and each seed's value."""
    from metarl_neuro.analysis.plots import plot_seed_values

    cols = {"risky_none": "intact", "risky_block": "block\n(after wins)", "risky_stimulate": "stimulation\n(after losses)"}
    return plot_seed_values(summaries, cols, ylabel="% risky choices", title=title, ylim=(0, 100))


EXPERIMENT = Experiment(
    name="stopper", config=StopperConfig, simulate=simulate, report=report, summarize=summarize,
    paper="Wang et al. 2018, Simulation 6 (Stopper et al. 2014), Fig. 7",
    claims=(
        Claim("shift_block", "blocking the RPE after risky wins lowers risky choices (Fig. 7)",
              lambda s: s["shift_block"] < 0),
        Claim("shift_stimulate", "stimulating after risky losses raises risky choices (Fig. 7)",
              lambda s: s["shift_stimulate"] > 0),
    ),
    reproduce_defaults={"eval_every": 2000},  # the learning curve in the report
    figure=figure, evaluation=reward_evaluate, score=reward_score,
    bounded={"risky_*": (0.0, 100.0), "shift_*": (-100.0, 100.0)},
)
