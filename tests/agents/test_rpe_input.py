import torch

from metarl_neuro.agents import A2CSettings, RPEInputA2C, rpe_manipulation, run_frozen, train
from metarl_neuro.tasks import StopperTask
from metarl_neuro.tasks._protocol import make_generator


def step(agent, prev_a, prev_r, state, obs=None):
    obs = torch.zeros(len(prev_a), agent.obs_dim) if obs is None else obs
    return agent(obs, torch.tensor(prev_a), torch.tensor(prev_r, dtype=torch.float32), state)


def test_policy_input_is_the_td_error_of_the_value_network():
    torch.manual_seed(0)
    agent = RPEInputA2C(3, 3, hidden_size=8, gamma=0.5)
    state = agent.initial_state(2)
    assert state[0].shape == (2, 17) and state[1].shape == (2, 17)
    _, v0, state = step(agent, [-1, -1], [0.0, 0.0], state)
    assert torch.equal(state[0][:, -1], torch.zeros(2))  # no RPE at an episode's first step
    assert torch.allclose(state[1][:, -1], v0)
    _, v1, state = step(agent, [1, 2], [1.0, 0.0], state)
    expected = torch.tensor([1.0, 0.0]) + 0.5 * v1 - v0
    assert torch.allclose(state[0][:, -1], expected, atol=1e-6)


def test_value_and_policy_networks_learn_from_their_own_losses():
    torch.manual_seed(0)
    agent = RPEInputA2C(3, 3, hidden_size=8)
    state = agent.initial_state(2)
    _, _, state = step(agent, [-1, -1], [0.0, 0.0], state)
    logits, value, _ = step(agent, [1, 2], [1.0, 0.0], state)
    value.sum().backward(retain_graph=True)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in agent.policy_cell.parameters())  # no gradient via the RPE
    agent.zero_grad()
    logits.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in agent.policy_cell.parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in agent.value_cell.parameters())


def test_manipulation_offsets_the_rpe_input_after_the_chosen_outcomes():
    torch.manual_seed(0)
    agent = RPEInputA2C(3, 3, hidden_size=8)
    s0 = agent.initial_state(4)
    _, _, s0 = step(agent, [-1] * 4, [0.0] * 4, s0)
    prev_a, prev_r = [2, 2, 1, 2], [4.0, 0.0, 1.0, -1.0]
    _, _, intact = step(agent, prev_a, prev_r, s0)
    agent.manipulation = rpe_manipulation(2, -1.5, "win")
    _, _, blocked = step(agent, prev_a, prev_r, s0)
    assert torch.allclose(blocked[0][:, -1] - intact[0][:, -1], torch.tensor([-1.5, 0.0, 0.0, 0.0]))
    agent.manipulation = rpe_manipulation(2, 2.0, "loss")
    _, _, stim = step(agent, prev_a, prev_r, s0)
    assert torch.allclose(stim[0][:, -1] - intact[0][:, -1], torch.tensor([0.0, 2.0, 0.0, 0.0]))
    agent.manipulation = rpe_manipulation(2, 1.0, "any")
    _, _, anyway = step(agent, prev_a, prev_r, s0)
    assert torch.allclose(anyway[0][:, -1] - intact[0][:, -1], torch.tensor([1.0, 1.0, 0.0, 0.0]))


def test_trains_and_runs_frozen_with_the_shared_loop():
    torch.manual_seed(0)
    task = StopperTask(8, n_trials=10, seed=0, check_actions=False)
    agent = RPEInputA2C(3, 3, hidden_size=8)
    opt = torch.optim.RMSprop(agent.parameters(), lr=1e-3)
    before = [p.clone() for p in agent.parameters()]
    state = train(agent, task, opt, A2CSettings(10, 0.9, 1.0, 0.05, 0.05, 50.0), 20, make_generator(0, "cpu"),
                  progress=False)
    assert state.episodes >= 20
    assert all(not torch.equal(a, b) for a, b in zip(before, agent.parameters()))
    rec = run_frozen(agent, StopperTask(4, n_trials=10, seed=1), make_generator(1, "cpu"))
    assert rec.h.shape[-1] == 17 and rec.active[0].all()
