"""Figures of the paper, drawn from the tables of the analysis functions (no analysis inside)."""

from __future__ import annotations

# no matplotlib.use(...): a library must not override the backend its user chose (in a notebook that silenced the
# inline figures); on a machine without a display matplotlib falls back to Agg by itself
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = [
    "plot_choice_regression",
    "plot_cumulative_regret",
    "plot_decoding",
    "plot_frames",
    "plot_harlow_episode",
    "plot_harlow_performance",
    "plot_lagged_regression",
    "plot_latent_switch",
    "plot_learning_rates",
    "plot_matching",
    "plot_population_pca",
    "plot_regret_matrix",
    "plot_reversal_rpe",
    "plot_risky_choice",
    "plot_rpe_regression",
    "plot_seed_curves",
    "plot_seed_values",
    "plot_stay_probability",
    "plot_unit_tuning",
]


def _axes(ax, size):
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _finish(fig, ax, title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
            legend: int | None = None):
    """The end every figure shares: axis labels, a frameless legend of font size ``legend``, the title; the figure."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if legend is not None:
        ax.legend(frameon=False, fontsize=legend)
    if title:
        ax.set_title(title)
    return fig


def _require(table: pd.DataFrame, cols, what: str) -> None:
    missing = sorted(set(cols) - set(table.columns))
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}")


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

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import stay_probability
    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=2, n_trials=200, seed=0)
    >>> fig = plot_stay_probability(stay_probability(trials), title="simulated hybrid learners")
    >>> fig.axes[0].get_ylabel()
    'P(stay)'
    >>> plt.close(fig)
    """
    _require(table, ("rewarded", "transition", "p_stay"), "table")
    fig, ax = _axes(ax, (3.6, 3.6))
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
    return _finish(fig, ax, title)


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

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import stay_regression
    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=2, n_trials=200, seed=0)
    >>> fig = plot_lagged_regression(stay_regression(trials, lags=3).coefficients)
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    t = coefficients[(coefficients["subject"] == subject) & (coefficients["lag"] > 0)]
    t = t[t["term"].str.match(r"^(CR|CU|RR|RU)_\d+$")]
    if t.empty:
        raise ValueError(f"no lagged coefficients (CR_1, ...) for subject {subject!r}")
    fig, ax = _axes(ax, (3.8, 3.6))
    styles = {"CR": ("#1f77b4", "-"), "CU": ("#1f77b4", "--"), "RR": ("#d62728", "-"), "RU": ("#d62728", "--")}
    labels = {"CR": "common, rewarded", "CU": "common, unrewarded", "RR": "rare, rewarded", "RU": "rare, unrewarded"}
    for kind, (color, ls) in styles.items():
        rows = t[t["term"].str.startswith(kind + "_")].sort_values("lag")
        ax.errorbar(rows["lag"], rows["coef"], yerr=rows["se"], color=color, ls=ls, marker="o", ms=3, capsize=2,
                    label=labels[kind])
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("trials back")
    ax.set_ylabel("regression weight (log odds)")
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
              handlelength=4)  # long enough samples to show the dashes of the rare-transition lines
    return _finish(fig, ax, title)



def plot_decoding(table: pd.DataFrame, ax=None, title: str | None = None):
    """Decoding score per target with its permutation chance band (output of :func:`decode_hidden`).

    Each target's cross-validated score (mean ± SD over folds) is drawn as a dot, over a grey band from
    the 2.5th to the 97.5th percentile of the label-permutation scores; balanced accuracy and R² share one
    axis (both are 1 at perfect decoding).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`metarl_neuro.analysis.decode_hidden` output.
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
        If ``table`` lacks a column of the decoding table.

    Examples
    --------
    A table as :func:`decode_hidden` returns it:

    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> table = pd.DataFrame({"target": ["prev_reward", "value"], "metric": ["balanced_accuracy", "r2"],
    ...                       "mean": [0.97, 0.81], "sd": [0.01, 0.02], "chance": [0.5, 0.0],
    ...                       "chance_lo": [0.48, -0.01], "chance_hi": [0.52, 0.01], "p_value": [0.01, 0.01],
    ...                       "n_trials": [3000, 3000]})
    >>> fig = plot_decoding(table)
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    _require(table, ("target", "metric", "mean", "sd", "chance_lo", "chance_hi"), "decoding table")
    fig, ax = _axes(ax, (6.4, 3.6))
    y = np.arange(len(table))
    for i, row in enumerate(table.itertuples()):
        ax.fill_betweenx([i - 0.35, i + 0.35], row.chance_lo, row.chance_hi, color="0.85", lw=0,
                         label="chance (95% of permutations)" if i == 0 else None)
    ax.errorbar(table["mean"], y, xerr=table["sd"], fmt="o", color="k", ms=4, capsize=2, label="decoded (mean ± SD)")
    ax.set_yticks(y, [f"{t} ({'R²' if m == 'r2' else 'bal. acc.'})" for t, m in zip(table["target"], table["metric"])],
                  fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(min(-0.05, float(table["chance_lo"].min()) - 0.05), 1.02)
    ax.set_xlabel("cross-validated score")
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    return _finish(fig, ax, title)


def plot_unit_tuning(units: pd.DataFrame, ax=None, title: str | None = None, bins: int = 20):
    """Histograms of the units' partial correlations per variable (Wang et al. 2018 Fig. 2e).

    Parameters
    ----------
    units : pandas.DataFrame
        ``UnitTuning.units`` of :func:`metarl_neuro.analysis.unit_tuning`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    title : str, optional
        Axes title.
    bins : int
        Histogram bins on [-1, 1].

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``units`` lacks ``variable``, ``partial_r`` or ``significant``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    A table as ``unit_tuning(...).units`` returns it (48 units, two variables):

    >>> import matplotlib.pyplot as plt
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> units = pd.DataFrame({"unit": np.repeat(np.arange(48), 2), "variable": ["prev_reward", "value"] * 48,
    ...                       "partial_r": rng.uniform(-0.6, 0.6, 96), "p": rng.uniform(0, 1, 96)})
    >>> units["significant"] = units["p"] < 0.05
    >>> fig = plot_unit_tuning(units)
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    _require(units, ("variable", "partial_r", "significant"), "unit table")
    fig, ax = _axes(ax, (4.0, 3.4))
    edges = np.linspace(-1, 1, bins + 1)
    for v, rows in units.groupby("variable", sort=False):
        frac = rows["significant"].mean()
        ax.hist(rows["partial_r"], bins=edges, histtype="step", lw=1.5, label=f"{v} ({frac:.0%} significant)")
    ax.set_xlabel("partial correlation with activity")
    ax.set_ylabel("units")
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1)
    return _finish(fig, ax, title)


