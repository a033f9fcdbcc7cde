"""The PsychLab wrapper's parts that need no DeepMind Lab (the real-level tests are in test_psychlab_real.py)."""

import importlib

import pytest

from metarl_neuro.tasks import psychlab
from metarl_neuro.tasks.psychlab import PsychLabHarlow, check_dataset_path, parse_trial_data


def test_missing_deepmind_lab_says_how_to_get_it(monkeypatch):
    real_import = importlib.import_module

    def no_lab(name, *args):
        if name == "deepmind_lab":
            raise ImportError("No module named 'deepmind_lab'")
        return real_import(name, *args)

    monkeypatch.setattr(psychlab.importlib, "import_module", no_lab)  # sys.modules stays untouched
    with pytest.raises(ImportError, match="build it from source with Bazel"):
        PsychLabHarlow(2, "dummy")


def test_parse_trial_data_of_a_real_payload():
    """A payload as the real level publishes it (one field a line; trialId is always 1)."""
    text = ("{\n  ['trial'] = 3\n  ['correctResponse'] = 2\n  ['response'] = incorrect_image_button\n"
            "  ['stepCount'] = 10\n  ['reactionTime'] = 0.16666666666667\n  ['correct'] = 0\n  ['trialId'] = 1\n}\n")
    assert parse_trial_data(text) == {"trial": 3, "correctResponse": 2, "response": "incorrect_image_button",
                                      "stepCount": 10, "reactionTime": 0.16666666666667, "correct": 0, "trialId": 1}


def test_dataset_path_is_checked_before_anything_is_built(tmp_path):
    assert check_dataset_path("dummy") == "dummy"
    for bad, match in ((None, "no dataset path"), ("", "no dataset path"), (tmp_path / "nope", "not a folder"),
                       (tmp_path, "holds no 0001.png")):
        with pytest.raises(ValueError, match=match) as err:
            check_dataset_path(bad)
        assert "brady_konkle_oliva2008" in str(err.value) and "'dummy'" in str(err.value)
    (tmp_path / "0001.png").write_bytes(b"")
    assert check_dataset_path(tmp_path) == str(tmp_path)
    with pytest.raises(ValueError, match="no dataset path"):
        PsychLabHarlow(1, "")  # before deepmind_lab is even imported


def test_write_dataset_refuses_bad_images_and_an_existing_folder(tmp_path):
    import numpy as np

    from metarl_neuro.tasks.psychlab import DATASET_SIZE, HELDOUT_COLOURS, write_dataset

    assert check_dataset_path(HELDOUT_COLOURS) == "dummy-heldout"
    for bad, match in ((np.zeros((1, 3, 2, 2)), "n >= 2"), (np.zeros((4, 2, 2)), "shape"),
                       (np.full((2, 3, 1, 1), 1.5), r"\[0, 1\]"), (np.full((2, 3, 1, 1), np.nan), r"\[0, 1\]")):
        with pytest.raises(ValueError, match=match):
            write_dataset(tmp_path / "bad", bad)
    assert not (tmp_path / "bad").exists()
    out = write_dataset(tmp_path / "set", np.linspace(0, 1, 2 * 3 * 2 * 2).reshape(2, 3, 2, 2), size=2)
    assert len(list(out.iterdir())) == DATASET_SIZE and check_dataset_path(out) == str(out)
    assert (out / "0001.png").read_bytes() == (out / "0003.png").read_bytes() != (out / "0002.png").read_bytes()
    with pytest.raises(FileExistsError, match="set exists"):
        write_dataset(out, np.zeros((2, 3, 1, 1)))
    assert [p.name for p in tmp_path.iterdir()] == ["set"]  # no temporary folder left behind
