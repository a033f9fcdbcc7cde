"""Analyses of trial tables and activations: pure functions, DataFrame/Dataset in, tables out."""

from metarl_neuro.analysis.plots import plot_stay_probability
from metarl_neuro.analysis.stay import add_stay_columns, stay_probability

__all__ = ["add_stay_columns", "plot_stay_probability", "stay_probability"]
