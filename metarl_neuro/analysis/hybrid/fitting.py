"""Fits of the hybrid models to each subject: maximum likelihood or MAP, from as many starts as each needs.

:func:`fit_hybrid` is the public fit. :class:`FitProblem` (the per-subject objectives, evaluated for any rows
``(subject, parameters)`` in one batched pass, and solved by lockstep L-BFGS-B) and :class:`StartPool` (every
solved start) are the seams on which the hierarchical fits (:mod:`metarl_neuro.analysis.hierarchical`) build.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch

from metarl_neuro.analysis.hybrid._lbfgsb import minimize_lockstep
from metarl_neuro.analysis.hybrid.model import (
    TrialData,
    engine_of,
    n_choices,
    prepare_trials,
    sequence_nll,
    trial_values,
)
from metarl_neuro.analysis.hybrid.parameters import (
    MIN_TRIALS,
    check_options,
    check_priors,
    fitted_parameters,
    kind_of,
)
from metarl_neuro.schema import check_int

__all__ = ["FitProblem", "StartPool", "fit_hybrid", "multistart"]


def fit_hybrid(
    trials: pd.DataFrame,
    variant: str = "daw2011",
    method: str = "mle",
    n_starts: int = 10,
    model: str = "hybrid",
    transitions: str | None = None,
    common_prob: float = 0.7,
    likelihood: str = "both",
    start_trial: int = 0,
    priors: dict | str | None = None,
    seed: int = 0,
    maxiter: int = 500,
    fixed: dict | None = None,
    bounds: dict | str | None = None,
    start_values: str = "learn",
    starts: str = "adaptive",
    max_starts: int | None = None,
) -> pd.DataFrame:
    """Fit a hybrid model to each subject by maximum likelihood or MAP, from as many starts as each subject needs.

    Each (subject, start) is its own bounded problem solved by scipy's L-BFGS-B; the problems run in
    lockstep, so that each round evaluates the likelihood and its gradient (torch autograd) for all pending
    (subject, start) pairs in one vectorised pass over the trials.

    The two-step likelihoods have many local optima, several on the bounds where the likelihood is flat (a learning
    rate or lambda at 0 or 1, an inverse temperature near 0), and some with small basins: with 10 random starts,
    29 of 200 simulated subjects (200 trials) ended worse than a 300-start fit, by up to 5 nats. The default
    ``starts="adaptive"`` therefore runs, for every subject:

    1. ``n_starts`` random starts, starts at the corners of the unit-interval parameters, and starts from the
       *profile*: the objective on a grid of the learning rates and lambda (levels 0, 0.005, 0.03, 0.1, 0.25,
       0.5, 0.75, 0.9, 1 of their range; the level 0.005 reaches Kool et al. 2016's subject whose optimum lies at
       alpha 0.0045, missed by the coarser grid), each grid point with the other parameters at their optimum, which is unique
       because at fixed rates the logits are linear in ``beta*w``, ``beta*(1-w)``, ``beta*p`` (every variant);
       the 8 best of the grid's local minima seed full fits; then a second grid, through the best point found,
       seeds 8 more. These reach optima whose basins are too small for random starts
       (``benchmarks/fit_starts.py``'s subject sim102: under 1/300 of them);
    2. while Boender & Rinnooy Kan (1987)'s Bayesian estimate of the optima not yet found by the random starts
       (from ``W`` distinct optima in ``N`` starts: ``W (N - 1) / (N - W - 2) - W``) is at least 0.5, a
       further round that doubles its starts: the "edges" of its best point (each parameter in turn moved near
       either bound) and random ones (at least ``n_starts``), up to about ``max_starts`` (default 20: in
       practice only for the variants with few corners; step 1 already gives daw2011 and kool2016 fits 20 or
       more). On the benchmarks these rounds found no optimum that the finer profile did not (issue 26);
    3. exploratory starts stop after 150 iterations; each subject's 3 best distinct ends are then run to
       convergence at tight tolerances.

    Subjects with one clear optimum stop after the first round; rugged ones get more starts. Measured in
    ``benchmarks/fit_starts.py`` (docs/measurements.md gives the figures). ``starts="random"`` is the plain ``n_starts``
    random starts (faster, and the results of earlier versions).

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table, as :func:`hybrid_nll`.
    variant : str
        As :func:`hybrid_nll`.
    method : {"mle", "map"}
        Maximum likelihood, or maximum a posteriori with ``priors`` (default :func:`default_priors`).
    n_starts : int
        Random starts per subject and round (uniform within the bounds; inverse temperatures in [0, 10],
        stickiness in [-1, 1]).
    model, transitions, common_prob, likelihood, start_trial
        As :func:`hybrid_nll`.
    priors : dict or str, optional
        Parameter -> ``torch.distributions.Distribution`` (float64) for ``method="map"`` (a parameter absent
        has a flat prior), or a published preset of :data:`PRIOR_PRESETS`: ``"daw2011"`` (the default),
        ``"kool2016"``, ``"nussenbaum2020"``.
    seed : int
        Seed of the starting points.
    maxiter : int
        L-BFGS-B iteration limit per (subject, start).
    fixed : dict, optional
        Parameter -> value held fixed (not fitted), e.g. ``{"st": 0, "lam": 1}``: the restricted models of Kool
        et al. 2016 and Daw et al. 2011 (named in :data:`MODELS`). The fixed values appear in the result's
        columns and do not count in ``n_params``.
    bounds : dict or str, optional
        Parameter -> ``(lower, upper)``, or a published preset of :data:`BOUNDS_PRESETS` (``"kool2016"``:
        inverse temperature <= 20, stickiness +-20; ``"nussenbaum2020"``: their ``Fit.LB`` / ``Fit.UB``, rates in
        [1e-6, 1], inverse temperatures in [1e-6, 30], stickiness +-30); default :data:`VARIANTS`'. Where a
        prior's density is 0 at an end (Beta(1.1, 1.1) at a rate of 0), the search stays 1e-9 of the range
        inside it, so that the objective and its gradient are finite and right wherever they are evaluated.
    start_values
        As :func:`hybrid_nll`.
    starts : {"adaptive", "random"}
        The start strategy (above).
    max_starts : int, optional
        Most starts per subject with ``starts="adaptive"`` (>= ``n_starts``); default ``max(20, n_starts)``
        (``benchmarks/fit_starts.py``: with the profile's level 0.005, 20 left no subject short of 300 random
        starts on the simulated, hBayesDM and Kool et al. 2016 data; on Kool's, 50 none either, in 1.45x the time).

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject``, ``variant``, ``model``, the parameters, ``nll`` (negative
        log-likelihood at the estimate), ``objective`` (``nll`` or the negative log posterior), ``n_trials``
        (choices in the likelihood), ``n_params``, ``aic`` = 2k + 2 nll, ``bic`` = k ln(n) + 2 nll,
        ``pseudo_r2`` = 1 - nll / (n ln 2), ``at_bound`` (parameters within 1e-4 of a bound),
        ``converged`` (the best start's L-BFGS-B reported success; a subject whose fit did not converge is
        kept, with the optimiser's ``message``), ``n_converged_starts``, and the spread of the starts:
        ``n_starts`` (run for this subject), ``n_at_best`` (ending within 1e-3 nats of the best) and ``spread``
        (objective of the 5th-best start minus the best's, nats: 0 when the best starts agree).

    Raises
    ------
    ValueError
        As :func:`hybrid_nll`; for a subject with fewer than 10 valid trials, an unknown ``method``,
        ``n_starts < 1``, ``max_starts < n_starts``, an unknown ``starts``, an unknown preset, a ``fixed`` or ``bounds`` entry that names no free parameter of the
        model, a bound or fixed value outside the parameter's domain (:data:`PARAMETER_DOMAINS`), a fixed value
        outside its bounds, nothing left to fit, or ``priors`` that do not fit (:func:`check_priors`).

    References
    ----------
    Kool, W., Cushman, F. A. & Gershman, S. J. (2016). When does model-based control pay off? *PLoS Comput. Biol.*
    12, e1005090.

    Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based influences on humans'
    choices and striatal prediction errors. *Neuron* 69, 1204-1215.

    Examples
    --------
    Two simulated subjects (beta 5, w 0.8, p 0.1), the learning rates and lambda held at their true values
    (``fixed``; for speed), fitted by maximum likelihood:

    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=2, n_trials=200, seed=0)
    >>> fit = fit_hybrid(trials, fixed={"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5}, starts="random", n_starts=2)
    >>> print(fit[["subject", "beta1", "beta2", "w", "p", "n_trials"]].round(1).to_string(index=False))
    subject  beta1  beta2   w   p  n_trials
     sim000    5.2    5.1 0.7 0.1       400
     sim001    6.1    6.2 1.0 0.1       400
    """
    transitions = check_options(variant, model, transitions, likelihood)
    if method not in ("mle", "map"):
        raise ValueError(f"method must be 'mle' or 'map', got {method!r}")
    check_int(n_starts, "n_starts")
    if starts not in ("adaptive", "random"):
        raise ValueError(f"starts must be 'adaptive' or 'random', got {starts!r}")
    if max_starts is None:
        max_starts = max(_MAX_STARTS, n_starts)
    check_int(max_starts, "max_starts", n_starts, f" (at least n_starts = {n_starts})")
    names, fixed, bounds, box = fitted_parameters(variant, model, fixed, bounds)
    prior = check_priors(priors, method, variant, names, box)
    base = prepare_trials(trials, start_trial, variant == "kool2016", transitions, common_prob, MIN_TRIALS, start_values)
    K = len(names)
    lo, hi = bounds[:, 0], bounds[:, 1]
    problem = FitProblem(base, variant, model, likelihood, names, fixed, prior, bounds)
    rng = np.random.default_rng(seed)
    pool = multistart(problem, rng, n_starts, starts, max_starts, maxiter)
    n_lik = n_choices(base, likelihood)
    rows = []
    for s, subj in enumerate(base.subjects):
        b = pool.best(s)
        n, f, x = int(n_lik[s]), float(pool.nll[b]), pool.X[b]
        row = {"subject": subj, "variant": variant, "model": model}
        row.update({k: float(x[j]) for j, k in enumerate(names)})
        row.update(fixed)
        mine = pool.subject == s
        objs = np.sort(pool.obj[mine])
        row.update(
            nll=f,
            objective=float(pool.obj[b]),
            n_trials=n,
            n_params=K,
            aic=2 * K + 2 * f,
            bic=K * np.log(n) + 2 * f,
            pseudo_r2=1 - f / (n * np.log(2)),
            at_bound=",".join(k for j, k in enumerate(names) if min(x[j] - lo[j], hi[j] - x[j]) < 1e-4),
            converged=bool(pool.success[b]) and np.isfinite(f),
            n_converged_starts=int(pool.success[mine].sum()),
            n_starts=int(mine.sum()),
            n_at_best=int((objs <= objs[0] + _AGREE).sum()),
            spread=float(objs[min(4, len(objs) - 1)] - objs[0]),
            message=pool.message[b],
            fixed=",".join(f"{k}={v:g}" for k, v in fixed.items()),
        )
        rows.append(row)
    return pd.DataFrame(rows)


_AGREE = 1e-3  # nats: starts that end within this of a subject's best objective have found that optimum
_DISTINCT = 1e-3  # nats: objectives of two starts' ends further apart than this are distinct optima
_EXPLORE_ITER = 150  # L-BFGS-B iterations of an exploratory start; the best ones are then run to convergence
_N_SEEDS = 8  # starts per subject from the profile's grid
_POLISHED = 3  # each subject's best distinct ends run to convergence at tight tolerances
_MAX_STARTS = 20  # default most starts per subject of the adaptive strategy
#: the least learning rate the fits' objective uses (:meth:`FitProblem.params`)
_RATE_FLOOR = 1e-12

#: grid of the learning rates and lambda (fractions of their range)
_PROFILE_LEVELS = (0.0, 0.005, 0.03, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


@contextmanager
def one_torch_thread():
    """Run torch on one intra-op thread inside the block, and restore the count after (``torch.set_num_threads`` is
    process-wide). The fits' tensors are (rows x 2) per trial step, far too small for a second thread to pay: on the
    hBayesDM example's 11 subjects two threads took 49 s against 37 s for one while two other processes held the
    cores, and the same on an idle machine (15-17 s with 10 starts either way). In a Jupyter kernel beside busy
    processes each small op of two threads took 30-70x longer (docs/measurements.md, Test suite and CI)."""
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


class FitProblem:
    """The per-subject objectives of :func:`fit_hybrid` (NLL, or negative log posterior with ``prior``), evaluated
    in one batched pass for any rows ``(subject, parameters)``, and solved by lockstep L-BFGS-B."""

    def __init__(self, base: TrialData, variant, model, likelihood, names, fixed, prior, bounds: np.ndarray):
        self.base, self.variant, self.model, self.likelihood = base, variant, model, likelihood
        self.names, self.fixed, self.prior, self.bounds = names, fixed, prior, bounds
        self.S, self.K = len(base.subjects), len(names)
        # the bounds the optimiser searches: an end where the prior's density is 0 (Beta(1.1, 1.1) at a rate of 0,
        # a Gamma with shape > 1 at an inverse temperature of 0) moves in by 1e-9 of the range, so that every point
        # searched has a finite objective with its true gradient; the optimum is never that close to such an end
        self.search_bounds = bounds.astype(float).copy()
        if prior is not None:
            for i, k in enumerate(names):
                if k in prior:
                    ends = torch.tensor(bounds[i], dtype=torch.float64)
                    dead = ~torch.isfinite(prior[k].log_prob(ends)).numpy()
                    self.search_bounds[i] += np.where(dead, [1e-9, -1e-9], 0.0) * (bounds[i, 1] - bounds[i, 0])
        sub = base.seq_subject.numpy()
        self.order = np.argsort(sub, kind="stable")  # sequences grouped by subject
        self.count = np.bincount(sub, minlength=self.S)
        self.first = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        lo, hi = bounds[:, 0], bounds[:, 1]
        kinds = np.array([kind_of(k) for k in names])
        self.kinds = kinds
        stick = np.isin(kinds, ["stick", "pi"])
        # random starts: uniform within the bounds; inverse temperatures in [0, 10], stickiness in [-1, 1], where
        # those ranges meet the bounds (bounds p in [2, 3] once made an empty range: the whole bounds then)
        init_lo = np.where(stick, np.maximum(lo, -1.0), lo)
        init_hi = np.where(kinds == "beta", np.minimum(hi, 10.0), np.where(stick, np.minimum(hi, 1.0), hi))
        empty = init_lo >= init_hi
        self.init_lo, self.init_hi = np.where(empty, lo, init_lo), np.where(empty, hi, init_hi)

    def sequences(self, subj: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequences of rows ``subj`` ``(R,)``: their indices into the data and the row of each."""
        n = self.count[subj]
        pos = np.repeat(self.first[subj] - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(n.sum())
        return torch.from_numpy(self.order[pos]), torch.from_numpy(np.repeat(np.arange(len(subj)), n))

    def params(self, x: torch.Tensor, at: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-sequence parameters (free from ``x`` ``(R, K)``, rows ``at``; and the fixed ones)."""
        # a learning rate is used at no less than 1e-12 (straight through: its gradient is kept): at a rate of
        # exactly 0 every value stays tied, and the gradient of the max over tied second-stage values is not the
        # one-sided derivative (Kool et al. 2016's subjects 108 and 141 once stopped at alpha 0, 0.006 and 0.013 nats
        # worse than the published alpha 0.001-0.002); the objective moves by less than 1e-10 nats
        cols = [x[:, i] + (_RATE_FLOOR - x[:, i]).clamp(min=0).detach() if kind == "rate" else x[:, i]
                for i, kind in enumerate(self.kinds)]
        prm = {k: c[at] for k, c in zip(self.names, cols)}
        prm.update({k: torch.full((len(at),), v, dtype=torch.float64) for k, v in self.fixed.items()})
        return prm

    def log_prior(self, x: torch.Tensor) -> torch.Tensor:
        """Log prior density ``(R,)`` at ``x`` ``(R, K)`` (0 for ML fits and flat parameters)."""
        out = torch.zeros(len(x), dtype=torch.float64)
        if self.prior is not None:
            for i, k in enumerate(self.names):
                if k in self.prior:  # absent: flat. Where the density is 0 the objective is infinite (never searched)
                    out = out + self.prior[k].log_prob(x[:, i])
        return out

    def objective(self, subj: np.ndarray, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Objective and NLL ``(R,)`` of rows ``subj`` ``(R,)`` at ``x`` ``(R, K)`` float64."""
        seq, at = self.sequences(subj)
        per_seq = sequence_nll(self.variant, self.params(x, at), self.base.select(seq), self.model, self.likelihood)
        nll = torch.zeros(len(subj), dtype=torch.float64).index_add(0, at, per_seq)
        return nll - self.log_prior(x), nll

    @one_torch_thread()
    def profile(self, levels=None, centre: np.ndarray | None = None, first: tuple | None = None, chunk: int = 20000
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The objective profiled over a grid of the learning rates and lambda: at each grid point, the other
        parameters (inverse temperatures, w, stickiness) at their optimum.

        Given the learning rates and lambda, every trial's values are fixed and both stages' logits are linear in
        ``(beta*w, beta*(1-w), beta*p, ...)`` (every variant), so the negative log-likelihood is convex in those;
        the map from the box is one to one where beta > 0, so the box holds no local optimum but the global one,
        and one L-BFGS-B start per grid point finds it. The multimodal part of the search is left to the grid,
        in 0-3 dimensions. ``levels``: fractions of each rate's range (default ``_PROFILE_LEVELS``); ``centre``
        ``(S, K)``: a point per subject whose rates join the levels (a grid through it, ``L + 1`` levels per
        rate), with ``first`` (this method's result on ``levels`` alone) giving the points the two grids share;
        grid points are solved ``chunk`` (subject, point) rows at a time.

        Returns the grid ``(S, G, d)``, the profiled objective ``(S, G)`` and its points ``(S, G, K)``
        (float64); the grid is regular, ``G = L**d`` points in C order.
        """
        levels = np.asarray(_PROFILE_LEVELS if levels is None else levels, float)
        rate = np.flatnonzero(self.kinds == "rate")
        lo, hi = self.bounds[rate, 0], self.bounds[rate, 1]
        S, d, L = self.S, len(rate), len(levels)
        axes = lo[:, None] + levels[None] * (hi - lo)[:, None]  # (d, L); an end the search avoids: moved inside
        axes = np.tile(np.clip(axes, self.search_bounds[rate, :1], self.search_bounds[rate, 1:]), (S, 1, 1))
        todo = np.ones((S, L ** d), bool)
        if centre is not None:  # insert each subject's centre into each axis, at position ins (S, d)
            c = centre[:, rate]
            ins = (axes <= c[..., None]).sum(2)
            pos = np.arange(L + 1)
            axes = np.take_along_axis(axes, np.minimum(pos - (pos > ins[..., None]), L - 1), 2)
            axes[pos == ins[..., None]] = c.ravel()
            L += 1
        idx = np.array(list(itertools.product(range(L), repeat=d)), int).reshape(L ** d, d)  # (G, d)
        grid = axes[:, np.arange(d)[None, :], idx]  # (S, G, d)
        X = np.tile(np.where(self.kinds == "beta", 3.0, (self.init_lo + self.init_hi) / 2), (S, L ** d, 1))
        X[:, :, rate] = grid
        obj = np.empty((S, L ** d))
        if centre is not None:
            todo = (idx[None] == ins[:, None, :]).any(2)  # (S, G): points off the first grid
            if first is not None:  # the others are the first grid's
                old = np.minimum(idx[None] - (idx[None] > ins[:, None, :]), L - 2)  # (S, G, d); used off todo only
                at = np.ravel_multi_index(np.moveaxis(old, 2, 0), (L - 1,) * d)
                s_, g_ = np.nonzero(~todo)
                obj[s_, g_], X[s_, g_] = first[1][s_, at[s_, g_]], first[2][s_, at[s_, g_]]
            else:
                todo[:] = True
        s_all, g_all = np.nonzero(todo)
        for r0 in range(0, len(s_all), chunk):
            s_, g_ = s_all[r0:r0 + chunk], g_all[r0:r0 + chunk]
            obj[s_, g_], X[s_, g_] = self._profile_rows(s_, X[s_, g_])
        return grid, obj, X

    def _profile_rows(self, subj: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`profile` for rows ``subj`` ``(R,)`` at ``x0`` ``(R, K)``: the learning rates and lambda held,
        the others optimised from ``x0``; the optimum's objective ``(R,)`` and point ``(R, K)``."""
        other = np.flatnonzero(self.kinds != "rate")
        seq, at = self.sequences(subj)
        data = self.base.select(seq)
        with torch.no_grad():  # the values, and the logits' features as chosen minus unchosen option (N, T)
            q1_t, q2_t = trial_values(engine_of(self.variant, self.params(torch.from_numpy(x0), at), self.model), data)
            ps = data.p_same.unsqueeze(-1)
            v2 = q2_t.max(-1).values
            c1 = data.c1[..., None]
            diff = lambda f, c: (f.gather(-1, c) - f.gather(-1, 1 - c))[..., 0]
            d1 = [diff(ps * v2 + (1 - ps) * v2.flip(-1), c1), diff(q1_t, c1), diff(data.rep, c1),
                  diff(data.resp_rep, c1)]
            two = self.likelihood == "both" and data.n_options > 1
            d2 = diff((q2_t * data.state_mask[..., None]).sum(2), data.c2[..., None]) if two else None
        slot = torch.full((len(subj),), -1, dtype=torch.long)
        softplus = torch.nn.functional.softplus

        def evaluate(rows, Xo):
            rows_t = torch.from_numpy(rows)
            xo = torch.tensor(Xo, dtype=torch.float64, requires_grad=True)
            x = torch.from_numpy(x0[rows].copy())
            x[:, torch.from_numpy(other)] = xo
            keep = torch.isin(at, rows_t)  # these rows' sequences
            slot[rows_t] = torch.arange(len(rows))
            at_r = slot[at[keep]]
            e = engine_of(self.variant, self.params(x, at_r), self.model)
            z = sum(w[:, None] * d[keep] for w, d in zip((e.b_mb, e.b_mf, e.k_rep, e.k_resp), d1))
            per_seq = (data.counted[keep] * softplus(-z)).sum(1)  # -log sigmoid: binary choices
            if two:
                per_seq = per_seq + (data.counted[keep] * softplus(-e.beta2[:, None] * d2[keep])).sum(1)
            nll = torch.zeros(len(rows), dtype=torch.float64).index_add(0, at_r, per_seq)
            f = nll - self.log_prior(x)
            if f.requires_grad:
                f.sum().backward()
            return f.detach().numpy(), (xo.grad if xo.grad is not None else torch.zeros_like(xo)).numpy(), None

        x = x0.copy()
        if not other.size:  # nothing to optimise
            return evaluate(np.arange(len(subj)), np.zeros((len(subj), 0)))[0], x
        res = minimize_lockstep(evaluate, x0[:, other], self.search_bounds[other], _EXPLORE_ITER)
        x[:, other] = np.stack([r.x for r in res])
        return np.array([r.fun for r in res]), x

    def profile_seeds(self, n: int, grid: np.ndarray, obj: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Starts from a profile (:meth:`profile`'s ``grid, obj, X``): per subject, its ``n`` best grid points among
        the grid's local minima (no lower neighbour along any axis); the rows' subjects ``(R,)`` and points
        ``(R, K)``."""
        d = grid.shape[2]
        L = round(grid.shape[1] ** (1 / d)) if d else 1
        shape = (self.S,) + (L,) * d
        o = obj.reshape(shape)
        local = np.ones(shape, bool)
        for ax in range(1, d + 1):
            for step in (1, -1):
                nb = np.roll(o, step, axis=ax)
                edge = [slice(None)] * (d + 1)
                edge[ax] = 0 if step == 1 else L - 1
                nb[tuple(edge)] = np.inf
                local &= o <= nb
        local = local.reshape(self.S, -1)
        subj, pts = [], []
        for s in range(self.S):
            cand = np.flatnonzero(local[s])
            cand = cand[np.argsort(obj[s, cand], kind="stable")]
            # plateaus (lambda is void where alpha1 = 0, alpha1 where w = 1) give equal local minima: keep one
            cand = cand[np.concatenate([[True], np.diff(obj[s, cand]) > 1e-6])][:n]
            subj.append(np.full(len(cand), s))
            pts.append(X[s, cand])
        return np.concatenate(subj), np.concatenate(pts)

    @one_torch_thread()
    def solve(self, subj: np.ndarray, x0: np.ndarray, maxiter: int, objective=None, bounds=None, **tol) -> dict:
        """L-BFGS-B from each row of ``x0`` for subject ``subj``; the rows' ``X``, ``obj``, ``nll``,
        ``success`` and ``message``. ``objective(subj, x) -> (obj, nll)`` and ``bounds`` ``(K, 2)`` replace
        :meth:`objective` and the parameters' bounds (the hierarchical fit's transformed space)."""
        objective = objective or self.objective
        bounds = self.search_bounds if bounds is None else bounds

        def evaluate(rows, X):
            x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
            obj, nll = objective(subj[rows], x)
            obj.sum().backward()
            return obj.detach().numpy(), x.grad.numpy(), nll.detach().numpy()

        res = minimize_lockstep(evaluate, x0, bounds, maxiter, **tol)
        X = np.stack([r.x for r in res])
        with torch.no_grad():
            obj, nll = objective(subj, torch.from_numpy(X))
        obj = obj.numpy()
        return {"subject": subj, "X": X, "obj": np.where(np.isfinite(obj), obj, np.inf), "nll": nll.numpy(),
                "success": np.array([r.success for r in res]), "message": np.array([str(r.message) for r in res])}

    def random_starts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.init_lo, self.init_hi, size=(n, self.K))

    def corners(self, rng: np.random.Generator, limit: int = 16) -> np.ndarray:
        """Starts at the corners of the unit-interval parameters (learning rates, lambda, w at 0.05 / 0.95; at
        most ``limit`` of them, drawn at random beyond), the others mid-range: where the likelihood is flat
        (a learning rate or lambda near 0 or 1, w at 0 or 1) random starts rarely reach the optimum."""
        unit = np.flatnonzero(np.isin(self.kinds, ["rate", "w"]) & (self.bounds[:, 0] <= 0.05)
                              & (self.bounds[:, 1] >= 0.95))
        mid = np.where(self.kinds == "beta", 3.0, (self.init_lo + self.init_hi) / 2)
        if not unit.size:  # e.g. bounds={"alpha": (0.2, 0.4)}
            return mid[None]
        grid = np.array(np.meshgrid(*[[0.05, 0.95]] * len(unit), indexing="ij")).reshape(len(unit), -1).T
        if len(grid) > limit:
            grid = grid[rng.choice(len(grid), limit, replace=False)]
        out = np.tile(mid, (len(grid), 1))
        out[:, unit] = grid
        return out

    def edges(self, x: np.ndarray) -> np.ndarray:
        """From a point ``x`` ``(K,)``, one start per parameter and end of its range (``2K``): each parameter in
        turn moved near its lower or its upper bound, the others kept (e.g. beta1 high with beta2 near 0)."""
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        near_lo = lo + 0.03 * (hi - lo)
        near_hi = hi - 0.03 * (hi - lo)
        out = np.tile(x, (2 * self.K, 1))
        out[np.arange(self.K), np.arange(self.K)] = near_lo
        out[self.K + np.arange(self.K), np.arange(self.K)] = near_hi
        return out


class StartPool:
    """Every (subject, start) solved so far."""

    def __init__(self, S: int):
        self.S = S
        self.parts: list[dict] = []

    def add(self, part: dict, seeded=False) -> None:
        """Add solved rows; ``seeded`` (bool or ``(R,)``) marks starts from the profile, which the estimate of
        unseen optima leaves out (it assumes random starts)."""
        part = {**part, "seeded": np.broadcast_to(np.asarray(seeded, bool), part["obj"].shape).copy()}
        self.parts.append(part)
        for k in part:
            setattr(self, k, np.concatenate([p[k] for p in self.parts]))

    def best(self, s: int) -> int:
        mine = np.flatnonzero(self.subject == s)
        return int(mine[np.argmin(self.obj[mine])])

    def optima(self, s: int) -> int:
        """Distinct optima among subject ``s``'s starts not seeded from the profile: their objectives sorted and
        split at gaps > :data:`_DISTINCT`."""
        obj = np.sort(self.obj[(self.subject == s) & ~self.seeded])
        obj = obj[np.isfinite(obj)]
        return int(1 + (np.diff(obj) > _DISTINCT).sum()) if len(obj) else 0

    def unseen(self) -> np.ndarray:
        """Expected number of optima not yet found, per subject: Boender & Rinnooy Kan (1987)'s Bayesian estimate
        of the number of local optima, ``W (N - 1) / (N - W - 2)`` after ``N`` starts found ``W``, less ``W``."""
        N = np.bincount(self.subject[~self.seeded], minlength=self.S).astype(float)
        W = np.array([self.optima(s) for s in range(self.S)], dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(N - W - 2 > 0, W * (N - 1) / np.maximum(N - W - 2, 1e-12) - W, np.inf)

    def top(self, s: int, k: int) -> np.ndarray:
        """Indices of subject ``s``'s ``k`` best starts with distinct objectives (more than :data:`_DISTINCT`
        apart)."""
        mine = np.flatnonzero(self.subject == s)
        mine = mine[np.argsort(self.obj[mine], kind="stable")]
        keep = np.concatenate([[True], np.diff(self.obj[mine]) > _DISTINCT])
        return mine[keep][:k]


def multistart(problem: FitProblem, rng: np.random.Generator, n_starts: int, starts: str, max_starts: int,
                maxiter: int) -> StartPool:
    """Starts of :func:`fit_hybrid` (its docstring describes the strategies); every (subject, start) solved."""
    S = problem.S
    subj = np.tile(np.arange(S), n_starts)  # start-major, as the rows of the random draw
    x0 = problem.random_starts(rng, n_starts * S)
    pool = StartPool(S)
    if starts == "random":
        pool.add(problem.solve(subj, x0, maxiter))
        return pool
    explore = min(maxiter, _EXPLORE_ITER)
    C = problem.corners(rng)
    first = problem.profile()
    ps, px = problem.profile_seeds(_N_SEEDS, *first)
    pool.add(problem.solve(np.concatenate([subj, np.repeat(np.arange(S), len(C)), ps]),
                           np.concatenate([x0, np.tile(C, (S, 1)), px]), explore),
             seeded=np.repeat([False, True], [len(subj) + S * len(C), len(ps)]))
    # the profile again, on a grid through each subject's best point: optima the first grid's spacing hid (the
    # rates other than alpha2 matter less than a coarse alpha2 does, e.g. w < 1 only near the best alpha2)
    centre = np.stack([pool.X[pool.best(s)] for s in range(S)])
    ps, px = problem.profile_seeds(_N_SEEDS, *problem.profile(centre=centre, first=first))
    pool.add(problem.solve(ps, px, explore), seeded=True)
    while True:
        used = np.bincount(pool.subject, minlength=S)
        todo = np.flatnonzero((pool.unseen() >= 0.5) & (used < max_starts))
        if not todo.size:
            break
        # each round doubles a subject's starts (the edges of its best point, the rest random), so that few
        # rounds run one after the other
        n_new = np.maximum(np.minimum(used[todo], max_starts - used[todo]) - 2 * problem.K, n_starts)
        edges = np.concatenate([problem.edges(pool.X[pool.best(s)]) for s in todo])
        subj = np.concatenate([np.repeat(todo, n_new), np.repeat(todo, 2 * problem.K)])
        pool.add(problem.solve(subj, np.concatenate([problem.random_starts(rng, int(n_new.sum())), edges]), explore))
    # run each subject's best distinct ends to convergence at tight tolerances; keep the best
    top = np.concatenate([pool.top(s, _POLISHED) for s in range(S)])
    tight = problem.solve(pool.subject[top], pool.X[top], maxiter, factr=10.0, pgtol=1e-9)
    better = tight["obj"] < pool.obj[top]
    for k in ("X", "obj", "nll", "success", "message"):
        getattr(pool, k)[top[better]] = tight[k][better]
    return pool


