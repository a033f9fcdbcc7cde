"""What the three Harlow forms (1-D, the pixel surrogate, and the PsychLab wrapper on the real level, marked
``deepmind_lab``) share beyond the contract every task keeps (``tests/test_contract.py``: shapes, dtypes, log
schema, same seed same trials, slots left alone): their action sets and one trial table."""

import pytest
import torch

from metarl_neuro.experiments.harlow_1d import harlow_trials
from tests.test_contract import B, make, play, played, random_actions

FORMS = {"1d": "harlow-1d", "pixels": "harlow-pixels", "psychlab": "psychlab-harlow"}


def forms(*real_level_marks):
    """The forms as parameters, the real level's marked ``deepmind_lab`` and ``real_level_marks``."""
    return [pytest.param(f, marks=[pytest.mark.deepmind_lab, *real_level_marks]) if f == "psychlab" else f
            for f in FORMS]


PARAMS = forms()
N_ACTIONS = {"1d": 2, "pixels": 5, "psychlab": 5}  # 1-D: left/right; pixels: stay, fine and saccade left/right
COLUMNS = ["subject", "training_episodes", "episode", "trial", "choice", "rewarded_side", "correct", "rewarded_object",
           "other_object", "step"]


@pytest.mark.parametrize("form", PARAMS)
def test_one_trial_table_from_every_form(form):
    task, (*_, log) = played(FORMS[form])
    assert task.n_actions == N_ACTIONS[form]
    table = harlow_trials(log, torch.ones_like(log["trial_end"]), form, 0)
    assert list(table.columns) == COLUMNS and len(table) > 0
    assert table["correct"].isin([0, 1]).all() and table["choice"].isin([0, 1]).all()


@pytest.mark.parametrize("form", forms(pytest.mark.slow))
def test_same_seed_same_trial_table(form):  # the real level's case (another Lab started, 7 s) in the slow step
    task, (*_, a) = played(FORMS[form])
    *_, b = play(make(FORMS[form], B, 0), list(random_actions(task.n_actions, 1)))
    ta = harlow_trials(a, torch.ones_like(a["trial_end"]), "x", 0)
    assert ta.equals(harlow_trials(b, torch.ones_like(b["trial_end"]), "x", 0))
