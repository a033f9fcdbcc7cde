"""Which probabilistic programming library samples the hierarchical two-step models faster: NumPyro or PyMC.

Both sample hBayesDM's ts_par4 (its hierarchy: non-centred group priors, Phi_approx transforms) on the hBayesDM
two-step example (11 subjects, 2,190 trials), with the same likelihood (the toolkit's engine,
``analysis.hybrid.model.engine_of`` / ``q_update``, run by ``jax.lax.scan`` or ``pytensor.scan``), the same NUTS
settings (target acceptance 0.95, maximum tree depth 10) and the same draws; the figure of merit is the bulk ESS
per second of the group means (the smallest of ``mu_a, mu_beta, mu_pi, mu_w``), wall time including compilation.

    python benchmarks/bayes_backends.py [--chains 2] [--warmup 500] [--draws 500]

First measured on 2026-12-05 (numpyro 0.22.0 / jax 0.10.2, pymc 5.28.5 / pytensor 2.38.3), on a 2-core machine
that was running other work, ``--chains 1 --warmup 30 --draws 30``: NumPyro 47 s wall, PyMC 127 s wall (57 s of it
sampling); so fit_bayesian uses NumPyro. The default setting is to be measured on an idle machine (issue 27).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from metarl_neuro.analysis import from_hbayesdm
from metarl_neuro.analysis.hybrid.model import engine_of, prepare_trials, q_update

DATA = Path(__file__).parents[1] / "tests" / "reference" / "hbayesdm" / "ts_exampleData.txt"
GROUP = ["mu_a", "mu_beta", "mu_pi", "mu_w"]


def numpyro_run(trials, chains, warmup, draws, seed):
    import warnings

    from metarl_neuro.analysis.bayesian import SamplingWarning, fit_bayesian

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        idata = fit_bayesian(trials, "ts_par4", draws=draws, warmup=warmup, chains=chains, seed=seed)
    return idata, time.perf_counter() - t


def pymc_run(trials, chains, warmup, draws, seed):
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    data = prepare_trials(trials, 0, False, "fixed", 0.7)
    S, names = len(data.subjects), ["a", "beta", "pi", "w"]
    seq = np.eye(S)[data.seq_subject.numpy()]
    hit1_t, hit2_t, r_t = (np.swapaxes(x.numpy(), 0, 1) for x in (data.hit1, data.hit2, data.r))
    N = data.c1.shape[0]
    c1 = np.eye(2)[data.c1.numpy()]
    c2 = np.eye(2)[data.c2.numpy()]
    counted, state_mask, rep, p_same = (x.numpy() for x in (data.counted, data.state_mask, data.rep, data.p_same))
    phi = lambda x: pm.math.invlogit(0.07056 * x**3 + 1.5976 * x)
    t = time.perf_counter()
    with pm.Model(coords={"parameter": names, "subject": data.subjects}):
        mu_pr = pm.Normal("mu_pr", 0.0, 1.0, dims="parameter")
        sigma = pm.HalfNormal("sigma", 0.2, dims="parameter")
        raw = pm.Normal("raw", 0.0, 1.0, dims=("subject", "parameter"))
        x = mu_pr + sigma * raw
        subj = {"a": phi(x[:, 0]), "beta": pt.exp(x[:, 1]), "pi": 5 * phi(x[:, 2]), "w": phi(x[:, 3])}
        for k, v in zip(GROUP, (phi(mu_pr[0]), pt.exp(mu_pr[1]), 5 * phi(mu_pr[2]), phi(mu_pr[3]))):
            pm.Deterministic(k, v)
        e = engine_of("hbayesdm_par4", {k: pt.dot(seq, v) for k, v in subj.items()}, "hybrid")
        q1_0, q2_0 = pt.zeros((N, 2)), pt.zeros((N, 2, 2))
        def step(h1, h2, r, q1, q2, a, lam):  # the learning rate as an explicit input (PyMC needs it so); ts_par4
            return q_update(replace(e, alpha1=a, alpha2=a, lam=lam), q1, q2, h1, h2, r)  # has one, a1 = a2 = a

        (q1s, q2s), _ = pytensor.scan(step, sequences=[pt.as_tensor(hit1_t), pt.as_tensor(hit2_t), pt.as_tensor(r_t)],
                                      outputs_info=[q1_0, q2_0], non_sequences=[e.alpha1, e.lam])
        q1_t = pt.concatenate([q1_0[None], q1s[:-1]]).dimshuffle(1, 0, 2)  # values before each trial's update
        q2_t = pt.concatenate([q2_0[None], q2s[:-1]]).dimshuffle(1, 0, 2, 3)
        v2 = q2_t.max(-1)
        ps = p_same[..., None]
        q_mb = ps * v2 + (1 - ps) * v2[..., ::-1]
        w = lambda a: a[:, None, None]
        logits1 = w(e.b_mb) * q_mb + w(e.b_mf) * q1_t + w(e.k_rep) * rep
        q2_here = (q2_t * state_mask[..., None]).sum(2)
        logp1 = (pt.special.log_softmax(logits1, axis=-1) * c1).sum(-1)
        logp2 = (pt.special.log_softmax(w(e.beta2) * q2_here, axis=-1) * c2).sum(-1)
        pm.Potential("loglik", (counted * (logp1 + logp2)).sum())
        idata = pm.sample(draws=draws, tune=warmup, chains=chains, cores=min(chains, 2), target_accept=0.95,
                          random_seed=seed, progressbar=False, compute_convergence_checks=False)
    return idata, time.perf_counter() - t


def main(argv=None):
    import arviz as az

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backends", default="numpyro,pymc")
    args = ap.parse_args(argv)
    trials = from_hbayesdm(pd.read_csv(DATA, sep="\t"))
    rows = []
    for name in args.backends.split(","):
        run = {"numpyro": numpyro_run, "pymc": pymc_run}[name]
        idata, seconds = run(trials, args.chains, args.warmup, args.draws, args.seed)
        s = az.summary(idata, var_names=GROUP)
        rows.append({"backend": name, "wall_s": seconds, "min_ess_bulk": s["ess_bulk"].min(),
                     "ess_per_s": s["ess_bulk"].min() / seconds, **{k: s.loc[k, "mean"] for k in GROUP}})
        print(pd.DataFrame(rows).round(3).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
