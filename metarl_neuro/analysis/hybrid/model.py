"""The hybrid model: its value-update engine, the trial data it reads, its likelihood and its values.

One value-update engine serves the likelihood (:func:`hybrid_nll`), the fits
(:func:`~metarl_neuro.analysis.hybrid.fitting.fit_hybrid`) and the generative agent
(:func:`~metarl_neuro.analysis.hybrid.simulation.simulate_hybrid`), so the model that is fitted is the model that
is simulated. The
likelihood runs as one pass over trials for all subjects (and all optimiser starts) at once, in torch
(float64), with gradients by autograd for scipy's bounded L-BFGS-B.

Variants (``variant=``), each with its parameters in order:

``daw2011`` — Daw et al. 2011 (Neuron 69:1204, Supplemental Experimental Procedures): ``alpha1, alpha2,
lam, beta1, beta2, w, p``. Before any update, ``delta1 = Q2(s2,c2) - Q1(c1)`` and ``delta2 = r - Q2(s2,c2)``;
``Q1(c1) += alpha1*delta1 + lam*alpha1*delta2``; ``Q2(s2,c2) += alpha2*delta2``.
``Q_MB(a) = sum_s P(s|a) max_b Q2(s,b)``; ``Q_net = w*Q_MB + (1-w)*Q1``;
``P(c1=a) ∝ exp(beta1*[Q_net(a) + p*rep(a)])`` with ``rep(a) = 1`` if ``a`` was the previous first-stage
choice; ``P(c2=b|s2) ∝ exp(beta2*Q2(s2,b))``. All values start at 0; unchosen values do not decay.

``kool2016`` — Kool, Cushman & Gershman 2016 (PLoS Comput Biol 12:e1005090): ``alpha, beta, lam, w, st,
respst``; one alpha and one beta for both stages; ``P(c1=a) ∝ exp(beta*[Q_net(a) + st*rep(a) +
respst*resp_rep(a)])`` where ``resp_rep(a) = 1`` if choosing ``a`` presses the key pressed on the previous
trial (needs a ``stim_left`` column: the first-stage option shown on the left); counting transitions.

``otto2013`` — Otto et al. 2013 (Psychol Sci 24:751), as used by Decker et al. 2016, Potter et al. 2017 and
Nussenbaum et al. 2020: ``alpha, lam, beta_mb, beta_mf, beta2, st``; ``P(c1=a) ∝ exp(beta_mb*Q_MB(a) +
beta_mf*Q1(a) + st*rep(a))``; updates as daw2011 with ``alpha1 = alpha2 = alpha``.

``hbayesdm_par7`` / ``par6`` / ``par4`` — hBayesDM 1.1.1 ``ts_par7/6/4`` (Ahn, Haines & Zhang 2017):
``a1, beta1, a2, beta2, pi, w, lam`` (par6: no ``lam``, fixed 1; par4: ``a, beta, pi, w`` with
``a1 = a2 = a``, ``beta1 = beta2 = beta``, ``lam = 1``). ``Q1(c1) += a1*delta1``, then
``Q2(s2,c2) += a2*delta2``, then ``Q1(c1) += lam*a1*(r - Q2_new(s2,c2))`` (lambda multiplies the
post-update error); perseveration outside beta: ``P(c1=a) ∝ exp(beta1*Q_net(a) + pi*rep(a))``, ``pi`` in
[0, 5].

Transitions: ``"fixed"`` uses ``P(s=a|a) = common_prob`` (0.7, Daw 2011; 0.8 for Wang 2018); ``"counting"``
(Daw 2011; Kool 2016) assumes at each trial the mapping with ``common_prob`` consistent with the majority of
the transitions seen so far, 0.5/0.5 on a tie (including the first trial).

Missed trials (``missed``) are skipped: no value update, no likelihood, and ``rep``/``resp_rep`` keep
referring to the last valid choice (Kool 2016). Each (subject, episode) is a separate sequence whose values
start at 0; a subject's likelihood sums its episodes. A second stage with a single option (Wang 2018's task,
where ``choice2`` is always 0) has no second-stage choice to fit: its likelihood term is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from metarl_neuro.analysis.hybrid.parameters import (
    VARIANTS,
    check_options,
    check_params,
    free_parameters,
)
from metarl_neuro.schema import RECORDED_CHOICE1_COLUMN, check_int, validate_trials

__all__ = [
    "ChoiceHistory", "Engine", "TrialData", "engine_of", "first_stage_logits", "hybrid_nll", "hybrid_values",
    "n_choices", "prepare_trials", "q_update", "sequence_nll", "trial_values",
]


# ---------------------------------------------------------------------------------------------- engine
@dataclass
class Engine:
    """Per-sequence model parameters in the common form used by every variant, ``(N,)`` tensors."""

    alpha1: torch.Tensor
    alpha2: torch.Tensor
    lam: torch.Tensor
    b_mb: torch.Tensor  # weight of Q_MB in the first-stage logit
    b_mf: torch.Tensor  # weight of Q1
    k_rep: torch.Tensor  # weight of rep(a)
    k_resp: torch.Tensor  # weight of resp_rep(a)
    beta2: torch.Tensor
    lam_after_update: bool  # hBayesDM's order of updates


def engine_of(variant: str, prm: dict, model: str) -> Engine:
    """The common form of ``variant``'s parameters ``prm`` (name -> ``(N,)`` array) under ``model``.

    Array-library neutral (arithmetic only): the torch likelihood and the JAX one of
    :mod:`~metarl_neuro.analysis.hybrid.jax_model` share it, and :func:`q_update`.
    """
    zero = next(iter(prm.values())) * 0  # parameters are finite (checked at the boundary)
    one = zero + 1
    w = prm.get("w", one)
    if model == "mf":
        w = zero
    elif model == "mb":
        w = one
    if variant == "daw2011":
        b = prm["beta1"]
        return Engine(prm["alpha1"], prm["alpha2"], prm["lam"], b * w, b * (1 - w), b * prm["p"], zero, prm["beta2"], False)
    if variant == "kool2016":
        b = prm["beta"]
        return Engine(prm["alpha"], prm["alpha"], prm["lam"], b * w, b * (1 - w), b * prm["st"], b * prm["respst"], b, False)
    if variant == "otto2013":
        b_mb = zero if model == "mf" else prm["beta_mb"]
        b_mf = zero if model == "mb" else prm["beta_mf"]
        return Engine(prm["alpha"], prm["alpha"], prm["lam"], b_mb, b_mf, prm["st"], zero, prm["beta2"], False)
    if variant in ("hbayesdm_par7", "hbayesdm_par6"):
        b = prm["beta1"]
        lam = prm["lam"] if variant == "hbayesdm_par7" else one
        return Engine(prm["a1"], prm["a2"], lam, b * w, b * (1 - w), prm["pi"], zero, prm["beta2"], True)
    if variant == "hbayesdm_par4":
        b = prm["beta"]
        return Engine(prm["a"], prm["a"], one, b * w, b * (1 - w), prm["pi"], zero, b, True)
    raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")


def first_stage_logits(e: Engine, q1, v2, p_same, rep, resp_rep) -> torch.Tensor:
    """First-stage logits ``(..., 2)``: ``b_mb*Q_MB + b_mf*Q1 + k_rep*rep + k_resp*resp_rep``.

    ``q1``, ``v2`` (``max_b Q2(s, b)`` per state), ``rep`` and ``resp_rep`` are ``(N, ..., 2)``; ``p_same``
    (the assumed ``P(s = a | a)``) is ``(N, ...)``; engine weights are ``(N,)``.
    """
    extra = (1,) * (q1.dim() - 1)
    ps = p_same.unsqueeze(-1)
    q_mb = ps * v2 + (1 - ps) * v2.flip(-1)
    w = lambda t: t.reshape(-1, *extra)
    return w(e.b_mb) * q_mb + w(e.b_mf) * q1 + w(e.k_rep) * rep + w(e.k_resp) * resp_rep


def q_update(e: Engine, q1, q2, hit1, hit2, r):
    """One trial's value update. ``hit1`` ``(N, 2)`` and ``hit2`` ``(N, 2, O)`` are one-hot masks of the chosen
    first-stage action and second-stage (state, option), zero on a skipped trial; ``r`` ``(N,)``."""
    q2_old = (q2 * hit2).sum((1, 2))
    q1_old = (q1 * hit1).sum(1)
    delta1 = q2_old - q1_old
    delta2 = r - q2_old
    q2_new = q2_old + e.alpha2 * delta2
    if e.lam_after_update:  # hBayesDM: lambda * a1 * (r - Q2 after its update)
        dq1 = e.alpha1 * delta1 + e.lam * e.alpha1 * (r - q2_new)
    else:  # Daw 2011: both errors before any update
        dq1 = e.alpha1 * delta1 + e.lam * e.alpha1 * delta2
    return q1 + hit1 * dq1[:, None], q2 + hit2 * (q2_new - q2_old)[:, None, None]


class ChoiceHistory:
    """Running data-derived quantities (no parameters): last valid choice and key, transition counts."""

    def __init__(self, n: int):
        self.prev_c1 = np.full(n, -1)
        self.prev_key = np.full(n, -1)
        self.n_same = np.zeros(n)
        self.n_diff = np.zeros(n)

    def features(self, transitions: str, common_prob: float, stim_left):
        """``rep`` ``(N, 2)``, ``resp_rep`` ``(N, 2)`` and ``p_same`` ``(N,)`` for the coming trial."""
        a = np.arange(2)
        rep = (self.prev_c1[:, None] == a).astype(float)
        if stim_left is None:
            resp = np.zeros_like(rep)
        else:
            key = np.where(np.asarray(stim_left)[:, None] == a, 0, 1)  # key (0 left, 1 right) choosing a
            resp = (key == self.prev_key[:, None]).astype(float)
        if transitions == "fixed":
            p = np.full(len(self.n_same), common_prob)
        else:
            p = np.where(self.n_same > self.n_diff, common_prob, np.where(self.n_same < self.n_diff, 1 - common_prob, 0.5))
        return rep, resp, p

    def observe(self, c1, s2, valid, stim_left, learn=None) -> None:
        """Record a trial's choice (``valid`` rows) and, where ``learn`` (default ``valid``), its transition."""
        learn = valid if learn is None else learn
        self.prev_c1 = np.where(valid, c1, self.prev_c1)
        if stim_left is not None:
            self.prev_key = np.where(valid, np.where(np.asarray(stim_left) == c1, 0, 1), self.prev_key)
        self.n_same = self.n_same + ((s2 == c1) & learn)
        self.n_diff = self.n_diff + ((s2 != c1) & learn)


