"""Kool et al. 2016's 12 models fitted by name on simulated subjects, and the three published prior presets (issue 15).

Simulates subjects of Kool's full model (hybrid, choice and response stickiness), fits the 12 models of
``MODELS`` (hybrid / MB / MF, each with and without ``st`` and ``respst``) by maximum likelihood with the default
adaptive starts and prints the model comparison; then fits the full model by MAP under each prior preset
(``daw2011``, ``kool2016``, ``nussenbaum2020``, with the matching bounds where the preset has some) and prints the
group medians.

    python benchmarks/kool_models.py --subjects 30 --trials 200
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from metarl_neuro.analysis import compare_models, fit_hybrid, simulate_hybrid
from metarl_neuro.analysis.hybrid import BOUNDS_PRESETS, MODELS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=30)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    n = args.subjects
    true = pd.DataFrame({"alpha": rng.uniform(0.2, 0.8, n), "beta": rng.uniform(2, 8, n), "lam": rng.uniform(0.2, 0.9, n),
                         "w": rng.uniform(0.2, 0.8, n), "st": rng.normal(0.3, 0.3, n), "respst": rng.normal(0.2, 0.3, n)})
    df = simulate_hybrid(true, n_trials=args.trials, variant="kool2016", seed=args.seed + 1)
    fits = {}
    t = time.perf_counter()
    for name, kw in MODELS.items():
        if kw["variant"] == "kool2016":
            fits[name] = fit_hybrid(df, **kw, seed=args.seed)
    print(f"Kool et al. 2016's 12 models, {n} simulated subjects x {args.trials} trials (truth: hybrid+st+respst), "
          f"MLE, adaptive starts: {time.perf_counter() - t:.0f} s")
    print(compare_models(fits).round(1).to_string(index=False))
    rows = []
    for preset in ("daw2011", "kool2016", "nussenbaum2020"):
        bounds = preset if preset in BOUNDS_PRESETS else None
        fit = fit_hybrid(df, **MODELS["hybrid+st+respst"], method="map", priors=preset, bounds=bounds, seed=args.seed)
        rows.append({"priors": preset, "bounds": bounds or "default",
                     **{k: fit[k].median() for k in true.columns},
                     **{f"r_{k}": np.corrcoef(true[k], fit[k])[0, 1] for k in ("alpha", "beta", "w", "st")}})
    rows.append({"priors": "truth", "bounds": "", **{k: true[k].median() for k in true.columns}})
    print("\nMAP of the full model under each published prior preset (medians across subjects; r with the truth):")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