def plot_rpe_regression(result, ax=None, title: str | None = None, max_points: int = 5000, seed: int = 0):
    """Agent RPE against model-based and model-free RPEs, with the fitted lines (Wang et al. 2018 Fig. 5f).

    Parameters
    ----------
    result : RPERegression
        Output of :func:`metarl_neuro.analysis.rpe_regression`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    title : str, optional
        Axes title.
    max_points : int
        At most this many trials are drawn (a random subset); the lines and r² use all trials.
    seed : int
        Seed of the subset.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the result's tables lack their columns.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    An untrained network's TD error at the second-stage state (10 episodes in the paper's trial structure),
    against a hybrid learner's errors with given parameters:

    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.analysis import rpe_regression
    >>> from metarl_neuro.experiments.two_step import two_step_trials
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> _ = torch.manual_seed(0)
    >>> task = TwoStepTask(10, structure="paper", seed=0)
    >>> record = run_frozen(A2CLSTM(task.obs_dim, task.n_actions), task, torch.Generator().manual_seed(0))
    >>> fit = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.5, "p": 0.0}
    >>> result = rpe_regression(two_step_trials(record, "untrained"), activations_dataset(record, 0.9, {}), fit=fit)
    >>> fig = plot_rpe_regression(result)
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    data, table = result.trials, result.table
    _require(data, ("agent_rpe", "rpe_mb", "rpe_mf"), "RPE trials")
    _require(table, ("regressors", "r2", "slope_mb", "slope_mf", "intercept"), "RPE table")
    fig, ax = _axes(ax, (3.8, 3.6))
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data), size=min(max_points, len(data)), replace=False)
    sub = data.iloc[idx]
    rows = table.set_index("regressors")
    for col, name, color in (("rpe_mf", "model-free", "#d62728"), ("rpe_mb", "model-based", "#1f77b4")):
        r = rows.loc[name]
        slope = r["slope_mb"] if col == "rpe_mb" else r["slope_mf"]
        ax.scatter(sub[col], sub["agent_rpe"], s=4, alpha=0.25, color=color, lw=0)
        x = np.linspace(data[col].min(), data[col].max(), 2)
        ax.plot(x, r["intercept"] + slope * x, color=color, lw=1.5, label=f"{name} RPE, r² = {r['r2']:.2f}")
    ax.set_xlabel("learner's RPE at second-stage state")
    ax.set_ylabel("agent's RPE (TD error)")
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1)
    return _finish(fig, ax, title)


def plot_population_pca(pca, color: str = "prev_reward", ax=None, title: str | None = None, max_points: int = 5000,
                        seed: int = 0):
    """Scatter of the first two principal components of ``h``, coloured by a trial variable (Wang 2018 Fig. 1e-f).

    Parameters
    ----------
    pca : xarray.Dataset
        Output of :func:`metarl_neuro.analysis.population_pca` (at least 2 components).
    color : str
        A per-sample coordinate of ``pca`` (e.g. ``prev_reward``, ``better_state``, ``value``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    title : str, optional
        Axes title.
    max_points : int
        At most this many samples are drawn (a random subset).
    seed : int
        Seed of the subset.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``color`` is not a per-sample coordinate or fewer than 2 components were kept.

    Examples
    --------
    An untrained network's state at trial start, coloured by the last reward:

    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import population_pca
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import TwoStepTask
    >>> task = TwoStepTask(batch_size=10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> fig = plot_population_pca(population_pca(ds), color="prev_reward")
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    if "scores" not in pca or pca.sizes.get("component", 0) < 2:
        raise ValueError("need a population_pca Dataset with at least 2 components")
    if color not in pca.coords or pca[color].dims != ("sample",):
        known = sorted(k for k in pca.coords if pca[k].dims == ("sample",))
        raise ValueError(f"color {color!r} is not a per-sample coordinate; choose from {known}")
    fig, ax = _axes(ax, (3.8, 3.6))
    n = pca.sizes["sample"]
    idx = np.sort(np.random.default_rng(seed).choice(n, size=min(max_points, n), replace=False))
    scores = pca["scores"].values[idx]
    c = pca[color].values[idx]
    evr = pca["explained_variance_ratio"].values
    values = np.unique(c)
    if len(values) <= 10:
        for v in values:
            m = c == v
            ax.scatter(scores[m, 0], scores[m, 1], s=4, alpha=0.4, lw=0, label=f"{color} = {v}")
        ax.legend(frameon=False, fontsize=7, markerscale=3, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    else:
        sc = ax.scatter(scores[:, 0], scores[:, 1], s=4, alpha=0.5, lw=0, c=c, cmap="viridis")
        fig.colorbar(sc, ax=ax, label=color)
    return _finish(fig, ax, title, xlabel=f"PC 1 ({evr[0]:.0%} of variance)", ylabel=f"PC 2 ({evr[1]:.0%} of variance)")


def plot_cumulative_regret(table: pd.DataFrame, ax=None, title: str | None = None):
    """Cumulative expected regret by trial, one line per policy with its CI band (Wang et al. 2016, Fig. 2).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`metarl_neuro.analysis.cumulative_regret` output grouped by ``policy``.
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
        If ``table`` lacks ``policy``, ``trials``, ``mean``, ``ci_lo`` or ``ci_hi``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Tirumala, D., Soyer, H., Leibo, J. Z., Munos, R., Blundell, C., Kumaran, D. &
    Botvinick, M. (2016). Learning to reinforcement learn. arXiv:1611.05763.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import cumulative_regret
    >>> df = pd.DataFrame({"policy": "greedy", "episode": [0, 0, 0, 1, 1, 1], "trial": [0, 1, 2] * 2,
    ...                    "regret": [0.3, 0.0, 0.0, 0.5, 0.5, 0.0],
    ...                    "optimal": [False, True, True, False, False, True]})
    >>> fig = plot_cumulative_regret(cumulative_regret(df))
    >>> fig.axes[0].get_xlabel()
    'trial'
    >>> plt.close(fig)
    """
    _require(table, ("policy", "trials", "mean", "ci_lo", "ci_hi"), "regret table")
    fig, ax = _axes(ax, (4.2, 3.6))
    for policy, rows in table.groupby("policy", sort=False):
        line, = ax.plot(rows["trials"], rows["mean"], lw=1.8 if policy == "meta-rl" else 1.2, label=policy)
        ax.fill_between(rows["trials"], rows["ci_lo"], rows["ci_hi"], color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("trial")
    ax.set_ylabel("cumulative expected regret")
    ax.set_xlim(1, float(table["trials"].max()))
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    return _finish(fig, ax, title)


def plot_regret_matrix(matrix: pd.DataFrame, ax=None, title: str | None = None):
    """Heat map of final cumulative regret, training variant x test variant (Wang et al. 2016, Fig. 2f).

    Parameters
    ----------
    matrix : pandas.DataFrame
        Rows: training variants; columns: test variants; values: mean cumulative regret at the last trial.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Tirumala, D., Soyer, H., Leibo, J. Z., Munos, R., Blundell, C., Kumaran, D. &
    Botvinick, M. (2016). Learning to reinforcement learn. arXiv:1611.05763.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> matrix = pd.DataFrame([[2.1, 3.0], [2.6, 1.9]], index=["easy", "hard"], columns=["easy", "hard"])
    >>> fig = plot_regret_matrix(matrix, title="train (rows) x test (columns)")
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    fig, ax = _axes(ax, (4.4, 3.8))
    im = ax.imshow(matrix.to_numpy(float), cmap="viridis")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{matrix.iat[i, j]:.1f}", ha="center", va="center", fontsize=7, color="w")
    ax.set_xlabel("test variant")
    ax.set_ylabel("training variant")
    fig.colorbar(im, ax=ax, label="cumulative regret at the last trial")
    return _finish(fig, ax, title)


def plot_harlow_performance(table: pd.DataFrame, ax=None, title: str | None = None):
    """Percent correct by trial number, one line per training stage with 95% CIs (Wang et al. 2018, Fig. 6c).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`metarl_neuro.analysis.harlow_performance` output.
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
        If ``table`` lacks ``trial_number``, ``pct_correct``, ``ci_lo`` or ``ci_hi``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import harlow_performance
    >>> df = pd.DataFrame({"episode": [0, 0, 0, 1, 1, 1], "trial": [0, 1, 2] * 2, "correct": [1, 1, 1, 0, 1, 1]})
    >>> fig = plot_harlow_performance(harlow_performance(df, by=None))
    >>> fig.axes[0].get_xlabel()
    'trial within episode'
    >>> plt.close(fig)
    """
    _require(table, ("trial_number", "pct_correct", "ci_lo", "ci_hi"), "Harlow table")
    fig, ax = _axes(ax, (4.2, 3.6))
    groups = table.groupby("training_episodes", sort=True) if "training_episodes" in table else [(None, table)]
    cmap = plt.get_cmap("viridis")
    groups = list(groups)
    for i, (stage, rows) in enumerate(groups):
        color = cmap(i / max(len(groups) - 1, 1))
        ax.errorbar(rows["trial_number"], rows["pct_correct"],
                    yerr=[(rows["pct_correct"] - rows["ci_lo"]).clip(lower=0),  # Wilson bounds meet the estimate
                          (rows["ci_hi"] - rows["pct_correct"]).clip(lower=0)],  # at 0 / 100% up to rounding
                    color=color, marker="o", ms=3, capsize=2, label=f"{stage:,} episodes" if stage is not None else None)
    ax.axhline(50, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("trial within episode")
    ax.set_ylabel("% correct")
    ax.set_ylim(0, 100)
    ax.set_xticks(sorted(table["trial_number"].unique()))
    if groups[0][0] is not None:
        ax.legend(frameon=False, fontsize=7, title="training", title_fontsize=7, loc="lower right")
    return _finish(fig, ax, title)


def plot_harlow_episode(observations: np.ndarray, rewards: np.ndarray, code_size: int, title: str | None = None):
    """One 1-D Harlow episode as the agent saw it: a PNG strip, one row per step, one column per window cell.

    The fixation marker is drawn red; an object cell gets a colour computed from its binary code (the same
    object, the same colour); empty cells are white. The reward of each step is written at the right.

    Parameters
    ----------
    observations : numpy.ndarray
        ``(steps, window * (1 + code_size))`` float, the agent's observations.
    rewards : numpy.ndarray
        ``(steps,)`` rewards paid for each step's action.
    code_size : int
        Bits of an object's code.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the observation width is not a multiple of ``1 + code_size``.

    Examples
    --------
    Seven gaze steps of a 1-D Harlow episode:

    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import torch
    >>> from metarl_neuro.tasks import HarlowTask
    >>> task = HarlowTask(1, seed=0)
    >>> observations, rewards = [task.reset()[0].numpy()], []
    >>> for action in [0, 0, 0, 1, 1, 1, 1]:
    ...     obs, reward, done, log = task.step(torch.tensor([action]))
    ...     observations.append(obs[0].numpy())
    ...     rewards.append(float(reward[0]))
    >>> fig = plot_harlow_episode(np.stack(observations[:-1]), np.array(rewards), code_size=task.code_size)
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    obs = np.asarray(observations, dtype=float)
    if obs.ndim != 2 or obs.shape[1] % (1 + code_size):
        raise ValueError(f"observations must be (steps, window * {1 + code_size}), got {obs.shape}")
    steps, window = obs.shape[0], obs.shape[1] // (1 + code_size)
    cells = obs.reshape(steps, window, 1 + code_size)
    weights = np.random.default_rng(0).random((code_size, 3))  # a fixed code -> colour map
    colour = np.clip((cells[..., 1:] @ weights) / max(code_size / 4, 1), 0, 1) * 0.8 + 0.1
    img = np.ones((steps, window, 3))
    has_object = cells[..., 1:].any(-1)
    img[has_object] = colour[has_object]
    img[cells[..., 0] > 0] = (0.85, 0.1, 0.1)
    fig, ax = plt.subplots(figsize=(3.2, max(2.5, 0.12 * steps)), layout="constrained")
    ax.imshow(img, aspect="auto", interpolation="nearest")
    ax.axvline(window // 2 - 0.5, color="0.3", lw=0.6)
    ax.axvline(window // 2 + 0.5, color="0.3", lw=0.6)
    for t, r in enumerate(np.asarray(rewards, dtype=float)):
        if r:
            ax.text(window - 0.3, t, f"{r:+g}", va="center", fontsize=6)
    ax.set_xticks(range(window), [str(k - window // 2) for k in range(window)], fontsize=7)
    ax.set_xlabel("cell relative to gaze")
    ax.set_ylabel("step")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_frames(frames: np.ndarray, rewards: np.ndarray, every: int | None = None, title: str | None = None):
    """A PNG strip of an episode's RGB frames as the agent saw them, with the rewards paid.

    Parameters
    ----------
    frames : numpy.ndarray
        ``(steps, 3, H, W)`` float in [0, 1].
    rewards : numpy.ndarray
        ``(steps,)`` reward paid for each step's action.
    every : int, optional
        Draw every ``every``-th frame (default: at most 24 frames), plus every frame whose action was paid.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``frames`` is not ``(steps, 3, H, W)``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> frames, rewards = np.random.default_rng(0).random((6, 3, 84, 84)), np.array([0, 0, 1, 0, 0, 5.0])
    >>> fig = plot_frames(frames, rewards, title="six random frames")
    >>> len(fig.axes)
    8
    >>> plt.close(fig)
    """
    frames = np.asarray(frames, dtype=float)
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be (steps, 3, H, W), got {frames.shape}")
    rewards = np.asarray(rewards, dtype=float)
    every = every or max(1, int(np.ceil(len(frames) / 24)))
    keep = sorted(set(range(0, len(frames), every)) | set(np.nonzero(rewards)[0].tolist()))[:48]
    cols = 8
    rows = int(np.ceil(len(keep) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), layout="constrained", squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, t in zip(axes.ravel(), keep):
        ax.imshow(np.clip(frames[t].transpose(1, 2, 0), 0, 1), interpolation="nearest")
        ax.set_title(f"t={t}" + (f" {rewards[t]:+g}" if rewards[t] else ""), fontsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_matching(fit, ax=None, title: str | None = None):
    """Log₂ choice ratio against log₂ reward ratio per episode, with the fitted line (Wang et al. 2018, Fig. 2d).

    Parameters
    ----------
    fit : MatchingFit
        :func:`metarl_neuro.analysis.matching_law` output.
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
        If ``fit.episodes`` lacks the log-ratio columns.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import matching_law
    >>> import numpy as np, pandas as pd
    >>> rng, rows = np.random.default_rng(0), []
    >>> for episode in range(60):  # a soft win-stay lose-shift chooser on a 0.6 / 0.2 bandit
    ...     p, c = ([0.2, 0.6] if episode % 2 else [0.6, 0.2]), 0
    ...     for trial in range(80):
    ...         r = float(rng.random() < p[c])
    ...         rows.append((episode, trial, c, r))
    ...         c = c if rng.random() < (0.8 if r else 0.4) else 1 - c
    >>> df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward"])
    >>> fig = plot_matching(matching_law(df))
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    ep = fit.episodes
    _require(ep, ("log2_reward_ratio", "log2_choice_ratio"), "matching table")
    fig, ax = _axes(ax, (3.8, 3.6))
    ax.scatter(ep["log2_reward_ratio"], ep["log2_choice_ratio"], s=8, alpha=0.5, color="tab:blue", lw=0)
    x = np.linspace(ep["log2_reward_ratio"].min(), ep["log2_reward_ratio"].max(), 2)
    ax.plot(x, fit.intercept + fit.slope * x, color="k", label=f"slope {fit.slope:.2f}")
    ax.plot(x, x, color="0.6", ls="--", lw=0.8, label="strict matching")
    return _finish(fig, ax, title, xlabel="log2 (rewards right / left)", ylabel="log2 (choices right / left)", legend=8)


def plot_choice_regression(coefficients: pd.DataFrame, ax=None, title: str | None = None):
    """Lagged choice-regression coefficients of past rewards and past choices (Wang et al. 2018, Fig. 2f).

    Parameters
    ----------
    coefficients : pandas.DataFrame
        :func:`metarl_neuro.analysis.lagged_choice_regression` output.
    ax, title
        As :func:`plot_matching`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``coefficients`` lacks ``regressor``, ``lag``, ``coef``, ``ci_lo`` or ``ci_hi``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import lagged_choice_regression
    >>> import numpy as np, pandas as pd
    >>> rng, rows = np.random.default_rng(0), []
    >>> for episode in range(60):  # a soft win-stay lose-shift chooser on a 0.6 / 0.2 bandit
    ...     p, c = ([0.2, 0.6] if episode % 2 else [0.6, 0.2]), 0
    ...     for trial in range(80):
    ...         r = float(rng.random() < p[c])
    ...         rows.append((episode, trial, c, r))
    ...         c = c if rng.random() < (0.8 if r else 0.4) else 1 - c
    >>> df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward"])
    >>> fig = plot_choice_regression(lagged_choice_regression(df, lags=5))
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    _require(coefficients, ("regressor", "lag", "coef", "ci_lo", "ci_hi"), "choice regression table")
    fig, ax = _axes(ax, (4.4, 3.4))
    for reg, color in (("reward", "tab:green"), ("choice", "tab:purple")):
        r = coefficients[coefficients["regressor"] == reg].sort_values("lag")
        ax.errorbar(r["lag"], r["coef"], yerr=[r["coef"] - r["ci_lo"], r["ci_hi"] - r["coef"]], color=color,
                    marker="o", ms=3, capsize=2, label=f"past {reg}s")
    ax.axhline(0, color="0.6", lw=0.8)
    return _finish(fig, ax, title, xlabel="trials back", ylabel="regression coefficient", legend=8)


def plot_learning_rates(table: pd.DataFrame, ax=None, title: str | None = None):
    """Fitted Rescorla-Wagner learning rate per stable / volatile block (Wang et al. 2018, Fig. 3d).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`metarl_neuro.analysis.volatility_learning_rates` output (or rows of several seeds: the bars
        are then means with SEM).
    ax, title
        As :func:`plot_matching`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``table`` lacks ``block_label``, ``volatile`` or ``alpha``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import volatility_learning_rates
    >>> import numpy as np, pandas as pd
    >>> rng, rows = np.random.default_rng(0), []
    >>> for episode in range(40):  # a Rescorla-Wagner chooser, learning rate 0.2 in stable and 0.5 in volatile blocks
    ...     q, volatile = np.zeros(2), episode % 2 == 1
    ...     for trial in range(100):
    ...         p = 1 / (1 + np.exp(-5 * (q[1] - q[0])))
    ...         c = int(rng.random() < p)
    ...         good = (trial // (20 if volatile else 100)) % 2
    ...         r = float(rng.random() < (0.8 if c == good else 0.2))
    ...         q[c] += (0.5 if volatile else 0.2) * (r - q[c])
    ...         rows.append((episode, trial, c, r, volatile, int(volatile)))
    >>> df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward", "volatile", "block"])
    >>> fig = plot_learning_rates(volatility_learning_rates(df))
    >>> fig.axes[0].get_ylabel()
    'fitted learning rate alpha'
    >>> plt.close(fig)
    """
    _require(table, ("block_label", "volatile", "alpha"), "learning-rate table")
    fig, ax = _axes(ax, (3.8, 3.4))
    order = [b for b in ("Stable 1", "Volatile 1", "Volatile 2", "Stable 2") if b in set(table["block_label"])]
    g = table.groupby("block_label")["alpha"]
    mean, sem = g.mean().reindex(order), g.sem().reindex(order).fillna(0.0)
    colors = ["tab:orange" if b.startswith("Volatile") else "tab:blue" for b in order]
    ax.bar(range(len(order)), mean, yerr=sem, color=colors, capsize=3)
    ax.set_xticks(range(len(order)), order, fontsize=8)
    return _finish(fig, ax, title, ylabel="fitted learning rate alpha")


def plot_reversal_rpe(table: pd.DataFrame, ax=None, title: str | None = None):
    """RPE at target onset on the trials after a reversal, experienced vs inferred targets (Wang 2018, Fig. 4b).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`metarl_neuro.analysis.reversal_rpe` output.
    ax, title
        As :func:`plot_matching`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``table`` lacks ``since_reversal``, ``target_rewarded``, ``experienced``, ``mean_rpe`` or ``sem``.

    Examples
    --------
    An untrained network (the control of a trained one) on 10 episodes of the reversal task:

    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import reversal_rpe
    >>> import torch
    >>> from metarl_neuro.agents import A2CLSTM, run_frozen
    >>> from metarl_neuro.logs import activations_dataset
    >>> from metarl_neuro.tasks import BrombergMartinTask
    >>> _ = torch.manual_seed(0)
    >>> task = BrombergMartinTask(10, seed=0)
    >>> agent = A2CLSTM(task.obs_dim, task.n_actions)
    >>> ds = activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})
    >>> fig = plot_reversal_rpe(reversal_rpe(ds))
    >>> len(fig.axes) >= 1
    True
    >>> plt.close(fig)
    """
    _require(table, ("since_reversal", "target_rewarded", "experienced", "mean_rpe", "sem"), "reversal RPE table")
    fig, ax = _axes(ax, (4.4, 3.4))
    for (rew, exp), r in table.groupby(["target_rewarded", "experienced"]):
        r = r.sort_values("since_reversal")
        ax.errorbar(r["since_reversal"] + 1, r["mean_rpe"], yerr=r["sem"].fillna(0.0), marker="o", ms=4, capsize=2,
                    color="tab:red" if rew else "tab:blue", ls="-" if exp else "--",
                    label=f"{'now rewarded' if rew else 'now unrewarded'}, {'experienced' if exp else 'inferred'}")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xticks(sorted(table["since_reversal"].unique() + 1))
    return _finish(fig, ax, title, xlabel="trial after reversal", ylabel="RPE at target onset", legend=7)


def plot_latent_switch(result, ax=None, title: str | None = None):
    """The population state's path between the latent-state clusters around a reversal (Wang 2018, Fig. 4c).

    Parameters
    ----------
    result : LatentSwitch
        :func:`metarl_neuro.analysis.latent_state_switch` output: its ``trajectory`` (projection on the line
        between the old state's centroid, 0, and the new one's, 1) is drawn, median band and mean, with the
        median abruptness and the silhouette coefficient in the legend.
    ax, title
        As :func:`plot_matching`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the trajectory lacks ``since_reversal``, ``mean``, ``q25`` or ``q75``.

    Examples
    --------
    A switch as :func:`latent_state_switch` measures it on a trained network (Wang 2018 Fig. 4c), written out by
    hand: the state jumps between trials 0 and 1 after the reversal.

    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import LatentSwitch
    >>> trajectory = pd.DataFrame({"since_reversal": range(-1, 4), "mean": [0.02, 0.05, 0.93, 0.97, 0.98],
    ...                            "q25": [0.0, 0.01, 0.88, 0.94, 0.95], "q75": [0.05, 0.1, 0.99, 1.0, 1.0], "n": 40})
    >>> reversals = pd.DataFrame({"episode": [0], "trial": [12], "switch_trial": [1.0], "largest_step": [0.9],
    ...                           "total_shift": [0.95], "abruptness": [0.95]})
    >>> fig = plot_latent_switch(LatentSwitch(reversals, trajectory, silhouette=0.7, n_settled=900))
    >>> len(fig.axes)
    1
    >>> plt.close(fig)
    """
    traj = result.trajectory
    _require(traj, ("since_reversal", "mean", "q25", "q75"), "latent-switch trajectory")
    fig, ax = _axes(ax, (4.0, 3.2))
    ax.fill_between(traj["since_reversal"], traj["q25"], traj["q75"], color="tab:purple", alpha=0.25, lw=0,
                    label="25-75% of reversals")
    abrupt = float(result.reversals["abruptness"].median())
    ax.plot(traj["since_reversal"], traj["mean"], "o-", color="tab:purple", ms=4,
            label=f"mean (median abruptness {abrupt:.2f}; silhouette {result.silhouette:.2f})")
    for y, name in ((0, "old state"), (1, "new state")):
        ax.axhline(y, color="0.6", lw=0.8, ls="--")
        ax.annotate(name, (traj["since_reversal"].iloc[-1], y), fontsize=7, color="0.4", ha="right", va="bottom")
    ax.axvline(-0.5, color="0.8", lw=0.8)
    ax.set_xticks(traj["since_reversal"])
    return _finish(fig, ax, title, xlabel="trials since the reversal",
                   ylabel="position between the state clusters", legend=7)


def plot_risky_choice(table: pd.DataFrame, ax=None, title: str | None = None):
    """Risky-lever choices per manipulation and reward probability (Wang et al. 2018, Fig. 7; Stopper 2014).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`metarl_neuro.analysis.risky_choice` output with ``manipulation`` and ``p_risky``.
    ax, title
        As :func:`plot_matching`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``table`` lacks ``manipulation``, ``p_risky``, ``risky``, ``ci_lo`` or ``ci_hi``.

    References
    ----------
    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from metarl_neuro.analysis import risky_choice
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(s, m, e, t, int(rng.random() < {"none": 0.6, "block": 0.3, "stimulate": 0.8}[m]), 1)
    ...         for s in ("rat1", "rat2") for m in ("none", "block", "stimulate") for e in range(5) for t in range(20)]
    >>> df = pd.DataFrame(rows, columns=["subject", "manipulation", "episode", "trial", "choice", "risky_side"])
    >>> df["reward"], df["p_risky"] = 0.0, 0.5
    >>> fig = plot_risky_choice(risky_choice(df[df.subject == "rat1"]))
    >>> fig.axes[0].get_ylabel()
    '% risky choices'
    >>> plt.close(fig)
    """
    _require(table, ("manipulation", "p_risky", "risky", "ci_lo", "ci_hi"), "risky-choice table")
    fig, ax = _axes(ax, (4.4, 3.4))
    t = table.groupby(["manipulation", "p_risky"], sort=False)[["risky", "ci_lo", "ci_hi"]].mean().reset_index()
    manips = [m for m in ("none", "block", "stimulate") if m in set(t["manipulation"])]
    manips += sorted(set(t["manipulation"]) - set(manips))
    probs = sorted(t["p_risky"].unique(), reverse=True)
    width = 0.8 / len(manips)
    for i, m in enumerate(manips):
        r = t[t["manipulation"] == m].set_index("p_risky").reindex(probs)
        x = np.arange(len(probs)) + (i - (len(manips) - 1) / 2) * width
        yerr = np.clip([100 * (r["risky"] - r["ci_lo"]), 100 * (r["ci_hi"] - r["risky"])], 0, None)  # rounding
        ax.bar(x, 100 * r["risky"], width, yerr=yerr, capsize=2, label=m)
    ax.set_xticks(range(len(probs)), [f"p = {p:g}" for p in probs])
    ax.set_ylabel("% risky choices")
    ax.set_ylim(0, 100)
    return _finish(fig, ax, title, legend=8)


def plot_seed_values(summaries: pd.DataFrame, columns: dict, ylabel: str, title: str | None = None, ylim=None,
                     chance: float | None = None, ax=None):
    """One bar per metric: the mean over seeds with its 95% t interval, and each seed's value as a dot.

    Parameters
    ----------
    summaries : pandas.DataFrame
        One row per seed (``seed`` column) with the metrics' columns (an experiment's per-seed summaries).
    columns : dict
        Column -> its label on the x axis, in the order drawn; columns absent from ``summaries`` are skipped.
    ylabel, title : str
        Axis label and title.
    ylim : tuple, optional
        y limits (``None`` for either end: automatic).
    chance : float, optional
        Draws a dashed reference line there (chance, or zero).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If none of ``columns`` is in ``summaries``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> summaries = pd.DataFrame({"seed": [0, 1, 2], "correct_1": [49.0, 51.5, 50.2],
    ...                           "correct_2_6": [97.1, 95.0, 96.3]})
    >>> fig = plot_seed_values(summaries, {"correct_1": "trial 1", "correct_2_6": "trials 2-6"}, "% correct", chance=50)
    >>> fig.axes[0].get_ylabel()
    '% correct'
    >>> plt.close(fig)
    """
    from metarl_neuro.analysis.seeds import across_seeds

    cols = [c for c in columns if c in summaries.columns]
    if not cols:
        raise ValueError(f"summaries has none of the columns {list(columns)}")
    table = across_seeds(summaries, cols)
    fig, ax = _axes(ax, (1.2 + 0.9 * len(cols), 3.6))
    x = np.arange(len(cols))
    err = np.vstack([table["mean"] - table["ci_lo"], table["ci_hi"] - table["mean"]])
    ax.bar(x, table["mean"], color="0.75", edgecolor="0.3", yerr=np.nan_to_num(err), capsize=4)
    rng = np.random.default_rng(0)
    for i, values in enumerate(table["values"]):
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(values)), values, s=14, color="C0", zorder=3)
    if chance is not None:
        ax.axhline(chance, color="0.4", lw=0.8, ls="--")
    ax.set_xticks(x, [columns[c] for c in cols], fontsize=8)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    n = int(table["n"].max())
    ax.set_title(f"{title + ', ' if title else ''}{n} seed{'s' if n != 1 else ''} (mean, 95% CI)", fontsize=9)
    return fig


def plot_seed_curves(curve: pd.DataFrame, metric: str, x: str = "episodes", title: str | None = None, ax=None,
                     per_seed: pd.DataFrame | None = None):
    """A learning curve across seeds (:func:`~metarl_neuro.analysis.curve_across_seeds`): the mean with its 95%
    interval as a band, against the training stage ``x``; ``per_seed`` (the stacked evaluations with ``seed``,
    ``x`` and ``metric``) adds each seed's curve as a thin line and sets the y range to the seeds' values. Where the
    band runs past the axes it is clipped there and marked with a red triangle on that edge (legend: "band
    clipped at the axis").

    Parameters
    ----------
    curve : pandas.DataFrame
        :func:`~metarl_neuro.analysis.curve_across_seeds` output: ``x``, ``mean``, ``ci_lo``, ``ci_hi``.
    metric : str
        The metric drawn (the y-axis label).
    x : str
        The training stage column (default ``episodes``).
    title : str, optional
        Axes title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made if None.
    per_seed : pandas.DataFrame, optional
        The stacked evaluations (``seed``, ``x``, ``metric``): each seed's curve as a thin line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import curve_across_seeds
    >>> evaluations = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "episodes": [1000, 2000] * 3,
    ...                             "gap": [0.10, 0.31, 0.12, 0.30, 0.08, 0.33]})
    >>> fig = plot_seed_curves(curve_across_seeds(evaluations, "gap"), "gap", per_seed=evaluations)
    >>> fig.axes[0].get_xlabel()
    'training episodes'
    >>> plt.close(fig)
    """
    _require(curve, [x, "mean", "ci_lo", "ci_hi"], "curve")
    fig, ax = _axes(ax, (4.4, 3.2))
    if per_seed is not None:
        for _, g in per_seed.groupby("seed"):
            ax.plot(g[x], g[metric], color="0.6", lw=0.7)
    ax.plot(curve[x], curve["mean"], color="C0", marker="o", ms=3)
    ax.fill_between(curve[x], curve["ci_lo"], curve["ci_hi"], color="C0", alpha=0.25, lw=0)
    if per_seed is not None and per_seed[metric].notna().any():
        # with few seeds the t band is wide (t = 12.7 at n = 2): keep the seeds' own range in view
        lo, hi = per_seed[metric].min(), per_seed[metric].max()
        pad = 0.15 * (hi - lo) if hi > lo else 1.0
        ax.set_ylim(lo - pad, hi + pad)
    # a band that runs past the axes is clipped there, and marked: a triangle on the edge it crosses
    y0, y1 = ax.get_ylim()
    over, under = curve["ci_hi"] > y1, curve["ci_lo"] < y0
    for mask, y, marker in ((over, y1, "^"), (under, y0, "v")):
        if mask.any():
            ax.plot(curve.loc[mask, x], np.full(int(mask.sum()), y), ls="none", marker=marker, color="C3", ms=5,
                    clip_on=False, label="band clipped at the axis" if marker == "^" or not over.any() else None)
    if over.any() or under.any():
        ax.legend(fontsize=7, loc="best")
    ax.set_ylim(y0, y1)
    ax.set_xlabel(f"training {x}")
    ax.set_ylabel(metric)
    ax.set_title(f"{title + ': ' if title else ''}{metric} during training", fontsize=9)
    return fig
