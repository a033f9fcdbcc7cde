"""Hierarchical (empirical-Bayes) fits of the two-step hybrid models: EM with Laplace approximations.

Huys et al. (2011)'s approach, as in their emfit toolbox: each subject's parameters, mapped to the real line
(``x = logit((theta - lower) / (upper - lower))``), are drawn from a group-level normal distribution
``x_i ~ N(mu, diag(sigma^2))`` whose mean and variances are estimated from the data by expectation-maximisation.

- E step: each subject's posterior mode ``m_i`` under the current group prior (batched L-BFGS-B over all
  subjects from the previous mode and from the group mean, the likelihood of
  :func:`metarl_neuro.analysis.hybrid_nll`) and the Laplace approximation of its
  posterior, ``N(m_i, H_i^-1)`` with ``H_i`` the Hessian of the negative log posterior at the mode (autograd).
- M step: ``mu = mean_i m_i``, ``sigma^2 = mean_i (m_i^2 + diag(H_i^-1)) - mu^2``.

Iterated until the (Laplace) log marginal likelihood changes by less than ``tol`` nats. The per-subject estimates are then shrunk
towards the group by as much as the data leave them uncertain, which is what improves parameter recovery for
short experiments over per-subject MAP with a fixed prior.

Model comparison: the integrated BIC (Huys et al. 2011), ``iBIC = -2 log p(D | mu, sigma) + 2K ln(n)`` with
``log p(D | mu, sigma) = sum_i log (1/N sum_k p(D_i | x_k))``, ``x_k ~ N(mu, sigma^2)`` (Monte Carlo, ``N``
samples shared by the subjects), ``2K`` group parameters and ``n`` choices in all; the per-subject terms are
log model evidences for :func:`metarl_neuro.analysis.group_model_selection`.

References
----------
Huys, Q. J. M. et al. (2011). Disentangling the roles of approach, activation and valence in instrumental and
Pavlovian responding. PLoS Comput. Biol. 7, e1002028 (Methods: EM, Laplace approximation, integrated BIC).
Daw, N. D. (2011). Trial-by-trial data analysis using computational models. In Decision Making, Affect, and
Learning: Attention and Performance XXIII (summary statistics vs hierarchical estimation).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy import special

from metarl_neuro.analysis.hybrid.fitting import FitProblem, StartPool
from metarl_neuro.analysis.hybrid.model import n_choices, prepare_trials
from metarl_neuro.analysis.hybrid.parameters import (
    MIN_TRIALS,
    check_options,
    fitted_parameters,
)
from metarl_neuro.schema import check_int

__all__ = ["HierarchicalFit", "fit_hierarchical"]

_X_BOUND = 12.0  # the transformed parameters' search box; sigmoid(12) = 1 - 6e-6


class HierarchicalFit(NamedTuple):
    """Result of :func:`fit_hierarchical`.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject: ``subject``, the parameters at the posterior mode (native units), ``nll`` there,
        ``n_trials`` (choices), ``log_evidence`` (``log p(D_i | mu, sigma)``, nats, Monte Carlo) and
        ``log_evidence_laplace`` (its Laplace approximation).
    group : pandas.DataFrame
        One row per fitted parameter: ``mean`` and ``sd`` of the group distribution in the transformed space,
        ``median`` (the mean mapped back: the group's median in native units) and ``lower`` / ``upper`` (its
        2.5% and 97.5% quantiles, native units).
    ibic : float
        Integrated BIC (lower is better).
    log_likelihood : float
        ``log p(D | mu, sigma)`` summed over subjects (Monte Carlo).
    n_iter : int
        EM iterations run.
    converged : bool
        Whether the log marginal likelihood changed by less than ``tol`` before ``max_iter``.
    history : pandas.DataFrame
        Per iteration: ``iteration``, ``log_marginal_laplace`` (nats), ``change`` (largest change of the group
        mean and SD).
    variant, model : str
    fixed : dict
    """

    subjects: pd.DataFrame
    group: pd.DataFrame
    ibic: float
    log_likelihood: float
    n_iter: int
    converged: bool
    history: pd.DataFrame
    variant: str
    model: str
    fixed: dict


def fit_hierarchical(
    trials: pd.DataFrame,
    variant: str = "daw2011",
    model: str = "hybrid",
    fixed: dict | None = None,
    bounds: dict | str | None = None,
    transitions: str | None = None,
    common_prob: float = 0.7,
    likelihood: str = "both",
    start_trial: int = 0,
    start_values: str = "learn",
    n_starts: int = 10,
    max_iter: int = 200,
    tol: float = 1e-2,
    n_samples: int = 1000,
    seed: int = 0,
    maxiter: int = 500,
) -> HierarchicalFit:
    """Fit a hybrid model to a group hierarchically: group-level means and variances by EM (Huys et al. 2011).

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table of several subjects, as :func:`metarl_neuro.analysis.hybrid_nll`.
    variant, model, fixed, bounds, transitions, common_prob, likelihood, start_trial, start_values
        As :func:`metarl_neuro.analysis.fit_hybrid` (``bounds`` set the range each parameter is mapped from).
    n_starts : int
        Random starts per subject of the first E step (drawn from the initial group distribution, N(0, 1.5^2)
        in the transformed space); later E steps start from the previous modes.
    max_iter : int
        EM iterations at most.
    tol : float
        Convergence: the Laplace approximation of the log marginal likelihood ``log p(D | mu, sigma)`` changed by
        less than ``tol`` nats in one iteration.
    n_samples : int
        Monte Carlo samples of the group distribution for the integrated BIC and the per-subject evidence.
    seed : int
        Seed of the starts and the samples.
    maxiter : int
        L-BFGS-B iterations per subject and E step.

    Returns
    -------
    HierarchicalFit

    Raises
    ------
    ValueError
        As :func:`metarl_neuro.analysis.fit_hybrid`; for fewer than two subjects, ``n_starts``, ``max_iter`` or
        ``n_samples`` not an integer >= 1, or ``tol`` not a positive number.

    References
    ----------
    Huys, Q. J. M., Cools, R., Gölzer, M., Friedel, E., Heinz, A., Dolan, R. J. & Dayan, P. (2011). Disentangling
    the roles of approach, activation and valence in instrumental and Pavlovian responding. *PLoS Comput. Biol.* 7,
    e1002028.

    Examples
    --------
    Three simulated subjects (beta1 5, w 0.8), the other parameters known (for speed): the group's median and 95%
    range of each free parameter.

    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=3, n_trials=150, seed=1)
    >>> known = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta2": 5.0, "p": 0.1}
    >>> fit = fit_hierarchical(trials, fixed=known, n_starts=1, max_iter=3, n_samples=100)
    >>> print(fit.group[["parameter", "median", "lower", "upper"]].round(1).to_string(index=False))
    parameter  median  lower  upper
        beta1     4.6    3.5    5.8
            w     0.8    0.6    0.9
    """
    transitions = check_options(variant, model, transitions, likelihood)
    for v, name in ((n_starts, "n_starts"), (max_iter, "max_iter"), (n_samples, "n_samples"), (maxiter, "maxiter")):
        check_int(v, name)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    names, fixed, native, _ = fitted_parameters(variant, model, fixed, bounds)
    base = prepare_trials(trials, start_trial, variant == "kool2016", transitions, common_prob, MIN_TRIALS,
                       start_values)
    S, K = len(base.subjects), len(names)
    if S < 2:
        raise ValueError(f"a hierarchical fit needs at least two subjects, got {S}")
    problem = FitProblem(base, variant, model, likelihood, names, fixed, None, native)
    lo, width = torch.from_numpy(native[:, 0]), torch.from_numpy(native[:, 1] - native[:, 0])
    xbox = np.tile([-_X_BOUND, _X_BOUND], (K, 1))

    def to_native(x):
        return lo + width * torch.sigmoid(x)

    def posterior(mu, sd):
        mu_t, sd_t = torch.from_numpy(mu), torch.from_numpy(sd)

        def objective(subj, x):
            _, nll = problem.objective(subj, to_native(x))
            prior = (0.5 * ((x - mu_t) / sd_t) ** 2 + torch.log(sd_t) + 0.5 * np.log(2 * np.pi)).sum(1)
            return nll + prior, nll

        return objective

    def laplace(objective, X):
        """Hessians ``(S, K, K)`` of the negative log posterior at the modes ``X``: central differences (step
        1e-4) of the autograd gradient, all subjects and directions in one batched pass."""
        h = 1e-4
        step = np.concatenate([np.eye(K), -np.eye(K)]) * h  # (2K, K)
        pts = (X[:, None, :] + step[None]).reshape(-1, K)
        x = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
        obj, _ = objective(np.repeat(np.arange(S), 2 * K), x)
        (g,) = torch.autograd.grad(obj.sum(), x)
        g = g.numpy().reshape(S, 2, K, K)  # subject, sign, direction, gradient component
        H = (g[:, 0] - g[:, 1]) / (2 * h)
        H = 0.5 * (H + H.transpose(0, 2, 1))
        w, V = np.linalg.eigh(H)  # a mode on a flat ridge can leave tiny or negative curvature: floor it
        return np.einsum("sij,sj,skj->sik", V, np.maximum(w, 1e-8), V)

    rng = np.random.default_rng(seed)
    mu, sd = np.zeros(K), np.full(K, 1.5)
    subj = np.tile(np.arange(S), n_starts)
    first = StartPool(S)
    first.add(problem.solve(subj, rng.normal(mu, sd, size=(n_starts * S, K)), maxiter, posterior(mu, sd), xbox))
    X = first.X[[first.best(s) for s in range(S)]]
    history, converged, it = [], False, 0
    def e_step(objective, X):
        """Posterior modes under ``objective``, from the previous modes and from the group mean (a mode can jump
        to another basin as the group distribution moves); the better of the two per subject."""
        both = problem.solve(np.tile(np.arange(S), 2), np.concatenate([X, np.tile(mu, (S, 1))]), maxiter, objective,
                             xbox)
        pick = np.where(both["obj"][:S] <= both["obj"][S:], np.arange(S), S + np.arange(S))
        return {k: v[pick] for k, v in both.items()}

    for it in range(1, max_iter + 1):
        objective = posterior(mu, sd)
        res = e_step(objective, X)
        X, obj = res["X"], res["obj"]
        H = laplace(objective, X)
        cov = np.linalg.inv(H)
        log_marginal = float(np.sum(-obj + 0.5 * K * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(H)[1]))
        new_mu = X.mean(0)
        new_sd = np.sqrt(np.maximum((X**2 + np.diagonal(cov, axis1=1, axis2=2)).mean(0) - new_mu**2, 1e-8))
        change = float(max(np.abs(new_mu - mu).max(), np.abs(new_sd - sd).max()))
        gain = log_marginal - history[-1]["log_marginal_laplace"] if history else np.inf
        history.append({"iteration": it, "log_marginal_laplace": log_marginal, "change": change})
        mu, sd = new_mu, new_sd
        if abs(gain) < tol:
            converged = True
            break
    # final E step under the final group distribution: the reported modes and their Laplace evidence
    objective = posterior(mu, sd)
    res = e_step(objective, X)
    X, obj, nll = res["X"], res["obj"], res["nll"]
    H = laplace(objective, X)
    ev_laplace = -obj + 0.5 * K * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(H)[1]
    # Monte Carlo log p(D_i | mu, sd) with samples shared by the subjects (Huys et al. 2011)
    draws = rng.normal(mu, sd, size=(n_samples, K))
    log_lik = np.empty((S, n_samples))
    chunk = max(1, 20000 // S)
    with torch.no_grad():
        for a in range(0, n_samples, chunk):
            d = torch.from_numpy(draws[a:a + chunk])
            rows_s = np.repeat(np.arange(S), len(d))
            _, nll_k = problem.objective(rows_s, to_native(d.repeat(S, 1)))
            log_lik[:, a:a + len(d)] = -nll_k.numpy().reshape(S, len(d))
    evidence = special.logsumexp(log_lik, axis=1) - np.log(n_samples)
    n_lik = n_choices(base, likelihood)
    theta = to_native(torch.from_numpy(X)).numpy()
    subjects = pd.DataFrame({"subject": base.subjects, **{k: theta[:, j] for j, k in enumerate(names)},
                             **{k: v for k, v in fixed.items()}, "nll": nll, "n_trials": n_lik.astype(int),
                             "log_evidence": evidence, "log_evidence_laplace": ev_laplace})
    q = lambda z: to_native(torch.from_numpy(np.asarray(z, dtype=float))).numpy()
    group = pd.DataFrame({"parameter": names, "mean": mu, "sd": sd, "median": q(mu), "lower": q(mu - 1.96 * sd),
                          "upper": q(mu + 1.96 * sd)})
    total = float(evidence.sum())
    ibic = -2 * total + 2 * K * np.log(n_lik.sum())
    return HierarchicalFit(subjects, group, float(ibic), total, it, converged, pd.DataFrame(history), variant, model,
                           fixed)