# ---------------------------------------------------------------------------------------------- data
@dataclass
class TrialData:
    """Trial sequences (one per subject x episode) as ``(N, T, ...)`` tensors, with everything that depends on
    the data alone precomputed: one-hot masks of the choices, ``rep``/``resp_rep`` and the assumed
    transition probability ``p_same``."""

    c1: torch.Tensor  # (N, T) long, clamped to >= 0
    c2: torch.Tensor  # (N, T) long, clamped to >= 0
    r: torch.Tensor  # (N, T) float64, 0 where missed
    counted: torch.Tensor  # (N, T) float64: 1 where the trial enters the likelihood
    hit1: torch.Tensor  # (N, T, 2) float64, 0 on skipped trials
    hit2: torch.Tensor  # (N, T, 2, O)
    state_mask: torch.Tensor  # (N, T, 2) one-hot of the second-stage state reached
    rep: torch.Tensor  # (N, T, 2)
    resp_rep: torch.Tensor  # (N, T, 2)
    p_same: torch.Tensor  # (N, T)
    seq_subject: torch.Tensor  # (N,) index into subjects
    subjects: list
    n_options: int

    _PER_SEQUENCE = ("c1", "c2", "r", "counted", "hit1", "hit2", "state_mask", "rep", "resp_rep", "p_same")

    def repeat(self, k: int) -> TrialData:
        """The sequences ``k`` times over (one copy per optimiser start)."""
        fields = {f: getattr(self, f).repeat(k, *([1] * (getattr(self, f).dim() - 1))) for f in self._PER_SEQUENCE}
        return TrialData(**fields, seq_subject=self.seq_subject.repeat(k), subjects=self.subjects, n_options=self.n_options)

    def select(self, idx: torch.Tensor) -> TrialData:
        """The sequences ``idx``."""
        fields = {f: getattr(self, f)[idx] for f in self._PER_SEQUENCE}
        return TrialData(**fields, seq_subject=self.seq_subject[idx], subjects=self.subjects, n_options=self.n_options)


