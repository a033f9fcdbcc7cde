"""Turn a frozen evaluation record into the run folder's tables: the trial table and the activations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import xarray as xr

from metarl_neuro.agents.evaluation import EvalRecord
from metarl_neuro.schema import TWO_STEP_COLUMNS

__all__ = ["activations_dataset", "bandit_trials", "choice_trials", "harlow_trials", "two_step_trials"]


def _trial_ends(log: dict, active) -> tuple[np.ndarray, np.ndarray, object]:
    """``(steps, slots, pick)`` of the steps that ended a trial within each slot's first episode; ``pick(k)``
    reads log field ``k`` there."""
    ended = np.asarray(active).astype(bool) & log["trial_end"].numpy().astype(bool)
    steps, slots = np.nonzero(ended)
    return steps, slots, lambda k: log[k].numpy()[steps, slots]


def two_step_trials(record: EvalRecord, subject: str) -> pd.DataFrame:
    """The two-step trial table (``metarl_neuro.schema.TWO_STEP_COLUMNS``) of a frozen evaluation.

    Parameters
    ----------
    record : EvalRecord
        From :func:`metarl_neuro.agents.run_frozen` on a :class:`~metarl_neuro.tasks.TwoStepTask`.
    subject : str
        Value of the ``subject`` column (the run's name).

    Returns
    -------
    pandas.DataFrame
        One row per (episode, trial); ``episode`` is the batch slot, ``reward`` the trial's outcome, then
        the latent ``reward_prob_<k>`` columns.
    """
    log = record.log
    steps, slots, pick = _trial_ends(log, record.active.numpy())
    cols = {
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "episode": slots.astype("int64"),
        "trial": pick("trial"),
        "choice1": pick("choice1"),
        "state2": pick("state2"),
        "common": pick("common"),
        "choice2": pick("choice2"),
        "reward": pick("outcome").astype("float64"),
    }
    for k in sorted(k for k in log if k.startswith("reward_prob_")):
        cols[k] = pick(k).astype("float64")
    df = pd.DataFrame(cols).astype({c: d for c, (d, _) in TWO_STEP_COLUMNS.items()})
    return df.sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


def activations_dataset(record: EvalRecord, gamma: float, attrs: dict) -> xr.Dataset:
    """The activations dataset of DESIGN.md from a frozen evaluation.

    Parameters
    ----------
    record : EvalRecord
        ``(S, B, ...)`` tensors; steps after an episode ended are masked (NaN, or -1 for integer
        coordinates).
    gamma : float
        Discount used for the agent's TD error ``rpe = r_t + gamma * V_{t+1} - V_t`` (``V_{t+1} = 0`` at the
        episode's last step).
    attrs : dict
        Dataset attributes (seed, config hash, package version, ...).

    Returns
    -------
    xarray.Dataset
        Dims ``episode``, ``step``, ``unit``, ``action``. Variables ``h``, ``c`` ``(episode, step, unit)``
        float32, ``value``, ``rpe`` ``(episode, step)`` float32, ``policy`` ``(episode, step, action)``
        float32. Per-step coordinates ``trial``, ``stage``, ``action_taken`` (the dim ``action`` indexes ``policy``), ``reward``, ``done`` and the task's
        other log fields.
    """
    active = record.active.T.numpy()  # (B, S)

    def bs(x: torch.Tensor, fill=np.nan) -> np.ndarray:
        a = x.transpose(0, 1).numpy()
        if a.dtype == np.bool_:
            return a & active.reshape(active.shape + (1,) * (a.ndim - 2))
        mask = active.reshape(active.shape + (1,) * (a.ndim - 2))
        if np.issubdtype(a.dtype, np.integer):
            return np.where(mask, a, -1)
        return np.where(mask, a, fill).astype(np.float32)

    value = record.value
    next_value = torch.cat([value[1:], torch.zeros_like(value[:1])])
    rpe = record.reward + gamma * next_value * (~record.done).float() - value
    B, S = active.shape
    coords = {
        "episode": np.arange(B),
        "step": np.arange(S),
        "unit": np.arange(record.h.shape[-1]),
        "action": np.arange(record.policy.shape[-1]),
        "action_taken": (("episode", "step"), bs(record.action)),
        "reward": (("episode", "step"), bs(record.reward)),
        "done": (("episode", "step"), bs(record.done)),
        "active": (("episode", "step"), active),
    }
    for k, v in record.log.items():
        coords[k] = (("episode", "step"), bs(v))
    ds = xr.Dataset(
        {
            "h": (("episode", "step", "unit"), bs(record.h)),
            "c": (("episode", "step", "unit"), bs(record.c)),
            "value": (("episode", "step"), bs(record.value)),
            "rpe": (("episode", "step"), bs(rpe)),
            "policy": (("episode", "step", "action"), bs(record.policy)),
        },
        coords=coords,
        attrs=dict(attrs),
    )
    ds["h"].attrs.update(long_name="LSTM hidden state h_t that produced the action at step t", units="a.u.")
    ds["c"].attrs.update(long_name="LSTM cell state c_t", units="a.u.")
    ds["value"].attrs.update(long_name="state value V(s_t)", units="reward")
    ds["rpe"].attrs.update(long_name="TD error r_t + gamma V_{t+1} - V_t", units="reward")
    ds["policy"].attrs.update(long_name="pi(a | s_t)", units="probability")
    ds["step"].attrs.update(units="steps")
    return ds


def bandit_trials(log: dict, subject: str, policy: str, active=None) -> pd.DataFrame:
    """The bandit trial table (``metarl_neuro.schema.BANDIT_COLUMNS``) from a :class:`~metarl_neuro.tasks.BanditTask`
    log.

    Parameters
    ----------
    log : dict of str to torch.Tensor
        The task's log fields stacked to ``(S, B)`` (``EvalRecord.log`` or
        :func:`metarl_neuro.agents.baselines.run_policy`).
    subject : str
        Value of the ``subject`` column (the run's name).
    policy : str
        Value of the ``policy`` column.
    active : torch.Tensor, optional
        ``(S, B)`` bool mask of the steps that belong to each slot's first episode (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per (episode, trial), ``episode`` being the batch slot.
    """
    act = np.ones(tuple(log["trial"].shape), bool) if active is None else active.numpy().astype(bool)
    steps, slots = np.nonzero(act)
    pick = lambda k: log[k].numpy()[steps, slots]
    cols = {
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "policy": pd.array([policy] * len(steps), dtype="string"),
        "episode": slots.astype("int64"),
        "trial": pick("trial").astype("int64"),
        "choice": pick("choice").astype("int64"),
        "reward": pick("outcome").astype("float64"),
        "regret": pick("regret").astype("float64").clip(min=0.0),
        "optimal": pick("optimal").astype(bool),
        "high_volatility": pick("high_volatility").astype(bool),
    }
    for k in sorted((k for k in log if k.startswith("mean_")), key=lambda k: int(k.split("_")[1])):
        cols[k] = pick(k).astype("float64")
    return pd.DataFrame(cols).sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


def harlow_trials(log: dict, active, subject: str, training_episodes: int) -> pd.DataFrame:
    """The Harlow trial table from a :class:`~metarl_neuro.tasks.HarlowTask` log.

    Parameters
    ----------
    log : dict of str to torch.Tensor
        ``(S, B)`` log fields (``EvalRecord.log``).
    active : torch.Tensor
        ``(S, B)`` bool, the steps of each slot's first episode.
    subject : str
        Value of the ``subject`` column.
    training_episodes : int
        Training episodes of the agent that played (the training stage).

    Returns
    -------
    pandas.DataFrame
        One row per completed trial: ``subject``, ``training_episodes``, ``episode`` (batch slot), ``trial``
        (0-based), ``choice`` (side reached, 0 left / 1 right), ``rewarded_side``, ``correct`` (bool),
        ``rewarded_object``, ``other_object`` (ids), ``step`` (step in the episode at which the object was
        reached).
    """
    steps, slots, pick = _trial_ends(log, active.numpy())
    df = pd.DataFrame({
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "training_episodes": np.full(len(steps), int(training_episodes), dtype="int64"),
        "episode": slots.astype("int64"),
        "trial": pick("trial").astype("int64"),
        "choice": pick("choice").astype("int64"),
        "rewarded_side": pick("rewarded_side").astype("int64"),
        "correct": pick("correct").astype(bool),
        "rewarded_object": pick("rewarded_object").astype("int64"),
        "other_object": pick("other_object").astype("int64"),
        "step": pick("step_in_episode").astype("int64"),
    })
    return df.sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


def choice_trials(log: dict, active, subject: str) -> pd.DataFrame:
    """The trial table of a fixation / left / right task (:class:`~metarl_neuro.tasks.CuedChoiceTask`).

    Parameters
    ----------
    log : dict of str to torch.Tensor
        ``(S, B)`` log fields (``EvalRecord.log``).
    active : torch.Tensor
        ``(S, B)`` bool, the steps of each slot's first episode.
    subject : str
        Value of the ``subject`` column.

    Returns
    -------
    pandas.DataFrame
        One row per trial, sorted by episode and trial: ``subject``, ``episode`` (batch slot), ``trial``
        (0-based), ``choice`` (0 left, 1 right; -1 on a missed trial), ``reward`` (float64; NaN on a missed
        trial), ``missed`` (True where the trial was aborted or its action invalid: the schema's
        ``missed`` column), ``step`` (step in the episode at which the trial ended), then the task's own log
        fields (``p0_left``, ``volatile``, ``rewarded_side``, ``p_risky``, ...) with their values during the
        trial.
    """
    steps, slots, pick = _trial_ends(log, active.numpy())
    valid = pick("valid").astype(bool)
    cols = {
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "episode": slots.astype("int64"),
        "trial": pick("trial").astype("int64"),
        "choice": np.where(valid, pick("choice"), -1).astype("int64"),
        "reward": np.where(valid, pick("outcome").astype("float64"), np.nan),
        "missed": ~valid,
        "step": pick("step_in_episode").astype("int64"),
    }
    base = {"trial", "phase", "trial_end", "valid", "choice", "outcome", "step_in_episode"}
    for k in log:
        if k not in base:
            v = pick(k)
            cols[k] = v.astype("float64") if v.dtype == np.float32 else v
    return pd.DataFrame(cols).sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)
