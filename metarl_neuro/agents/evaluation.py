"""Frozen-weight evaluation: run one episode per batch slot and record trials and LSTM states."""

from __future__ import annotations

from typing import NamedTuple

import torch

from metarl_neuro.agents.a2c_lstm import A2CLSTM

__all__ = ["EvalRecord", "concat_records", "run_frozen"]


class EvalRecord(NamedTuple):
    """Per-step record of a frozen evaluation, ``(S, B, ...)`` tensors on the CPU.

    ``S`` is the number of steps until the slowest episode ended; ``active[s, b]`` is False after episode
    ``b`` ended. ``h``/``c``/``value``/``policy`` at step ``s`` are those that produced ``action[s]``;
    ``reward[s]`` is the reward paid for it. ``log`` holds the task's log fields.
    """

    active: torch.Tensor
    h: torch.Tensor
    c: torch.Tensor
    value: torch.Tensor
    policy: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    done: torch.Tensor
    log: dict

    def first_episodes(self, n: int) -> EvalRecord:
        """The record of the first ``n`` episodes (slots ``0 .. n - 1``), every tensor cut along ``B``; the steps
        ``S`` are kept."""
        return EvalRecord(*(x[:, :n] for x in self[:-1]), {k: v[:, :n] for k, v in self.log.items()})


@torch.inference_mode()
def run_frozen(agent: A2CLSTM, task, sampler: torch.Generator, max_steps: int = 100_000) -> EvalRecord:
    """Run the agent with frozen weights until every slot of ``task`` has finished one episode.

    Actions are sampled from the policy (as in Wang et al. 2018); the LSTM state is carried within the
    episode.

    Parameters
    ----------
    agent : A2CLSTM
        The trained network (its weights are not changed).
    task
        A batched task; its ``batch_size`` is the number of evaluation episodes.
    sampler : torch.Generator
        Generator for the action samples, on the task's device.
    max_steps : int
        Safety bound on the number of steps.

    Returns
    -------
    EvalRecord

    Raises
    ------
    RuntimeError
        If some episode has not ended after ``max_steps`` steps.
    """
    agent.eval()
    obs = task.reset()
    B = obs.shape[0]
    dev = obs.device
    state = agent.initial_state(B, dev)
    prev_a = torch.full((B,), -1, dtype=torch.long, device=dev)
    prev_r = torch.zeros(B, device=dev)
    active = torch.ones(B, dtype=torch.bool, device=dev)
    rec: dict[str, list] = {k: [] for k in EvalRecord._fields if k != "log"}
    logs: list[dict] = []
    for _ in range(max_steps):
        logits, value, state = agent(obs, prev_a, prev_r, state)
        policy = torch.softmax(logits, -1)
        a = torch.multinomial(policy, 1, generator=sampler).squeeze(-1)
        obs, r, d, log = task.step(a)
        for k, v in zip(("active", "h", "c", "value", "policy", "action", "reward", "done"),
                        (active, state[0], state[1], value, policy, a, r, d)):
            rec[k].append(v)
        logs.append(log)
        prev_a, prev_r = a, r
        active = active & ~d
        if not bool(active.any()):  # one host sync per step; evaluation is short
            break
    else:
        raise RuntimeError(f"some evaluation episodes had not ended after {max_steps} steps")
    stacked = {k: torch.stack(v).cpu() for k, v in rec.items()}
    log = {k: torch.stack([lg[k] for lg in logs]).cpu() for k in logs[0]}
    return EvalRecord(**stacked, log=log)



def concat_records(records: list[EvalRecord]) -> EvalRecord:
    """Join frozen evaluations of different slots (e.g. played a batch at a time) along the batch dimension.

    Shorter records are padded at the end with inactive steps (``active`` False, zeros elsewhere), so slot
    ``b`` of the result is slot ``b - offset`` of its record.

    Parameters
    ----------
    records : list of EvalRecord
        Records with the same fields and trailing shapes.

    Returns
    -------
    EvalRecord

    Raises
    ------
    ValueError
        If ``records`` is empty.
    """
    if not records:
        raise ValueError("concat_records needs at least one record")
    S = max(r.active.shape[0] for r in records)

    def pad(x: torch.Tensor) -> torch.Tensor:
        extra = S - x.shape[0]
        return torch.cat([x, torch.zeros((extra, *x.shape[1:]), dtype=x.dtype)]) if extra else x

    fields = {k: torch.cat([pad(getattr(r, k)) for r in records], dim=1) for k in EvalRecord._fields if k != "log"}
    log = {k: torch.cat([pad(r.log[k]) for r in records], dim=1) for k in records[0].log}
    return EvalRecord(**fields, log=log)