def prepare_trials(
    trials: pd.DataFrame, start_trial: int, need_stim_left: bool, transitions: str, common_prob: float, min_trials: int = 1,
    start_values: str = "learn",
) -> TrialData:
    if isinstance(common_prob, bool) or not isinstance(common_prob, (int, float, np.integer, np.floating)) \
            or not 0.5 <= float(common_prob) <= 1:
        raise ValueError(f"common_prob must be a probability in [0.5, 1] (the common transition's; 0.7 in Daw 2011), "
                         f"got {common_prob!r}")
    check_int(start_trial, "start_trial", 0, " (a 0-based trial index)")
    if start_values not in ("learn", "reset"):
        raise ValueError(f"start_values must be 'learn' or 'reset' (Decker et al. 2016), got {start_values!r}")
    cols = ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward")
    df = validate_trials(trials, cols)
    if df.empty:
        raise ValueError("the trial table has no rows (no trial to fit)")
    if need_stim_left:
        if "stim_left" not in df.columns:
            raise ValueError("variant 'kool2016' needs a 'stim_left' column (first-stage option shown on the left)")
        bad = ~df["missed"] & ~df["stim_left"].isin([0, 1])
        if bad.any():
            raise ValueError("column 'stim_left' must be 0 or 1 on trials not flagged 'missed'")
    rec_col = RECORDED_CHOICE1_COLUMN[0]
    bad = df.loc[~df[rec_col].isin([-1, 0, 1]), rec_col] if start_values == "reset" and rec_col in df.columns else ()
    if len(bad):
        raise ValueError(f"column {rec_col!r} must be 0 or 1 (a recorded first-stage choice) or -1 (none); found "
                         f"{sorted(map(repr, pd.unique(bad)))[:5]}")
    counted = df[~df["missed"] & (df["trial"] >= start_trial)]
    n_valid = counted.groupby("subject").size().reindex(pd.unique(df["subject"]), fill_value=0)
    need = max(min_trials, 1)
    few = n_valid[n_valid < need]
    if len(few):
        at = f" at or after start_trial={start_trial}" if start_trial else ""
        raise ValueError(f"subject(s) {list(few.index)[:5]} have fewer than {need} valid trials{at}; "
                         "too few to fit" + (" (the last trial is "
                                             f"{int(df['trial'].max())})" if start_trial else ""))
    subjects = list(pd.unique(df["subject"]))
    sub_idx = {s: i for i, s in enumerate(subjects)}
    groups = list(df.groupby(["subject", "episode"], sort=False))
    N, T = len(groups), max(len(g) for _, g in groups)

    def pad(col, fill, dtype):
        out = np.full((N, T), fill, dtype=dtype)
        for i, (_, g) in enumerate(groups):
            out[i, : len(g)] = g[col].to_numpy()
        return out

    valid = pad("missed", True, bool) == False
    c1, s2, c2 = pad("choice1", -1, np.int64), pad("state2", -1, np.int64), pad("choice2", -1, np.int64)
    r = np.nan_to_num(pad("reward", 0.0, np.float64))
    trial = pad("trial", -1, np.int64)
    stim_left = pad("stim_left", -1, np.int64) if need_stim_left else None
    n_options = 2 if (df.loc[~df["missed"], "choice2"] == 1).any() else 1
    hist = ChoiceHistory(N)
    rep, resp, p_same = np.zeros((N, T, 2)), np.zeros((N, T, 2)), np.zeros((N, T))
    # "reset" (Decker et al. 2016; Nussenbaum et al. 2020): trials before start_trial neither update the values
    # nor count transitions, as if deleted, but the first modelled trial's stickiness refers to the last
    # earlier valid choice (and key)
    learns = valid & (trial >= start_trial) if start_values == "reset" else valid
    # and, as Nussenbaum et al. 2020's mbmf_driver.m, that choice is the last first-stage choice recorded before
    # start_trial (choice1_recorded), whether or not its trial was completed
    chosen, c1_seen = valid, c1
    if start_values == "reset" and rec_col in df.columns:
        rec = pad(rec_col, -1, np.int64)
        early = ~valid & (trial >= 0) & (trial < start_trial) & np.isin(rec, [0, 1])
        chosen, c1_seen = valid | early, np.where(early, rec, c1)
    for t in range(T):
        sl = None if stim_left is None else stim_left[:, t]
        rep[:, t], resp[:, t], p_same[:, t] = hist.features(transitions, common_prob, sl)
        hist.observe(c1_seen[:, t], s2[:, t], chosen[:, t], sl, learns[:, t])
    v = learns[..., None].astype(float)
    onehot = lambda x, k: np.eye(k)[np.clip(x, 0, None)]
    hit1 = onehot(c1, 2) * v
    hit2 = onehot(s2, 2)[..., :, None] * onehot(c2, n_options)[..., None, :] * v[..., None]
    t64 = lambda x: torch.from_numpy(np.ascontiguousarray(x))
    return TrialData(
        c1=t64(np.clip(c1, 0, None)),
        c2=t64(np.clip(c2, 0, None)),
        r=t64(r),
        counted=t64((valid & (trial >= start_trial)).astype(float)),
        hit1=t64(hit1),
        hit2=t64(hit2),
        state_mask=t64(onehot(s2, 2)),
        rep=t64(rep),
        resp_rep=t64(resp),
        p_same=t64(p_same),
        seq_subject=torch.tensor([sub_idx[key[0]] for key, _ in groups]),
        subjects=subjects,
        n_options=n_options,
    )


