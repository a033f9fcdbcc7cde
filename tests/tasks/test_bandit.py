import pytest
import torch

from metarl_neuro.tasks import BANDIT_VARIANTS, BanditTask
from metarl_neuro.tasks.bandit import ELEVEN_ARM_REWARDS

VARIANTS = sorted(BANDIT_VARIANTS)


def actions(task, k=0):
    return torch.full((task.batch_size,), k, dtype=torch.long)


@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_dtypes_schema_and_episode_length(variant):
    task = BanditTask(6, variant, seed=1)
    obs = task.reset()
    assert obs.shape == (6, task.obs_dim) and obs.dtype == torch.float32
    for t in range(task.n_trials):
        assert torch.allclose(obs[:, 0], torch.full((6,), t / task.n_trials))
        obs, reward, done, log = task.step(actions(task, t % task.n_actions))
        assert reward.shape == (6,) and reward.dtype == torch.float32
        assert set(log) == {f.name for f in task.log_schema}
        for f in task.log_schema:
            assert log[f.name].shape == (6,) and log[f.name].dtype == f.dtype, f.name
        assert bool(done.all()) == (t == task.n_trials - 1)
        assert (log["regret"] >= 0).all() and torch.equal(log["optimal"], log["regret"] <= 0)
    assert task.n_trials == (5 if variant == "eleven_arm" else 100)
    assert (obs[:, 0] == 0).all()  # a new episode started in every slot


@pytest.mark.parametrize("variant,lo", [("easy", 0.1), ("medium", 0.25), ("hard", 0.4)])
def test_dependent_two_point_arms(variant, lo):
    task = BanditTask(4000, variant, seed=2)
    task.reset()
    _, _, _, log = task.step(actions(task))
    p0, p1 = log["mean_0"], log["mean_1"]
    assert torch.allclose(p0 + p1, torch.ones_like(p0))
    assert set(torch.round(p0 * 100).long().tolist()) == {round(lo * 100), round((1 - lo) * 100)}
    assert abs(float((p0 == lo).float().mean()) - 0.5) < 0.03


def test_independent_and_uniform_arm_distributions():
    ind = BanditTask(20000, "independent", seed=3)
    ind.reset()
    uni = BanditTask(20000, "uniform", seed=3)
    uni.reset()
    m = ind.means
    assert abs(float(m.mean()) - 0.5) < 0.01 and abs(float(m.var()) - 1 / 12) < 0.003
    assert abs(float(torch.corrcoef(m.T)[0, 1])) < 0.03
    assert torch.allclose(uni.means.sum(1), torch.ones(20000))


def test_rewards_follow_the_arm_means():
    task = BanditTask(20000, "independent", seed=4)
    task.reset()
    _, reward, _, log = task.step(actions(task, 1))
    assert abs(float(reward.mean()) - float(log["mean_1"].mean())) < 0.01
    assert set(reward.unique().tolist()) <= {0.0, 1.0}


def test_restless_walk_volatility():
    task = BanditTask(2000, "restless", seed=5, volatility=(0.01, 0.1))
    task.reset()
    p = [task.means[:, 0].clone()]
    for _ in range(20):
        _, _, _, log = task.step(actions(task))
        p.append(task.means[:, 0].clone())
    p = torch.stack(p)
    steps = p.diff(dim=0).abs().mean(0)
    high = log["high_volatility"]
    assert 0.4 < float(high.float().mean()) < 0.6
    assert float(steps[high].mean()) > 5 * float(steps[~high].mean())
    assert (p >= 0).all() and (p <= 1).all()
    assert torch.allclose(log["mean_0"] + log["mean_1"], torch.ones(2000))


def test_eleven_arm_payoffs_and_reward_code():
    task = BanditTask(200, "eleven_arm", seed=6)
    task.reset()
    obs, reward, _, log = task.step(actions(task, 10))  # the informative arm
    target = torch.stack([log[f"mean_{k}"] for k in range(10)], 1).argmax(1)
    assert torch.allclose(reward, (target + 1).float() / 10)
    assert torch.equal(obs[:, 1:].argmax(1), target)  # one-hot code of reward (target + 1) / 10
    assert (obs[:, 1:].sum(1) == 1).all()
    obs, reward, _, log = task.step(target)
    assert (reward == 5).all() and (log["regret"] == 0).all()
    assert obs[:, 1 + ELEVEN_ARM_REWARDS.index(5.0)].eq(1).all()


def test_same_seed_same_episodes_whatever_the_actions():
    a, b = BanditTask(50, "restless", seed=7), BanditTask(50, "restless", seed=7)
    a.reset(), b.reset()
    for t in range(30):
        la = a.step(actions(a, 0))[3]
        lb = b.step(actions(b, t % 2))[3]
        assert torch.equal(la["mean_0"], lb["mean_0"])


def test_state_dict_round_trip():
    a = BanditTask(8, "restless", seed=8)
    a.reset()
    for _ in range(10):
        a.step(actions(a))
    b = BanditTask(8, "restless", seed=99)
    b.load_state_dict(a.state_dict())
    for _ in range(5):
        ra, rb = a.step(actions(a, 1)), b.step(actions(b, 1))
        assert torch.equal(ra[1], rb[1]) and torch.equal(ra[0], rb[0])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown bandit variant 'tiny'"):
        BanditTask(2, "tiny")
    with pytest.raises(ValueError, match="batch_size"):
        BanditTask(0)
    with pytest.raises(ValueError, match="volatility"):
        BanditTask(2, "restless", volatility=(0.1, 2.0))
    task = BanditTask(2)
    task.reset()
    with pytest.raises(ValueError, match=r"action values must lie in \[0, 1\]"):
        task.step(torch.tensor([0, 2]))
