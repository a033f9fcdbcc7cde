"""What a Bayesian observer of the baited task does in Wang 2018 Fig. 2f's regression (issue 24, Sim 1).

The meta-RL agent's reward coefficients peak at lag 2, not lag 1, in 6 of 8 seeds. Is that a fault, or what an agent
that knows the baiting schedule does? This script plays the Tsutsui task (Wang 2018 Sim 1; the rules of
``metarl_neuro.tasks.TsutsuiTask``: an arm not chosen for ``n`` trials pays with probability
``1 - (1 - p0)^(n + 1)``, ``p0(L) + p0(R) = p_sum``) with a Bayesian observer: a grid posterior over ``p0(L)``
updated with each outcome's exact likelihood under the baiting schedule, and a softmax over the two arms'
posterior-mean pay probabilities on this trial (a myopic, not a planning, observer). Its trials go through the
same lagged choice regression (``analysis.lagged_choice_regression``, 15 lags, reward and choice regressors).

Run: ``python benchmarks/tsutsui_ideal_observer.py [--episodes 300] [--beta 10 20 40]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from metarl_neuro.analysis import lagged_choice_regression


def play(beta: float, episodes: int, p_sum: float = 0.5, trials: tuple[int, int] = (50, 100), grid: int = 201,
         seed: int = 0) -> pd.DataFrame:
    """Trial table of the Bayesian observer on ``episodes`` test episodes (``p0(L) ~ U[0, p_sum]``)."""
    rng = np.random.default_rng(seed)
    pl = np.linspace(0.0, p_sum, grid)  # the grid of p0(L); p0(R) = p_sum - p0(L)
    p0 = np.stack([pl, p_sum - pl], 1)  # (grid, 2)
    rows = []
    for e in range(episodes):
        true = np.array([rng.uniform(0, p_sum)])
        true = np.array([true[0], p_sum - true[0]])
        log_post = np.zeros(grid)
        unchosen = np.zeros(2)
        for t in range(rng.integers(trials[0], trials[1] + 1)):
            post = np.exp(log_post - log_post.max())
            post /= post.sum()
            pay_grid = 1 - (1 - p0) ** (unchosen + 1)  # (grid, 2): pay probability of each arm on this trial
            value = post @ pay_grid
            p_right = 1 / (1 + np.exp(-beta * (value[1] - value[0])))
            c = int(rng.random() < p_right)
            reward = float(rng.random() < 1 - (1 - true[c]) ** (unchosen[c] + 1))
            lik = pay_grid[:, c] if reward else 1 - pay_grid[:, c]
            log_post += np.log(np.clip(lik, 1e-300, None))
            unchosen += 1
            unchosen[c] = 0
            rows.append((e, t, c, reward))
    df = pd.DataFrame(rows, columns=["episode", "trial", "choice", "reward"])
    df["missed"] = False
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=300)
    ap.add_argument("--beta", type=float, nargs="+", default=[10.0, 20.0, 40.0],
                    help="softmax inverse temperatures (per unit of pay probability)")
    args = ap.parse_args()
    for beta in args.beta:
        reg = lagged_choice_regression(play(beta, args.episodes), lags=15).set_index(["regressor", "lag"])["coef"]
        r = [reg[("reward", k)] for k in range(1, 6)]
        c = [reg[("choice", k)] for k in range(1, 4)]
        print(f"beta {beta:g}: reward coefficients lags 1-5 {np.round(r, 2).tolist()}, choice lags 1-3 "
              f"{np.round(c, 2).tolist()}; lag 1 largest: {r[0] >= r[1]}")


if __name__ == "__main__":
    main()
