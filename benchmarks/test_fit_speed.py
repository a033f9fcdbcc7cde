"""Speed of the hybrid-model fit: 100 subjects x 200 trials, daw2011, 10 random starts (issue target: < 30 s on 2 cores;
the default adaptive starts: benchmarks/fit_starts.py).

    pytest benchmarks/test_fit_speed.py --benchmark-enable -o addopts=""
"""

import numpy as np
import pandas as pd
import pytest
import torch

from metarl_neuro.analysis import fit_hybrid, simulate_hybrid


@pytest.mark.slow  # 20 s: the slow step of .ci/run runs it by name
def test_fit_hybrid_100_subjects(benchmark):
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    n = 100
    true = pd.DataFrame({"alpha1": rng.uniform(0.2, 0.8, n), "alpha2": rng.uniform(0.2, 0.8, n),
                         "lam": rng.uniform(0.2, 0.8, n), "beta1": rng.uniform(2, 8, n), "beta2": rng.uniform(2, 8, n),
                         "w": rng.uniform(0, 1, n), "p": rng.uniform(-0.3, 0.5, n)})
    df = simulate_hybrid(true, n_trials=200, seed=3)
    fit = benchmark.pedantic(fit_hybrid, args=(df,), kwargs={"n_starts": 10, "starts": "random"}, rounds=1, iterations=1)
    assert len(fit) == n
    if benchmark.stats is not None:
        print(f"\nfit_hybrid, 100 subjects x 200 trials, 10 starts: {benchmark.stats.stats.mean:.1f} s")
