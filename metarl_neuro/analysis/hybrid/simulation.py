"""Simulated hybrid-model subjects on the batched two-step task (parameter recovery, power analyses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from metarl_neuro.analysis.hybrid.model import ChoiceHistory, engine_of, first_stage_logits, q_update
from metarl_neuro.analysis.hybrid.parameters import VARIANTS, check_options

__all__ = ["simulate_hybrid"]


def simulate_hybrid(
    params: dict | pd.DataFrame,
    n_subjects: int | None = None,
    n_trials: int = 201,
    variant: str = "daw2011",
    task=None,
    transitions: str | None = None,
    common_prob: float = 0.7,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate hybrid-model subjects on the batched two-step task (parameter recovery, power analyses).

    Parameters
    ----------
    params : dict or pandas.DataFrame
        One parameter set for all subjects (dict) or one row per subject (DataFrame with the variant's
        parameter columns).
    n_subjects : int, optional
        Number of subjects (required with a dict; default ``len(params)`` with a DataFrame).
    n_trials : int
        Trials per subject (201 in Daw 2011).
    variant : str
        As :func:`hybrid_nll`.
    task : TwoStepTask, optional
        Default: Daw 2011's task (common 0.7, four drifting reward probabilities), compressed structure,
        batch ``n_subjects``.
    transitions, common_prob
        As :func:`hybrid_nll`; ``common_prob`` is also the task's transition probability.
    seed : int
        Seed of the task and of the choices.

    Returns
    -------
    pandas.DataFrame
        Trial table (one episode per subject), with the latent ``reward_prob_<k>`` and, for kool2016, a
        random ``stim_left``.

    Raises
    ------
    ValueError
        For an unknown variant or a missing parameter.

    Examples
    --------
    Two simulated people, 200 trials each, of Daw 2011's hybrid with a mostly model-based weight:

    >>> p = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.6, "beta1": 4.0, "beta2": 4.0, "w": 0.7, "p": 0.1}
    >>> trials = simulate_hybrid(p, n_subjects=2, n_trials=200, seed=1)
    >>> trials.shape, trials["subject"].nunique()
    ((400, 12), 2)
    """
    from metarl_neuro.tasks import DriftingRewards, TwoStepTask

    transitions = check_options(variant, "hybrid", transitions, "both")
    names = list(VARIANTS[variant])
    if isinstance(params, pd.DataFrame):
        n_subjects = n_subjects or len(params)
        table = params.reset_index(drop=True)
    else:
        if n_subjects is None:
            raise ValueError("n_subjects is required when params is a dict")
        table = pd.DataFrame([dict(params)] * n_subjects)
    missing = [k for k in names if k not in table.columns]
    if missing:
        raise ValueError(f"params lack {missing} for variant {variant!r}")
    prm = {k: torch.tensor(table[k].to_numpy(), dtype=torch.float64) for k in names}
    e = engine_of(variant, prm, "hybrid")
    if task is None:
        task = TwoStepTask(n_subjects, common_prob=common_prob, rewards=DriftingRewards(), n_trials=n_trials,
                           structure="compressed",
                           seed=seed, check_actions=False)
    n_opt = task.rewards.n_options
    gen = torch.Generator().manual_seed(seed + 7919)
    hist = ChoiceHistory(n_subjects)
    q1 = torch.zeros(n_subjects, 2, dtype=torch.float64)
    q2 = torch.zeros(n_subjects, 2, n_opt, dtype=torch.float64)
    task.reset()
    rows = []
    ar = torch.arange(n_subjects)
    for t in range(n_trials):
        sl = torch.randint(0, 2, (n_subjects,), generator=gen).numpy() if variant == "kool2016" else None
        rep, resp, p_same = (torch.from_numpy(np.asarray(v, dtype=float)) for v in hist.features(transitions, common_prob, sl))
        logits1 = first_stage_logits(e, q1, q2.max(-1).values, p_same, rep, resp)
        c1 = torch.multinomial(torch.softmax(logits1, 1), 1, generator=gen).squeeze(1)
        _, _, _, log = task.step(c1)
        s2 = log["state2"]
        if n_opt > 1:
            c2 = torch.multinomial(torch.softmax(e.beta2[:, None] * q2[ar, s2], 1), 1, generator=gen).squeeze(1)
            _, _, _, log = task.step(c2)
        c2 = log["choice2"]
        outcome = log["outcome"].double()
        hit1 = torch.nn.functional.one_hot(c1, 2).double()
        hit2 = (torch.nn.functional.one_hot(s2, 2)[:, :, None] * torch.nn.functional.one_hot(c2, n_opt)[:, None, :]).double()
        q1, q2 = q_update(e, q1, q2, hit1, hit2, outcome)
        hist.observe(c1.numpy(), s2.numpy(), np.ones(n_subjects, bool), sl)
        row = {"subject": [f"sim{i:03d}" for i in range(n_subjects)], "episode": 0, "trial": t, "choice1": c1.numpy(),
               "state2": s2.numpy(), "common": log["common"].numpy(), "choice2": c2.numpy(),
               "reward": outcome.numpy()}
        row.update({k: v.numpy().astype(float) for k, v in log.items() if k.startswith("reward_prob_")})
        if sl is not None:
            row["stim_left"] = sl
        rows.append(pd.DataFrame(row))
    out = pd.concat(rows, ignore_index=True).sort_values(["subject", "trial"], kind="stable")
    return out.reset_index(drop=True)
