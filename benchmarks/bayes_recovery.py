"""Parameter recovery and interval coverage of fit_bayesian, beside fit_hierarchical (EM) and MAP (fit_hybrid).

Each replicate draws ``--subjects`` subjects from known ts_par4 group parameters by hBayesDM's hierarchy
(``x = f(mu_pr + sigma * x_pr)``; the group below), simulates them on Daw et al. 2011's task
(``simulate_hybrid``, ``--trials`` trials), and fits them three ways:

- ``fit_bayesian(model="ts_par4")``: posterior means, and whether each subject's true value lies in its 90% central
  posterior interval (coverage; it should be near 90%);
- ``fit_hierarchical`` (Huys et al. 2011's EM, on the hbayesdm_par4 variant);
- ``fit_hybrid(method="map")`` with the default priors.

It prints the Pearson r of true and estimated subject parameters per method and parameter, and the coverage of the
90% intervals of the subjects' parameters and of the group means ``mu_*`` over replicates.

    python benchmarks/bayes_recovery.py [--subjects 100] [--trials 200] [--replicates 1] [--chains 4]
        [--bayes-only] [--out coverage.csv]

``--from-prior`` draws each replicate's group parameters from the model's own group priors (hBayesDM's:
``mu_pr ~ Normal(0, 1)``, ``sigma ~ HalfNormal(0.2)``; ``group_priors``) instead of the fixed population below:
the group level of simulation-based calibration (Talts et al. 2018), where a correct sampler covers the truth
in 90% of the 90% intervals of ``mu_*`` and ``sigma`` and of the subjects' parameters, whatever the data. With
the fixed population, whose ``sigma`` (0.3-0.8) lies far in the tail of that prior, small datasets are shrunk
towards the group mean and the subjects' intervals undercover (the prior's doing, not the sampler's).
``--bayes-only`` skips the EM and MAP fits (coverage alone); ``--out`` appends each replicate's coverage rows to a
CSV as it finishes, so that runs with different ``--seed`` can be pooled and a killed run keeps its replicates.
The coverage printed carries a Clopper-Pearson 95% interval over all the intervals pooled.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import binomtest

from metarl_neuro.analysis import fit_hierarchical, fit_hybrid, simulate_hybrid
from metarl_neuro.analysis.bayesian import SamplingWarning, fit_bayesian, group_priors

#: the population: mu_pr and sigma on hBayesDM's unconstrained scale (a, beta, pi, w); the group means on the
#: parameter scale are a 0.40, beta 4.06, pi 0.69, w 0.54 (hBayesDM example's posterior means, rounded)
MU_PR = np.array([-0.25, 1.4, -1.1, 0.1])
SIGMA = np.array([0.6, 0.3, 0.4, 0.8])
NAMES = ["a", "beta", "pi", "w"]


def phi_approx(x):
    return expit(0.07056 * x**3 + 1.5976 * x)


def transform(x):
    return np.column_stack([phi_approx(x[:, 0]), np.exp(x[:, 1]), 5 * phi_approx(x[:, 2]), phi_approx(x[:, 3])])


def population(rng, from_prior: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(mu_pr, sigma)`` on hBayesDM's unconstrained scale: the fixed population, or a draw from the priors."""
    if not from_prior:
        return MU_PR, SIGMA
    prior = group_priors("ts_par4").loc[NAMES]
    assert (prior["sigma_family"] == "halfnormal").all()
    mu_pr = rng.normal(prior["mu_loc"].to_numpy(float), prior["mu_scale"].to_numpy(float))
    sigma = np.abs(rng.normal(0.0, prior["sigma_scale"].to_numpy(float)))
    return mu_pr, sigma


