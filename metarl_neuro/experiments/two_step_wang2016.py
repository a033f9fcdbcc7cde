"""Wang et al. 2016's two-step task: common transitions 0.75 / rare 0.25, and second-stage reward probabilities
(0.9 in one state, 0.1 in the other) fixed for the whole episode, the rewarded state drawn per episode.

The worked example of docs/tutorials/new_experiment.md: a config with its own defaults, the two-step task's
simulation, report and summary reused, and one line in ``REGISTRY``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from metarl_neuro.experiments import two_step
from metarl_neuro.experiments._base import Experiment, option


@dataclass(frozen=True)
class TwoStepWang2016Config(two_step.TwoStepConfig):
    """Two-step task of Wang et al. 2016: 0.75 / 0.25 transitions, reward probabilities fixed per episode."""

    common_prob: float = option(0.75, "probability of the common transition (Wang 2016; Daw 2011: 0.7)")
    swap_prob: float = option(0.0, "probability per trial that the two states swap reward probabilities (Wang "
                              "2016: 0, fixed for the episode; the rewarded state is drawn at its start)")
    episodes: int = option(20_000, "training episodes (our choice)")
    until: str = option("", "stop training once this holds on --until-held consecutive tests; '' (default) trains "
                        "for all --episodes: the two-step criterion expects reversals within an episode",
                        metavar="METRIC>=VALUE")


EXPERIMENT = Experiment(
    name="two-step-wang2016", config=TwoStepWang2016Config,
    simulate=partial(two_step.simulate_two_step, experiment="two-step-wang2016"), report=two_step.report,
    summarize=two_step.summarize, paper="Wang et al. 2016, two-step task (0.75 / 0.25, rewards fixed per episode)",
    claims=two_step.EXPERIMENT.claims[:3], figure=two_step.figure, evaluation=two_step.EXPERIMENT.evaluation,
    score=two_step.score,
    bounded=two_step.EXPERIMENT.bounded,
)
