import math

import pytest
import torch

from metarl_neuro.agents import a2c_loss, discounted_returns, gae_advantages, reward_sign_loss

F, T_ = False, True


def col(*xs, dtype=torch.float32):
    return torch.tensor(xs, dtype=dtype)[:, None]


def test_returns_by_hand():
    r = col(1.0, 0.0, 2.0)
    d = col(F, F, F, dtype=torch.bool)
    # R2 = 2 + .5*4 = 4; R1 = 0 + .5*4 = 2; R0 = 1 + .5*2 = 2
    assert discounted_returns(r, d, torch.tensor([4.0]), 0.5)[:, 0].tolist() == [2.0, 2.0, 4.0]
    d = col(F, T_, F, dtype=torch.bool)  # the episode ends at t=1: nothing after it flows back
    assert discounted_returns(r, d, torch.tensor([4.0]), 0.5)[:, 0].tolist() == [1.0, 0.0, 4.0]


def test_constant_reward_gives_one_over_one_minus_gamma():
    g = 0.9
    r = torch.ones(50, 3)
    d = torch.zeros(50, 3, dtype=torch.bool)
    R = discounted_returns(r, d, torch.full((3,), 1 / (1 - g)), g)
    assert torch.allclose(R, torch.full_like(R, 1 / (1 - g)))


def test_single_terminal_reward_with_constant_value():
    # rewards 0, 0, 1 (terminal), V = 0.5 everywhere, gamma 0.9: A = [0.81, 0.9, 1] - 0.5
    r, v = col(0.0, 0.0, 1.0), torch.full((3, 1), 0.5)
    d = col(F, F, T_, dtype=torch.bool)
    adv = gae_advantages(r, v, d, torch.tensor([123.0]), 0.9, 1.0)
    assert adv[:, 0].tolist() == pytest.approx([0.31, 0.4, 0.5])


def test_gae_lambda_one_equals_returns_minus_values_and_zero_is_td_error():
    gen = torch.Generator().manual_seed(0)
    r, v = torch.randn(7, 4, generator=gen), torch.randn(7, 4, generator=gen)
    d = torch.rand(7, 4, generator=gen) < 0.2
    boot = torch.randn(4, generator=gen)
    adv1 = gae_advantages(r, v, d, boot, 0.9, 1.0)
    assert torch.allclose(adv1, discounted_returns(r, d, boot, 0.9) - v, atol=1e-6)
    adv0 = gae_advantages(r, v, d, boot, 0.9, 0.0)
    next_v = torch.cat([v[1:], boot[None]])
    assert torch.allclose(adv0, r + 0.9 * (~d).float() * next_v - v, atol=1e-6)


def test_a2c_loss_by_hand():
    logits = torch.zeros(2, 1, 2, requires_grad=True)  # uniform policy over 2 actions
    actions = torch.tensor([[0], [1]])
    adv = col(1.0, 3.0)
    values = col(0.0, 1.0).requires_grad_()
    returns = col(2.0, 1.0)
    out = a2c_loss(logits, actions, adv, values, returns, value_coef=0.5, entropy_coef=0.1)
    ln2 = math.log(2)
    assert out.policy.item() == pytest.approx(ln2 * 2.0)  # -mean(log(1/2) * A) = ln2 * mean(A)
    assert out.value.item() == pytest.approx(0.5 * (4 + 0) / 2)
    assert out.entropy.item() == pytest.approx(ln2)
    assert out.total.item() == pytest.approx(2 * ln2 + 0.5 * 1.0 - 0.1 * ln2)
    out.total.backward()
    # d policy / d logit of the chosen action at t=0: -(1 - 1/2) * A / T = -0.25; entropy is maximal (grad 0)
    assert logits.grad[0, 0, 0].item() == pytest.approx(-0.25)
    # value gradient: beta_V * (V - R) / T
    assert values.grad[:, 0].tolist() == pytest.approx([0.5 * -2 / 2, 0.0])


def test_advantages_are_constants_in_the_policy_loss():
    logits = torch.zeros(1, 1, 2, requires_grad=True)
    adv = torch.ones(1, 1, requires_grad=True)
    a2c_loss(logits, torch.zeros(1, 1, dtype=torch.long), adv, torch.zeros(1, 1), torch.zeros(1, 1)).total.backward()
    assert adv.grad is None


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        discounted_returns(torch.zeros(3), torch.zeros(3, dtype=torch.bool), torch.zeros(()), 0.9)
    with pytest.raises(ValueError, match="logits"):
        a2c_loss(torch.zeros(2, 2, 3), torch.zeros(2, 1, dtype=torch.long), *[torch.zeros(2, 1)] * 3)


def test_reward_sign_loss_weighs_each_sign_present_equally():
    rewards = torch.tensor([[0.0, 0.0, 0.0, 5.0], [0.0, 1.0, -5.0, 0.0]])  # 5 zero, 2 positive, 1 negative
    logits = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    ce = -torch.log_softmax(logits, -1).gather(-1, (torch.sign(rewards) + 1).long().unsqueeze(-1)).squeeze(-1)
    by_hand = (ce[rewards < 0].mean() + ce[rewards == 0].mean() + ce[rewards > 0].mean()) / 3
    assert torch.allclose(reward_sign_loss(logits, rewards), by_hand)
    only_zero = torch.zeros(2, 4)  # a sign absent from the unroll does not count
    assert torch.allclose(reward_sign_loss(logits, only_zero), -torch.log_softmax(logits, -1)[..., 1].mean())
    with pytest.raises(ValueError, match="logits must be"):
        reward_sign_loss(logits[..., :2], rewards)
