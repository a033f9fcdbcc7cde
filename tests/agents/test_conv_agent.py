import torch

from metarl_neuro.agents import ConvA2CLSTM
from metarl_neuro.experiments import HarlowPixelsConfig, build
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
    cfg = HarlowPixelsConfig(stacked=True, hidden_size=8, device="cpu")
    agent = build(cfg, torch.device("cpu"), 1)[0]
    assert agent.stacked and agent.hidden_size == 16
    args = make_parser().parse_args(["harlow-pixels", "--stacked"])
    assert args.stacked is True
    assert make_parser().parse_args(["harlow-pixels"]).stacked is False
