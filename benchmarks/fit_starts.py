"""Start strategies of fit_hybrid against a 300-start reference (issue 15, item 1).

For each subject: the objective of the default adaptive strategy and of plain random starts, minus that of a
300-random-start fit (the reference); subjects worse than the reference by more than 1e-3 nats are counted.
Data: simulated subjects (daw2011 MLE, parameters drawn broadly: Beta(1.2, 1.2) rates and w, Gamma(1.5, scale 2.5)
inverse temperatures, N(0.2, 0.5) stickiness), the hBayesDM example (11 real subjects), or Kool et al. 2016's Daw-
paradigm data (``--kool``: ``data/daw paradigm/groupdata.mat`` of github.com/wkool/tradeoffs, not shipped here; the
197 subjects with fewer than 25 missed trials, as their groupanalysis.m; fitted with ``--model``, e.g. Kool's full
model by MAP under their priors and bounds).

    python benchmarks/fit_starts.py --subjects 200 --trials 200        # simulated, 200 x 200
    python benchmarks/fit_starts.py --subjects 150 --trials 125 --seed 12   # another draw, 150 x 125
    python benchmarks/fit_starts.py --hbayesdm                         # the real example
    python benchmarks/fit_starts.py --kool groupdata.mat --model hybrid+st+respst --method map --preset kool2016
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from metarl_neuro.analysis import fit_hybrid, from_hbayesdm, from_kool2016, simulate_hybrid
from metarl_neuro.analysis.hybrid import MODELS

HBAYESDM = Path(__file__).parents[1] / "tests" / "reference" / "hbayesdm" / "ts_exampleData.txt"


def simulated(n: int, n_trials: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    true = pd.DataFrame({"alpha1": rng.beta(1.2, 1.2, n), "alpha2": rng.beta(1.2, 1.2, n),
                         "lam": rng.beta(1.2, 1.2, n), "beta1": rng.gamma(1.5, 2.5, n), "beta2": rng.gamma(1.5, 2.5, n),
                         "w": rng.beta(1.2, 1.2, n), "p": rng.normal(0.2, 0.5, n)})
    return simulate_hybrid(true, n_trials=n_trials, seed=5)


def kool(path: Path) -> pd.DataFrame:
    """Kool et al. 2016's Daw-paradigm subjects with fewer than 25 missed trials (groupanalysis.m), as a trial table."""
    import scipy.io

    subjects = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)["groupdata"].subdata
    tables = []
    for i, sub in enumerate(subjects):
        if int(np.sum(sub.missed)) >= 25:
            continue
        raw = pd.DataFrame({k: np.asarray(getattr(sub, k)) for k in ("choice1", "choice2", "state2", "win",
                                                                      "stim_1_left")})
        raw["win"] = raw["win"].astype(float)
        tables.append(from_kool2016(raw, subject=f"kool{i:03d}"))
    return pd.concat(tables, ignore_index=True)


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=200)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--hbayesdm", action="store_true", help="the hBayesDM example instead of simulated subjects")
    ap.add_argument("--kool", type=Path, default=None, help="Kool et al. 2016's groupdata.mat (Daw paradigm)")
    ap.add_argument("--model", default=None, help="a named model of analysis.hybrid.MODELS (default: daw2011)")
    ap.add_argument("--preset", default=None, help="priors and bounds preset (e.g. kool2016; with --method map)")
    ap.add_argument("--method", default="mle")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--reference-starts", type=int, default=300)
    ap.add_argument("--cache", type=Path, default=None, help="CSV to keep (or read) the reference fit")
    ap.add_argument("--save", type=Path, default=None, help="CSV stem to keep the fits (with their gap)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.kool is not None:
        df = kool(args.kool)
    elif args.hbayesdm:
        df = from_hbayesdm(pd.read_csv(HBAYESDM, sep="\t"))
    else:
        df = simulated(args.subjects, args.trials, args.seed)
    kw = {"method": args.method, **(MODELS[args.model] if args.model else {})}
    if args.preset:
        kw.update(priors=args.preset, bounds=args.preset)
    if args.cache is not None and args.cache.exists():
        ref = pd.read_csv(args.cache, dtype={"subject": str})
    else:
        t = time.perf_counter()
        ref = fit_hybrid(df, **kw, starts="random", n_starts=args.reference_starts, seed=2)
        print(f"reference ({args.reference_starts} random starts): {time.perf_counter() - t:.0f} s", flush=True)
        if args.cache is not None:
            ref.to_csv(args.cache, index=False)
    rows = []
    for name, opts in (("random, 10 starts (before)", {"starts": "random", "n_starts": 10}),
                       ("adaptive (default, after)", {})):
        t = time.perf_counter()
        fit = fit_hybrid(df, **kw, **opts, seed=1)
        dt = time.perf_counter() - t
        gap = fit.set_index("subject")["objective"] - ref.set_index(ref["subject"].astype(str))["objective"].reindex(
            fit["subject"].astype(str)).to_numpy()
        rows.append({"strategy": name, "seconds": round(dt, 1), "subjects": len(fit),
                     "worse_than_reference": int((gap > 1e-3).sum()), "max_gap_nats": float(gap.max()),
                     "better_than_reference": int((gap < -1e-3).sum()),
                     "starts_mean": float(fit["n_starts"].mean()) if "n_starts" in fit else 10.0,
                     "starts_max": int(fit["n_starts"].max()) if "n_starts" in fit else 10})
        print(rows[-1], flush=True)
        if args.save is not None:
            fit.assign(gap=gap.to_numpy()).to_csv(args.save.with_name(f"{args.save.stem}_{opts.get('starts', 'adaptive')}.csv"),
                                                  index=False)
    out = pd.DataFrame(rows)
    print(out.to_string(index=False))
    return out


if __name__ == "__main__":
    main()