def sequence_nll(variant, prm, data: TrialData, model, likelihood) -> torch.Tensor:
    """NLL per sequence ``(N,)``; ``prm`` maps names to ``(N,)`` tensors.

    The loop over trials only carries the value updates (:func:`trial_values`); the choice probabilities of all
    trials are computed afterwards from the recorded pre-update values.
    """
    e = engine_of(variant, prm, model)
    q1_t, q2_t = trial_values(e, data)
    logits1 = first_stage_logits(e, q1_t, q2_t.max(-1).values, data.p_same, data.rep, data.resp_rep)
    logp1 = torch.log_softmax(logits1, -1).gather(-1, data.c1[..., None])[..., 0]
    total = -(data.counted * logp1).sum(1)
    if likelihood == "both" and data.n_options > 1:
        q2_here = (q2_t * data.state_mask[..., None]).sum(2)  # (N, T, O): values of the state reached
        logp2 = torch.log_softmax(e.beta2[:, None, None] * q2_here, -1).gather(-1, data.c2[..., None])[..., 0]
        total = total - (data.counted * logp2).sum(1)
    return total


def trial_values(e: Engine, data: TrialData) -> tuple[torch.Tensor, torch.Tensor]:
    """Values before each trial's update: ``Q1`` ``(N, T, 2)`` and ``Q2`` ``(N, T, 2, O)``; they depend on the
    engine's learning rates and lambda only."""
    N, T = data.c1.shape
    q1 = torch.zeros(N, 2, dtype=torch.float64)
    q2 = torch.zeros(N, 2, data.n_options, dtype=torch.float64)
    q1s, q2s = [], []
    for t in range(T):
        q1s.append(q1)
        q2s.append(q2)
        q1, q2 = q_update(e, q1, q2, data.hit1[:, t], data.hit2[:, t], data.r[:, t])
    return torch.stack(q1s, 1), torch.stack(q2s, 1)


