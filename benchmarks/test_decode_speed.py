"""Speed of ``decode_hidden``: 300 episodes x 100 trials x 48 units, 100 permutations, the six two-step targets
(issue target: < 60 s on 2 CPU cores).

    pytest benchmarks/test_decode_speed.py --benchmark-enable -o addopts="" -s

Marked ``slow``: it is left out of the default test run (a minute or more per case), and runs with the
other benchmarks under ``-o addopts=""``.

The activations are those of an untrained A2C-LSTM (48 units) on 300 frozen-weight episodes of the default
(compressed) two-step task: real dataset layout and sizes, made in a few seconds.
"""

import pytest
import torch

from metarl_neuro.agents import run_frozen
from metarl_neuro.analysis import decode_hidden
from metarl_neuro.experiments import TwoStepConfig, build
from metarl_neuro.logs import activations_dataset
from metarl_neuro.tasks._protocol import make_generator


@pytest.fixture(scope="module")
def activations():
    torch.manual_seed(0)
    config = TwoStepConfig(eval_episodes=300)
    agent, task, _ = build(config, torch.device("cpu"), 300)
    record = run_frozen(agent, task, make_generator(1, torch.device("cpu")))
    return activations_dataset(record, config.gamma, {}).load()


@pytest.mark.slow
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_decode_hidden_300_episodes(benchmark, activations, n_jobs):
    table = benchmark.pedantic(decode_hidden, args=(activations,), kwargs={"n_permutations": 100, "n_jobs": n_jobs},
                               rounds=1, iterations=1)
    assert len(table) == 6 and table["n_trials"].iloc[0] == 300 * 99
    if benchmark.stats is not None:
        print(f"\ndecode_hidden, 300 x 100 x 48, 100 permutations, n_jobs={n_jobs}: {benchmark.stats.stats.mean:.1f} s")
