"""The experiment registry: one module per experiment, each ending with ``EXPERIMENT = Experiment(...)``.

An experiment module holds its config dataclass (paper defaults with their sources), how its task and agent
are built (``config.make_task``), its trial-table builder, its simulation, its report (the paper's effect as
numbers, and its figures) and its per-seed summary for ``reproduce``; :class:`~._base.Experiment` lists the
fields. The drivers (``simulate``, ``analyze``, ``reproduce``, ``sweep``) are generic over :data:`EXPERIMENTS`.

Adding an experiment is one new module here plus one line in :data:`REGISTRY` (docs/tutorials/new_experiment.md).
"""

from __future__ import annotations

import importlib

from metarl_neuro.experiments._base import (
    EVAL_SAMPLER_SEED_OFFSET,
    EVAL_TASK_SEED_OFFSET,
    NETWORK_FIELDS,
    TRAIN_SAMPLER_SEED_OFFSET,
    Claim,
    Experiment,
    TrainedRun,
    TrainingConfig,
    a2c_settings,
    build,
    check_config,
    config_hash,
    extend_run,
    field_spec,
    option,
    parse_field,
    resolve_device,
    train_run,
)

# the config classes under their old import path (metarl_neuro.experiments.TwoStepConfig, ...)
from metarl_neuro.experiments.bandit import BanditConfig
from metarl_neuro.experiments.behrens import BehrensConfig
from metarl_neuro.experiments.bromberg_martin import BrombergMartinConfig
from metarl_neuro.experiments.harlow_1d import Harlow1DConfig
from metarl_neuro.experiments.harlow_pixels import HarlowPixelsConfig
from metarl_neuro.experiments.harlow_w16 import HarlowW16Config
from metarl_neuro.experiments.psychlab_harlow import PsychLabHarlowConfig
from metarl_neuro.experiments.stopper import StopperConfig
from metarl_neuro.experiments.tsutsui import TsutsuiConfig
from metarl_neuro.experiments.two_step import TwoStepConfig

#: the registered experiment modules, in the order the drivers list them: one line per experiment
REGISTRY = (
    "two_step",
    "bandit",
    "bandit_correlated",
    "harlow_1d",
    "harlow_pixels",
    "harlow_w16",
    "psychlab_harlow",
    "tsutsui",
    "behrens",
    "bromberg_martin",
    "stopper",
    "two_step_wang2016",
)

#: experiment name (command line, ``config.json``) -> :class:`Experiment`
EXPERIMENTS: dict[str, Experiment] = {}
for _module in REGISTRY:
    _exp = importlib.import_module(f"{__name__}.{_module}").EXPERIMENT
    if _exp.name in EXPERIMENTS:
        raise ValueError(f"two experiment modules register the name {_exp.name!r}")
    EXPERIMENTS[_exp.name] = _exp


def get(name: str) -> Experiment:
    """The registered experiment ``name`` (``"two-step"``; ``"bromberg_martin"`` works too).

    Parameters
    ----------
    name : str
        An experiment's name.

    Returns
    -------
    Experiment
        Its registry entry.

    Raises
    ------
    ValueError
        If no experiment has that name; the message lists the registered ones.
    """
    exp = EXPERIMENTS.get(str(name).replace("_", "-"))
    if exp is None:
        raise ValueError(f"unknown experiment {name!r}; registered: {', '.join(EXPERIMENTS)}")
    return exp


__all__ = [
    "EVAL_SAMPLER_SEED_OFFSET", "EVAL_TASK_SEED_OFFSET", "NETWORK_FIELDS", "TRAIN_SAMPLER_SEED_OFFSET", "TrainedRun",
    "a2c_settings", "build", "extend_run", "option", "train_run",
    "EXPERIMENTS", "REGISTRY", "BanditConfig", "BehrensConfig", "BrombergMartinConfig", "Claim", "Experiment",
    "Harlow1DConfig", "HarlowPixelsConfig", "HarlowW16Config", "PsychLabHarlowConfig", "StopperConfig", "TrainingConfig",
    "TsutsuiConfig", "TwoStepConfig", "check_config", "config_hash", "field_spec", "get", "parse_field",
    "resolve_device",
]
