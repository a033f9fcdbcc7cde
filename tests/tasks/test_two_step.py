import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from metarl_neuro.tasks import (
    DriftingRewards,
    SwappingRewards,
    TwoStepAction,
    TwoStepCue,
    TwoStepStage,
    TwoStepTask,
)

A0, A1, FIX = TwoStepAction.CHOICE_0, TwoStepAction.CHOICE_1, TwoStepAction.FIXATE


def full(B, a):
    return torch.full((B,), int(a), dtype=torch.long)


def run_logs(task, actions):
    task.reset()
    return [task.step(a)[3] for a in actions]


# ----------------------------------------------------------------- contract: shapes, dtypes, schema
@pytest.mark.parametrize("structure", ["compressed", "paper"])
@pytest.mark.parametrize("rewards", [SwappingRewards(), DriftingRewards()], ids=["wang2018", "daw2011"])
def test_shapes_dtypes_and_schema(structure, rewards):
    task = TwoStepTask(5, rewards=rewards, structure=structure, seed=1)
    obs = task.reset()
    assert obs.shape == (5, task.obs_dim) and obs.dtype == torch.float32
    obs, reward, done, log = task.step(full(5, task.n_actions - 1))
    assert obs.shape == (5, 4) and reward.shape == (5,) and reward.dtype == torch.float32
    assert done.shape == (5,) and done.dtype == torch.bool
    assert set(log) == {f.name for f in task.log_schema}
    for f in task.log_schema:
        assert log[f.name].shape == (5,) and log[f.name].dtype == f.dtype, f.name
    assert sum(k.startswith("reward_prob_") for k in log) == 2 * rewards.n_options


@pytest.mark.parametrize("structure", ["compressed", "paper"])
def test_same_seed_same_logs_other_seed_differs(structure):
    actions = [torch.randint(0, 3 if structure == "paper" else 2, (64,), generator=torch.Generator().manual_seed(i))
               for i in range(60)]
    a = run_logs(TwoStepTask(64, structure=structure, seed=3), actions)
    b = run_logs(TwoStepTask(64, structure=structure, seed=3), actions)
    c = run_logs(TwoStepTask(64, structure=structure, seed=4), actions)
    assert all(torch.equal(x[k], y[k]) for x, y in zip(a, b) for k in x)
    assert not all(torch.equal(x["state2"], y["state2"]) for x, y in zip(a, c))


