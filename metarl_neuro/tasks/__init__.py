"""Batched task simulators (DESIGN.md, "Tasks: one batched protocol")."""

from metarl_neuro.tasks._protocol import LogField
from metarl_neuro.tasks.bandit import BANDIT_VARIANTS, BanditTask
from metarl_neuro.tasks.cued_choice import (
    BehrensTask,
    BrombergMartinTask,
    CuedAction,
    CuedChoiceTask,
    StopperTask,
    TsutsuiTask,
)
from metarl_neuro.tasks.gym import TaskEnv, TaskVectorEnv, TwoStepEnv, register_envs
from metarl_neuro.tasks.harlow import HarlowAction, HarlowTask
from metarl_neuro.tasks.psychlab import PsychLabHarlow, write_dataset
from metarl_neuro.tasks.two_step import (
    DriftingRewards,
    SwappingRewards,
    TwoStepAction,
    TwoStepCue,
    TwoStepStage,
    TwoStepTask,
)

register_envs()

__all__ = [
    "BANDIT_VARIANTS",
    "BanditTask",
    "BehrensTask",
    "BrombergMartinTask",
    "CuedAction",
    "CuedChoiceTask",
    "DriftingRewards",
    "HarlowAction",
    "HarlowTask",
    "LogField",
    "PsychLabHarlow",
    "StopperTask",
    "SwappingRewards",
    "TaskEnv",
    "TaskVectorEnv",
    "TsutsuiTask",
    "TwoStepAction",
    "TwoStepCue",
    "TwoStepEnv",
    "TwoStepStage",
    "TwoStepTask",
    "register_envs",
    "write_dataset",
]
