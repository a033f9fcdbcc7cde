"""Stay probabilities of the Bayes-optimal (ideal-observer, greedy) agent on Wang 2018's two-step task.

The reference for the model-based stay pattern a meta-RL agent can reach: the observer tracks the posterior
that state 0 is the good one (reward p = 0.9 vs 0.1, swap with probability 0.025 per trial) and picks the
first-stage action with the higher expected reward. Uses the package's own task and stay analysis.

    python benchmarks/ideal_observer_stay.py
"""

import pandas as pd
import torch

from metarl_neuro.analysis import stay_probability
from metarl_neuro.tasks import TwoStepTask


def main(episodes: int = 2000, seed: int = 0) -> pd.DataFrame:
    task = TwoStepTask(episodes, seed=seed, structure="compressed")
    task.reset()
    hi, pc, h = task.rewards.high, task.common_prob, task.rewards.swap_prob
    b = torch.full((episodes,), 0.5, dtype=torch.float64)  # P(state 0 is the good state)
    rows = []
    for t in range(task.n_trials):
        p0 = b * hi + (1 - b) * (1 - hi)  # P(reward | state 0)
        v0 = pc * p0 + (1 - pc) * (1 - p0)  # expected reward of choice 0
        choice = (v0 < 0.5).long()  # choice 1 when it is better
        _, _, _, log = task.step(choice)
        s2, r = log["state2"], log["outcome"].double()
        like0 = torch.where(s2 == 0, torch.where(r > 0, hi, 1 - hi), torch.where(r > 0, 1 - hi, hi))
        b = b * like0 / (b * like0 + (1 - b) * (1 - like0))
        b = b * (1 - h) + (1 - b) * h
        rows.append(pd.DataFrame({"subject": "ideal", "episode": range(episodes), "trial": t,
                                  "choice1": choice.numpy(), "common": log["common"].numpy(), "reward": r.numpy()}))
    return stay_probability(pd.concat(rows))


if __name__ == "__main__":
    print(main().to_string(index=False))
