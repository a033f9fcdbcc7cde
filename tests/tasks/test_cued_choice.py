"""The shared fixation / left / right trial structure (Wang 2018 Methods) and the four tasks built on it."""

import pytest
import torch

from metarl_neuro.tasks import BehrensTask, BrombergMartinTask, CuedAction, StopperTask, TsutsuiTask

FIX, LEFT, RIGHT = int(CuedAction.FIXATE), int(CuedAction.LEFT), int(CuedAction.RIGHT)
TASKS = {
    "tsutsui": lambda B, **kw: TsutsuiTask(B, **kw),
    "behrens": lambda B, **kw: BehrensTask(B, block_trials=20, reversal_every=(3, 5), **kw),
    "bromberg-martin": lambda B, **kw: BrombergMartinTask(B, n_trials=30, block_trials=(3, 6), **kw),
    "stopper": lambda B, **kw: StopperTask(B, n_trials=20, **kw),
}


def full(B, a):
    return torch.full((B,), a, dtype=torch.long)


def valid_choice(task):
    """A valid side action in every slot (the shown target where there is only one)."""
    cues = task._cues()
    return torch.where(cues[:, 0], LEFT, RIGHT).long()


def play(task, steps, seed=0, policy="random"):
    """Random actions (or always-valid ones); the stacked log, rewards and dones."""
    gen = torch.Generator().manual_seed(seed)
    obs, logs, rewards, dones = [task.reset()], [], [], []
    for _ in range(steps):
        if policy == "random":
            a = torch.randint(0, 3, (task.batch_size,), generator=gen)
        else:
            a = torch.where(task.phase == 0, FIX, valid_choice(task))
        o, r, d, log = task.step(a)
        obs.append(o)
        logs.append(log)
        rewards.append(r)
        dones.append(d)
    log = {k: torch.stack([lg[k] for lg in logs]) for k in logs[0]}
    return torch.stack(obs), log, torch.stack(rewards), torch.stack(dones)


@pytest.mark.parametrize("name", TASKS)
def test_contract_shapes_dtypes_schema(name):
    task = TASKS[name](5, seed=1)
    assert task.n_actions == 3 and task.obs_dim == 3
    obs, log, reward, done = play(task, 300)
    assert obs.shape == (301, 5, 3) and obs.dtype == torch.float32
    assert reward.dtype == torch.float32 and done.dtype == torch.bool
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].shape == (300, 5) and log[f.name].dtype == f.dtype, f.name
    assert done.any(), "episodes must end"


@pytest.mark.parametrize("name", TASKS)
def test_fixation_then_choice_structure(name):
    """Fixation cue -> fixate (fixation reward) -> stimulus cues -> side (the task's payoff) -> fixation cue."""
    task = TASKS[name](4, seed=2, fixation_reward=0.25)
    obs = task.reset()
    assert torch.equal(obs[:, 0], torch.ones(4)) and (obs[:, 1:] == 0).all()
    obs, r, _, log = task.step(full(4, FIX))
    assert torch.allclose(r, torch.full((4,), 0.25)) and log["valid"].all() and not log["trial_end"].any()
    assert (obs[:, 0] == 0).all() and (obs[:, 1:].sum(1) >= 1).all()
    assert torch.equal(obs[:, 1:].bool(), task._cues())
    side = valid_choice(task)
    obs, r, _, log = task.step(side)
    assert log["trial_end"].all() and log["valid"].all()
    assert torch.equal(log["choice"], side - 1)
    assert torch.equal(r, log["outcome"]) and (r >= 0).all()
    assert (obs[:, 0] == 1).all() and torch.equal(task.trial, torch.ones(4, dtype=torch.long))


@pytest.mark.parametrize("name", TASKS)
def test_invalid_actions_pay_minus_one_and_end_the_trial(name):
    task = TASKS[name](3, seed=3)
    task.reset()
    _, r, _, log = task.step(full(3, LEFT))  # a side at fixation: aborted
    assert torch.equal(r, torch.full((3,), -1.0)) and log["trial_end"].all() and not log["valid"].any()
    assert (log["choice"] == -1).all() and (log["outcome"] == 0).all()
    assert torch.equal(task.trial, torch.ones(3, dtype=torch.long)) and (task.phase == 0).all()
    task.step(full(3, FIX))
    _, r, _, log = task.step(full(3, FIX))  # fixate at the choice step: invalid
    assert torch.equal(r, torch.full((3,), -1.0)) and log["trial_end"].all() and (log["choice"] == -1).all()


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_trials(name):
    a = play(TASKS[name](4, seed=7), 200)
    b = play(TASKS[name](4, seed=7), 200)
    c = play(TASKS[name](4, seed=8), 200)
    assert all(torch.equal(a[1][k], b[1][k]) for k in a[1]) and torch.equal(a[2], b[2])
    assert not all(torch.equal(a[1][k], c[1][k]) for k in a[1])


