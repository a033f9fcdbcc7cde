"""Stable and volatile periods (Wang et al. 2018, Simulation 2, Fig. 3; Behrens et al. 2007)."""


from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from metarl_neuro.analysis import (
    block_tuning,
    decode_hidden,
    plot_learning_rates,
    plot_unit_tuning,
    unit_tuning,
    volatility_learning_rates,
)
from metarl_neuro.domains import AT_LEAST_ONE, UNIT_INTERVAL
from metarl_neuro.experiments._base import Claim, Experiment, one_writer, option
from metarl_neuro.experiments._cued import (
    TABLE_FORMAT,
    CuedAnalysis,
    CuedConfig,
    cued_report,
    reward_evaluate,
    reward_score,
    simulate_cued,
    tuning_numbers,
)
from metarl_neuro.run import Run

__all__ = ["EXPERIMENT", "BehrensConfig"]


@dataclass(frozen=True)
class BehrensConfig(CuedConfig):
    """Stable and volatile periods (Wang et al. 2018, Simulation 2, Fig. 3; Behrens et al. 2007)."""

    lr: float = option(3e-3, "RMSProp learning rate (our choice, as the other simulations; W18 Sim 2: 5e-5, which left "
                   "the agent choosing at chance after 14k episodes here, measured)")
    episodes: int = option(10_000, "training episodes of 2 blocks (our choice: 4M steps, under 3 min on 2 CPU cores)")
    block_trials: int = option(100, "trials per block; an episode is one stable and one volatile block (our choice)", domain=AT_LEAST_ONE)
    stable_p: float = option(0.75, "reward probability of the better arm in a stable block (Behrens et al. 2007)", domain=UNIT_INTERVAL)
    volatile_p: float = option(0.8, "reward probability of the better arm in a volatile block (Behrens et al. 2007)", domain=UNIT_INTERVAL)
    reversal_min: int = option(20, "fewest trials between reversals in a volatile block (our choice; mean ~25)", domain=AT_LEAST_ONE)
    reversal_max: int = option(30, "most trials between reversals in a volatile block (our choice; mean ~25)", domain=AT_LEAST_ONE)

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.BehrensTask` (block order random; ``variant`` not used)."""
        from metarl_neuro.tasks import BehrensTask

        return BehrensTask(batch_size, self.block_trials, self.stable_p, self.volatile_p,
                           (self.reversal_min, self.reversal_max), **self._task_kwargs(seed, device))


_VARIABLES = ("prev_action", "prev_reward", "prev_action_x_reward", "value", "volatile")


def analyze(run: Run, n_permutations: int = 20) -> CuedAnalysis:
    """Sim 2's analyses of a run: :func:`~metarl_neuro.analysis.volatility_learning_rates` (Fig. 3d), decoding of
    ``volatile`` from ``h`` (``n_permutations`` within-episode permutations) and the units tracking volatility
    (:func:`~metarl_neuro.analysis.unit_tuning` with ``volatile``, p-values clustered by episode)."""
    rates = volatility_learning_rates(run.trials)
    ds = run.activations.load()
    decoding = decode_hidden(ds, targets=["volatile"], n_permutations=n_permutations)
    tuning = unit_tuning(ds, _VARIABLES, cluster="episode")
    blocks = block_tuning(ds, "volatile")
    vol = float(rates[rates["volatile"]]["alpha"].mean())
    stab = float(rates[~rates["volatile"]]["alpha"].mean())
    frac = float(tuning.summary.set_index("variable").loc["volatile", "fraction_significant"])
    summary = (f"Sim 2 (Behrens, volatility): fitted learning rate {vol:.3f} in volatile vs {stab:.3f} in "
               f"stable blocks (paper: higher when volatile); volatility decoded from h with balanced accuracy "
               f"{decoding['mean'].iloc[0]:.3f} (chance {decoding['chance'].iloc[0]:.3f}); "
               f"{100 * frac:.0f}% of units track volatility by our test, "
               f"{100 * blocks.attrs['fraction_significant']:.0f}% by a block-mean test (paper: 37 +/- 1%)")
    text = ["Rescorla-Wagner fits per block (Fig. 3d):\n" + rates.to_string(**TABLE_FORMAT),
            f"Decoding volatility from h at fixation ({n_permutations} within-episode permutations):\n"
            + decoding.to_string(**TABLE_FORMAT),
            "Units coding each variable at fixation (partial correlation; BH-FDR 0.05 on p-values clustered by "
            "episode):\n" + tuning.summary.to_string(**TABLE_FORMAT),
            f"Units whose mean activity differs between the volatile and the stable block (paired over "
            f"{blocks.attrs['n_episodes']} episodes, t test, p < 0.05 uncorrected): "
            f"{100 * blocks.attrs['fraction_significant']:.1f}%"]
    numbers = {"alpha_volatile": vol, "alpha_stable": stab, "alpha_difference": vol - stab,
               "decoding_volatile": float(decoding["mean"].iloc[0]), "decoding_chance": float(decoding["chance"].iloc[0]),
               **tuning_numbers(tuning, _VARIABLES),
               "units_volatile_blockwise": 100 * blocks.attrs["fraction_significant"]}
    return CuedAnalysis(
        {"learning_rates": rates, "decoding": decoding, "tuning": tuning}, numbers, text,
        lambda title: [("learning_rates", plot_learning_rates(rates, title=title)),
                       ("unit_tuning", plot_unit_tuning(tuning.units, title=title))], summary)


def report(run: Run, figures: Path | None = None, permutations: int = 20, **_) -> dict:
    """``python -m metarl_neuro.analyze RUN``: :func:`analyze`, printed, figures ``learning_rates.png``,
    ``unit_tuning.png`` and ``summary.txt``."""
    return cued_report(run, figures, analyze(run, permutations))


def summarize(run: Run) -> dict:
    """Sim 2 in one seed: Rescorla-Wagner ``alpha_volatile``, ``alpha_stable`` and their difference (Fig. 3d),
    ``decoding_volatile`` (balanced accuracy) and its ``decoding_chance``, ``units_<variable>`` (percent of units
    coding it; ``units_volatile``: the paper's 37 +/- 1%, by partial correlation clustered by episode with BH-FDR)
    and ``units_volatile_blockwise`` (percent of units whose block means differ, :func:`~metarl_neuro.analysis.block_tuning`)."""
    return analyze(run).numbers


@one_writer
def simulate(config: BehrensConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train and test (:func:`~metarl_neuro.experiments._cued.simulate_cued`), then :func:`report`."""
    return simulate_cued(config, "behrens", out, resume, progress, report=report)


def figure(runs: list[Run], summaries: pd.DataFrame, title: str = "behrens"):
    """Wang 2018 Fig. 3d from N seeds: the Rescorla-Wagner learning rate in stable and volatile blocks, mean with
    its 95% CI across seeds and each seed's value."""
    from metarl_neuro.analysis.plots import plot_seed_values

    return plot_seed_values(summaries, {"alpha_stable": "stable", "alpha_volatile": "volatile"},
                            ylabel="fitted learning rate", title=title, ylim=(0, None))


EXPERIMENT = Experiment(
    name="behrens", config=BehrensConfig, simulate=simulate, report=report, summarize=summarize,
    paper="Wang et al. 2018, Simulation 2 (Behrens et al. 2007), Fig. 3",
    claims=(
        Claim("alpha_difference", "higher learning rate in volatile than in stable blocks (Fig. 3d)",
              lambda s: s["alpha_volatile"] > s["alpha_stable"]),
        Claim("units_volatile", "37 +/- 1% of units track volatility (Simulation 2; shown only). The paper does not "
              "state its test; ours: partial correlation with volatility beside a_{t-1}, r_{t-1}, their product and "
              "v_t, p clustered by episode, BH-FDR 0.05"),
        Claim("units_volatile_blockwise", "37 +/- 1% of units track volatility (Simulation 2; shown only), by the "
              "plainest single-unit test: block-mean activity, volatile minus stable, t test over episodes, p < 0.05 "
              "uncorrected"),
        Claim("decoding_volatile", "volatility decodable from the network's activity",
              lambda s: s["decoding_volatile"] > s["decoding_chance"]),
    ),
    reproduce_defaults={"eval_every": 2000},  # the learning curve in the report
    figure=figure, evaluation=reward_evaluate, score=reward_score,
    bounded={"units_*": (0.0, 100.0), "alpha_stable": (0.0, 1.0), "alpha_volatile": (0.0, 1.0),
             "alpha_difference": (-1.0, 1.0)},
)
