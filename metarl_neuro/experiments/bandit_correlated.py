"""Correlated arms (Wang et al. 2018, Fig. 1; Wang et al. 2016, Sec. 3.1.2): ``p_R = 1 - p_L``.

An agent trained on bandits whose arms are dependent learns that one pull tells it about both arms: it finds the
better arm sooner than a learner that treats the arms as independent, and its hidden state at the end of an
episode is ordered by ``p_L`` along the first principal component (Wang 2018 Fig. 1e-f). The bandit experiment's
simulation and report are reused (``--variant uniform``); this module adds the summary and the claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from metarl_neuro.analysis import bandit_state_pca, better_arm_probability, plot_population_pca
from metarl_neuro.experiments import bandit
from metarl_neuro.experiments._base import Claim, Experiment, option
from metarl_neuro.run import Run, save_figures

__all__ = ["EXPERIMENT", "BanditCorrelatedConfig", "summarize"]

#: trials (0-based) over which the share of better-arm choices is averaged: trials 2-10, Fig. 1's early trials
EARLY = (1, 9)


@dataclass(frozen=True)
class BanditCorrelatedConfig(bandit.BanditConfig):
    """Bandits with correlated arms, ``p_R = 1 - p_L``, ``p_L ~ U[0, 1]`` (Wang 2018 Fig. 1; Wang 2016 3.1.2)."""

    variant: str = option("uniform", "training bandit distribution: uniform, p_L ~ U[0, 1] and p_R = 1 - p_L (Wang "
                          "2016, 3.1.2; Wang 2018 Fig. 1's correlated arms)", choices=bandit._BANDIT_VARIANTS)


def summarize(run: Run) -> dict:
    """Wang 2018 Fig. 1 in one seed, on correlated arms.

    Returns
    -------
    dict
        ``regret_<policy>`` as the bandit experiment's summary (cumulative expected regret at the last trial);
        ``better_<policy>`` (``meta_rl``, ``thompson``, ``bayes_optimal``): share of better-arm choices on trials
        2-10, mean over the test episodes (Fig. 1c-d: how fast the better arm is found; Thompson sampling treats
        the arms as independent, the Bayes-optimal policy knows they are not); ``pc1_order``: ``|rho|``,
        Spearman's rank correlation of the first principal component of the hidden state at the last trial with
        ``p_L`` (Fig. 1e-f; :func:`~metarl_neuro.analysis.bandit_state_pca`).
    """
    out = bandit.summarize(run)
    curve = better_arm_probability(run.trials)
    early = curve[curve["trial"].between(*EARLY)].groupby("policy")["p_better"].mean()
    for policy, value in early.items():
        out[f"better_{str(policy).replace('-', '_').lower()}"] = float(value)
    out["pc1_order"] = abs(bandit_state_pca(run).attrs["spearman_rho"])
    return out


def report(run: Run, figures, **options) -> dict:
    """The bandit report (:func:`~metarl_neuro.experiments.bandit.report`), then the share of better-arm choices
    per trial and the PCA of the hidden state at the last trial ordered by ``p_L`` (``state_pca.png``)."""
    out = bandit.report(run, figures, **options)
    curve = better_arm_probability(run.trials)
    table = curve.pivot(index="trial", columns="policy", values="p_better")
    rows = [t for t in (0, 1, 2, 4, 9, 19, 49, 99) if t in table.index]
    print("\nShare of better-arm choices by trial (Wang 2018 Fig. 1c-d; trial 0-based):")
    print(table.loc[rows].to_string(float_format=lambda x: f"{x:.3f}"))
    pca = bandit_state_pca(run)
    print(f"\nHidden state at the last trial: PC1 against p_L, Spearman rho {pca.attrs['spearman_rho']:+.3f} "
          f"(p = {pca.attrs['spearman_p']:.2g}, {pca.sizes['sample']} episodes; Wang 2018 Fig. 1e-f)")
    save_figures(figures, [("state_pca", plot_population_pca(pca, "mean_0", title=f"{run.path.name}: colour p_L"))])
    return {**out, "better_arm": curve, "state_pca": pca}


def figure(runs: list[Run], summaries: pd.DataFrame, title: str = "bandit-correlated"):
    """Wang 2018 Fig. 1 from N seeds: the share of better-arm choices on trials 2-10 of the meta-RL agent, Thompson
    sampling and the Bayes-optimal policy on correlated arms, mean with its 95% CI across seeds and each seed's
    value."""
    from metarl_neuro.analysis.plots import plot_seed_values

    cols = {c: c[len("better_"):].replace("_", " ") for c in summaries.columns if c.startswith("better_")}
    return plot_seed_values(summaries, cols, ylabel="P(better arm), trials 2-10", title=title, ylim=(0, 1.05))


EXPERIMENT = Experiment(
    name="bandit-correlated", config=BanditCorrelatedConfig,
    simulate=partial(bandit.simulate_bandit, experiment="bandit-correlated"), report=report, summarize=summarize,
    paper="Wang et al. 2018, Fig. 1 (correlated arms); Wang et al. 2016, Sec. 3.1.2",
    claims=(
        Claim("better_meta_rl", "trained on correlated arms, the agent finds the better arm sooner than Thompson "
              "sampling, which treats the arms as independent: more better-arm choices on trials 2-10 (Fig. 1c-d)",
              lambda s: s["better_meta_rl"] > s.get("better_thompson", np.nan)),
        Claim("regret_meta_rl", "and its regret at trial 100 is below Thompson sampling's (Fig. 1d)",
              lambda s: s["regret_meta_rl"] < s.get("regret_thompson", np.nan)),
        Claim("pc1_order", "the hidden state at trial 100 is ordered by p_L along PC1: absolute Spearman rho >= 0.8 "
              "(Fig. 1e-f; the paper shows the ordering, no number)", lambda s: s["pc1_order"] >= 0.8),
    ),
    reproduce_defaults={"eval_every": 2000},  # the learning curve in the report
    figure=figure, evaluation=bandit.EXPERIMENT.evaluation, score=bandit.score,
    bounded={"better_*": (0.0, 1.0), "pc1_order": (0.0, 1.0)},
)
