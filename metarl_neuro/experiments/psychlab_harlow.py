"""DeepMind Lab's PsychLab Harlow level (Wang et al. 2018, Simulation 5, Fig. 6c): needs ``deepmind_lab``.

Each Lab instance is built inside the process that steps it (DeepMind Lab objects cannot be pickled), so a
``reproduce`` seed is an ordinary Ray task.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from metarl_neuro.agents import concat_records, run_frozen
from metarl_neuro.domains import AT_LEAST_ONE
from metarl_neuro.experiments._base import (
    EVAL_SAMPLER_SEED_OFFSET,
    EVAL_TASK_SEED_OFFSET,
    Experiment,
    build,
    check_init_from,
    one_writer,
    option,
    run_attrs,
    train_run,
)
from metarl_neuro.experiments.harlow_1d import (
    HARLOW_BOUNDED,
    figure,
    harlow_report,
    harlow_test_images,
    harlow_trials,
    report,
    report_options,
    summarize,
)
from metarl_neuro.experiments.harlow_pixels import PIXEL_CLAIMS, GazeConfig
from metarl_neuro.logs import activations_dataset
from metarl_neuro.tasks._protocol import make_generator

__all__ = ["EXPERIMENT", "PsychLabHarlowConfig", "simulate_psychlab"]


@dataclass(frozen=True)
class PsychLabHarlowConfig(GazeConfig):
    """DeepMind Lab's PsychLab Harlow level (Wang et al. 2018, Simulation 5); needs ``deepmind_lab``."""

    episodes: int = option(20_000, "training episodes (our choice; Wang 2018 trained far longer, on GPUs); 0 evaluates "
                       "the untrained (or --init-from) agent")
    batch: int = option(16, "Lab instances stepped in parallel (about 75 MiB each)")
    eval_episodes: int = option(100, "frozen-weight test episodes (played --batch at a time)")
    width: int = option(84, "observation width in pixels (Wang 2016)", domain=AT_LEAST_ONE)
    height: int = option(84, "observation height in pixels (Wang 2016)", domain=AT_LEAST_ONE)
    dataset_path: str = option("", "the level's datasetPath: 'dummy' (its solid-colour images, ids 1-1000 in every "
                           "episode: the surrogate's training colours), 'dummy-heldout' (the colours the surrogate "
                           "holds out, ids 1001-2000, written once into a cache folder in the level's layout; a "
                           "departure from the level's own pool, for a test on novel images) or the folder of the "
                           "Brady et al. 2008 images (0001.png ...)")

    METRICS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        super().__post_init__()
        if self.eval_every:
            raise ValueError("--eval-every is not available for psychlab-harlow: train on harlow-pixels with "
                             "--eval-every and test the network here with --init-from")

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.PsychLabHarlow` of ``batch_size`` Lab instances (raises
        ``ImportError`` with build instructions when ``deepmind_lab`` is missing)."""
        from metarl_neuro.tasks import PsychLabHarlow

        return PsychLabHarlow(batch_size, self.dataset_path, self.width, self.height,
                              look_units=self.look_units(), episode_seconds=self.episode_seconds, fov=self.fov,
                              seed=seed, device=device)


@one_writer
def simulate_psychlab(config: PsychLabHarlowConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train (or only test) the conv-LSTM agent on DeepMind Lab's PsychLab Harlow level, frozen test after.

    Needs ``deepmind_lab`` (``ImportError`` with build instructions otherwise) and a valid ``dataset_path``
    (``ValueError`` saying how to get the images or to pass ``dummy`` or ``dummy-heldout``: the colours the
    surrogate never trains on, :func:`~metarl_neuro.tasks.psychlab.heldout_colour_dataset`); both are checked
    before the run
    folder is written. ``config.init_from`` starts from another run's network, e.g. one trained on the
    surrogate (``harlow-pixels``, same action set and image size): with ``--episodes 0`` that network is
    tested frozen on the real level (transfer); with more, it is fine-tuned there first. The frozen test
    plays ``config.eval_episodes`` episodes, ``config.batch`` Lab instances at a time. Writes the run folder
    with the Harlow trial table, ``figures/harlow_performance.png`` and the activations.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    ImportError, ValueError, FileNotFoundError, FileExistsError
        As above, and as :func:`simulate_two_step`.
    """
    from metarl_neuro.tasks.psychlab import check_dataset_path, import_lab

    check_dataset_path(config.dataset_path)  # fail before creating the run folder: the arguments first,
    check_init_from(config)
    import_lab()  # then the machine
    t = train_run(config, "psychlab-harlow", out, resume, progress)
    run, config = t.run, t.config
    records, done = [], 0
    while done < config.eval_episodes:
        n = min(config.batch, config.eval_episodes - done)
        task = build(config, t.device, n, seed_offset=EVAL_TASK_SEED_OFFSET + 7919 * done)[1]
        sampler = make_generator(config.seed + EVAL_SAMPLER_SEED_OFFSET + done, t.device)
        records.append(run_frozen(t.agent, task, sampler))
        task.close()
        done += n
    record = concat_records(records)
    trials = harlow_trials(record.log, record.active, run.path.name, t.episodes)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, run_attrs(t, "psychlab-harlow")))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    harlow_report(trials, run.path / "figures", f"PsychLab Harlow, {run.path.name}",
                  harlow_test_images("psychlab-harlow", config))
    return run.path


#: Wang 2018 Fig. 6c's claims on the real level, as the frozen test of the surrogate's seeds
LEVEL_CLAIMS = (
    PIXEL_CLAIMS[0],
    dataclasses.replace(PIXEL_CLAIMS[1], falls_short=(
        "as the frozen test of the harlow-pixels seeds (100 episodes of held-out colours each), a seed fails here when "
        "it did not bind on the surrogate (see harlow-pixels): trained through the curriculum and tested in the "
        "level's whole 90-degree view (the defaults), 8 of 8 unselected seeds scored 95.8-100% on trials 2-6; in the "
        "central 45 degrees at lr 5e-4 all 8 scored 97.4-100%, at lr 2.5e-4 the 7 seeds that bound 92.0-99.0% and the "
        "eighth never bound. With one LSTM and W18's value weight, 3 of 8 seeds bound and two of those missed 90% here "
        "by a point (89.2 and 89.0%)")),
)


EXPERIMENT = Experiment(
    name="psychlab-harlow", config=PsychLabHarlowConfig, simulate=simulate_psychlab, report=report, report_options=report_options,
    summarize=summarize, paper="Wang et al. 2018, Simulation 5 (Harlow), Fig. 6c; DeepMind Lab's PsychLab level",
    claims=LEVEL_CLAIMS, figure=figure, resources={"num_cpus": 2, "num_gpus": 0.25},
    # the frozen test on images the surrogate never trained on (issue 29): one-shot on novel images, on the level
    reproduce_defaults={"dataset_path": "dummy-heldout"},
    frozen_test_of="harlow-pixels",  # reproduce harlow-pixels psychlab-harlow: each surrogate seed, frozen, on the level
    reduced={"episodes": 0, "eval_episodes": 20, "batch": 10,
             "why": "the untrained network tested on 20 episodes of the real level (the held-out colours, "
                    "dummy-heldout): DeepMind Lab runs at about 400 agent steps/s here, too slow to train on; the "
                    "trained network's test is "
                    "psychlab-harlow --init-from a harlow-pixels run (docs/guide/harlow.md)"},
    bounded=HARLOW_BOUNDED,
)
