"""Batched task simulators (DESIGN.md, "Tasks: one batched protocol")."""

from metarl_neuro.tasks._protocol import LogField
from metarl_neuro.tasks.two_step import (
    DriftingRewards,
    SwappingRewards,
    TwoStepAction,
    TwoStepCue,
    TwoStepStage,
    TwoStepTask,
)

__all__ = [
    "DriftingRewards",
    "LogField",
    "SwappingRewards",
    "TwoStepAction",
    "TwoStepCue",
    "TwoStepStage",
    "TwoStepTask",
]
