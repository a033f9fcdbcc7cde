"""Effective samples per second of fit_bayesian (NumPyro) beside rstan running hBayesDM's own .stan file, on the same
data, model and sampler settings, one CPU core each.

Datasets: the hBayesDM two-step example (11 subjects, 2,190 trials) and a simulated 200 subjects x 200 trials
(hBayesDM's ts_par4 hierarchy, the population of ``bayes_recovery.py``, written in the example's layout so that
both read the same file). Both backends run at once, each pinned to its own core (``taskset`` /
``os.sched_setaffinity``), each chain after the other on that core: rstan ``cores=1``, fit_bayesian ``cores=1``.
Each row gives the wall time (fit_bayesian's includes its JIT compile; rstan's excludes its C++ compile), the
leapfrog steps, the smallest bulk ESS over the group parameters (``mu_*``, ``sigma``) and over every parameter
(subjects' too), and ESS per second of wall time; ``speedup`` is ours over rstan's (min bulk ESS / s, all
parameters). Needs R with rstan (``tests/reference/hbayesdm_stan/speed.R``).

    python benchmarks/bayes_speed.py [--datasets example,sim200] [--model ts_par4] [--chains 4] [--draws 1000]
        [--warmup 1000] [--sim-chains 2] [--sim-draws 250] [--sim-warmup 250] [--out bayes_speed.csv]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from metarl_neuro.analysis import from_hbayesdm, simulate_hybrid
from metarl_neuro.analysis.bayesian import SamplingWarning, bayesian_spec, fit_bayesian

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "tests" / "reference" / "hbayesdm" / "ts_exampleData.txt"


def simulated(path: Path, subjects: int, trials: int, seed: int) -> Path:
    """``subjects`` x ``trials`` simulated ts_par4 subjects in the hBayesDM example's layout (tab-separated)."""
    from bayes_recovery import MU_PR, NAMES, SIGMA, transform

    rng = np.random.default_rng(seed)
    true = pd.DataFrame(transform(MU_PR + SIGMA * rng.normal(size=(subjects, 4))), columns=NAMES)
    t = simulate_hybrid(true, n_trials=trials, variant="hbayesdm_par4", seed=seed)
    out = pd.DataFrame({"subjID": t["subject"], "level1_choice": t["choice1"] + 1,
                        "level2_choice": 2 * t["state2"] + t["choice2"] + 1, "reward": t["reward"].astype(int)})
    out.to_csv(path, sep="\t", index=False)
    return path


def ours(data: Path, model: str, chains: int, draws: int, warmup: int, seed: int) -> dict:
    import arviz as az

    trials = from_hbayesdm(pd.read_csv(data, sep="\t"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        idata = fit_bayesian(trials, model, chains=chains, draws=draws, warmup=warmup, seed=seed, cores=1)
    spec = bayesian_spec(model)
    post = idata.posterior
    group = [f"mu_{k}" for k in spec.out_names] + ["sigma"]
    ess = az.ess(post[group + list(spec.out_names)], method="bulk")
    tail = az.ess(post[group + list(spec.out_names)], method="tail")
    rhat = az.rhat(post[group + list(spec.out_names)])
    steps = idata.sample_stats["n_steps"].values.sum()
    return {"backend": "numpyro", "model": model, "subjects": post.sizes["subject"],
            "trials": int((~trials["missed"]).sum()), "chains": chains, "draws": draws, "warmup": warmup, "cores": 1,
            "wall_s": float(post.attrs["sampling_time"]), "leapfrog_sampling": int(steps),
            "divergent": int(idata.sample_stats["diverging"].values.sum()),
            "min_ess_bulk_group": float(min(float(ess[v].min()) for v in group)),
            "min_ess_bulk_all": float(min(float(ess[v].min()) for v in ess.data_vars)),
            "min_ess_tail_all": float(min(float(tail[v].min()) for v in tail.data_vars)),
            "max_rhat": float(max(float(rhat[v].max()) for v in rhat.data_vars))}


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="example,sim200")
    ap.add_argument("--model", default="ts_par4")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--sim-chains", type=int, default=2)
    ap.add_argument("--sim-draws", type=int, default=250)
    ap.add_argument("--sim-warmup", type=int, default=250)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--out", type=Path, default=Path("bayes_speed.csv"))
    args = ap.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("needs two cores: one for each backend")
    os.sched_setaffinity(0, {cpus[1]})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets.split(","):
            if name == "example":
                data, (chains, draws, warmup) = EXAMPLE, (args.chains, args.draws, args.warmup)
            elif name == "sim200":
                data = simulated(Path(tmp) / "sim200.txt", 200, 200, args.seed)
                chains, draws, warmup = args.sim_chains, args.sim_draws, args.sim_warmup
            else:
                raise SystemExit(f"unknown dataset {name!r}: example or sim200")
            stan_csv = Path(tmp) / f"{name}_rstan.csv"
            cmd = ["taskset", "-c", str(cpus[0]), "Rscript", "tests/reference/hbayesdm_stan/speed.R", str(data),
                   args.model, str(chains), str(draws + warmup), str(warmup), "1", str(args.seed), str(stan_csv)]
            t0 = time.perf_counter()
            stan = subprocess.Popen(cmd, cwd=ROOT)
            row = ours(data, args.model, chains, draws, warmup, args.seed)
            t_ours = time.perf_counter() - t0
            row["dataset"] = name
            pd.DataFrame(rows + [row]).to_csv(args.out, index=False)  # kept while rstan runs on
            print(f"{name}: fit_bayesian {row['wall_s']:.0f} s, smallest bulk ESS {row['min_ess_bulk_all']:.0f}",
                  flush=True)
            if stan.wait() != 0:
                raise SystemExit(f"rstan failed on {name}")
            print(f"{name}: fit_bayesian done {t_ours:.0f} s after the start, rstan {time.perf_counter() - t0:.0f} s "
                  "(its compile included)", flush=True)
            ref = pd.read_csv(stan_csv).iloc[0].to_dict()
            for r in (row, ref):
                r["dataset"] = name
                r["ess_bulk_per_s_group"] = r["min_ess_bulk_group"] / r["wall_s"]
                r["ess_bulk_per_s_all"] = r["min_ess_bulk_all"] / r["wall_s"]
            rows += [row, ref]
            table = pd.DataFrame(rows)
            table.to_csv(args.out, index=False)
    table = pd.DataFrame(rows)
    cols = ["dataset", "backend", "subjects", "trials", "chains", "draws", "wall_s", "divergent",
            "min_ess_bulk_group", "min_ess_bulk_all", "ess_bulk_per_s_group", "ess_bulk_per_s_all", "max_rhat"]
    print(table[cols].round(3).to_string(index=False))
    for name, g in table.groupby("dataset", sort=False):
        a, b = g.set_index("backend").loc["numpyro"], g.set_index("backend").loc["rstan"]
        print(f"{name}: speedup (min bulk ESS / s) all parameters {a.ess_bulk_per_s_all / b.ess_bulk_per_s_all:.2f}x, "
              f"group parameters {a.ess_bulk_per_s_group / b.ess_bulk_per_s_group:.2f}x")
    return table


if __name__ == "__main__":
    main()
