"""The hybrid models' likelihood in JAX, for sampling by NUTS (:func:`metarl_neuro.analysis.fit_bayesian`).

The twin of :func:`~metarl_neuro.analysis.hybrid.model.sequence_nll`: it reads the same
:class:`~metarl_neuro.analysis.hybrid.model.TrialData` and runs the same engine
(:func:`~metarl_neuro.analysis.hybrid.model.engine_of`, :func:`~metarl_neuro.analysis.hybrid.model.q_update`,
both array-library neutral); only the pass over trials (``jax.lax.scan``) and the choice probabilities are
written again, in ``jax.numpy``. ``tests/analysis/test_bayesian.py`` holds the two equal to 1e-6 nats for every
variant, model and convention. JAX must run in float64 (``jax.config.update("jax_enable_x64", True)``, which
:func:`~metarl_neuro.analysis.fit_bayesian` sets).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from metarl_neuro.analysis.hybrid.model import TrialData, engine_of, q_update

__all__ = ["JaxTrials", "choice_logprobs", "jax_trials", "sequence_loglik", "subject_loglik"]


@dataclass(frozen=True)
class JaxTrials:
    """A :class:`~metarl_neuro.analysis.hybrid.model.TrialData` as float64 JAX arrays, time-major where the pass
    over trials reads them (``(T, N, ...)``), sequence-major where the choice probabilities do (``(N, T, ...)``)."""

    hit1_t: jax.Array  # (T, N, 2)
    hit2_t: jax.Array  # (T, N, 2, O)
    r_t: jax.Array  # (T, N)
    c1: jax.Array  # (N, T, 2) one-hot of the first-stage choice
    c2: jax.Array  # (N, T, O) one-hot of the second-stage choice
    counted: jax.Array  # (N, T)
    state_mask: jax.Array  # (N, T, 2)
    rep: jax.Array  # (N, T, 2)
    resp_rep: jax.Array  # (N, T, 2)
    p_same: jax.Array  # (N, T)
    seq_subject: jax.Array  # (N, S) one-hot: the subject of each sequence
    n_subjects: int
    n_options: int


def jax_trials(data: TrialData) -> JaxTrials:
    """The arrays of ``data`` (from :func:`~metarl_neuro.analysis.hybrid.model.prepare_trials`) in JAX, float64.

    Raises
    ------
    RuntimeError
        If JAX is not in float64 mode (its default is float32, 1e-4 nats off over 200 trials).
    """
    if not jax.config.jax_enable_x64:
        raise RuntimeError('the JAX likelihood needs float64: jax.config.update("jax_enable_x64", True)')
    f = lambda t: jnp.asarray(t.numpy(), dtype=jnp.float64)
    onehot = lambda t, k: jnp.asarray(np.eye(k)[t.numpy()])  # dense one-hots: gathers are slow in batches
    return JaxTrials(
        hit1_t=jnp.swapaxes(f(data.hit1), 0, 1), hit2_t=jnp.swapaxes(f(data.hit2), 0, 1),
        r_t=jnp.swapaxes(f(data.r), 0, 1), c1=onehot(data.c1, 2), c2=onehot(data.c2, data.n_options),
        counted=f(data.counted),
        state_mask=f(data.state_mask), rep=f(data.rep), resp_rep=f(data.resp_rep), p_same=f(data.p_same),
        seq_subject=onehot(data.seq_subject, len(data.subjects)), n_subjects=len(data.subjects),
        n_options=data.n_options,
    )


def choice_logprobs(variant: str, prm: dict, data: JaxTrials, model: str) -> tuple[jax.Array, jax.Array]:
    """Log-probabilities of every option at every trial, given the trials before it: first stage ``(N, T, 2)``,
    second stage (in the state reached) ``(N, T, O)``; ``prm`` maps the variant's parameter names to ``(N,)``
    arrays (one value per sequence)."""
    e = engine_of(variant, prm, model)
    N = data.c1.shape[0]

    def step(carry, x):
        q1, q2 = carry
        return q_update(e, q1, q2, *x), carry  # record the values before the trial's update

    init = (jnp.zeros((N, 2)), jnp.zeros((N, 2, data.n_options)))
    _, (q1_t, q2_t) = jax.lax.scan(step, init, (data.hit1_t, data.hit2_t, data.r_t))
    q1_t, q2_t = jnp.swapaxes(q1_t, 0, 1), jnp.swapaxes(q2_t, 0, 1)  # (N, T, 2), (N, T, 2, O)
    v2 = q2_t.max(-1)
    ps = data.p_same[..., None]
    q_mb = ps * v2 + (1 - ps) * v2[..., ::-1]
    w = lambda a: a[:, None, None]
    logits1 = w(e.b_mb) * q_mb + w(e.b_mf) * q1_t + w(e.k_rep) * data.rep + w(e.k_resp) * data.resp_rep
    q2_here = (q2_t * data.state_mask[..., None]).sum(2)  # (N, T, O): values of the state reached
    return jax.nn.log_softmax(logits1, -1), jax.nn.log_softmax(w(e.beta2) * q2_here, -1)


def sequence_loglik(variant: str, prm: dict, data: JaxTrials, model: str, likelihood: str) -> jax.Array:
    """Log-likelihood per sequence ``(N,)``; ``prm`` maps the variant's parameter names to ``(N,)`` arrays."""
    logp1, logp2 = choice_logprobs(variant, prm, data, model)
    total = (data.counted * (logp1 * data.c1).sum(-1)).sum(1)
    if likelihood == "both" and data.n_options > 1:
        total = total + (data.counted * (logp2 * data.c2).sum(-1)).sum(1)
    return total


def subject_loglik(variant: str, prm: dict, data: JaxTrials, model: str = "hybrid", likelihood: str = "both"
                   ) -> jax.Array:
    """Log-likelihood per subject ``(S,)`` (nats), summed over each subject's episodes.

    Parameters
    ----------
    variant : str
        One of :data:`~metarl_neuro.analysis.hybrid.parameters.VARIANTS`.
    prm : dict
        Every parameter of the variant's ``model`` -> ``(S,)`` float64 array, one value per subject (in
        ``data``'s subject order).
    data : JaxTrials
        From :func:`jax_trials`.
    model, likelihood
        As :func:`~metarl_neuro.analysis.hybrid.model.hybrid_nll`.
    """
    per_seq = {k: data.seq_subject @ v for k, v in prm.items()}
    return sequence_loglik(variant, per_seq, data, model, likelihood) @ data.seq_subject

