"""fit_bayesian beside hBayesDM's own Stan fits of ts_par4 / ts_par6 / ts_par7 on the hBayesDM example.

The reference is ``tests/reference/hbayesdm_stan/`` (rstan 2.21 running hBayesDM 1.1.1's .stan files, 4 chains x
3,000 draws after 1,000 warm-up). This runs fit_bayesian with the same settings and prints, per group mean, both
posterior means and 95% intervals, the difference in units of the combined Monte Carlo SE, the correlation of the
subjects' posterior means, LOOIC (over subjects) with its SE, and both wall times.

    python benchmarks/bayes_parity.py [--models ts_par4,ts_par6,ts_par7] [--draws 3000] [--warmup 1000] [--cores 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from metarl_neuro.analysis import from_hbayesdm
from metarl_neuro.analysis.bayesian import SamplingWarning, bayesian_spec, fit_bayesian

ROOT = Path(__file__).parents[1] / "tests" / "reference"


def compare(model: str, idata) -> tuple[pd.DataFrame, dict]:
    import arviz as az

    ref = pd.read_csv(ROOT / "hbayesdm_stan" / f"{model}_summary.csv").set_index("parameter")
    spec = bayesian_spec(model)
    post = idata.posterior
    rows = []
    for k in spec.out_names:
        mu = post[f"mu_{k}"]
        r = ref.loc[f"mu_{k}"]
        mean, mcse = float(mu.mean()), float(np.squeeze(az.mcse(mu.values, method="mean")))
        lo, hi = float(mu.quantile(0.025)), float(mu.quantile(0.975))
        mlo, mhi = (float(np.squeeze(az.mcse(mu.values, method="quantile", prob=q))) for q in (0.025, 0.975))
        subj = post[k].mean(("chain", "draw")).values
        ids = sorted(pd.read_csv(ROOT / "hbayesdm" / "ts_exampleData.txt", sep="\t")["subjID"].unique())
        pos = {str(s): i + 1 for i, s in enumerate(ids)}  # Stan's index: hBayesDM numbers the sorted subjIDs
        stan_rows = ref.loc[[f"{k}[{pos[str(s)]}]" for s in post["subject"].values]]
        stan_subj = stan_rows["mean"].to_numpy()
        z_subj = (subj - stan_subj) / np.hypot(az.mcse(post[k], method="mean")[k].values, stan_rows["mcse"].to_numpy())
        rows.append({"model": model, "parameter": f"mu_{k}", "stan_mean": r["mean"], "ours_mean": mean,
                     "z_mean": (mean - r["mean"]) / np.hypot(mcse, r["mcse"]),
                     "stan_95": f"[{r['q2.5']:.3f}, {r['q97.5']:.3f}]", "ours_95": f"[{lo:.3f}, {hi:.3f}]",
                     "z_lo": (lo - r["q2.5"]) / np.hypot(mlo, r["mcse_q2.5"]),
                     "z_hi": (hi - r["q97.5"]) / np.hypot(mhi, r["mcse_q97.5"]),
                     "r_subjects": np.corrcoef(subj, stan_subj)[0, 1], "max_abs_z_subjects": np.abs(z_subj).max()})
    path = ROOT / "hbayesdm_stan" / "loo.csv"
    loo_ref = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["model", "log_lik"])
    loo_ref = loo_ref[loo_ref["model"] == model].set_index("log_lik")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loo = az.loo(idata, scale="deviance")
    looic = {"model": model, "ours_looic": loo["elpd_loo"], "ours_se": loo["se"]}
    for how, row in loo_ref.iterrows():
        looic[f"stan_looic_{how}"] = row["looic"]
        looic[f"stan_se_{how}"] = row["looic_se"]
    return pd.DataFrame(rows), looic


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ts_par4,ts_par6,ts_par7")
    ap.add_argument("--draws", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", action="store_true", help="compare the posteriors the last run kept (bayes_parity_*.nc)")
    args = ap.parse_args(argv)
    trials = from_hbayesdm(pd.read_csv(ROOT / "hbayesdm" / "ts_exampleData.txt", sep="\t"))
    path = ROOT / "hbayesdm_stan" / "timing.csv"
    timing = pd.read_csv(path).set_index("model") if path.exists() else pd.DataFrame()
    tables, loos = [], []
    for m in args.models.split(","):
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SamplingWarning)
            if args.reuse:
                import arviz as az

                idata = az.from_netcdf(f"bayes_parity_{m}.nc")
            else:
                idata = fit_bayesian(trials, m, draws=args.draws, warmup=args.warmup, chains=args.chains,
                                     seed=args.seed, cores=args.cores)
        wall = time.perf_counter() - t
        if not args.reuse:
            idata.to_netcdf(f"bayes_parity_{m}.nc")  # kept, so that the comparison can be made again (--reuse)
        table, loo = compare(m, idata)
        st = idata.sample_stats.attrs
        loo.update({"ours_sampling_s": idata.posterior.attrs["sampling_time"], "ours_total_s": wall,
                    "stan_wall_s": timing.loc[m, "wall_s"] if m in timing.index else np.nan,
                    "ours_divergent": st["n_divergent"], "ours_max_rhat": st["max_rhat"],
                    "ours_warnings": len(caught)})
        tables.append(table)
        loos.append(loo)
        print(table.round(3).to_string(index=False), flush=True)
        print(pd.Series(loo).to_string(), flush=True)
    print("\n" + pd.concat(tables).round(3).to_markdown(index=False))
    print("\n" + pd.DataFrame(loos).round(2).to_markdown(index=False))


if __name__ == "__main__":
    main()
