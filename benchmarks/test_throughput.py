"""Training and simulation throughput (pytest-benchmark).

Run: ``pytest benchmarks --benchmark-enable -p no:randomly -o addopts=""``. Figures are environment steps per
second (``extra_info["steps_per_s"]``): one step is one agent action in one episode of the batch.
"""

import pytest
import torch

from metarl_neuro.agents import Carry, a2c_update, collect_rollout
from metarl_neuro.experiments import EXPERIMENTS, BanditConfig, TwoStepConfig, a2c_settings, build


def _report(benchmark, steps: int, label: str) -> None:
    """Record environment steps per second (skipped under --benchmark-disable, where nothing is timed)."""
    if benchmark.stats is None:
        return
    rate = steps / benchmark.stats.stats.mean
    benchmark.extra_info["steps_per_s"] = rate
    print(f"\n{label}: {rate:,.0f} environment steps/s")


@pytest.mark.parametrize("recompute", [True, False], ids=["recompute", "stepwise"])
@pytest.mark.parametrize("experiment,batch", [("two-step", TwoStepConfig().batch), ("two-step", 128),
                                              ("bandit", BanditConfig().batch), ("harlow-1d", 32)])
def test_training_update_throughput(benchmark, experiment, batch, recompute):
    """One A2C update (unroll + backward + RMSProp step) at the default config, on CPU; ``stepwise``: the
    reference path that builds the graph while acting (issue 14's "before")."""
    cfg = EXPERIMENTS[experiment].config(batch=batch)
    _bench_update(benchmark, cfg, f"{experiment} training, batch {batch}, {'recompute' if recompute else 'step-wise'}",
                  recompute)


def _bench_update(benchmark, cfg, label: str, recompute: bool = True) -> None:
    """Time one A2C update (unroll + backward + RMSProp step) of ``cfg``'s agent and task on CPU."""
    torch.set_num_threads(cfg.threads)
    agent, task, opt = build(cfg, torch.device("cpu"), cfg.batch)
    settings = a2c_settings(cfg)
    sampler = torch.Generator().manual_seed(0)
    carry = [Carry.start(agent, task.reset())]

    def update():
        rollout, carry[0] = collect_rollout(agent, task, carry[0], settings.unroll, sampler, recompute)
        a2c_update(agent, opt, rollout, settings)

    benchmark.pedantic(update, rounds=20, warmup_rounds=2)
    _report(benchmark, cfg.unroll * cfg.batch, label)


@pytest.mark.parametrize("experiment", ["tsutsui", "behrens", "bromberg-martin", "stopper"])
def test_cued_training_update_throughput(benchmark, experiment):
    """One A2C update of a Wang 2018 fixation / left / right simulation at its default config (stopper: the
    RPE-input network, two LSTMs), on CPU."""
    cfg = EXPERIMENTS[experiment].config()
    _bench_update(benchmark, cfg, f"{experiment} training, batch {cfg.batch}")


@pytest.mark.parametrize("recompute", [True, False], ids=["recompute", "stepwise"])
@pytest.mark.parametrize("agent", ["lstm", "rpe-input"])
@pytest.mark.parametrize("experiment", ["two-step", "tsutsui", "harlow-1d"])
def test_rpe_input_training_update_throughput(benchmark, experiment, agent, recompute):
    """Issue 24: the RPE-input network (W18 Sim 6, two LSTMs) against the standard one at the same config, with
    its sequence pass (value LSTM over the unroll, then policy LSTM) and step-wise."""
    cfg = EXPERIMENTS[experiment].config(agent=agent)
    _bench_update(benchmark, cfg, f"{experiment} training, {agent}, {'recompute' if recompute else 'step-wise'}",
                  recompute)


def test_task_step_throughput(benchmark):
    """The task alone: 1024 episodes stepped with random actions."""
    from metarl_neuro.tasks import TwoStepTask

    task = TwoStepTask(1024, check_actions=False)
    task.reset()
    a = torch.randint(0, 2, (100, 1024))

    def steps():
        for t in range(100):
            task.step(a[t])

    benchmark.pedantic(steps, rounds=10, warmup_rounds=1)
    _report(benchmark, 100 * 1024, "task alone, batch 1024")


def test_bandit_task_and_baselines_throughput(benchmark):
    """The bandit task stepped by the exact Bayes-optimal policy (table lookups), 1024 episodes x 100 trials."""
    from metarl_neuro.agents import baselines
    from metarl_neuro.tasks import BanditTask

    policy = baselines.BayesOptimal(1024, "independent")  # solves the DP once, outside the timing
    task = BanditTask(1024, "independent", check_actions=False)

    def episode():
        policy.s[:], policy.f[:], policy.t = 0, 0, 0
        baselines.run_policy(policy, task)

    benchmark.pedantic(episode, rounds=5, warmup_rounds=1)
    _report(benchmark, 100 * 1024, "bandit task + Bayes-optimal policy, batch 1024")