def test_bad_actions_raise():
    task = TwoStepTask(3, structure="compressed")
    with pytest.raises(ValueError, match="shape"):
        task.step(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        task.step(torch.zeros(3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        task.step(full(3, 2))  # FIXATE does not exist in the compressed structure


@pytest.mark.parametrize(
    "kwargs, match",
    [({"common_prob": 1.2}, "common_prob"), ({"structure": "x"}, "structure"), ({"n_trials": 0}, "n_trials")],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TwoStepTask(2, **kwargs)


# ----------------------------------------------------------------- exact small cases
def test_compressed_trial_by_hand():
    task = TwoStepTask(
        2, common_prob=1.0, rewards=SwappingRewards(high=1.0, swap_prob=0.0), n_trials=2, structure="compressed"
    )
    obs = task.reset()
    assert obs.tolist() == [[0, 1, 0, 0]] * 2  # first-stage cue, no previous state yet
    good = int(task.probs[0, 1, 0] == 1.0)  # the state paying 1 in slot 0
    obs, reward, done, log = task.step(torch.tensor([good, 1 - good]))
    # common_prob = 1: state2 == choice1; reward 1 exactly in the good state
    assert log["choice1"].tolist() == [good, 1 - good] and log["state2"].tolist() == [good, 1 - good]
    assert log["common"].all() and log["trial_end"].all() and log["trial"].tolist() == [0, 0]
    assert reward[0] == 1.0 and log["outcome"][0] == 1.0
    assert obs[0, TwoStepCue.FIRST_STAGE] == 1 and obs[0, TwoStepCue.STATE_0 + good] == 1 and obs[0].sum() == 2
    assert not done.any()
    _, _, done, log = task.step(torch.tensor([0, 0]))
    assert done.all() and log["trial"].tolist() == [1, 1]
    assert task.trial.tolist() == [0, 0]  # new episodes started in both slots


def test_paper_structure_steps_and_wrong_actions():
    task = TwoStepTask(1, structure="paper", n_trials=1, common_prob=0.0, seed=0)
    obs = task.reset()
    assert obs[0, TwoStepCue.FIXATION] == 1
    # a choice on the fixation cue is wrong: -1 and the stage repeats
    _, r, _, log = task.step(full(1, A0))
    assert r.item() == -1.0 and not log["correct"].item() and task.stage.item() == TwoStepStage.FIXATION
    obs, r, _, log = task.step(full(1, FIX))
    assert r.item() == 0.0 and obs[0, TwoStepCue.FIRST_STAGE] == 1
    # FIXATE at the choice is wrong as well
    _, r, _, _ = task.step(full(1, FIX))
    assert r.item() == -1.0 and task.stage.item() == TwoStepStage.FIRST
    obs, r, _, log = task.step(full(1, A1))
    # common_prob = 0: the rare transition always, choice 1 -> state 0
    assert r.item() == 0.0 and obs[0, TwoStepCue.STATE_0] == 1 and not log["trial_end"].item()
    _, r, done, log = task.step(full(1, A1))  # either choice collects in a one-option state
    assert log["trial_end"].item() and done.item() and log["choice1"].item() == 1 and log["state2"].item() == 0
    assert not log["common"].item() and r.item() == log["outcome"].item()


def test_daw_compressed_has_a_second_stage_choice():
    task = TwoStepTask(1, common_prob=1.0, rewards=DriftingRewards(), structure="compressed")
    task.reset()
    obs, r, _, log = task.step(full(1, A1))
    assert obs[0, TwoStepCue.STATE_1] == 1 and not log["trial_end"].item() and r.item() == 0
    _, _, _, log = task.step(full(1, A0))
    assert log["trial_end"].item() and log["choice2"].item() == 0 and log["state2"].item() == 1


def test_done_episode_does_not_disturb_neighbour():
    # Paper structure: slot 0 acts correctly, slot 1 wastes steps, so their episodes end at different steps.
    task = TwoStepTask(2, structure="paper", n_trials=2, seed=5)
    task.reset()
    seq0 = [FIX, A0, A0] * 2
    seq1 = [FIX, FIX, A0, A0] + [A0, FIX]  # fixation, wrong, choice, second stage, wrong, fixation
    probs1_before = task.probs[1].clone()
    for t in range(6):
        _, _, done, _ = task.step(torch.tensor([int(seq0[t]), int(seq1[t])]))
    assert done.tolist() == [True, False]
    assert task.trial.tolist() == [0, 1]  # slot 0 restarted, slot 1 is in its second trial
    assert task.stage[1].item() == TwoStepStage.FIRST
    # slot 1's reward probabilities only moved by its own trial's swap draw
    assert torch.equal(task.probs[1], probs1_before) or torch.equal(task.probs[1], probs1_before.flip(0))


# ----------------------------------------------------------------- statistics (tolerance: 4 SE)
def test_transition_and_reward_rates():
    B, n = 4000, 25
    task = TwoStepTask(B, seed=11, structure="compressed")
    task.reset()
    common, outcome, p = [], [], []
    for _ in range(n):
        _, _, _, log = task.step(torch.randint(0, 2, (B,), generator=torch.Generator().manual_seed(_)))
        common.append(log["common"].float())
        pk = torch.stack([log["reward_prob_0"], log["reward_prob_1"]], 1).gather(1, log["state2"][:, None])[:, 0]
        outcome.append(log["outcome"])
        p.append(pk)
    common = torch.cat(common)
    N = common.numel()
    se = math.sqrt(0.8 * 0.2 / N)  # binomial SE of the common-transition rate
    assert abs(common.mean().item() - 0.8) < 4 * se
    outcome, p = torch.cat(outcome), torch.cat(p)
    se = math.sqrt((p * (1 - p)).sum().item()) / N  # SE of the mean of independent Bernoulli(p_i) - p_i
    assert abs((outcome - p).mean().item()) < 4 * se


def test_swap_rate():
    B, n = 2000, 50
    task = TwoStepTask(B, seed=2, n_trials=1000, structure="compressed")
    task.reset()
    prev = task.probs.clone()
    swaps = 0
    for _ in range(n):
        task.step(torch.zeros(B, dtype=torch.long))
        swaps += (task.probs[:, 0, 0] != prev[:, 0, 0]).sum().item()
        prev = task.probs.clone()
    N = B * n
    se = math.sqrt(0.025 * 0.975 / N)
    assert abs(swaps / N - 0.025) < 4 * se
    near = lambda x: (task.probs - x).abs() < 1e-6  # 1 - 0.9 is not 0.1 in float32
    assert (near(0.1) | near(0.9)).all()


def test_daw_walk_stays_in_bounds_and_steps_with_sd():
    rewards = DriftingRewards()
    gen = torch.Generator().manual_seed(0)
    p = rewards.init(5000, gen, torch.device("cpu"))
    steps = []
    for _ in range(40):
        q = rewards.step(p, gen)
        interior = ((p > 0.35) & (p < 0.65))  # far from the bounds: no reflection within 4 SD
        steps.append((q - p)[interior])
        p = q
        assert ((p >= 0.25) & (p <= 0.75)).all()
    d = torch.cat(steps)
    # SE of a sample SD is about sd / sqrt(2 N)
    assert abs(d.std().item() - 0.025) < 4 * 0.025 / math.sqrt(2 * d.numel())


@settings(max_examples=30, deadline=None)
@given(
    sd=st.floats(0.0, 0.3),
    lower=st.floats(0.0, 0.45),
    width=st.floats(0.05, 0.55),
    seed=st.integers(0, 2**31 - 1),
)
def test_reward_probabilities_stay_in_bounds(sd, lower, width, seed):
    upper = min(1.0, lower + width)
    task = TwoStepTask(16, rewards=DriftingRewards(sd, lower, upper), seed=seed, n_trials=5, structure="compressed")
    task.reset()
    for _ in range(12):
        _, _, _, log = task.step(torch.zeros(16, dtype=torch.long))
        for k in range(4):
            v = log[f"reward_prob_{k}"]
            assert ((v >= lower - 1e-6) & (v <= upper + 1e-6)).all()


# ----------------------------------------------------------------- the one-step-per-trial fast path (issue 14)
@given(seed=st.integers(0, 2**31 - 1), n_trials=st.integers(1, 7), common=st.sampled_from([0.0, 0.8, 1.0]),
       rewards=st.sampled_from(["swap", "drift1"]), int32=st.booleans())
@settings(max_examples=40, deadline=None)
def test_fast_compressed_step_equals_the_general_path(seed, n_trials, common, rewards, int32):
    """The compressed one-option step (the default task's) against the general code, stepped side by side from
    the same seed with the same actions: observations, rewards, episode ends, every log field and the state."""
    def make():
        process = SwappingRewards(0.9, 0.3) if rewards == "swap" else DriftingRewards(n_options=1)
        return TwoStepTask(5, common_prob=common, rewards=process, n_trials=n_trials, seed=seed)

    fast, general = make(), make()
    torch.testing.assert_close(fast.reset(), general.reset())
    g = torch.Generator().manual_seed(seed)
    for _ in range(3 * n_trials + 2):
        a = torch.randint(0, 2, (5,), generator=g, dtype=torch.int32 if int32 else torch.long)
        out_fast = fast.step(a)  # validates, then takes the fast path (this structure)
        out_general = general._step_general(a.long())  # step() hands both paths int64 actions
        for x, y in zip(out_fast[:3], out_general[:3]):
            assert torch.equal(x, y)
        assert out_fast[3].keys() == out_general[3].keys()
        for k in out_fast[3]:
            assert out_fast[3][k].dtype == out_general[3][k].dtype and torch.equal(out_fast[3][k], out_general[3][k]), k
        for k, v in fast.state_dict().items():
            if k != "generator":
                assert torch.equal(v, general.state_dict()[k]), k
        assert torch.equal(fast.generator.get_state(), general.generator.get_state())
