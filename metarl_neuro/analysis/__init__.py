"""Analyses of trial tables and activations: pure functions, DataFrame/Dataset in, tables out."""

from metarl_neuro.analysis.bandit import (
    cumulative_regret,
    fit_rescorla_wagner,
    rescorla_wagner_nll,
    suboptimal_pulls,
)
from metarl_neuro.analysis.decoding import (
    TWO_STEP_TARGETS,
    UnitTuning,
    decode_hidden,
    population_pca,
    trial_states,
    unit_tuning,
)
from metarl_neuro.analysis.harlow import harlow_performance
from metarl_neuro.analysis.hybrid import (
    VARIANTS,
    compare_models,
    default_priors,
    fit_hybrid,
    hybrid_nll,
    hybrid_values,
    simulate_hybrid,
)
from metarl_neuro.analysis.loaders import from_hbayesdm, to_trials
from metarl_neuro.analysis.plots import (
    plot_cumulative_regret,
    plot_decoding,
    plot_frames,
    plot_harlow_episode,
    plot_harlow_performance,
    plot_lagged_regression,
    plot_population_pca,
    plot_regret_matrix,
    plot_rpe_regression,
    plot_stay_probability,
    plot_unit_tuning,
)
from metarl_neuro.analysis.regression import StayRegression, stay_regression
from metarl_neuro.analysis.rpe import RPERegression, agent_state_rpe, rpe_regression
from metarl_neuro.analysis.stay import add_stay_columns, stay_probability

__all__ = [
    "TWO_STEP_TARGETS",
    "VARIANTS",
    "RPERegression",
    "StayRegression",
    "UnitTuning",
    "add_stay_columns",
    "agent_state_rpe",
    "compare_models",
    "cumulative_regret",
    "decode_hidden",
    "default_priors",
    "fit_hybrid",
    "fit_rescorla_wagner",
    "from_hbayesdm",
    "harlow_performance",
    "hybrid_nll",
    "hybrid_values",
    "plot_cumulative_regret",
    "plot_decoding",
    "plot_frames",
    "plot_harlow_episode",
    "plot_harlow_performance",
    "plot_lagged_regression",
    "plot_population_pca",
    "plot_regret_matrix",
    "plot_rpe_regression",
    "plot_stay_probability",
    "plot_unit_tuning",
    "population_pca",
    "rescorla_wagner_nll",
    "rpe_regression",
    "simulate_hybrid",
    "stay_probability",
    "stay_regression",
    "suboptimal_pulls",
    "to_trials",
    "trial_states",
    "unit_tuning",
]