def hybrid_nll(
    params: dict | pd.Series,
    trials: pd.DataFrame,
    variant: str = "daw2011",
    model: str = "hybrid",
    transitions: str | None = None,
    common_prob: float = 0.7,
    likelihood: str = "both",
    start_trial: int = 0,
    start_values: str = "learn",
) -> float:
    """Negative log-likelihood of a trial table under a hybrid model (all subjects share ``params``).

    Parameters
    ----------
    params : dict or pandas.Series
        Parameter name -> value, for the variant's parameters (module docstring).
    trials : pandas.DataFrame
        Trial table (``subject``, ``episode``, ``trial``, ``choice1``, ``state2``, ``choice2``, ``reward``;
        optional ``missed``; ``stim_left`` for kool2016).
    variant : str
        One of :data:`VARIANTS`.
    model : {"hybrid", "mf", "mb"}
        Nested models: model-free only (``w = 0``; otto2013: ``beta_mb = 0``) or model-based only (``w = 1``;
        otto2013: ``beta_mf = 0``).
    transitions : {"fixed", "counting"}, optional
        Default "counting" for kool2016, else "fixed".
    common_prob : float
        Common-transition probability the model assumes (0.7 Daw 2011; 0.8 Wang 2018).
    likelihood : {"both", "stage1"}
        Which choices enter the likelihood.
    start_trial : int
        Trials with ``trial < start_trial`` do not enter the likelihood.
    start_values : {"learn", "reset"}
        ``"learn"``: the trials before ``start_trial`` update the values (and the transition counts).
        ``"reset"``: the convention of Decker et al. 2016 and Nussenbaum et al. 2020, who delete trials 1-9
        before fitting: values start at 0 at ``start_trial`` and those trials count no transition, but the
        stickiness of the first modelled trial refers to the last earlier first-stage choice: the last
        valid trial's, or, where the table has a ``choice1_recorded`` column
        (:func:`~metarl_neuro.analysis.from_nussenbaum2020`), the last one recorded, as the authors' code
        carries in trial 9's first-stage choice (8's if 9 had none) even where trial 9's second stage was
        missed.

    Returns
    -------
    float
        Summed negative log-likelihood (nats).

    Raises
    ------
    ValueError
        For an unknown variant/model/option, a missing parameter or one outside its domain (NaN or infinite;
        a learning rate, lambda or w outside [0, 1]; a negative inverse temperature), ``common_prob`` outside
        [0.5, 1], ``start_trial`` not an integer >= 0 or past every subject's last trial, or bad trials (as
        :func:`metarl_neuro.schema.validate_trials`).

    References
    ----------
    Decker, J. H., Otto, A. R., Daw, N. D. & Hartley, C. A. (2016). From creatures of habit to goal-directed
    learners: tracking the developmental emergence of model-based reinforcement learning. *Psychol. Sci.* 27,
    848-858.

    Nussenbaum, K., Scheuplein, M., Phaneuf, C. V., Evans, M. D. & Hartley, C. A. (2020). Moving developmental
    research online: comparing in-lab and web-based studies of model-based reinforcement learning. *Collabra:
    Psychology* 6, 17213.

    Examples
    --------
    The choices of a simulated model-based learner are likelier under its own parameters than under a purely
    model-free learner's (``w = 0``):

    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> p = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.6, "beta1": 4.0, "beta2": 4.0, "w": 0.7, "p": 0.1}
    >>> trials = simulate_hybrid(p, n_subjects=1, n_trials=200, seed=1)
    >>> round(hybrid_nll(p, trials), 1), round(hybrid_nll({**p, "w": 0.0}, trials), 1)
    (221.1, 231.6)
    """
    transitions = check_options(variant, model, transitions, likelihood)
    names = free_parameters(variant, model)
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"params lack {missing} for variant {variant!r}")
    check_params(params, names)
    data = prepare_trials(trials, start_trial, variant == "kool2016", transitions, common_prob, start_values=start_values)
    N = data.c1.shape[0]
    prm = {k: torch.full((N,), float(params[k]), dtype=torch.float64) for k in names}
    with torch.no_grad():
        return float(sequence_nll(variant, prm, data, model, likelihood).sum())


