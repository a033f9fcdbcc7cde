"""Analyses of trial tables and activations: pure functions, DataFrame/Dataset in, tables out."""

from metarl_neuro.analysis.decoding import (
    TWO_STEP_TARGETS,
    UnitTuning,
    decode_hidden,
    population_pca,
    trial_states,
    unit_tuning,
)
from metarl_neuro.analysis.hybrid import (
    VARIANTS,
    compare_models,
    default_priors,
    fit_hybrid,
    hybrid_nll,
    simulate_hybrid,
)
from metarl_neuro.analysis.loaders import from_hbayesdm, to_trials
from metarl_neuro.analysis.plots import plot_lagged_regression, plot_stay_probability
from metarl_neuro.analysis.regression import StayRegression, stay_regression
from metarl_neuro.analysis.stay import add_stay_columns, stay_probability

__all__ = [
    "TWO_STEP_TARGETS",
    "VARIANTS",
    "StayRegression",
    "UnitTuning",
    "add_stay_columns",
    "compare_models",
    "decode_hidden",
    "default_priors",
    "fit_hybrid",
    "from_hbayesdm",
    "hybrid_nll",
    "plot_lagged_regression",
    "plot_stay_probability",
    "population_pca",
    "simulate_hybrid",
    "stay_probability",
    "stay_regression",
    "to_trials",
    "trial_states",
    "unit_tuning",
]
