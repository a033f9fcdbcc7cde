"""Reversals and inferred value (Wang et al. 2018, Simulation 3, Fig. 4; Bromberg-Martin et al. 2010)."""


from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from metarl_neuro.analysis import (
    latent_state_switch,
    plot_latent_switch,
    plot_population_pca,
    plot_reversal_rpe,
    population_pca,
    reversal_rpe,
)
from metarl_neuro.domains import AT_LEAST_ONE, OR_DEPENDENT_DEFAULT
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

__all__ = ["EXPERIMENT", "BrombergMartinConfig"]


@dataclass(frozen=True)
class BrombergMartinConfig(CuedConfig):
    """Reversal task and inferred value (Wang et al. 2018, Simulation 3, Fig. 4; Bromberg-Martin et al. 2010)."""

    episodes: int = option(
        -1,
        "training episodes; -1: 20,000 for --agent lstm (our choice), 80,000 for rpe-input (measured: its value "
        "LSTM, trained by the value loss alone, holds the mean value and leaves the RPE at target onset flat, 0.00, "
        "at 8,000 and 20,000 episodes; its value loss fell between 40k and 48k episodes in seed 0, and Fig. 4b's "
        "flips held at 60k in seed 0 and at 80k in seeds 1 and 2; docs/measurements.md, Simulations 1, 2, 3 and "
        "6); 0 evaluates the untrained agent",
        default_help="-1, the agent's", domain=OR_DEPENDENT_DEFAULT,
    )
    n_trials: int = option(100, "trials per episode (our choice)", domain=AT_LEAST_ONE)
    block_min: int = option(10, "fewest trials between reversals (our choice)", domain=AT_LEAST_ONE)
    block_max: int = option(30, "most trials between reversals (our choice)", domain=AT_LEAST_ONE)

    def __post_init__(self):
        if self.episodes == -1:  # the agent's default, resolved so that config.json holds the value used
            object.__setattr__(self, "episodes", 80_000 if self.agent == "rpe-input" else 20_000)
        super().__post_init__()

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.BrombergMartinTask` (``variant`` not used)."""
        from metarl_neuro.tasks import BrombergMartinTask

        return BrombergMartinTask(batch_size, self.n_trials, (self.block_min, self.block_max),
                                  **self._task_kwargs(seed, device))


def analyze(run: Run, n_permutations: int = 20) -> CuedAnalysis:
    """Sim 3's analyses of a run: :func:`~metarl_neuro.analysis.reversal_rpe` (Fig. 4b), the population PCA
    coloured by the rewarded side and its switches between the latent-state clusters after a reversal
    (:func:`~metarl_neuro.analysis.latent_state_switch`, Fig. 4c). ``n_permutations`` is not used."""
    ds = run.activations.load()
    table = reversal_rpe(ds)
    pca = population_pca(ds)
    try:
        switch = latent_state_switch(pca)
    except ValueError as err:  # e.g. an untrained network that misses most trials: no run of settled trials
        switch, why = None, str(err)

    def cell(k, rew, exp):
        r = table[(table["since_reversal"] == k) & (table["target_rewarded"] == rew) & (table["experienced"] == exp)]
        return float(r["mean_rpe"].iloc[0]) if len(r) else float("nan")

    abrupt = float(switch.reversals["abruptness"].median()) if switch else float("nan")
    silhouette = switch.silhouette if switch else float("nan")
    summary = (f"Sim 3 (Bromberg-Martin, inferred value): RPE at target onset on trial 1 after a reversal "
               f"{cell(0, True, False):+.2f} (now-rewarded) / {cell(0, False, False):+.2f} (now-unrewarded); "
               f"on trial 2 experienced {cell(1, True, True):+.2f} / {cell(1, False, True):+.2f}, inferred "
               f"{cell(1, True, False):+.2f} / {cell(1, False, False):+.2f} (paper: both flip); latent-state clusters "
               f"(silhouette {silhouette:.2f}) switch with median abruptness {abrupt:.2f} (Fig. 4c)")
    evr = ", ".join(f"{v:.1%}" for v in pca["explained_variance_ratio"].values)
    text = ["RPE at target onset after a reversal (Fig. 4b; target_rewarded: its value after the reversal):\n"
            + table.to_string(**TABLE_FORMAT), f"Population PCA of h at fixation: explained variance {evr}",
            (f"Latent-state clusters in the PCA (Fig. 4c): silhouette {silhouette:.3f} ({switch.n_settled} settled "
             f"trials); {len(switch.reversals)} reversals, median switch "
             f"{switch.reversals['switch_trial'].median():.0f} trial(s) after the reversal, median abruptness "
             f"{abrupt:.3f} (share of the shift made in one trial). Projection on the line between the clusters "
             "(0 old, 1 new):\n" + switch.trajectory.to_string(**TABLE_FORMAT))
            if switch else f"Latent-state clusters (Fig. 4c) not measured: {why}"]
    numbers = {"rpe_experienced_rewarded": cell(1, True, True), "rpe_experienced_unrewarded": cell(1, False, True),
               "rpe_inferred_rewarded": cell(1, True, False), "rpe_inferred_unrewarded": cell(1, False, False),
               "switch_abruptness": abrupt,
               "switch_trial": float(switch.reversals["switch_trial"].median()) if switch else float("nan"),
               "cluster_silhouette": silhouette}
    return CuedAnalysis(
        {"reversal_rpe": table, "pca": pca, "latent_switch": switch}, numbers, text,
        lambda title: [("reversal_rpe", plot_reversal_rpe(table, title=title)),
                       ("population_pca", plot_population_pca(pca, "rewarded_side", title=title))]
        + ([("latent_switch", plot_latent_switch(switch, title=title))] if switch else []), summary)


def report(run: Run, figures: Path | None = None, permutations: int = 20, **_) -> dict:
    """``python -m metarl_neuro.analyze RUN``: :func:`analyze`, printed, figures ``reversal_rpe.png``,
    ``population_pca.png``, ``latent_switch.png`` and ``summary.txt``."""
    return cued_report(run, figures, analyze(run, permutations))


def summarize(run: Run) -> dict:
    """Sim 3 in one seed: mean RPE at target onset on the second trial after a reversal, for the target just
    experienced and the one whose new value can only be inferred, now rewarded or not (Fig. 4b):
    ``rpe_{experienced,inferred}_{rewarded,unrewarded}``; the latent-state clusters of the population PCA
    (Fig. 4c, :func:`~metarl_neuro.analysis.latent_state_switch`): ``switch_abruptness`` (median share of the
    shift between the clusters made in one trial), ``switch_trial`` (median trials after the reversal at which
    the state is nearer the new cluster) and ``cluster_silhouette``."""
    return analyze(run).numbers


@one_writer
def simulate(config: BrombergMartinConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train and test (:func:`~metarl_neuro.experiments._cued.simulate_cued`), then :func:`report`."""
    return simulate_cued(config, "bromberg-martin", out, resume, progress, report=report)


def figure(runs: list[Run], summaries: pd.DataFrame, title: str = "bromberg-martin"):
    """Wang 2018 Fig. 4b from N seeds: RPE at target onset on trial 2 after a reversal, experienced and inferred
    targets, now rewarded or not; mean with its 95% CI across seeds and each seed's value."""
    from metarl_neuro.analysis.plots import plot_seed_values

    cols = {"rpe_experienced_rewarded": "experienced,\nrewarded", "rpe_experienced_unrewarded": "experienced,\nunrewarded",
            "rpe_inferred_rewarded": "inferred,\nrewarded", "rpe_inferred_unrewarded": "inferred,\nunrewarded"}
    return plot_seed_values(summaries, cols, ylabel="RPE at target onset", title=title, chance=0)


EXPERIMENT = Experiment(
    name="bromberg-martin", config=BrombergMartinConfig, simulate=simulate, report=report, summarize=summarize,
    paper="Wang et al. 2018, Simulation 3 (Bromberg-Martin et al. 2010), Fig. 4",
    claims=(
        Claim("rpe_experienced_rewarded", "experienced target: RPE flips sign with its new value (Fig. 4b)",
              lambda s: s["rpe_experienced_rewarded"] > 0 > s["rpe_experienced_unrewarded"]),
        Claim("rpe_inferred_rewarded", "inferred target: RPE flips too, as for the experienced one (Fig. 4b)",
              lambda s: s["rpe_inferred_rewarded"] > 0 > s["rpe_inferred_unrewarded"]),
        Claim("switch_abruptness", "the population state forms one cluster per latent state and jumps between them "
              "after a reversal: median share of the shift made in one trial >= 0.5, clusters apart (silhouette > "
              "0.25; Fig. 4c)", lambda s: s["switch_abruptness"] >= 0.5 and s["cluster_silhouette"] > 0.25),
    ),
    reproduce_defaults={"eval_every": 2000},  # the learning curve in the report
    figure=figure, evaluation=reward_evaluate, score=reward_score,
    bounded={"cluster_silhouette": (-1.0, 1.0)},  # switch_abruptness can pass 1: a path that overshoots
)
