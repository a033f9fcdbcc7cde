"""Which trial structure reaches the model-based stay pattern faster? (issue: two-step end to end)

Trains one agent per structure with the default config and, every ``--every`` CPU seconds of training time,
evaluates 300 frozen-weight episodes and prints the stay-pattern gap
``min(P(stay|R,common), P(stay|U,rare)) - max(P(stay|R,rare), P(stay|U,common))``.

    python benchmarks/compare_structures.py --structure compressed --budget 120
    python benchmarks/compare_structures.py --structure paper --budget 120
"""

import argparse
import dataclasses
import time

import torch

from metarl_neuro.agents import run_frozen, train
from metarl_neuro.experiments import EVAL_TASK_SEED_OFFSET, TwoStepConfig, a2c_settings, build
from metarl_neuro.experiments.two_step import two_step_metrics, two_step_trials


def gap(agent, cfg):
    task = build(cfg, torch.device("cpu"), 300, seed_offset=EVAL_TASK_SEED_OFFSET)[1]
    rec = run_frozen(agent, task, torch.Generator().manual_seed(cfg.seed))
    return two_step_metrics(two_step_trials(rec, "x"))["gap"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--structure", default="compressed")
    ap.add_argument("--budget", type=float, default=120.0, help="CPU seconds of training")
    ap.add_argument("--every", type=float, default=20.0, help="CPU seconds of training between evaluations")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = dataclasses.replace(TwoStepConfig(), structure=args.structure, seed=args.seed, device="cpu")
    torch.set_num_threads(cfg.threads)
    agent, task, opt = build(cfg, torch.device("cpu"), cfg.batch)
    s = a2c_settings(cfg)
    sampler = torch.Generator().manual_seed(cfg.seed)
    state, spent = None, 0.0
    while spent < args.budget:
        t0 = time.process_time()
        target = (state.episodes if state else 0) + 1
        # train in chunks of about `every` seconds: one update at a time until the chunk is used
        while time.process_time() - t0 < args.every:
            state = train(agent, task, opt, s, target, sampler, state, progress=False)
            target = state.episodes + 1
        spent += time.process_time() - t0
        print(f"{args.structure}: {spent:6.1f} CPU s training, {state.episodes:7d} episodes, "
              f"{state.steps:9d} steps, gap {gap(agent, cfg):+.3f}", flush=True)


if __name__ == "__main__":
    main()
