"""The pixel surrogate compiled (``HarlowPixelTask(compiled=True)``: the frame loop and the renderer through
``torch.compile``) gives what the eager code gives, bitwise: frames, rewards, episode ends and every log field,
under a scripted gaze policy that fixates and chooses, in the level's form, Wang 2016's form and odd action repeats
and views; and after a checkpoint's restore (issue 29, item 4)."""

import dataclasses

import pytest
import torch

from metarl_neuro.experiments import HarlowPixelsConfig
from metarl_neuro.tasks import _protocol
from metarl_neuro.tasks.harlow_pixels import GRID_DEG, LEVEL, HarlowPixelTask, dmlab_dummy_stimuli


def scripted(task: HarlowPixelTask, gen: torch.Generator, eps: float = 0.25) -> torch.Tensor:
    """Gaze to the cross, then to an image (the rewarded one 70% of the time), with a random action 25% of the
    time: trials complete in every slot, with rewards of every kind."""
    B = task.batch_size
    side = task.side_plan[torch.arange(B), task.trial.clamp(max=task.n_trials - 1)]
    target = torch.where(task.phase == 1, torch.where(side == 0, -17.8, 17.8), 0.0)
    target = torch.where((task.phase == 1) & (torch.rand(B, generator=gen) < 0.3), -target, target)
    err = target - task.gaze * GRID_DEG
    step = torch.where(err.abs() > 9, torch.where(err > 0, 4, 3), torch.where(err > 0, 2, 1))
    act = torch.where(err.abs() < 1.5, 0, step)
    return torch.where(torch.rand(B, generator=gen) < eps, torch.randint(0, 5, (B,), generator=gen), act).long()


FORMS = {
    "level, dummy colours, 45 deg": dict(batch_size=8, images=dmlab_dummy_stimuli()[:200], test_fraction=0.5,
                                         episode_frames=600, geometry=dataclasses.replace(LEVEL, fov_deg=45.0)),
    "wang2016 form": dict(batch_size=6, rewards="wang2016", n_trials=10, sides="random", episode_frames=2400,
                          geometry=dataclasses.replace(LEVEL, gap_frames=40)),
    "repeat 7, view 64": dict(batch_size=5, action_repeat=7, view=64, episode_frames=500),
}


def _assert_same(a, b, where):
    assert a.keys() == b.keys() if isinstance(a, dict) else True
    pairs = a.items() if isinstance(a, dict) else enumerate(a)
    for k, v in pairs:
        w = b[k]
        if isinstance(v, dict):
            _assert_same(v, w, f"{where}, {k}")
        else:
            assert v.dtype == w.dtype and torch.equal(v, w), f"{where}: {k} differs"


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS)
def test_compiled_surrogate_is_the_eager_one_bitwise(form):
    eager, fast = (HarlowPixelTask(seed=3, compiled=c, **FORMS[form]) for c in (False, True))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(eager.reset(), fast.reset())
    trials = 0
    for t in range(400):
        if t == 200:  # a checkpoint's restore: the compiled task rebuilds its colour table from the textures
            state = fast.state_dict()
            fast = HarlowPixelTask(seed=99, compiled=True, **FORMS[form])
            fast.load_state_dict(state)
        act = scripted(eager, g1)
        assert torch.equal(act, scripted(fast, g2))
        _assert_same(eager.step(act), fast.step(act), f"{form}, step {t}")
        trials += int(eager.trial.sum())
    assert trials > 0 and fast._kernels["render"]._compiled is not None  # it ran compiled, and trials happened


def test_a_failed_compile_warns_and_runs_eagerly(monkeypatch):
    def broken(fn, **kw):
        def run(*a, **k):
            raise RuntimeError("no C++ compiler found")
        return run

    monkeypatch.setattr(_protocol.torch, "compile", broken)
    eager, fast = HarlowPixelTask(2, seed=1), HarlowPixelTask(2, seed=1, compiled=True)
    with pytest.warns(RuntimeWarning, match="torch.compile of _render failed .*no C\\+\\+ compiler"):
        obs = fast.reset()
    assert torch.equal(obs, eager.reset())
    with pytest.warns(RuntimeWarning, match="torch.compile of _frames failed"):
        out = fast.step(torch.tensor([1, 4]))
    _assert_same(eager.step(torch.tensor([1, 4])), out, "after the fallback")


def test_config_compiles_where_training_is_long_enough():
    assert HarlowPixelsConfig().compiles()  # 60,000 episodes
    assert not HarlowPixelsConfig(episodes=500).compiles()
    assert HarlowPixelsConfig(episodes=500, compiled="on").compiles()
    assert not HarlowPixelsConfig(compiled="off").compiles()
    with pytest.raises(ValueError, match="compiled"):
        HarlowPixelsConfig(compiled="yes")
