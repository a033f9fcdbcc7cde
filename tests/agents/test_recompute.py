"""Acting without autograd and recomputing the unroll (issue 14) against the step-wise reference.

Both paths start from the same network, task and sampler state: the actions, rewards and episode ends are
identical, and the logits, values, A2C loss and every parameter's gradient agree to float rounding (the
one-call ``nn.LSTM`` sums in another order than the step-wise ``nn.LSTMCell``).
"""

import copy

import pytest
import torch

from metarl_neuro.agents import Carry, a2c_update, collect_rollout
from metarl_neuro.agents.training import forward_sequence
from metarl_neuro.experiments import EXPERIMENTS, TwoStepConfig, a2c_settings, build

#: relative tolerance of the comparisons (float32; the largest differences measured were ~1e-6 relative)
RTOL, ATOL = 1e-4, 1e-5


def _both(cfg, warm_updates: int = 3):
    """Two identical (agent, task, optimiser, sampler, carry) set-ups after ``warm_updates`` updates, so that the
    LSTM state carried in is not zero and episodes end inside the unroll."""
    agent, task, opt = build(cfg, torch.device("cpu"), cfg.batch)
    sampler = torch.Generator().manual_seed(0)
    settings = a2c_settings(cfg)
    carry = Carry.start(agent, task.reset())
    for _ in range(warm_updates):
        rollout, carry = collect_rollout(agent, task, carry, settings.unroll, sampler)
        a2c_update(agent, opt, rollout, settings)
    twin = copy.deepcopy((agent, task, opt, sampler, carry))
    return (agent, task, opt, sampler, carry), twin, settings


def _grads(agent):
    return {n: p.grad.clone() for n, p in agent.named_parameters()}


@pytest.mark.parametrize("experiment,overrides", [
    ("two-step", {"unroll": 100}),             # episodes end with the unroll
    ("two-step", {"unroll": 30}),              # episodes end inside some unrolls, same step in every slot
    ("harlow-1d", {"unroll": 40, "max_steps": 50}),  # episodes end at different steps in different slots
    ("bandit", {"unroll": 20}),
    ("stopper", {"unroll": 25}),               # the RPE-input network: value pass, then policy pass (issue 24)
])
def test_recompute_equals_the_stepwise_reference(experiment, overrides):
    cfg = EXPERIMENTS[experiment].config(batch=8, device="cpu", **overrides)
    (agent, task, opt, sampler, carry), (agent2, task2, opt2, sampler2, carry2), s = _both(cfg)
    ended = 0
    for _ in range(2):  # two unrolls: the carry from the first feeds the second
        fast, carry = collect_rollout(agent, task, carry, s.unroll, sampler, recompute=True)
        ref, carry2 = collect_rollout(agent2, task2, carry2, s.unroll, sampler2, recompute=False)
        for name in ("actions", "rewards", "dones", "finished_returns"):
            assert torch.equal(getattr(fast, name), getattr(ref, name)), name
        torch.testing.assert_close(fast.logits, ref.logits, rtol=RTOL, atol=ATOL)
        torch.testing.assert_close(fast.values, ref.values, rtol=RTOL, atol=ATOL)
        torch.testing.assert_close(fast.bootstrap_value, ref.bootstrap_value, rtol=RTOL, atol=ATOL)
        lf, lr = a2c_update(agent, opt, fast, s), a2c_update(agent2, opt2, ref, s)
        for k in lf:
            assert lf[k] == pytest.approx(lr[k], rel=RTOL, abs=ATOL), k
        gf, gr = _grads(agent), _grads(agent2)
        for n in gf:
            torch.testing.assert_close(gf[n], gr[n], rtol=1e-3, atol=1e-5, msg=n)
        for n, p in agent.named_parameters():  # so the next unroll starts from (nearly) the same weights
            p.data.copy_(dict(agent2.named_parameters())[n].data)
        ended += int(fast.dones.sum())
    assert ended > 0  # episode starts inside the compared unrolls


@pytest.mark.parametrize("agent_kind", ["lstm", "rpe-input", "rpe-input+stimulation"])
def test_sequence_resets_the_state_where_an_episode_starts(agent_kind):
    """forward_sequence with resets at scattered (t, b) equals the step loop that zeroes the state there; for the
    RPE-input network too, with and without a manipulation of its RPE input."""
    from metarl_neuro.agents import rpe_manipulation

    cfg = TwoStepConfig(batch=6, device="cpu", agent=agent_kind.split("+")[0])
    agent = build(cfg, torch.device("cpu"), 6)[0]
    if agent_kind.endswith("stimulation"):
        agent.manipulation = rpe_manipulation(1, 0.5, "loss")
    g = torch.Generator().manual_seed(1)
    T, B = 17, 6
    obs = torch.rand(T, B, agent.obs_dim, generator=g)
    prev_a = torch.randint(-1, agent.n_actions, (T, B), generator=g)
    prev_r = torch.rand(T, B, generator=g)
    reset = torch.rand(T, B, generator=g) < 0.15
    h0, c0 = torch.randn(B, agent.hidden_size, generator=g), torch.randn(B, agent.hidden_size, generator=g)
    logits, values, (h, c) = agent.forward_sequence(obs, prev_a, prev_r, (h0, c0), reset)
    delattr_fast = type("StepOnly", (), {"__call__": lambda self, *a: agent(*a)})()  # no forward_sequence
    ref_logits, ref_values, (rh, rc) = forward_sequence(delattr_fast, obs, prev_a, prev_r, (h0, c0), reset)
    torch.testing.assert_close(logits, ref_logits, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(values, ref_values, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close((h, c), (rh, rc), rtol=RTOL, atol=ATOL)


def test_the_sequence_lstm_shares_the_cells_parameters():
    agent = build(TwoStepConfig(device="cpu"), torch.device("cpu"), 2)[0]
    lstm = agent._sequence_lstm()
    assert lstm.weight_hh_l0 is agent.cell.weight_hh and "_lstm" not in dict(agent.named_modules())
    assert set(agent.state_dict()) == {"cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh",
                                       "policy.weight", "policy.bias", "value.weight", "value.bias"}
    with torch.no_grad():
        agent.cell.weight_hh.add_(1.0)  # an optimiser step changes both
    assert torch.equal(lstm.weight_hh_l0, agent.cell.weight_hh)
