"""Parameter recovery: per-subject MAP (fit_hybrid, Daw 2011's priors) vs the hierarchical EM fit (issue 15, item 5).

Simulates subjects whose parameters are drawn from a group distribution in the hierarchical model's transformed
space (x = logit((theta - lower) / (upper - lower)) ~ N(mu, sd^2), centred on typical human values: median
learning rates 0.5, lambda 0.62, inverse temperatures 3.9, w 0.5, stickiness 0.2), fits both ways and prints
Pearson's r between true and estimated values per parameter, with the wall time of each fit.

    python benchmarks/hierarchical_recovery.py --subjects 100 --trials 100 200
    python benchmarks/hierarchical_recovery.py --subjects 200 --trials 200      # time for 200 subjects
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from scipy.special import expit

from metarl_neuro.analysis import fit_hierarchical, fit_hybrid, simulate_hybrid

#: the group distribution (transformed space: mean, sd) and each parameter's range (VARIANTS' bounds)
POPULATION = {"alpha1": (0.0, 1.0, 0, 1), "alpha2": (0.0, 1.0, 0, 1), "lam": (0.5, 1.0, 0, 1),
              "beta1": (-1.4, 0.6, 0, 20), "beta2": (-1.4, 0.6, 0, 20), "w": (0.0, 1.2, 0, 1),
              "p": (0.08, 0.3, -5, 5)}


def population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({k: lo + (hi - lo) * expit(rng.normal(m, s, n)) for k, (m, s, lo, hi) in POPULATION.items()})


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=100)
    ap.add_argument("--trials", type=int, nargs="+", default=[100, 200])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-map", action="store_true", help="time the hierarchical fit only")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for n_trials in args.trials:
        true = population(args.subjects, args.seed)
        df = simulate_hybrid(true, n_trials=n_trials, seed=args.seed + 1)
        t = time.perf_counter()
        h = fit_hierarchical(df, seed=args.seed)
        t_h = time.perf_counter() - t
        print(f"{args.subjects} subjects x {n_trials} trials: hierarchical {t_h:.0f} s ({h.n_iter} EM iterations, "
              f"converged {h.converged}, iBIC {h.ibic:.1f})", flush=True)
        fits = {"hierarchical": h.subjects}
        if not args.skip_map:
            t = time.perf_counter()
            fits["map"] = fit_hybrid(df, method="map", seed=args.seed)
            print(f"  per-subject MAP {time.perf_counter() - t:.0f} s", flush=True)
        for k in POPULATION:
            row = {"trials": n_trials, "parameter": k}
            row.update({f"r_{name}": np.corrcoef(true[k], fit[k])[0, 1] for name, fit in fits.items()})
            rows.append(row)
    out = pd.DataFrame(rows)
    print(out.round(3).to_string(index=False))
    return out


if __name__ == "__main__":
    main()
