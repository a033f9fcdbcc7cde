"""A simulated two-step dataset written in Kool, Cushman & Gershman 2016's layout (github.com/wkool/tradeoffs:
``choice1``, ``choice2``, ``state2`` in {1, 2}, ``win``, ``stim_1_left``, ``subject``), to try the toolkit's
readers and fits on that layout as a lab holding such files would: ``analyze --format kool2016``.

Each subject's parameters of Kool's full model (``kool2016`` variant) are drawn from a population (below), and the
subjects are simulated on the Daw et al. 2011 task with drifting reward probabilities (``simulate_hybrid``).

    python benchmarks/kool_layout_data.py kool_sim.csv [--subjects 20] [--trials 125] [--seed 3]
    python -m metarl_neuro.analyze kool_sim.csv --format kool2016 --bayes hybrid+st+respst,mb+st+respst,mf+st+respst
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from metarl_neuro.analysis import simulate_hybrid


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--subjects", type=int, default=20)
    ap.add_argument("--trials", type=int, default=125,
                    help="trials per subject (125 in Kool et al. 2016's Daw paradigm)")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    n = args.subjects
    params = pd.DataFrame({"alpha": rng.uniform(0.2, 0.8, n), "beta": rng.uniform(3.0, 7.0, n),
                           "lam": rng.uniform(0.3, 0.9, n), "w": rng.beta(2.0, 2.0, n),
                           "st": rng.normal(0.2, 0.3, n), "respst": rng.normal(0.1, 0.3, n)})
    t = simulate_hybrid(params, n_trials=args.trials, variant="kool2016", seed=args.seed)
    out = pd.DataFrame({"subject": t["subject"], "choice1": t["choice1"] + 1, "choice2": t["choice2"] + 1,
                        "state2": t["state2"] + 1, "win": t["reward"], "stim_1_left": t["stim_left"] + 1})
    out.to_csv(args.out, index=False)
    truth = args.out.with_name(args.out.stem + "_params.csv")
    params.assign(subject=pd.unique(t["subject"])).to_csv(truth, index=False)
    print(f"{n} subjects x {args.trials} trials in Kool et al. 2016's layout: {args.out}")
    return out


if __name__ == "__main__":
    main()