def hybrid_values(
    params: dict | pd.Series,
    trials: pd.DataFrame,
    variant: str = "daw2011",
    transitions: str | None = None,
    common_prob: float = 0.7,
) -> pd.DataFrame:
    """Trial-by-trial values and prediction errors of a hybrid learner that sees the given trials.

    The learner of ``variant`` (module docstring) with ``params`` experiences the recorded choices,
    transitions and rewards; for every trial this returns the values *before* that trial's update and the
    prediction errors at the arrival in the second-stage state (Daw et al. 2011, Eq. 1-2; Wang et al. 2018,
    Fig. 5f):

    - ``rpe_mf = Q2(s2, c2) - Q1(c1)``: the model-free (SARSA) error ``delta1`` of the update;
    - ``rpe_mb = max_b Q2(s2, b) - Q_MB(c1)``: the model-based error, the value of the state reached minus
      the value the transition model predicted for the choice, ``Q_MB(a) = sum_s P(s|a) max_b Q2(s, b)``.

    Parameters
    ----------
    params : dict or pandas.Series
        The variant's parameters (a row of :func:`fit_hybrid` works, also of a ``model="mf"`` fit). The values
        depend on the learning rates and ``lam`` only.
    trials : pandas.DataFrame
        Trial table, as :func:`hybrid_nll`.
    variant, transitions, common_prob
        As :func:`hybrid_nll`.

    Returns
    -------
    pandas.DataFrame
        One row per trial, ordered by subject, episode and trial: ``subject``, ``episode``, ``trial``,
        ``q1`` (``Q1(c1)``), ``q_mb`` (``Q_MB(c1)``), ``q2`` (``Q2(s2, c2)``), ``v2`` (``max_b Q2(s2, b)``),
        ``rpe_mf``, ``rpe_mb``, ``rpe_outcome`` (``r - Q2(s2, c2)``), all float64; NaN on missed trials.

    Raises
    ------
    ValueError
        As :func:`hybrid_nll`.

    References
    ----------
    Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based influences on humans'
    choices and striatal prediction errors. *Neuron* 69, 1204-1215.

    Wang, J. X., Kurth-Nelson, Z., Kumaran, D., Tirumala, D., Soyer, H., Leibo, J. Z., Hassabis, D. & Botvinick, M.
    (2018). Prefrontal cortex as a meta-reinforcement learning system. *Nat. Neurosci.* 21, 860-868.

    Examples
    --------
    >>> from metarl_neuro.analysis import simulate_hybrid
    >>> params = {"alpha1": 0.5, "alpha2": 0.5, "lam": 0.5, "beta1": 5.0, "beta2": 5.0, "w": 0.8, "p": 0.1}
    >>> trials = simulate_hybrid(params, n_subjects=1, n_trials=5, seed=0)
    >>> values = hybrid_values(params, trials)
    >>> print(values[["trial", "q1", "q_mb", "rpe_mf", "rpe_mb"]].round(3).to_string(index=False))
     trial   q1  q_mb  rpe_mf  rpe_mb
         0 0.00 0.000    0.00   0.000
         1 0.00 0.000    0.00   0.000
         2 0.00 0.000    0.00   0.000
         3 0.25 0.150    0.25   0.350
         4 0.50 0.225   -0.50  -0.225
    """
    transitions = check_options(variant, "hybrid", transitions, "both")
    names = free_parameters(variant, "mf")  # the values do not depend on the model-based weight
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"params lack {missing} for variant {variant!r}")
    check_params(params, names)
    df = validate_trials(trials, ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward"))
    df = df.sort_values(["subject", "episode", "trial"], kind="stable").reset_index(drop=True)
    data = prepare_trials(df, 0, variant == "kool2016", transitions, common_prob)
    N, T = data.c1.shape
    e = engine_of(variant, {k: torch.full((N,), float(params[k]), dtype=torch.float64) for k in names}, "mf")
    q1 = torch.zeros(N, 2, dtype=torch.float64)
    q2 = torch.zeros(N, 2, data.n_options, dtype=torch.float64)
    out = np.full((6, N, T), np.nan)
    with torch.no_grad():
        for t in range(T):
            v2 = q2.max(-1).values  # (N, 2)
            ps = data.p_same[:, t, None]
            q_mb = ps * v2 + (1 - ps) * v2.flip(-1)
            hit1, hit2 = data.hit1[:, t], data.hit2[:, t]
            out[0, :, t] = (q1 * hit1).sum(1)
            out[1, :, t] = (q_mb * hit1).sum(1)
            out[2, :, t] = (q2 * hit2).sum((1, 2))
            out[3, :, t] = (v2 * data.state_mask[:, t]).sum(1)
            out[4, :, t] = data.r[:, t]
            q1, q2 = q_update(e, q1, q2, hit1, hit2, data.r[:, t])
    lengths = df.groupby(["subject", "episode"], sort=False).size().to_numpy()
    keep = np.arange(T)[None, :] < lengths[:, None]  # (N, T), sequences in the order of df's groups
    q1v, qmb, q2v, v2v, r = (x[keep] for x in out[:5])
    res = pd.DataFrame({"subject": df["subject"].to_numpy(), "episode": df["episode"].to_numpy(),
                        "trial": df["trial"].to_numpy(), "q1": q1v, "q_mb": qmb, "q2": q2v, "v2": v2v})
    res["rpe_mf"] = q2v - q1v
    res["rpe_mb"] = v2v - qmb
    res["rpe_outcome"] = r - q2v
    missed = df["missed"].to_numpy()
    res.loc[missed, ["q1", "q_mb", "q2", "v2", "rpe_mf", "rpe_mb", "rpe_outcome"]] = np.nan
    return res

def n_choices(data: TrialData, likelihood: str) -> np.ndarray:
    per_seq = data.counted.sum(1) * (2 if likelihood == "both" and data.n_options > 1 else 1)
    return torch.zeros(len(data.subjects), dtype=torch.float64).index_add(0, data.seq_subject, per_seq).numpy()

