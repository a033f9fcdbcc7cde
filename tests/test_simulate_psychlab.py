"""simulate psychlab-harlow: checks before the run folder, and (on the real level) transfer and fine-tuning."""

import pytest

from metarl_neuro.run import Run
from metarl_neuro.simulate import main


def test_dataset_path_is_checked_before_the_run_folder(tmp_path, capsys):
    out = tmp_path / "pl"
    assert main(["psychlab-harlow", "--episodes", "0", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "no dataset path" in err and "'dummy'" in err and "brady_konkle_oliva2008" in err
    assert not out.exists()
    assert main(["psychlab-harlow", "--dataset-path", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "not a folder" in capsys.readouterr().err and not out.exists()


def test_init_from_a_missing_run_is_refused_before_the_run_folder(tmp_path, capsys):
    out = tmp_path / "pl"
    args = ["psychlab-harlow", "--dataset-path", "dummy", "--init-from", str(tmp_path / "none"), "--out", str(out)]
    assert main(args) == 2
    assert "holds no checkpoint.pt" in capsys.readouterr().err and not out.exists()


@pytest.mark.deepmind_lab
@pytest.mark.slow  # 19 s: in the slow step
def test_surrogate_trained_network_tested_and_fine_tuned_on_the_real_level(tmp_path, capsys):
    small = ["--hidden-size", "16", "--device", "cpu", "--no-progress", "--episode-seconds", "4"]
    assert main(["harlow-pixels", "--episodes", "16", "--batch", "8", "--eval-episodes", "5", "--curriculum", "none", *small,
                 "--out", str(tmp_path / "sur")]) == 0
    # frozen transfer: the surrogate's network, no training on the level, tested on the colours it never saw
    assert main(["psychlab-harlow", "--dataset-path", "dummy-heldout", "--episodes", "0", "--batch", "3",
                 "--eval-episodes", "4", "--init-from", str(tmp_path / "sur"), *small,
                 "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "(held-out images: the level's dummy colours 1001-2000" in out
    run = Run.load(tmp_path / "t")
    assert run.meta["experiment"] == "psychlab-harlow" and run.activations.sizes["episode"] == 4
    # fine-tuning from it
    assert main(["psychlab-harlow", "--dataset-path", "dummy", "--episodes", "6", "--batch", "3",
                 "--eval-episodes", "3", "--init-from", str(tmp_path / "sur"), *small,
                 "--out", str(tmp_path / "f")]) == 0
    assert "(the level's dummy colours, ids 1-1000: the surrogate's training colours)" in capsys.readouterr().out
    # a network of another size is refused with the folder's name, before the run folder, naming the matching option
    assert main(["psychlab-harlow", "--dataset-path", "dummy", "--episodes", "0", "--init-from", str(tmp_path / "sur"),
                 "--hidden-size", "32", "--device", "cpu", "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "sur") in err and "pass --hidden-size 16" in err and not (tmp_path / "bad").exists()
