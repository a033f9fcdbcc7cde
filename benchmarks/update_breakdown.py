"""The cost of one A2C update, broken down (issue 14): acting, recompute, loss and backward, clip, optimiser.

``python benchmarks/update_breakdown.py [--experiment two-step] [--batch 32] [--updates 100]``

Times the default config's updates on one CPU thread, with the recompute path (acting without autograd, then
the unroll recomputed for the loss) and with the step-wise reference (the graph built while acting). Each
part is timed by wrapping the function that does it; "acting" is the rollout minus the recompute.
"""

from __future__ import annotations

import argparse
import time

import torch

from metarl_neuro.agents import Carry, a2c_update, collect_rollout, training
from metarl_neuro.experiments import EXPERIMENTS, a2c_settings, build


def _timed(fn, bucket: list):
    def wrapper(*a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        bucket.append(time.perf_counter() - t0)
        return out
    return wrapper


def measure(experiment: str, batch: int | None, updates: int, recompute: bool) -> dict:
    torch.set_num_threads(1)
    cfg = EXPERIMENTS[experiment].config(**({"batch": batch} if batch else {}), device="cpu")
    agent, task, opt = build(cfg, torch.device("cpu"), cfg.batch)
    s = a2c_settings(cfg)
    sampler = torch.Generator().manual_seed(0)
    carry = Carry.start(agent, task.reset())
    times = {k: [] for k in ("rollout", "recompute", "update", "clip", "optimiser")}
    orig_seq, orig_clip, orig_step = training.forward_sequence, torch.nn.utils.clip_grad_norm_, opt.step
    training.forward_sequence = _timed(orig_seq, times["recompute"])
    torch.nn.utils.clip_grad_norm_ = _timed(orig_clip, times["clip"])
    opt.step = _timed(orig_step, times["optimiser"])
    try:
        for i in range(updates + 5):
            if i == 5:  # warm-up done
                for v in times.values():
                    v.clear()
            t0 = time.perf_counter()
            rollout, carry = collect_rollout(agent, task, carry, s.unroll, sampler, recompute)
            t1 = time.perf_counter()
            a2c_update(agent, opt, rollout, s)
            times["rollout"].append(t1 - t0)
            times["update"].append(time.perf_counter() - t1)
    finally:
        training.forward_sequence, torch.nn.utils.clip_grad_norm_ = orig_seq, orig_clip
    ms = {k: 1000 * sum(v) / max(len(v), 1) for k, v in times.items()}
    return {
        "acting": ms["rollout"] - ms["recompute"],
        "recompute": ms["recompute"],
        "loss + backward": ms["update"] - ms["clip"] - ms["optimiser"],
        "clip": ms["clip"],
        "optimiser": ms["optimiser"],
        "total": ms["rollout"] + ms["update"],
        "steps": cfg.unroll * cfg.batch,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="two-step", choices=sorted(EXPERIMENTS))
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--updates", type=int, default=100)
    args = p.parse_args(argv)
    rows = {name: measure(args.experiment, args.batch, args.updates, rec)
            for name, rec in (("step-wise (reference)", False), ("recompute (default)", True))}
    parts = ["acting", "recompute", "loss + backward", "clip", "optimiser", "total"]
    print(f"{args.experiment}, one update, ms (1 thread, mean of {args.updates}):")
    print(f"{'':24s}" + "".join(f"{k:>17s}" for k in parts) + f"{'steps/s':>10s}")
    for name, r in rows.items():
        print(f"{name:24s}" + "".join(f"{r[k]:17.2f}" for k in parts) + f"{1000 * r['steps'] / r['total']:10,.0f}")
    return 0


if __name__ == "__main__":
    main()
