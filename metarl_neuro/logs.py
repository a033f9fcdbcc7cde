"""Turn a frozen evaluation record into the run folder's activations dataset; the trial tables are built by each
experiment's module (:mod:`metarl_neuro.experiments`)."""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from metarl_neuro.agents.evaluation import EvalRecord

__all__ = ["activations_dataset", "trial_ends"]


def trial_ends(log: dict, active) -> tuple[np.ndarray, np.ndarray, object]:
    """``(steps, slots, pick)`` of the steps that ended a trial within each slot's first episode; ``pick(k)``
    reads log field ``k`` there.

    Parameters
    ----------
    log : dict
        A frozen evaluation's log (``EvalRecord.log``): field -> ``(steps, slots)`` tensor.
    active : torch.Tensor
        ``(steps, slots)`` bool, True while the slot's first episode runs.

    Returns
    -------
    steps, slots : numpy.ndarray
        int64 indices of the trial-ending steps.
    pick : callable
        ``pick(field)`` -> the log field's values at those steps (numpy array).
    """
    ended = np.asarray(active).astype(bool) & log["trial_end"].numpy().astype(bool)
    steps, slots = np.nonzero(ended)
    return steps, slots, lambda k: log[k].numpy()[steps, slots]


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
