"""An sb3-contrib ``RecurrentPPO`` agent on the registered two-step task, then our stay analysis of its choices.

Another library's agent through the gymnasium interface (:mod:`metarl_neuro.tasks.gym`): the observation holds
the task's cue, the one-hot previous action and the previous reward (the meta-RL inputs of Wang et al. 2016,
Sec. 2), so an LSTM policy can learn to learn. After training, the frozen policy plays ``--eval-episodes``
episodes; their trials go through :func:`metarl_neuro.analysis.stay_probability` (Daw et al. 2011, Fig. 2;
Wang et al. 2018, Fig. 5c), and the model-based pattern is the stay gap
``min(P(stay | rewarded, common), P(stay | unrewarded, rare)) - max(P(stay | rewarded, rare), P(stay | unrewarded,
common))`` (> 0: model-based).

    pip install "sb3-contrib>=2.3"
    python examples/recurrent_ppo_two_step.py --timesteps 2000000

Settings (ours, not tuned for RecurrentPPO beyond a few runs): 16 environments, rollouts of one 100-step
episode, LSTM 48 units, gamma 0.9, entropy 0.05 and learning rate 1e-3 (Wang 2018's A2C uses gamma 0.9,
entropy 0.05 and 48 units).
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import numpy as np
import pandas as pd

import metarl_neuro.tasks  # noqa: F401  (registers the environments)
from metarl_neuro.analysis import stay_probability


def stay_gap(table: pd.DataFrame) -> float:
    """The model-based stay gap of a pooled :func:`stay_probability` table (see the module docstring)."""
    p = table.set_index(["rewarded", "transition"])["p_stay"]
    return float(min(p[(True, "common")], p[(False, "rare")]) - max(p[(True, "rare")], p[(False, "common")]))


def evaluate(model, episodes: int, seed: int) -> pd.DataFrame:
    """Trial table of ``episodes`` episodes played by the frozen policy (actions sampled, as in our agents' tests)."""
    env = gymnasium.make("metarl_neuro/TwoStep-v0")
    rows = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        state, start = None, np.ones((1,), dtype=bool)
        while True:
            action, state = model.predict(obs, state=state, episode_start=start, deterministic=False)
            obs, reward, terminated, truncated, info = env.step(int(action))
            start = np.zeros((1,), dtype=bool)
            if info["trial_end"]:
                rows.append({"subject": "recurrent-ppo", "episode": episode, "trial": info["trial"],
                             "choice1": info["choice1"], "state2": info["state2"], "common": info["common"],
                             "reward": reward})
            if terminated or truncated:
                break
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate, print the stay table; returns ``{"seconds", "timesteps", "table", "gap"}``."""
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timesteps", type=int, default=2_000_000, help="training steps (trials)")
    ap.add_argument("--envs", type=int, default=16, help="environments in parallel")
    ap.add_argument("--eval-episodes", type=int, default=100, help="frozen-policy test episodes of 100 trials")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", type=int, default=0, help="sb3's verbosity (1: a table per update, with fps)")
    args = ap.parse_args(argv)
    if args.timesteps < 1 or args.envs < 1 or args.eval_episodes < 1:
        ap.error("--timesteps, --envs and --eval-episodes must be >= 1")
    env = make_vec_env("metarl_neuro/TwoStep-v0", n_envs=args.envs, seed=args.seed)
    model = RecurrentPPO("MlpLstmPolicy", env, n_steps=100, batch_size=100 * args.envs // 4, n_epochs=4,
                         gamma=0.9, gae_lambda=1.0, ent_coef=0.05, learning_rate=1e-3,
                         policy_kwargs={"lstm_hidden_size": 48, "net_arch": []}, seed=args.seed, verbose=args.verbose)
    start = time.perf_counter()
    model.learn(total_timesteps=args.timesteps)
    seconds = time.perf_counter() - start
    trials = evaluate(model, args.eval_episodes, seed=10_000 + args.seed)
    table = stay_probability(trials)
    gap = stay_gap(table)
    print(f"RecurrentPPO: {args.timesteps} steps in {seconds:.0f} s; stay probabilities on {args.eval_episodes} "
          f"test episodes:")
    print(table[["rewarded", "transition", "p_stay", "n_trials"]].to_string(index=False))
    print(f"model-based stay gap: {gap:.3f} (> 0: model-based pattern; Bayes-optimal observer 0.337)")
    return {"seconds": seconds, "timesteps": args.timesteps, "table": table, "gap": gap}


if __name__ == "__main__":
    main()
