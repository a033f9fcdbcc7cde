"""Figures of the paper, drawn from the tables of the analysis functions (no analysis inside)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["plot_stay_probability"]


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
        fig, ax = plt.subplots(figsize=(3.6, 3.2))
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
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(stay)")
    ax.legend(frameon=False, title="previous transition")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
