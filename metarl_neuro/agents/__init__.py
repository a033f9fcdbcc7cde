"""A2C-LSTM agents: network, losses (pure functions), training loop and frozen-weight rollouts."""

from metarl_neuro.agents.a2c_lstm import A2CLSTM, ConvA2CLSTM
from metarl_neuro.agents.evaluation import EvalRecord, concat_records, run_frozen
from metarl_neuro.agents.losses import A2CLoss, a2c_loss, discounted_returns, gae_advantages, reward_sign_loss
from metarl_neuro.agents.rpe_input import RPEInputA2C, rpe_manipulation
from metarl_neuro.agents.training import (
    A2CSettings,
    Carry,
    Criterion,
    Rollout,
    TrainingDiverged,
    TrainState,
    a2c_update,
    collect_rollout,
    train,
)

__all__ = [
    "A2CLSTM",
    "A2CLoss",
    "A2CSettings",
    "Carry",
    "ConvA2CLSTM",
    "Criterion",
    "EvalRecord",
    "RPEInputA2C",
    "Rollout",
    "TrainState",
    "TrainingDiverged",
    "a2c_loss",
    "a2c_update",
    "collect_rollout",
    "concat_records",
    "discounted_returns",
    "gae_advantages",
    "reward_sign_loss",
    "rpe_manipulation",
    "run_frozen",
    "train",
]
