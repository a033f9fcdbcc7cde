"""Figures of the paper, drawn from the tables of the analysis functions (no analysis inside)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_lagged_regression", "plot_stay_probability"]


def plot_stay_probability(table: pd.DataFrame, ax=None, title: str | None = None):
    """Bar plot of P(stay) by previous reward x transition, as Wang et al. 2018 Fig. 5b-c / Daw 2011 Fig. 2.

    Parameters
    ----------
    table : pandas.DataFrame
        Pooled output of :func:`metarl_neuro.analysis.stay_probability` (4 rows).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``table`` lacks ``rewarded``, ``transition`` or ``p_stay``.
    """
    missing = {"rewarded", "transition", "p_stay"} - set(table.columns)
    if missing:
        raise ValueError(f"table is missing column(s) {sorted(missing)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 3.6), layout="constrained")
    else:
        fig = ax.figure
    colors = {"common": "#1f77b4", "rare": "#d62728"}
    x = np.array([0.0, 1.0])
    for i, trans in enumerate(("common", "rare")):
        rows = table[table["transition"] == trans].set_index("rewarded").reindex([True, False])
        err = rows["sem"].to_numpy() if "sem" in rows else None
        ax.bar(x + (i - 0.5) * 0.38, rows["p_stay"].to_numpy(), width=0.38, color=colors[trans], label=trans,
               yerr=err, capsize=3)
    ax.set_xticks(x, ["rewarded", "unrewarded"])
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("P(stay)")
    ax.set_xlabel("previous outcome")
    # below the axes: the bars reach 1 and would hide a legend inside
    ax.legend(frameon=False, title="previous transition", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
              fontsize=8, title_fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def plot_lagged_regression(coefficients: pd.DataFrame, ax=None, subject: str = "pooled", title: str | None = None):
    """Lagged stay-regression coefficients by trial type and lag, as Wang et al. 2018 Fig. 5e (Miller 2017).

    Parameters
    ----------
    coefficients : pandas.DataFrame
        ``StayRegression.coefficients`` of :func:`metarl_neuro.analysis.stay_regression` with ``lags > 1``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    subject : str
        Which fit to draw ("pooled" or a subject id).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the table holds no lagged coefficients for ``subject``.
    """
    t = coefficients[(coefficients["subject"] == subject) & (coefficients["lag"] > 0)]
    t = t[t["term"].str.match(r"^(CR|CU|RR|RU)_\d+$")]
    if t.empty:
        raise ValueError(f"no lagged coefficients (CR_1, ...) for subject {subject!r}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.8, 3.6), layout="constrained")
    else:
        fig = ax.figure
    styles = {"CR": ("#1f77b4", "-"), "CU": ("#1f77b4", "--"), "RR": ("#d62728", "-"), "RU": ("#d62728", "--")}
    labels = {"CR": "common, rewarded", "CU": "common, unrewarded", "RR": "rare, rewarded", "RU": "rare, unrewarded"}
    for kind, (color, ls) in styles.items():
        rows = t[t["term"].str.startswith(kind + "_")].sort_values("lag")
        ax.errorbar(rows["lag"], rows["coef"], yerr=rows["se"], color=color, ls=ls, marker="o", ms=3, capsize=2,
                    label=labels[kind])
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("trials back")
    ax.set_ylabel("regression weight (log odds)")
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    if title:
        ax.set_title(title)
    return fig