def test_conv_agent_update_throughput(benchmark):
    """The conv-LSTM agent (84 x 84 RGB, LSTM 256) alone: forward over an unroll of 20 steps at batch 16, then
    backward and an RMSProp step, on random images."""
    from metarl_neuro.agents import ConvA2CLSTM

    torch.manual_seed(0)
    torch.set_num_threads(2)
    agent = ConvA2CLSTM((3, 84, 84), 3, 256)
    opt = torch.optim.RMSprop(agent.parameters(), lr=7e-4)
    B, T = 16, 20
    obs = torch.rand(T, B, 3, 84, 84)

    def update():
        state = agent.initial_state(B)
        a, r, loss = torch.full((B,), -1), torch.zeros(B), 0.0
        for t in range(T):
            logits, value, state = agent(obs[t], a, r, state)
            loss = loss + value.pow(2).mean() - logits.log_softmax(-1).mean()
            a = logits.argmax(-1)
        opt.zero_grad()
        loss.backward()
        opt.step()

    benchmark.pedantic(update, rounds=5, warmup_rounds=1)
    _report(benchmark, B * T, "conv-LSTM agent update (84x84, batch 16, unroll 20), frames")


def test_harlow_pixels_training_throughput(benchmark):
    """Pixel Harlow surrogate (renderer) + conv-LSTM agent: one A2C update (unroll 20, batch 32), agent steps per
    second (each of 4 frames of the level)."""
    from metarl_neuro.experiments import HarlowPixelsConfig

    cfg = HarlowPixelsConfig(device="cpu")
    torch.set_num_threads(cfg.threads)
    agent, task, opt = build(cfg, torch.device("cpu"), cfg.batch)
    settings = a2c_settings(cfg)
    sampler = torch.Generator().manual_seed(0)
    carry = [Carry.start(agent, task.reset())]

    def update():
        rollout, carry[0] = collect_rollout(agent, task, carry[0], settings.unroll, sampler)
        a2c_update(agent, opt, rollout, settings)

    benchmark.pedantic(update, rounds=5, warmup_rounds=1)
    _report(benchmark, cfg.unroll * cfg.batch, "harlow-pixels training (surrogate + conv-LSTM, batch 32)")


@pytest.mark.deepmind_lab
@pytest.mark.parametrize("agent", ["", "conv-LSTM acting"])
# the real level's run (a Lab started, 5 s each) is in CI's slow step; `pytest benchmarks --benchmark-enable -o
# addopts=""` measures both
@pytest.mark.parametrize("form", [pytest.param("real level", marks=pytest.mark.slow), "surrogate"])
def test_psychlab_level_and_surrogate_step_throughput(benchmark, form, agent):
    """The real PsychLab Harlow level (DeepMind Lab, software renderer) and its torch surrogate at the same batch
    (8 episodes, 4 frames per step, the default 5-action set), in one run: stepped alone with random actions,
    and with the conv-LSTM agent (Wang 2016 Fig. 1c encoder, LSTM 256) choosing every action. Agent steps per
    second (x 4 for frames)."""
    from metarl_neuro.agents import ConvA2CLSTM
    from metarl_neuro.tasks.harlow_pixels import HarlowPixelTask, dmlab_dummy_stimuli
    from metarl_neuro.tasks.psychlab import PsychLabHarlow

    torch.set_num_threads(2)
    B, S = 8, 50
    if form == "real level":
        task = PsychLabHarlow(B, "dummy", seed=0)
    else:
        task = HarlowPixelTask(B, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5, check_actions=False)
    obs = task.reset()
    a = torch.randint(0, 5, (S, B), generator=torch.Generator().manual_seed(0))
    net = ConvA2CLSTM((3, 84, 84), 5, 256).eval() if agent else None
    gen = torch.Generator().manual_seed(1)

    def steps():
        nonlocal obs
        state, prev_a, prev_r = (net.initial_state(B) if net else None), torch.zeros(B, dtype=torch.long), torch.zeros(B)
        for t in range(S):
            if net is None:
                obs, *_ = task.step(a[t])
                continue
            with torch.no_grad():
                logits, _, state = net(obs, prev_a, prev_r, state)
            prev_a = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen).squeeze(1)
            obs, prev_r, _, _ = task.step(prev_a)

    benchmark.pedantic(steps, rounds=3, warmup_rounds=1)
    _report(benchmark, S * B, f"PsychLab Harlow {form}{' + ' + agent if agent else ''}, batch {B}, 4 frames per step "
                               "(agent steps)")
