"""Regret at trial 100 of the Gittins index policy at several discounts, beside Thompson sampling (issue 24).

The independent bandit's agents train with gamma 0.75 (``bandit --gamma``); is that discount what keeps their
regret at Thompson sampling's level? This plays the Gittins index policy (:class:`~metarl_neuro.agents.baselines.
Gittins`) at each discount on the same test episodes as a run's final test (``eval_episodes`` bandits seeded as
``reproduce bandit``'s seed ``S``), with Thompson sampling beside it::

    python benchmarks/gittins_by_discount.py --seeds 0 1 2 --discounts 0.5 0.75 0.9 0.95

The index tables are computed once per discount and cached (``~/.cache/metarl_neuro``; minutes at 0.95).
"""

from __future__ import annotations

import argparse

import torch

from metarl_neuro.agents import baselines
from metarl_neuro.experiments import EXPERIMENTS
from metarl_neuro.experiments._base import eval_task
from metarl_neuro.experiments.bandit import _final_regret, bandit_trials


def regrets(seed: int, discounts: list[float]) -> dict[str, float]:
    """Mean regret at the last trial of Thompson sampling and of Gittins at each discount, on seed ``seed``'s test."""
    cfg = EXPERIMENTS["bandit"].config(seed=seed, device="cpu")
    n = cfg.eval_episodes
    out = {}
    policies = [("thompson", baselines.Thompson(n, seed=seed))]
    policies += [(f"gittins_{d:g}", baselines.Gittins(n, seed=seed, discount=d, max_pulls=100)) for d in discounts]
    for name, policy in policies:
        task = eval_task(cfg, n, torch.device("cpu"), None)
        table = bandit_trials(baselines.run_policy(policy, task), f"seed{seed}", name)
        out[name] = _final_regret(table, name)
    return out


def main(argv: list[str] | None = None) -> dict[int, dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--discounts", type=float, nargs="+", default=[0.5, 0.75, 0.9, 0.95])
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    table = {}
    for seed in args.seeds:
        table[seed] = regrets(seed, args.discounts)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.2f}" for k, v in table[seed].items()), flush=True)
    return table


if __name__ == "__main__":
    main()