def replicate(rng, args, seed):
    mu_pr, sigma = population(rng, args.from_prior)
    raw = rng.normal(size=(args.subjects, 4))
    true = pd.DataFrame(transform(mu_pr + sigma * raw), columns=NAMES)
    true["subject"] = [f"sim{i:03d}" for i in range(args.subjects)]
    trials = simulate_hybrid(true[NAMES], n_trials=args.trials, variant="hbayesdm_par4", seed=seed)
    rows, cover = [], []
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        idata = fit_bayesian(trials, "ts_par4", chains=args.chains, draws=args.draws, warmup=args.warmup, seed=seed)
    t_bayes = time.perf_counter() - t
    post = idata.posterior
    for k in NAMES:
        est = post[k].mean(("chain", "draw")).values
        lo, hi = (post[k].quantile(q, ("chain", "draw")).values for q in (0.05, 0.95))
        rows.append({"method": "fit_bayesian", "parameter": k, "r": np.corrcoef(true[k], est)[0, 1]})
        inside = (true[k] >= lo) & (true[k] <= hi)
        cover.append({"parameter": k, "level": "subjects", "covered": float(inside.mean())})
        g = {"a": phi_approx, "beta": np.exp, "pi": lambda v: 5 * phi_approx(v), "w": phi_approx}[k]
        mu_true = g(mu_pr[NAMES.index(k)])
        glo, ghi = (float(post[f"mu_{k}"].quantile(q)) for q in (0.05, 0.95))
        cover.append({"parameter": k, "level": "group mean", "covered": float(glo <= mu_true <= ghi)})
        s_draws = post["sigma"].isel({post["sigma"].dims[-1]: NAMES.index(k)})
        slo, shi = (float(s_draws.quantile(q)) for q in (0.05, 0.95))
        cover.append({"parameter": k, "level": "group sigma", "covered": float(slo <= sigma[NAMES.index(k)] <= shi)})
    if args.bayes_only:
        print(f"replicate seed {seed}: fit_bayesian {t_bayes:.0f} s", flush=True)
        return pd.DataFrame(rows), pd.DataFrame(cover)
    t = time.perf_counter()
    h = fit_hierarchical(trials, variant="hbayesdm_par4")
    t_em = time.perf_counter() - t
    t = time.perf_counter()
    m = fit_hybrid(trials, variant="hbayesdm_par4", method="map")
    t_map = time.perf_counter() - t
    for name, fit in (("fit_hierarchical", h.subjects), ("fit_hybrid map", m)):
        for k in NAMES:
            rows.append({"method": name, "parameter": k, "r": np.corrcoef(true[k], fit[k])[0, 1]})
    print(f"replicate seed {seed}: fit_bayesian {t_bayes:.0f} s, fit_hierarchical {t_em:.0f} s, MAP {t_map:.0f} s",
          flush=True)
    return pd.DataFrame(rows), pd.DataFrame(cover)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=100)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--replicates", type=int, default=1)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from-prior", action="store_true", help="draw the group parameters from the group priors")
    ap.add_argument("--bayes-only", action="store_true", help="fit_bayesian alone (no EM, no MAP)")
    ap.add_argument("--out", type=Path, default=None, help="append each replicate's coverage rows to this CSV")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    recs, covs = [], []
    for i in range(args.replicates):
        r, c = replicate(rng, args, args.seed + i)
        recs.append(r.assign(replicate=i))
        covs.append(c.assign(replicate=i))
        if args.out is not None:
            c.assign(seed=args.seed + i, subjects=args.subjects, trials=args.trials, from_prior=args.from_prior,
                     chains=args.chains, warmup=args.warmup, draws=args.draws).to_csv(
                args.out, mode="a", header=not args.out.exists(), index=False)
    rec, cov = pd.concat(recs), pd.concat(covs)
    print("\nrecovery: Pearson r of true and estimated subject parameters (mean over replicates)")
    print(rec.groupby(["method", "parameter"])["r"].mean().unstack().round(3).to_string())
    print("\ncoverage of the 90% central posterior intervals (fit_bayesian), mean over replicates")
    print(cov.groupby(["level", "parameter"])["covered"].mean().unstack().round(3).to_string())
    for level in ("group mean", "group sigma"):
        hits = cov[cov["level"] == level]["covered"]
        ci = binomtest(int(hits.sum()), len(hits), 0.9).proportion_ci(0.95)
        print(f"{level}s, pooled: {int(hits.sum())} of {len(hits)} intervals cover the truth "
              f"({hits.mean():.3f}, Clopper-Pearson 95% [{ci.low:.3f}, {ci.high:.3f}])")


if __name__ == "__main__":
    main()
