import pytest
import torch

from metarl_neuro.agents import ConvA2CLSTM
from metarl_neuro.agents.training import Carry, a2c_update, collect_rollout
from metarl_neuro.experiments import HarlowPixelsConfig, a2c_settings, build
from metarl_neuro.simulate import make_parser


def test_stacked_two_lstm_form():
    """Wang 2016 Fig. 1d: LSTM 1 sees code + reward, LSTM 2 sees LSTM 1, code and the previous action."""
    torch.manual_seed(0)
    agent = ConvA2CLSTM((3, 40, 40), 3, hidden_size=8, stacked=True)
    h, c = agent.initial_state(2)
    assert h.shape == (2, 16) and c.shape == (2, 16)
    obs = torch.rand(2, 3, 40, 40)
    logits, value, (h1, _) = agent(obs, torch.tensor([0, 1]), torch.tensor([1.0, 0.0]), (h, c))
    assert logits.shape == (2, 3) and value.shape == (2,) and h1.shape == (2, 16)
    # the previous action reaches only the second LSTM; the reward only the first
    other_action = agent(obs, torch.tensor([2, 2]), torch.tensor([1.0, 0.0]), (h, c))[2][0]
    assert torch.equal(other_action[:, :8], h1[:, :8]) and not torch.equal(other_action[:, 8:], h1[:, 8:])
    other_reward = agent(obs, torch.tensor([0, 1]), torch.tensor([0.0, 1.0]), (h, c))[2][0]
    assert not torch.equal(other_reward[:, :8], h1[:, :8])
    flat = ConvA2CLSTM((3, 40, 40), 3, hidden_size=8)
    assert flat.initial_state(2)[0].shape == (2, 8) and not flat.stacked


def test_config_and_command_line_choose_the_stacked_form():
    cfg = HarlowPixelsConfig(stacked=True, hidden_size=8, device="cpu", compiled="off")
    agent = build(cfg, torch.device("cpu"), 1)[0]
    assert agent.stacked and agent.hidden_size == 16
    assert make_parser().parse_args(["harlow-pixels"]).stacked is True  # the pixel recipe's default (issue 24)
    assert make_parser().parse_args(["harlow-pixels", "--no-stacked"]).stacked is False
    single = build(HarlowPixelsConfig(stacked=False, hidden_size=8, device="cpu", compiled="off"), torch.device("cpu"), 1)
    assert not single[0].stacked and single[0].hidden_size == 8
    # Wang 2016's form compares the two, so there the stacked one is asked for by name
    assert make_parser().parse_args(["harlow-w16"]).stacked is False
    assert make_parser().parse_args(["harlow-w16", "--stacked"]).stacked is True


@pytest.mark.parametrize("stacked", [False, True])
def test_reward_head_adds_its_loss_and_trains_the_lstm(stacked):
    """--reward-coef: the head reads (h_t, a_t) before r_t; its loss reaches the LSTM; off, nothing changes."""
    grads = {}
    for coef in (0.0, 1.0):
        cfg = HarlowPixelsConfig(reward_coef=coef, hidden_size=8, stacked=stacked, episode_seconds=2.0, device="cpu",
                                 compiled="off")
        agent, task, optimizer = build(cfg, torch.device("cpu"), 4)
        assert (agent.reward_head is not None) == (coef > 0)
        settings = a2c_settings(cfg)
        assert settings.reward_coef == coef
        carry = Carry.start(agent, task.reset())
        rollout, _ = collect_rollout(agent, task, carry, 40, torch.Generator().manual_seed(0), settings.recompute)
        assert (rollout.reward_logits is None) == (coef == 0)
        if coef:
            assert rollout.reward_logits.shape == (40, 4, 3) and rollout.reward_logits.requires_grad
            assert (rollout.rewards != 0).any()  # fixations pay within 40 steps
        head = None if agent.reward_head is None else agent.reward_head.weight.detach().clone()
        terms = a2c_update(agent, optimizer, rollout, settings)
        assert ("reward_loss" in terms) == (coef > 0)
        grads[coef] = agent.cell.weight_hh.grad.clone()
        if coef:
            assert 0 < terms["reward_loss"] < 5 and not torch.equal(head, agent.reward_head.weight)
    # same seed, same rollout: the LSTM's gradient differs only by the auxiliary loss's share
    assert not torch.allclose(grads[0.0], grads[1.0])
    with pytest.raises(RuntimeError, match="no reward head"):
        ConvA2CLSTM((3, 40, 40), 3, hidden_size=8).reward_logits(torch.zeros(1, 8), torch.zeros(1, dtype=torch.long))