@pytest.mark.parametrize("name", TASKS)
def test_a_finished_episode_leaves_its_neighbours_alone(name):
    """Slot 0 is driven to its episode's end with invalid actions; slot 1 plays on undisturbed."""
    task = TASKS[name](2, seed=4)
    ref = TASKS[name](2, seed=4)
    task.reset()
    ref.reset()
    ended = False
    for _ in range(400):
        a_ref = torch.where(ref.phase == 0, FIX, valid_choice(ref))
        a = a_ref.clone()
        a[0] = LEFT if task.phase[0] == 0 else FIX  # slot 0: every trial aborted, so its episode ends early
        _, _, d, _ = task.step(a)
        ref.step(torch.stack([a[0], a_ref[1]]))
        ended |= bool(d[0])
        if ended:
            break
    assert ended
    for k in ("trial", "phase", "n_trials", *task._state_names):
        assert torch.equal(getattr(task, k)[1], getattr(ref, k)[1]), k


@pytest.mark.parametrize("name", TASKS)
def test_state_dict_round_trip(name):
    task = TASKS[name](3, seed=5)
    play(task, 57)
    state = task.state_dict()
    twin = TASKS[name](3, seed=99)
    twin.load_state_dict(state)
    gen = torch.Generator().manual_seed(1)
    for _ in range(100):
        a = torch.randint(0, 3, (3,), generator=gen)
        o1, r1, d1, _ = task.step(a)
        o2, r2, d2, _ = twin.step(a)
        assert torch.equal(o1, o2) and torch.equal(r1, r2) and torch.equal(d1, d2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        TsutsuiTask(0)
    with pytest.raises(ValueError, match="train_ranges"):
        TsutsuiTask(2, train_ranges=((0.4, 0.6),))
    with pytest.raises(ValueError, match="n_trials"):
        TsutsuiTask(2, n_trials=(10, 5))
    with pytest.raises(ValueError, match="order"):
        BehrensTask(2, order="sideways")
    with pytest.raises(ValueError, match="stable_p"):
        BehrensTask(2, stable_p=1.5)
    with pytest.raises(ValueError, match="block_trials"):
        BrombergMartinTask(2, block_trials=(0, 3))
    with pytest.raises(ValueError, match="risky_side"):
        StopperTask(2, risky_side=2)
    with pytest.raises(ValueError, match="action"):
        StopperTask(2).step(torch.tensor([0, 3]))


# ---------------------------------------------------------------- Tsutsui (Sim 1)
def test_tsutsui_base_probabilities_and_held_out_values():
    train = TsutsuiTask(20000, seed=0)
    p = train.p0
    assert torch.allclose(p.sum(1), torch.full((20000,), 0.5))
    left = p[:, 0]
    assert not ((left > 0.1) & (left < 0.2)).any() and not ((left > 0.3) & (left < 0.4)).any()
    test = TsutsuiTask(20000, test=True, seed=0).p0[:, 0]
    assert ((test > 0.1) & (test < 0.2)).float().mean() > 0.15  # held-out values appear at test
    n = TsutsuiTask(5000, seed=1).n_trials
    assert int(n.min()) == 50 and int(n.max()) == 100


def test_tsutsui_baiting_probability():
    """An arm left alone for n trials pays with probability 1 - (1 - p0)^(n + 1)."""
    task = TsutsuiTask(20000, seed=3, train_ranges=((0.2, 0.2),))
    task.reset()
    for _ in range(3):  # choose right three times: left unchosen for 3 trials
        task.step(full(20000, FIX))
        task.step(full(20000, RIGHT))
    assert torch.allclose(task.unchosen[:, 0], torch.full((20000,), 3.0))
    task.step(full(20000, FIX))
    _, r, _, log = task.step(full(20000, LEFT))
    expected = 1 - 0.8 ** 4
    assert torch.allclose(log["pay_prob_left"], torch.full((20000,), expected))
    assert abs(float(r.mean()) - expected) < 0.015
    assert (task.unchosen[:, 0] == 0).all() and (task.unchosen[:, 1] == 1).all()


def test_tsutsui_p0_changes_within_an_episode_only_when_asked():
    """p0_change: after each trial p0(L) is drawn anew with that probability (a block change); at 0 (W18 Sim 1)
    it holds for the episode and the task's random stream is the one it always was."""
    fixed, same, changing = (TsutsuiTask(4000, seed=5, **kw) for kw in ({}, {"p0_change": 0.0}, {"p0_change": 0.25}))
    for task in (fixed, same, changing):
        task.reset()
    within = {id(t): 0 for t in (fixed, changing)}
    for _ in range(20):  # 20 trials: no episode ends (they last 50-100)
        for task in (fixed, same, changing):
            before = task.p0.clone()
            task.step(full(4000, FIX))
            _, r, done, log = task.step(full(4000, LEFT))
            assert not done.any()
            if task is not same:
                within[id(task)] += int((task.p0[:, 0] != before[:, 0]).sum())
        assert torch.equal(fixed.p0, same.p0) and torch.equal(fixed.unchosen, same.unchosen)
    assert within[id(fixed)] == 0
    assert abs(within[id(changing)] / (20 * 4000) - 0.25) < 0.01  # redrawn on a quarter of the trials
    assert torch.allclose(changing.p0.sum(1), torch.full((4000,), 0.5))  # still from the training distribution
    with pytest.raises(ValueError, match="p0_change"):
        TsutsuiTask(2, p0_change=1.5)


# ---------------------------------------------------------------- Behrens (Sim 2)
def test_behrens_blocks_and_reversals():
    task = BehrensTask(400, block_trials=60, reversal_every=(5, 8), order="stable-first", seed=0)
    _, log, _, _ = play(task, 240, policy="valid")
    ends = log["trial_end"]
    p = log["p_left"][ends].reshape(120, 400)
    vol = log["volatile"][ends].reshape(120, 400)
    assert not vol[:60].any() and vol[60:].all()
    assert torch.equal(log["block"][ends].reshape(120, 400)[:, 0], (torch.arange(120) >= 60).long())
    stable = p[:60]
    assert (stable == stable[0]).all() and set(torch.round(stable[0] * 100).long().tolist()) <= {25, 75}
    volatile = p[60:]
    assert set(torch.round(volatile.flatten() * 100).long().unique().tolist()) <= {20, 80}
    flips = (volatile[1:] != volatile[:-1]).sum(0)
    assert int(flips.min()) >= 59 // 8 - 1 and int(flips.max()) <= 59 // 5 + 1  # one reversal per 5-8 trials
    first = BehrensTask(400, order="volatile-first", seed=1)
    assert first.volatile_first.all()


# ---------------------------------------------------------------- Bromberg-Martin (Sim 3)
def test_bromberg_martin_single_target_and_reversals():
    task = BrombergMartinTask(300, n_trials=80, block_trials=(5, 10), seed=0)
    _, log, reward, _ = play(task, 160, policy="valid")
    ends = log["trial_end"]
    assert ends.sum() == 80 * 300
    choice, target, rewarded = log["choice"][ends], log["target_side"][ends], log["rewarded_side"][ends]
    assert torch.equal(choice, target)  # the valid action is the saccade to the target
    assert torch.equal(reward[ends], (target == rewarded).float())
    rs = log["rewarded_side"][ends].reshape(80, 300)
    since = log["since_reversal"][ends].reshape(80, 300)
    flips = rs[1:] != rs[:-1]
    assert torch.equal(flips, since[1:] == 0)  # since_reversal restarts exactly at each reversal
    assert (since[:5] == -1).all()
    assert abs(float(target.float().mean()) - 0.5) < 0.02
    # the other side is invalid
    task = BrombergMartinTask(2, seed=1)
    task.reset()
    task.step(full(2, FIX))
    wrong = torch.where(task.target_side == 0, RIGHT, LEFT).long()
    _, r, _, log = task.step(wrong)
    assert torch.equal(r, torch.full((2,), -1.0)) and (log["choice"] == -1).all()


# ---------------------------------------------------------------- Stopper (Sim 6)
def test_stopper_payoffs():
    task = StopperTask(20000, n_trials=5, seed=0)
    assert set(task.p_risky.tolist()) == {0.5, 0.125}
    task.reset()
    task.step(full(20000, FIX))
    _, r, _, _ = task.step(full(20000, LEFT))  # certain lever
    assert (r == 1.0).all()
    task.step(full(20000, FIX))
    p = task.p_risky.clone()
    _, r, _, _ = task.step(full(20000, RIGHT))  # risky lever
    assert set(r.unique().tolist()) == {0.0, 4.0}
    for prob in (0.5, 0.125):
        assert abs(float((r[p == prob] > 0).float().mean()) - prob) < 0.02
