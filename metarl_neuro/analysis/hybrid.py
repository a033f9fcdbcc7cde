"""Model-based / model-free hybrid models of the two-step task: likelihood, fits and simulation.

One value-update engine serves the likelihood (:func:`hybrid_nll`), the fits (:func:`fit_hybrid`) and the
generative agent (:func:`simulate_hybrid`), so the model that is fitted is the model that is simulated. The
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

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy import optimize, special

from metarl_neuro.domains import NON_NEGATIVE, REAL, UNIT_INTERVAL, check_value
from metarl_neuro.schema import check_int, validate_trials

__all__ = [
    "BOUNDS_PRESETS",
    "MODELS",
    "PRIOR_PRESETS",
    "VARIANTS",
    "ModelSelection",
    "PARAMETER_DOMAINS",
    "bounds_of",
    "check_priors",
    "compare_models",
    "domain_of",
    "default_priors",
    "fit_hybrid",
    "group_model_selection",
    "hybrid_nll",
    "hybrid_values",
    "prior_preset",
    "simulate_hybrid",
]

_B = 20.0  # upper bound of inverse temperatures
_S = 5.0  # bound of stickiness weights

#: variant -> ordered {parameter: (lower, upper)}
VARIANTS: dict[str, dict[str, tuple[float, float]]] = {
    "daw2011": {"alpha1": (0, 1), "alpha2": (0, 1), "lam": (0, 1), "beta1": (0, _B), "beta2": (0, _B),
                "w": (0, 1), "p": (-_S, _S)},
    "kool2016": {"alpha": (0, 1), "beta": (0, _B), "lam": (0, 1), "w": (0, 1), "st": (-_S, _S),
                 "respst": (-_S, _S)},
    "otto2013": {"alpha": (0, 1), "lam": (0, 1), "beta_mb": (0, _B), "beta_mf": (0, _B), "beta2": (0, _B),
                 "st": (-_S, _S)},
    "hbayesdm_par7": {"a1": (0, 1), "beta1": (0, _B), "a2": (0, 1), "beta2": (0, _B), "pi": (0, 5), "w": (0, 1),
                      "lam": (0, 1)},
    "hbayesdm_par6": {"a1": (0, 1), "beta1": (0, _B), "a2": (0, 1), "beta2": (0, _B), "pi": (0, 5), "w": (0, 1)},
    "hbayesdm_par4": {"a": (0, 1), "beta": (0, _B), "pi": (0, 5), "w": (0, 1)},
}
_DEFAULT_TRANSITIONS = {"kool2016": "counting"}
_MIN_TRIALS = 10


_STICKY = ("p", "st", "respst")  # signed stickiness weights (hBayesDM's pi has its own [0, 5] bound)


def _kind(name: str) -> str:
    """Kind of a parameter: beta (inverse temperature), stick (signed stickiness), pi, w or rate."""
    if name.startswith("beta"):
        return "beta"
    if name in _STICKY:
        return "stick"
    return name if name in ("pi", "w") else "rate"  # learning rates and lambda


#: each kind of parameter's domain, declared once (:func:`domain_of`): every ``bounds=``, ``fixed=``, ``priors=``
#: and :func:`hybrid_nll`'s parameters are checked against it. Learning rates, lambda and w are in [0, 1]
#: (Daw et al. 2011); inverse temperatures >= 0; stickiness weights (Daw's p, Kool's st / respst, hBayesDM's pi)
#: any finite real.
PARAMETER_DOMAINS: dict[str, pd.Interval] = {"rate": UNIT_INTERVAL, "w": UNIT_INTERVAL, "beta": NON_NEGATIVE,
                                              "stick": REAL, "pi": REAL}


def domain_of(name: str) -> pd.Interval:
    """The domain of the model parameter ``name`` (:data:`PARAMETER_DOMAINS`, by its kind).

    Examples
    --------
    >>> domain_of("alpha1"), domain_of("beta2")
    (Interval(0.0, 1.0, closed='both'), Interval(0.0, inf, closed='left'))
    """
    return PARAMETER_DOMAINS[_kind(name)]


def _f64(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64)


#: published bounds (``bounds=`` of :func:`fit_hybrid`): preset -> kind -> (lower, upper); kinds not listed
#: keep :data:`VARIANTS`' bounds
BOUNDS_PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "default": {},
    # Kool, Cushman & Gershman 2016, github.com/wkool/tradeoffs, data/daw paradigm/set_opts.m
    "kool2016": {"beta": (0.0, 20.0), "stick": (-20.0, 20.0)},
    # Nussenbaum et al. 2020 (Collabra: Psychology 6:17), model-fitting code: inverse temperatures to 30,
    # stickiness +-30
    "nussenbaum2020": {"beta": (0.0, 30.0), "stick": (-30.0, 30.0)},
}

#: published priors (``priors=`` of :func:`fit_hybrid` with ``method="map"``): preset -> kind -> (family,
#: parameters); a kind not listed has a flat prior
PRIOR_PRESETS: dict[str, dict[str, tuple[str, tuple[float, float]]]] = {
    # Daw et al. 2011, Supplemental Experimental Procedures
    "daw2011": {"rate": ("beta", (1.1, 1.1)), "w": ("beta", (1.1, 1.1)), "beta": ("gamma", (1.2, 5.0)),
                "stick": ("normal", (0.0, 1.0)), "pi": ("normal", (0.0, 1.0))},
    # Kool et al. 2016, set_opts.m (after Gershman 2016): gampdf(x, 4.82, 0.88) (shape, scale); stickiness
    # normpdf(x, 0.15, 1.42); learning rate, lambda and w flat
    "kool2016": {"beta": ("gamma", (4.82, 0.88)), "stick": ("normal", (0.15, 1.42))},
    # Nussenbaum et al. 2020: alpha, lambda ~ Beta(1.1, 1.1); inverse temperatures ~ Gamma(3, scale 1);
    # stickiness ~ N(0, 10)
    "nussenbaum2020": {"rate": ("beta", (1.1, 1.1)), "beta": ("gamma", (3.0, 1.0)), "stick": ("normal", (0.0, 10.0))},
}


def prior_preset(name: str, variant: str) -> dict[str, torch.distributions.Distribution]:
    """The published priors ``name`` (:data:`PRIOR_PRESETS`) for the parameters of ``variant``, as float64
    torch distributions; parameters with a flat prior are absent.

    Raises
    ------
    ValueError
        For an unknown preset or variant.
    """
    if name not in PRIOR_PRESETS:
        raise ValueError(f"unknown priors preset {name!r}; choose from {sorted(PRIOR_PRESETS)}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    out = {}
    for k in VARIANTS[variant]:
        spec = PRIOR_PRESETS[name].get(_kind(k))
        if spec is None:
            continue
        family, (a, b) = spec
        if family == "beta":
            out[k] = torch.distributions.Beta(_f64(a), _f64(b))
        elif family == "gamma":  # (shape, scale) as the papers give it; torch takes the rate
            out[k] = torch.distributions.Gamma(_f64(a), _f64(1.0 / b))
        else:
            out[k] = torch.distributions.Normal(_f64(a), _f64(b))
    return out


def bounds_of(variant: str, bounds: str | dict | None = None) -> dict[str, tuple[float, float]]:
    """Bounds of ``variant``'s parameters: :data:`VARIANTS`', changed by a preset of :data:`BOUNDS_PRESETS`
    or by a dict ``{parameter: (lower, upper)}``.

    Raises
    ------
    ValueError
        For an unknown variant, preset or parameter, an end outside the parameter's domain
        (:data:`PARAMETER_DOMAINS`: a learning rate bounded above 1, a negative inverse temperature), or a pair
        that is not ``lower < upper`` (finite).
    TypeError
        If ``bounds`` is neither a preset name nor a dict.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    out = dict(VARIANTS[variant])
    if bounds is None:
        return out
    if isinstance(bounds, str):
        if bounds not in BOUNDS_PRESETS:
            raise ValueError(f"unknown bounds preset {bounds!r}; choose from {sorted(BOUNDS_PRESETS)}")
        return {k: BOUNDS_PRESETS[bounds].get(_kind(k), v) for k, v in out.items()}
    if not isinstance(bounds, dict):
        raise TypeError(f"bounds must be a preset name or a dict of parameter -> (lower, upper), got {type(bounds).__name__}")
    for k, pair in bounds.items():
        if k not in out:
            raise ValueError(f"bounds: {variant} has no parameter {k!r}; its parameters: {list(out)}")
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ValueError(f"bounds[{k!r}] must be a (lower, upper) pair of numbers, got {pair!r}")
        lo, hi = (check_value(f"bounds[{k!r}]", x, float, domain_of(k)) for x in pair)  # both ends in the domain
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"bounds[{k!r}] must be finite with lower < upper, got {pair!r}")
        out[k] = (lo, hi)
    return out


def _kool_models() -> dict[str, dict]:
    """Kool et al. 2016's 12 models (mfit_wrapper.m: hybrid / model-based / model-free, each with and without
    choice stickiness ``st`` and response stickiness ``respst``), as keyword arguments of :func:`fit_hybrid`."""
    out = {}
    for model in ("hybrid", "mb", "mf"):
        for st in (True, False):
            for resp in (True, False):
                fixed = {**({} if st else {"st": 0.0}), **({} if resp else {"respst": 0.0})}
                name = model + ("+st" if st else "") + ("+respst" if resp else "")
                out[name] = {"variant": "kool2016", "model": model, "fixed": fixed}
    return out


#: named models: Kool et al. 2016's 12 (``"hybrid+st+respst"`` ... ``"mf"``) and Daw et al. 2011's nested ones
#: (hybrid, model-based, model-free, and the TD(0) / TD(1) model-free learners with lambda fixed); each entry is
#: the keyword arguments of :func:`fit_hybrid`, e.g. ``fit_hybrid(trials, **MODELS["mf+st"])``
MODELS: dict[str, dict] = {
    **_kool_models(),
    "daw2011": {"variant": "daw2011", "model": "hybrid", "fixed": {}},
    "daw2011_mb": {"variant": "daw2011", "model": "mb", "fixed": {}},
    "daw2011_mf": {"variant": "daw2011", "model": "mf", "fixed": {}},
    "daw2011_td0": {"variant": "daw2011", "model": "mf", "fixed": {"lam": 0.0}},
    "daw2011_td1": {"variant": "daw2011", "model": "mf", "fixed": {"lam": 1.0}},
}


def default_priors(variant: str) -> dict[str, torch.distributions.Distribution]:
    """MAP priors: Daw et al. 2011 — Beta(1.1, 1.1) for learning rates, lambda and w; Gamma(shape 1.2,
    scale 5) for inverse temperatures; Normal(0, 1) for stickiness. Other variants get the same family per
    kind of parameter (pass ``priors=`` to :func:`fit_hybrid` to change them). The ``"daw2011"`` preset of
    :func:`prior_preset`."""
    return prior_preset("daw2011", variant)


# ---------------------------------------------------------------------------------------------- engine
@dataclass
class _Engine:
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


def _engine(variant: str, prm: dict[str, torch.Tensor], model: str) -> _Engine:
    one, zero = torch.ones_like(next(iter(prm.values()))), torch.zeros_like(next(iter(prm.values())))
    w = prm.get("w", one)
    if model == "mf":
        w = zero
    elif model == "mb":
        w = one
    if variant == "daw2011":
        b = prm["beta1"]
        return _Engine(prm["alpha1"], prm["alpha2"], prm["lam"], b * w, b * (1 - w), b * prm["p"], zero, prm["beta2"], False)
    if variant == "kool2016":
        b = prm["beta"]
        return _Engine(prm["alpha"], prm["alpha"], prm["lam"], b * w, b * (1 - w), b * prm["st"], b * prm["respst"], b, False)
    if variant == "otto2013":
        b_mb = zero if model == "mf" else prm["beta_mb"]
        b_mf = zero if model == "mb" else prm["beta_mf"]
        return _Engine(prm["alpha"], prm["alpha"], prm["lam"], b_mb, b_mf, prm["st"], zero, prm["beta2"], False)
    if variant in ("hbayesdm_par7", "hbayesdm_par6"):
        b = prm["beta1"]
        lam = prm["lam"] if variant == "hbayesdm_par7" else one
        return _Engine(prm["a1"], prm["a2"], lam, b * w, b * (1 - w), prm["pi"], zero, prm["beta2"], True)
    if variant == "hbayesdm_par4":
        b = prm["beta"]
        return _Engine(prm["a"], prm["a"], one, b * w, b * (1 - w), prm["pi"], zero, b, True)
    raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")


def _logits1(e: _Engine, q1, v2, p_same, rep, resp_rep) -> torch.Tensor:
    """First-stage logits ``(..., 2)``: ``b_mb*Q_MB + b_mf*Q1 + k_rep*rep + k_resp*resp_rep``.

    ``q1``, ``v2`` (``max_b Q2(s, b)`` per state), ``rep`` and ``resp_rep`` are ``(N, ..., 2)``; ``p_same``
    (the assumed ``P(s = a | a)``) is ``(N, ...)``; engine weights are ``(N,)``.
    """
    extra = (1,) * (q1.dim() - 1)
    ps = p_same.unsqueeze(-1)
    q_mb = ps * v2 + (1 - ps) * v2.flip(-1)
    w = lambda t: t.reshape(-1, *extra)
    return w(e.b_mb) * q_mb + w(e.b_mf) * q1 + w(e.k_rep) * rep + w(e.k_resp) * resp_rep


def _q_update(e: _Engine, q1, q2, hit1, hit2, r):
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


class _History:
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
class _Data:
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

    def repeat(self, k: int) -> _Data:
        """The sequences ``k`` times over (one copy per optimiser start)."""
        fields = {f: getattr(self, f).repeat(k, *([1] * (getattr(self, f).dim() - 1))) for f in self._PER_SEQUENCE}
        return _Data(**fields, seq_subject=self.seq_subject.repeat(k), subjects=self.subjects, n_options=self.n_options)

    def select(self, idx: torch.Tensor) -> _Data:
        """The sequences ``idx``."""
        fields = {f: getattr(self, f)[idx] for f in self._PER_SEQUENCE}
        return _Data(**fields, seq_subject=self.seq_subject[idx], subjects=self.subjects, n_options=self.n_options)


def _prepare(
    trials: pd.DataFrame, start_trial: int, need_stim_left: bool, transitions: str, common_prob: float, min_trials: int = 1,
    start_values: str = "learn",
) -> _Data:
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
    hist = _History(N)
    rep, resp, p_same = np.zeros((N, T, 2)), np.zeros((N, T, 2)), np.zeros((N, T))
    # "reset" (Decker et al. 2016; Nussenbaum et al. 2020): trials before start_trial neither update the values
    # nor count transitions, as if deleted, but the first modelled trial's stickiness refers to the last
    # earlier valid choice (and key)
    learns = valid & (trial >= start_trial) if start_values == "reset" else valid
    for t in range(T):
        sl = None if stim_left is None else stim_left[:, t]
        rep[:, t], resp[:, t], p_same[:, t] = hist.features(transitions, common_prob, sl)
        hist.observe(c1[:, t], s2[:, t], valid[:, t], sl, learns[:, t])
    v = learns[..., None].astype(float)
    onehot = lambda x, k: np.eye(k)[np.clip(x, 0, None)]
    hit1 = onehot(c1, 2) * v
    hit2 = onehot(s2, 2)[..., :, None] * onehot(c2, n_options)[..., None, :] * v[..., None]
    t64 = lambda x: torch.from_numpy(np.ascontiguousarray(x))
    return _Data(
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


def _sequence_nll(variant, prm, data: _Data, model, likelihood) -> torch.Tensor:
    """NLL per sequence ``(N,)``; ``prm`` maps names to ``(N,)`` tensors.

    The loop over trials only carries the value updates (:func:`_values`); the choice probabilities of all
    trials are computed afterwards from the recorded pre-update values.
    """
    e = _engine(variant, prm, model)
    q1_t, q2_t = _values(e, data)
    logits1 = _logits1(e, q1_t, q2_t.max(-1).values, data.p_same, data.rep, data.resp_rep)
    logp1 = torch.log_softmax(logits1, -1).gather(-1, data.c1[..., None])[..., 0]
    total = -(data.counted * logp1).sum(1)
    if likelihood == "both" and data.n_options > 1:
        q2_here = (q2_t * data.state_mask[..., None]).sum(2)  # (N, T, O): values of the state reached
        logp2 = torch.log_softmax(e.beta2[:, None, None] * q2_here, -1).gather(-1, data.c2[..., None])[..., 0]
        total = total - (data.counted * logp2).sum(1)
    return total


def _values(e: _Engine, data: _Data) -> tuple[torch.Tensor, torch.Tensor]:
    """Values before each trial's update: ``Q1`` ``(N, T, 2)`` and ``Q2`` ``(N, T, 2, O)``; they depend on the
    engine's learning rates and lambda only."""
    N, T = data.c1.shape
    q1 = torch.zeros(N, 2, dtype=torch.float64)
    q2 = torch.zeros(N, 2, data.n_options, dtype=torch.float64)
    q1s, q2s = [], []
    for t in range(T):
        q1s.append(q1)
        q2s.append(q2)
        q1, q2 = _q_update(e, q1, q2, data.hit1[:, t], data.hit2[:, t], data.r[:, t])
    return torch.stack(q1s, 1), torch.stack(q2s, 1)


def _check(variant, model, transitions, likelihood):
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    if model not in ("hybrid", "mf", "mb"):
        raise ValueError(f"model must be 'hybrid', 'mf' or 'mb', got {model!r}")
    if transitions not in ("fixed", "counting"):
        raise ValueError(f"transitions must be 'fixed' or 'counting', got {transitions!r}")
    if likelihood not in ("both", "stage1"):
        raise ValueError(f"likelihood must be 'both' or 'stage1', got {likelihood!r}")


def _check_params(params, names) -> None:
    """Each parameter in its domain (:data:`PARAMETER_DOMAINS`): rates, lambda and w in [0, 1]; inverse
    temperatures >= 0; all finite."""
    for k in names:
        v = params[k]
        if isinstance(v, (np.generic, torch.Tensor)) and np.ndim(v) == 0:
            v = v.item()
        check_value(f"parameter {k}", v, float, domain_of(k))


def _free(variant: str, model: str) -> list[str]:
    names = list(VARIANTS[variant])
    if model != "hybrid":
        drop = {"otto2013": "beta_mf" if model == "mb" else "beta_mb"}.get(variant, "w")
        names.remove(drop)
    return names


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
        stickiness of the first modelled trial refers to the last earlier valid choice (trial 9's, or 8's if
        9 was missed).

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
    """
    transitions = transitions or _DEFAULT_TRANSITIONS.get(variant, "fixed")
    _check(variant, model, transitions, likelihood)
    names = _free(variant, model)
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"params lack {missing} for variant {variant!r}")
    _check_params(params, names)
    data = _prepare(trials, start_trial, variant == "kool2016", transitions, common_prob, start_values=start_values)
    N = data.c1.shape[0]
    prm = {k: torch.full((N,), float(params[k]), dtype=torch.float64) for k in names}
    with torch.no_grad():
        return float(_sequence_nll(variant, prm, data, model, likelihood).sum())


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
    """
    transitions = transitions or _DEFAULT_TRANSITIONS.get(variant, "fixed")
    _check(variant, "hybrid", transitions, "both")
    names = _free(variant, "mf")  # the values do not depend on the model-based weight
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"params lack {missing} for variant {variant!r}")
    _check_params(params, names)
    df = validate_trials(trials, ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward"))
    df = df.sort_values(["subject", "episode", "trial"], kind="stable").reset_index(drop=True)
    data = _prepare(df, 0, variant == "kool2016", transitions, common_prob)
    N, T = data.c1.shape
    e = _engine(variant, {k: torch.full((N,), float(params[k]), dtype=torch.float64) for k in names}, "mf")
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
            q1, q2 = _q_update(e, q1, q2, hit1, hit2, data.r[:, t])
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


def fit_hybrid(
    trials: pd.DataFrame,
    variant: str = "daw2011",
    method: str = "mle",
    n_starts: int = 10,
    model: str = "hybrid",
    transitions: str | None = None,
    common_prob: float = 0.7,
    likelihood: str = "both",
    start_trial: int = 0,
    priors: dict | str | None = None,
    seed: int = 0,
    maxiter: int = 500,
    fixed: dict | None = None,
    bounds: dict | str | None = None,
    start_values: str = "learn",
    starts: str = "adaptive",
    max_starts: int | None = None,
) -> pd.DataFrame:
    """Fit a hybrid model to each subject by maximum likelihood or MAP, from as many starts as each subject needs.

    Each (subject, start) is its own bounded problem solved by scipy's L-BFGS-B; the problems run in
    lockstep, so that each round evaluates the likelihood and its gradient (torch autograd) for all pending
    (subject, start) pairs in one vectorised pass over the trials.

    The two-step likelihoods have many local optima, several on the bounds where the likelihood is flat (a learning
    rate or lambda at 0 or 1, an inverse temperature near 0), and some with small basins: with 10 random starts,
    29 of 200 simulated subjects (200 trials) ended worse than a 300-start fit, by up to 5 nats. The default
    ``starts="adaptive"`` therefore runs, for every subject:

    1. ``n_starts`` random starts, starts at the corners of the unit-interval parameters, and starts from the
       *profile*: the objective on a grid of the learning rates and lambda (levels 0, 0.03, 0.1, 0.25, 0.5,
       0.75, 0.9, 1 of their range), each grid point with the other parameters at their optimum, which is unique
       because at fixed rates the logits are linear in ``beta*w``, ``beta*(1-w)``, ``beta*p`` (every variant);
       the 8 best of the grid's local minima seed full fits; then a second grid, through the best point found,
       seeds 8 more. These reach optima whose basins are too small for random starts
       (``benchmarks/fit_starts.py``'s subject sim102: under 1/300 of them);
    2. while Boender & Rinnooy Kan (1987)'s Bayesian estimate of the optima not yet found by the random starts
       (from ``W`` distinct optima in ``N`` starts: ``W (N - 1) / (N - W - 2) - W``) is at least 0.5, a
       further round that doubles its starts: the "edges" of its best point (each parameter in turn moved near
       either bound) and random ones (at least ``n_starts``), up to about ``max_starts``. These reach optima
       closer together than the grid's spacing;
    3. exploratory starts stop after 150 iterations; each subject's 3 best distinct ends are then run to
       convergence at tight tolerances.

    Subjects with one clear optimum stop after the first round; rugged ones get more starts. Measured in
    ``benchmarks/fit_starts.py`` (the README gives the figures). ``starts="random"`` is the plain ``n_starts``
    random starts (faster, and the results of earlier versions).

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table, as :func:`hybrid_nll`.
    variant, model, transitions, common_prob, likelihood, start_trial, start_values
        As :func:`hybrid_nll`.
    method : {"mle", "map"}
        Maximum likelihood, or maximum a posteriori with ``priors`` (default :func:`default_priors`).
    n_starts : int
        Random starts per subject and round (uniform within the bounds; inverse temperatures in [0, 10],
        stickiness in [-1, 1]).
    starts : {"adaptive", "random"}
        The start strategy (above).
    max_starts : int, optional
        Most starts per subject with ``starts="adaptive"`` (>= ``n_starts``); default ``max(50, n_starts)``
        (``benchmarks/fit_starts.py``: 50 left no subject short of 300 random starts, 100 or 300 none either).
    priors : dict or str, optional
        Parameter -> ``torch.distributions.Distribution`` (float64) for ``method="map"`` (a parameter absent
        has a flat prior), or a published preset of :data:`PRIOR_PRESETS`: ``"daw2011"`` (the default),
        ``"kool2016"``, ``"nussenbaum2020"``.
    seed : int
        Seed of the starting points.
    maxiter : int
        L-BFGS-B iteration limit per (subject, start).
    fixed : dict, optional
        Parameter -> value held fixed (not fitted), e.g. ``{"st": 0, "lam": 1}``: the restricted models of Kool
        et al. 2016 and Daw et al. 2011 (named in :data:`MODELS`). The fixed values appear in the result's
        columns and do not count in ``n_params``.
    bounds : dict or str, optional
        Parameter -> ``(lower, upper)``, or a published preset of :data:`BOUNDS_PRESETS` (``"kool2016"``:
        inverse temperature <= 20, stickiness +-20; ``"nussenbaum2020"``: 30, +-30); default :data:`VARIANTS`'.

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject``, ``variant``, ``model``, the parameters, ``nll`` (negative
        log-likelihood at the estimate), ``objective`` (``nll`` or the negative log posterior), ``n_trials``
        (choices in the likelihood), ``n_params``, ``aic`` = 2k + 2 nll, ``bic`` = k ln(n) + 2 nll,
        ``pseudo_r2`` = 1 - nll / (n ln 2), ``at_bound`` (parameters within 1e-4 of a bound),
        ``converged`` (the best start's L-BFGS-B reported success; a subject whose fit did not converge is
        kept, with the optimiser's ``message``), ``n_converged_starts``, and the spread of the starts:
        ``n_starts`` (run for this subject), ``n_at_best`` (ending within 1e-3 nats of the best) and ``spread``
        (objective of the 5th-best start minus the best's, nats: 0 when the best starts agree).

    Raises
    ------
    ValueError
        As :func:`hybrid_nll`; for a subject with fewer than 10 valid trials, an unknown ``method``,
        ``n_starts < 1``, ``max_starts < n_starts``, an unknown ``starts``, an unknown preset, a ``fixed`` or ``bounds`` entry that names no free parameter of the
        model, a bound or fixed value outside the parameter's domain (:data:`PARAMETER_DOMAINS`), a fixed value
        outside its bounds, nothing left to fit, or ``priors`` that do not fit (:func:`check_priors`).
    """
    transitions = transitions or _DEFAULT_TRANSITIONS.get(variant, "fixed")
    _check(variant, model, transitions, likelihood)
    if method not in ("mle", "map"):
        raise ValueError(f"method must be 'mle' or 'map', got {method!r}")
    check_int(n_starts, "n_starts")
    if starts not in ("adaptive", "random"):
        raise ValueError(f"starts must be 'adaptive' or 'random', got {starts!r}")
    if max_starts is None:
        max_starts = max(_MAX_STARTS, n_starts)
    check_int(max_starts, "max_starts", n_starts, f" (at least n_starts = {n_starts})")
    box = bounds_of(variant, bounds)
    fixed = _check_fixed(fixed, _free(variant, model), box, model)
    names = [k for k in _free(variant, model) if k not in fixed]
    if not names:
        raise ValueError(f"fixed= fixes every parameter of {variant} ({model}); leave at least one to fit")
    bounds = np.array([box[k] for k in names], dtype=float)
    prior = check_priors(priors, method, variant, names, box)
    base = _prepare(trials, start_trial, variant == "kool2016", transitions, common_prob, _MIN_TRIALS, start_values)
    _S, K = len(base.subjects), len(names)
    lo, hi = bounds[:, 0], bounds[:, 1]
    problem = _Problem(base, variant, model, likelihood, names, fixed, prior, bounds)
    rng = np.random.default_rng(seed)
    pool = _multistart(problem, rng, n_starts, starts, max_starts, maxiter)
    n_lik = _n_choices(base, likelihood)
    rows = []
    for s, subj in enumerate(base.subjects):
        b = pool.best(s)
        n, f, x = int(n_lik[s]), float(pool.nll[b]), pool.X[b]
        row = {"subject": subj, "variant": variant, "model": model}
        row.update({k: float(x[j]) for j, k in enumerate(names)})
        row.update(fixed)
        mine = pool.subject == s
        objs = np.sort(pool.obj[mine])
        row.update(
            nll=f,
            objective=float(pool.obj[b]),
            n_trials=n,
            n_params=K,
            aic=2 * K + 2 * f,
            bic=K * np.log(n) + 2 * f,
            pseudo_r2=1 - f / (n * np.log(2)),
            at_bound=",".join(k for j, k in enumerate(names) if min(x[j] - lo[j], hi[j] - x[j]) < 1e-4),
            converged=bool(pool.success[b]) and np.isfinite(f),
            n_converged_starts=int(pool.success[mine].sum()),
            n_starts=int(mine.sum()),
            n_at_best=int((objs <= objs[0] + _AGREE).sum()),
            spread=float(objs[min(4, len(objs) - 1)] - objs[0]),
            message=pool.message[b],
            fixed=",".join(f"{k}={v:g}" for k, v in fixed.items()),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _check_fixed(fixed, free: list[str], box: dict, model: str) -> dict[str, float]:
    """``fixed=`` of :func:`fit_hybrid` as ``{name: float}``, each a free parameter of the model, finite and
    within its bounds."""
    if fixed is None:
        return {}
    if not isinstance(fixed, dict):
        raise TypeError(f"fixed must be a dict of parameter -> value, got {type(fixed).__name__}")
    out = {}
    for k, v in fixed.items():
        if k not in free:
            raise ValueError(f"fixed: {k!r} is not a fitted parameter of this model ({model}); its parameters: {free}")
        if isinstance(v, (np.generic, torch.Tensor)) and np.ndim(v) == 0:
            v = v.item()
        v = check_value(f"fixed[{k!r}]", v, float, domain_of(k))
        lo, hi = box[k]
        if not (np.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"fixed[{k!r}] = {v} lies outside its bounds [{lo}, {hi}]")
        out[k] = v
    return out


def check_priors(priors, method: str, variant: str, names: list[str], box: dict) -> dict | None:
    """``priors=`` of :func:`fit_hybrid` checked against the fit: a dict of free parameter -> float64
    ``torch.distributions.Distribution`` whose support covers the parameter's bounds, or a preset name.

    Returns
    -------
    dict or None
        Parameter -> distribution for ``method="map"`` (:func:`default_priors` where ``priors`` is None); None
        for ``method="mle"``.

    Raises
    ------
    ValueError
        If ``priors`` is given with ``method="mle"`` (it would be ignored), names a parameter that is not fitted
        (unknown, or held by ``fixed``), holds something other than a distribution (a number, say), or a
        distribution whose support does not cover the parameter's bounds (a Beta prior on an inverse temperature
        bounded to 20, a Gamma prior on a signed stickiness); or for an unknown preset.
    TypeError
        If ``priors`` is neither a dict nor a preset name (a list, say).
    """
    if method != "map":
        if priors is not None:
            raise ValueError(f"priors= applies to method='map' only; with method={method!r} it would be ignored")
        return None
    if priors is None:
        priors = default_priors(variant)
    elif isinstance(priors, str):
        priors = prior_preset(priors, variant)
    elif not isinstance(priors, dict):
        raise TypeError(f"priors must be a preset name ({sorted(PRIOR_PRESETS)}) or a dict of parameter -> "
                        f"torch.distributions.Distribution, got {type(priors).__name__}")
    else:
        for k, dist in priors.items():
            if k not in names:
                raise ValueError(f"priors: {k!r} is not a fitted parameter of this model; fitted: {names}")
            if not isinstance(dist, torch.distributions.Distribution):
                raise ValueError(f"priors[{k!r}] must be a torch.distributions.Distribution (e.g. "
                                 f"torch.distributions.Beta(1.1, 1.1)), got {dist!r}")
            lo, hi = box[k]
            ends = torch.tensor([lo + (hi - lo) * 1e-9, (lo + hi) / 2, hi - (hi - lo) * 1e-9], dtype=torch.float64)
            try:
                inside = bool(dist.support.check(ends).all())
            except (NotImplementedError, RuntimeError):  # a support that cannot be checked: trust it
                inside = True
            if not inside:
                raise ValueError(f"priors[{k!r}]: {type(dist).__name__}'s support {dist.support} does not cover "
                                 f"{k}'s bounds [{lo:g}, {hi:g}]")
    return {k: v for k, v in priors.items() if k in names}


_AGREE = 1e-3  # nats: starts that end within this of a subject's best objective have found that optimum
_DISTINCT = 1e-3  # nats: objectives of two starts' ends further apart than this are distinct optima
_EXPLORE_ITER = 150  # L-BFGS-B iterations of an exploratory start; the best ones are then run to convergence
_N_SEEDS = 8  # starts per subject from the profile's grid
_MAX_STARTS = 50  # default most starts per subject of the adaptive strategy
_PROFILE_LEVELS = (0.0, 0.03, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)  # grid of the learning rates and lambda (of their range)


class _Problem:
    """The per-subject objectives of :func:`fit_hybrid` (NLL, or negative log posterior with ``prior``), evaluated
    in one batched pass for any rows ``(subject, parameters)``, and solved by lockstep L-BFGS-B."""

    def __init__(self, base: _Data, variant, model, likelihood, names, fixed, prior, bounds: np.ndarray):
        self.base, self.variant, self.model, self.likelihood = base, variant, model, likelihood
        self.names, self.fixed, self.prior, self.bounds = names, fixed, prior, bounds
        self.S, self.K = len(base.subjects), len(names)
        sub = base.seq_subject.numpy()
        self.order = np.argsort(sub, kind="stable")  # sequences grouped by subject
        self.count = np.bincount(sub, minlength=self.S)
        self.first = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        lo, hi = bounds[:, 0], bounds[:, 1]
        kinds = np.array([_kind(k) for k in names])
        self.kinds = kinds
        stick = np.isin(kinds, ["stick", "pi"])
        # random starts: uniform within the bounds; inverse temperatures in [0, 10], stickiness in [-1, 1], where
        # those ranges meet the bounds (bounds p in [2, 3] once made an empty range: the whole bounds then)
        init_lo = np.where(stick, np.maximum(lo, -1.0), lo)
        init_hi = np.where(kinds == "beta", np.minimum(hi, 10.0), np.where(stick, np.minimum(hi, 1.0), hi))
        empty = init_lo >= init_hi
        self.init_lo, self.init_hi = np.where(empty, lo, init_lo), np.where(empty, hi, init_hi)

    def sequences(self, subj: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequences of rows ``subj`` ``(R,)``: their indices into the data and the row of each."""
        n = self.count[subj]
        pos = np.repeat(self.first[subj] - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(n.sum())
        return torch.from_numpy(self.order[pos]), torch.from_numpy(np.repeat(np.arange(len(subj)), n))

    def params(self, x: torch.Tensor, at: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-sequence parameters (free from ``x`` ``(R, K)``, rows ``at``; and the fixed ones)."""
        prm = {k: x[:, i][at] for i, k in enumerate(self.names)}
        prm.update({k: torch.full((len(at),), v, dtype=torch.float64) for k, v in self.fixed.items()})
        return prm

    def log_prior(self, x: torch.Tensor) -> torch.Tensor:
        """Log prior density ``(R,)`` at ``x`` ``(R, K)`` (0 for ML fits and flat parameters)."""
        out = torch.zeros(len(x), dtype=torch.float64)
        if self.prior is not None:
            lo, hi = self.bounds[:, 0], self.bounds[:, 1]
            for i, k in enumerate(self.names):
                if k in self.prior:  # absent: flat
                    out = out + self.prior[k].log_prob(x[:, i].clamp(lo[i] + 1e-6, hi[i] - 1e-6))
        return out

    def objective(self, subj: np.ndarray, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Objective and NLL ``(R,)`` of rows ``subj`` ``(R,)`` at ``x`` ``(R, K)`` float64."""
        seq, at = self.sequences(subj)
        per_seq = _sequence_nll(self.variant, self.params(x, at), self.base.select(seq), self.model, self.likelihood)
        nll = torch.zeros(len(subj), dtype=torch.float64).index_add(0, at, per_seq)
        return nll - self.log_prior(x), nll

    def profile(self, levels=None, centre: np.ndarray | None = None, first: tuple | None = None, chunk: int = 20000
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The objective profiled over a grid of the learning rates and lambda: at each grid point, the other
        parameters (inverse temperatures, w, stickiness) at their optimum.

        Given the learning rates and lambda, every trial's values are fixed and both stages' logits are linear in
        ``(beta*w, beta*(1-w), beta*p, ...)`` (every variant), so the negative log-likelihood is convex in those;
        the map from the box is one to one where beta > 0, so the box holds no local optimum but the global one,
        and one L-BFGS-B start per grid point finds it. The multimodal part of the search is left to the grid,
        in 0-3 dimensions. ``levels``: fractions of each rate's range (default ``_PROFILE_LEVELS``); ``centre``
        ``(S, K)``: a point per subject whose rates join the levels (a grid through it, ``L + 1`` levels per
        rate), with ``first`` (this method's result on ``levels`` alone) giving the points the two grids share;
        grid points are solved ``chunk`` (subject, point) rows at a time.

        Returns the grid ``(S, G, d)``, the profiled objective ``(S, G)`` and its points ``(S, G, K)``
        (float64); the grid is regular, ``G = L**d`` points in C order.
        """
        levels = np.asarray(_PROFILE_LEVELS if levels is None else levels, float)
        rate = np.flatnonzero(self.kinds == "rate")
        lo, hi = self.bounds[rate, 0], self.bounds[rate, 1]
        S, d, L = self.S, len(rate), len(levels)
        axes = np.tile(lo[:, None] + levels[None] * (hi - lo)[:, None], (S, 1, 1))  # (S, d, L)
        todo = np.ones((S, L ** d), bool)
        if centre is not None:  # insert each subject's centre into each axis, at position ins (S, d)
            c = centre[:, rate]
            ins = (axes <= c[..., None]).sum(2)
            pos = np.arange(L + 1)
            axes = np.take_along_axis(axes, np.minimum(pos - (pos > ins[..., None]), L - 1), 2)
            axes[pos == ins[..., None]] = c.ravel()
            L += 1
        idx = np.array(list(itertools.product(range(L), repeat=d)), int).reshape(L ** d, d)  # (G, d)
        grid = axes[:, np.arange(d)[None, :], idx]  # (S, G, d)
        X = np.tile(np.where(self.kinds == "beta", 3.0, (self.init_lo + self.init_hi) / 2), (S, L ** d, 1))
        X[:, :, rate] = grid
        obj = np.empty((S, L ** d))
        if centre is not None:
            todo = (idx[None] == ins[:, None, :]).any(2)  # (S, G): points off the first grid
            if first is not None:  # the others are the first grid's
                old = np.minimum(idx[None] - (idx[None] > ins[:, None, :]), L - 2)  # (S, G, d); used off todo only
                at = np.ravel_multi_index(np.moveaxis(old, 2, 0), (L - 1,) * d)
                s_, g_ = np.nonzero(~todo)
                obj[s_, g_], X[s_, g_] = first[1][s_, at[s_, g_]], first[2][s_, at[s_, g_]]
            else:
                todo[:] = True
        s_all, g_all = np.nonzero(todo)
        for r0 in range(0, len(s_all), chunk):
            s_, g_ = s_all[r0:r0 + chunk], g_all[r0:r0 + chunk]
            obj[s_, g_], X[s_, g_] = self._profile_rows(s_, X[s_, g_])
        return grid, obj, X

    def _profile_rows(self, subj: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`profile` for rows ``subj`` ``(R,)`` at ``x0`` ``(R, K)``: the learning rates and lambda held,
        the others optimised from ``x0``; the optimum's objective ``(R,)`` and point ``(R, K)``."""
        other = np.flatnonzero(self.kinds != "rate")
        seq, at = self.sequences(subj)
        data = self.base.select(seq)
        with torch.no_grad():  # the values, and the logits' features as chosen minus unchosen option (N, T)
            q1_t, q2_t = _values(_engine(self.variant, self.params(torch.from_numpy(x0), at), self.model), data)
            ps = data.p_same.unsqueeze(-1)
            v2 = q2_t.max(-1).values
            c1 = data.c1[..., None]
            diff = lambda f, c: (f.gather(-1, c) - f.gather(-1, 1 - c))[..., 0]
            d1 = [diff(ps * v2 + (1 - ps) * v2.flip(-1), c1), diff(q1_t, c1), diff(data.rep, c1),
                  diff(data.resp_rep, c1)]
            two = self.likelihood == "both" and data.n_options > 1
            d2 = diff((q2_t * data.state_mask[..., None]).sum(2), data.c2[..., None]) if two else None
        slot = torch.full((len(subj),), -1, dtype=torch.long)
        softplus = torch.nn.functional.softplus

        def evaluate(rows, Xo):
            rows_t = torch.from_numpy(rows)
            xo = torch.tensor(Xo, dtype=torch.float64, requires_grad=True)
            x = torch.from_numpy(x0[rows].copy())
            x[:, torch.from_numpy(other)] = xo
            keep = torch.isin(at, rows_t)  # these rows' sequences
            slot[rows_t] = torch.arange(len(rows))
            at_r = slot[at[keep]]
            e = _engine(self.variant, self.params(x, at_r), self.model)
            z = sum(w[:, None] * d[keep] for w, d in zip((e.b_mb, e.b_mf, e.k_rep, e.k_resp), d1))
            per_seq = (data.counted[keep] * softplus(-z)).sum(1)  # -log sigmoid: binary choices
            if two:
                per_seq = per_seq + (data.counted[keep] * softplus(-e.beta2[:, None] * d2[keep])).sum(1)
            nll = torch.zeros(len(rows), dtype=torch.float64).index_add(0, at_r, per_seq)
            f = nll - self.log_prior(x)
            if f.requires_grad:
                f.sum().backward()
            return f.detach().numpy(), (xo.grad if xo.grad is not None else torch.zeros_like(xo)).numpy(), None

        x = x0.copy()
        if not other.size:  # nothing to optimise
            return evaluate(np.arange(len(subj)), np.zeros((len(subj), 0)))[0], x
        res = _minimize_lockstep(evaluate, x0[:, other], self.bounds[other], _EXPLORE_ITER)
        x[:, other] = np.stack([r.x for r in res])
        return np.array([r.fun for r in res]), x

    def profile_seeds(self, n: int, grid: np.ndarray, obj: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Starts from a profile (:meth:`profile`'s ``grid, obj, X``): per subject, its ``n`` best grid points among
        the grid's local minima (no lower neighbour along any axis); the rows' subjects ``(R,)`` and points
        ``(R, K)``."""
        d = grid.shape[2]
        L = round(grid.shape[1] ** (1 / d)) if d else 1
        shape = (self.S,) + (L,) * d
        o = obj.reshape(shape)
        local = np.ones(shape, bool)
        for ax in range(1, d + 1):
            for step in (1, -1):
                nb = np.roll(o, step, axis=ax)
                edge = [slice(None)] * (d + 1)
                edge[ax] = 0 if step == 1 else L - 1
                nb[tuple(edge)] = np.inf
                local &= o <= nb
        local = local.reshape(self.S, -1)
        subj, pts = [], []
        for s in range(self.S):
            cand = np.flatnonzero(local[s])
            cand = cand[np.argsort(obj[s, cand], kind="stable")]
            # plateaus (lambda is void where alpha1 = 0, alpha1 where w = 1) give equal local minima: keep one
            cand = cand[np.concatenate([[True], np.diff(obj[s, cand]) > 1e-6])][:n]
            subj.append(np.full(len(cand), s))
            pts.append(X[s, cand])
        return np.concatenate(subj), np.concatenate(pts)

    def solve(self, subj: np.ndarray, x0: np.ndarray, maxiter: int, objective=None, bounds=None, **tol) -> dict:
        """L-BFGS-B from each row of ``x0`` for subject ``subj``; the rows' ``X``, ``obj``, ``nll``,
        ``success`` and ``message``. ``objective(subj, x) -> (obj, nll)`` and ``bounds`` ``(K, 2)`` replace
        :meth:`objective` and the parameters' bounds (the hierarchical fit's transformed space)."""
        objective = objective or self.objective
        bounds = self.bounds if bounds is None else bounds

        def evaluate(rows, X):
            x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
            obj, nll = objective(subj[rows], x)
            obj.sum().backward()
            return obj.detach().numpy(), x.grad.numpy(), nll.detach().numpy()

        res = _minimize_lockstep(evaluate, x0, bounds, maxiter, **tol)
        X = np.stack([r.x for r in res])
        with torch.no_grad():
            obj, nll = objective(subj, torch.from_numpy(X))
        obj = obj.numpy()
        return {"subject": subj, "X": X, "obj": np.where(np.isfinite(obj), obj, np.inf), "nll": nll.numpy(),
                "success": np.array([r.success for r in res]), "message": np.array([str(r.message) for r in res])}

    def random_starts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.init_lo, self.init_hi, size=(n, self.K))

    def corners(self, rng: np.random.Generator, limit: int = 16) -> np.ndarray:
        """Starts at the corners of the unit-interval parameters (learning rates, lambda, w at 0.05 / 0.95; at
        most ``limit`` of them, drawn at random beyond), the others mid-range: where the likelihood is flat
        (a learning rate or lambda near 0 or 1, w at 0 or 1) random starts rarely reach the optimum."""
        unit = np.flatnonzero(np.isin(self.kinds, ["rate", "w"]) & (self.bounds[:, 0] == 0) & (self.bounds[:, 1] == 1))
        mid = np.where(self.kinds == "beta", 3.0, (self.init_lo + self.init_hi) / 2)
        grid = np.array(np.meshgrid(*[[0.05, 0.95]] * len(unit), indexing="ij")).reshape(len(unit), -1).T
        if len(grid) > limit:
            grid = grid[rng.choice(len(grid), limit, replace=False)]
        out = np.tile(mid, (len(grid), 1))
        out[:, unit] = grid
        return out

    def edges(self, x: np.ndarray) -> np.ndarray:
        """From a point ``x`` ``(K,)``, one start per parameter and end of its range (``2K``): each parameter in
        turn moved near its lower or its upper bound, the others kept (e.g. beta1 high with beta2 near 0)."""
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        near_lo = lo + 0.03 * (hi - lo)
        near_hi = hi - 0.03 * (hi - lo)
        out = np.tile(x, (2 * self.K, 1))
        out[np.arange(self.K), np.arange(self.K)] = near_lo
        out[self.K + np.arange(self.K), np.arange(self.K)] = near_hi
        return out


class _Pool:
    """Every (subject, start) solved so far."""

    def __init__(self, S: int):
        self.S = S
        self.parts: list[dict] = []

    def add(self, part: dict, seeded=False) -> None:
        """Add solved rows; ``seeded`` (bool or ``(R,)``) marks starts from the profile, which the estimate of
        unseen optima leaves out (it assumes random starts)."""
        part = {**part, "seeded": np.broadcast_to(np.asarray(seeded, bool), part["obj"].shape).copy()}
        self.parts.append(part)
        for k in part:
            setattr(self, k, np.concatenate([p[k] for p in self.parts]))

    def best(self, s: int) -> int:
        mine = np.flatnonzero(self.subject == s)
        return int(mine[np.argmin(self.obj[mine])])

    def optima(self, s: int) -> int:
        """Distinct optima among subject ``s``'s starts not seeded from the profile: their objectives sorted and
        split at gaps > :data:`_DISTINCT`."""
        obj = np.sort(self.obj[(self.subject == s) & ~self.seeded])
        obj = obj[np.isfinite(obj)]
        return int(1 + (np.diff(obj) > _DISTINCT).sum()) if len(obj) else 0

    def unseen(self) -> np.ndarray:
        """Expected number of optima not yet found, per subject: Boender & Rinnooy Kan (1987)'s Bayesian estimate
        of the number of local optima, ``W (N - 1) / (N - W - 2)`` after ``N`` starts found ``W``, less ``W``."""
        N = np.bincount(self.subject[~self.seeded], minlength=self.S).astype(float)
        W = np.array([self.optima(s) for s in range(self.S)], dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(N - W - 2 > 0, W * (N - 1) / np.maximum(N - W - 2, 1e-12) - W, np.inf)

    def top(self, s: int, k: int) -> np.ndarray:
        """Indices of subject ``s``'s ``k`` best starts with distinct objectives (more than :data:`_DISTINCT`
        apart)."""
        mine = np.flatnonzero(self.subject == s)
        mine = mine[np.argsort(self.obj[mine], kind="stable")]
        keep = np.concatenate([[True], np.diff(self.obj[mine]) > _DISTINCT])
        return mine[keep][:k]


def _multistart(problem: _Problem, rng: np.random.Generator, n_starts: int, starts: str, max_starts: int,
                maxiter: int) -> _Pool:
    """Starts of :func:`fit_hybrid` (its docstring describes the strategies); every (subject, start) solved."""
    S = problem.S
    subj = np.tile(np.arange(S), n_starts)  # start-major, as the rows of the random draw
    x0 = problem.random_starts(rng, n_starts * S)
    pool = _Pool(S)
    if starts == "random":
        pool.add(problem.solve(subj, x0, maxiter))
        return pool
    explore = min(maxiter, _EXPLORE_ITER)
    C = problem.corners(rng)
    first = problem.profile()
    ps, px = problem.profile_seeds(_N_SEEDS, *first)
    pool.add(problem.solve(np.concatenate([subj, np.repeat(np.arange(S), len(C)), ps]),
                           np.concatenate([x0, np.tile(C, (S, 1)), px]), explore),
             seeded=np.repeat([False, True], [len(subj) + S * len(C), len(ps)]))
    # the profile again, on a grid through each subject's best point: optima the first grid's spacing hid (the
    # rates other than alpha2 matter less than a coarse alpha2 does, e.g. w < 1 only near the best alpha2)
    centre = np.stack([pool.X[pool.best(s)] for s in range(S)])
    ps, px = problem.profile_seeds(_N_SEEDS, *problem.profile(centre=centre, first=first))
    pool.add(problem.solve(ps, px, explore), seeded=True)
    while True:
        used = np.bincount(pool.subject, minlength=S)
        todo = np.flatnonzero((pool.unseen() >= 0.5) & (used < max_starts))
        if not todo.size:
            break
        # each round doubles a subject's starts (the edges of its best point, the rest random), so that few
        # rounds run one after the other
        n_new = np.maximum(np.minimum(used[todo], max_starts - used[todo]) - 2 * problem.K, n_starts)
        edges = np.concatenate([problem.edges(pool.X[pool.best(s)]) for s in todo])
        subj = np.concatenate([np.repeat(todo, n_new), np.repeat(todo, 2 * problem.K)])
        pool.add(problem.solve(subj, np.concatenate([problem.random_starts(rng, int(n_new.sum())), edges]), explore))
    # run each subject's 3 best distinct ends to convergence at tight tolerances; keep the best
    top = np.concatenate([pool.top(s, 3) for s in range(S)])
    tight = problem.solve(pool.subject[top], pool.X[top], maxiter, factr=10.0, pgtol=1e-9)
    better = tight["obj"] < pool.obj[top]
    for k in ("X", "obj", "nll", "success", "message"):
        getattr(pool, k)[top[better]] = tight[k][better]
    return pool


def _minimize_lockstep(evaluate, x0: np.ndarray, bounds: np.ndarray, maxiter: int, m: int = 10,
                       factr: float = 1e7, pgtol: float = 1e-5, maxls: int = 20) -> list:
    """One scipy L-BFGS-B per row of ``x0``, driven in lockstep so that their function evaluations are batched.

    Drives scipy's L-BFGS-B core (``scipy.optimize._lbfgsb.setulb``, the reverse-communication routine that
    ``scipy.optimize.minimize(method="L-BFGS-B")`` itself loops over, SciPy >= 1.15) for every row: each
    round, every optimiser still running asks for ``f, g`` at a point, and ``evaluate(rows, X) -> (f, grad,
    extra)`` answers all of them in one vectorised pass. Settings are ``minimize``'s defaults (``maxcor`` 10,
    ``ftol`` = ``factr`` * eps, ``gtol`` 1e-5, ``maxls`` 20).

    Returns
    -------
    list of scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``success``, ``message``, ``nit`` per row.
    """
    from scipy.optimize import _lbfgsb
    from scipy.optimize._lbfgsb_py import status_messages, task_messages

    R, n = x0.shape
    nbd = np.full(n, 2, np.int32)  # both bounds
    lo, hi = bounds[:, 0].astype(np.float64), bounds[:, 1].astype(np.float64)
    st = [
        {
            "x": np.clip(x0[r], lo, hi).astype(np.float64),
            "f": np.array(0.0),
            "g": np.zeros(n),
            "wa": np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m),
            "iwa": np.zeros(3 * n, np.int32),
            "task": np.zeros(2, np.int32),
            "ln_task": np.zeros(2, np.int32),
            "lsave": np.zeros(4, np.int32),
            "isave": np.zeros(44, np.int32),
            "dsave": np.zeros(29),
            "nit": 0,
            "nfev": 0,
        }
        for r in range(R)
    ]
    factr_eps = factr  # setulb multiplies by machine epsilon itself
    running = list(range(R))
    while running:
        asking = []
        for r in running:
            s_ = st[r]
            while True:
                _lbfgsb.setulb(m, s_["x"], lo, hi, nbd, s_["f"], s_["g"], factr_eps, pgtol, s_["wa"], s_["iwa"],
                               s_["task"], s_["lsave"], s_["isave"], s_["dsave"], maxls, s_["ln_task"])
                if s_["task"][0] == 3:  # wants f and g at x
                    asking.append(r)
                    break
                if s_["task"][0] == 1:  # a new iteration
                    s_["nit"] += 1
                    if s_["nit"] >= maxiter:
                        s_["task"][:] = (5, 504)
                        break
                    continue
                break  # converged (4) or stopped
        running = asking
        if not asking:
            break
        rows = np.array(asking)
        try:
            f, g, _ = evaluate(rows, np.stack([st[r]["x"] for r in rows]))
        except (RuntimeError, ValueError, FloatingPointError):  # e.g. non-finite values: those points get f = inf
            f, g = np.full(len(rows), np.inf), np.zeros((len(rows), n))
        for j, r in enumerate(rows):
            st[r]["f"] = np.array(f[j] if np.isfinite(f[j]) else np.inf)
            st[r]["g"] = np.asarray(g[j], dtype=np.float64)
            st[r]["nfev"] += 1
    out = []
    for s_ in st:
        task = s_["task"]
        out.append(
            optimize.OptimizeResult(
                x=s_["x"].copy(), fun=float(s_["f"]), success=bool(task[0] == 4), nit=s_["nit"], nfev=s_["nfev"],
                message=status_messages[task[0]] + ": " + task_messages[task[1]],
            )
        )
    return out


def _n_choices(data: _Data, likelihood: str) -> np.ndarray:
    per_seq = data.counted.sum(1) * (2 if likelihood == "both" and data.n_options > 1 else 1)
    return torch.zeros(len(data.subjects), dtype=torch.float64).index_add(0, data.seq_subject, per_seq).numpy()


def compare_models(fits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Model-comparison table from several :func:`fit_hybrid` results on the same subjects.

    Parameters
    ----------
    fits : dict of str to pandas.DataFrame
        Model label -> fit table.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``n_params``, summed ``nll``, ``aic``, ``bic``, ``delta_aic``/``delta_bic`` (to the
        best model), ``n_best_bic`` (subjects whose lowest BIC is this model's), sorted by ``bic``.

    Raises
    ------
    ValueError
        If the fits do not cover the same subjects.
    """
    subjects = {k: set(v["subject"]) for k, v in fits.items()}
    first = next(iter(subjects.values()))
    if any(s != first for s in subjects.values()):
        raise ValueError("fits must cover the same subjects")
    bic = pd.DataFrame({k: v.set_index("subject")["bic"] for k, v in fits.items()})
    best = bic.idxmin(axis=1).value_counts()
    rows = [
        {"model": k, "n_params": int(v["n_params"].iloc[0]), "nll": v["nll"].sum(), "aic": v["aic"].sum(),
         "bic": v["bic"].sum(), "n_best_bic": int(best.get(k, 0))}
        for k, v in fits.items()
    ]
    out = pd.DataFrame(rows)
    out["delta_aic"] = out["aic"] - out["aic"].min()
    out["delta_bic"] = out["bic"] - out["bic"].min()
    return out.sort_values("bic").reset_index(drop=True)


class ModelSelection(NamedTuple):
    """Result of :func:`group_model_selection`."""

    table: pd.DataFrame  #: one row per model: frequency_mean, frequency_sd, exceedance, protected_exceedance
    attribution: pd.DataFrame  #: subjects x models: posterior probability that a subject's data come from a model
    bor: float  #: Bayesian omnibus risk: posterior probability that all models are equally frequent


def group_model_selection(fits: dict[str, pd.DataFrame] | pd.DataFrame) -> ModelSelection:
    """Random-effects Bayesian model selection across subjects (Stephan et al. 2009; Rigoux et al. 2014).

    Each subject's data are taken to come from one of the models, with model frequencies drawn from a
    Dirichlet distribution; variational Bayes (the ``groupBMC`` package's port of VBA-toolbox's
    ``VBA_groupBMC``) gives their posterior, the exceedance probability of each model (the posterior probability
    that it is the most frequent) and the protected exceedance probability, which discounts it by the chance
    that the frequencies do not differ at all (Rigoux et al. 2014, Eq. 7). Daw et al. 2011 report exceedance
    probabilities.

    Parameters
    ----------
    fits : dict of str to pandas.DataFrame or HierarchicalFit, or pandas.DataFrame
        Model label -> :func:`fit_hybrid` table on the same subjects, whose log model evidence is approximated by
        ``-bic / 2`` (Schwarz); or model label -> :func:`metarl_neuro.analysis.fit_hierarchical` result, whose
        per-subject ``log_evidence`` (``log p(D_i | group)``, Huys et al. 2011) is used; or a DataFrame of log
        evidences (nats), one row per subject (index) and one column per model.

    The prior on the frequencies is the package's default, a Dirichlet with counts 1/K over K models (the
    null hypothesis of the omnibus risk uses those counts as the frequencies).

    Returns
    -------
    ModelSelection
        ``table`` (sorted by ``exceedance``), ``attribution`` and ``bor``.

    Raises
    ------
    TypeError
        If ``fits`` is neither a dict nor a DataFrame, or a dict value is neither a table nor a hierarchical fit.
    ValueError
        If there are fewer than two models, a fit lacks its ``subject`` or ``bic`` column, repeats a subject (its
        evidence would count twice), the fits do not cover the same subjects, or a log evidence is not finite.

    References
    ----------
    Stephan, K. E. et al. (2009). Bayesian model selection for group studies. NeuroImage 46, 1004-1017.
    Rigoux, L. et al. (2014). Bayesian model selection for group studies - revisited. NeuroImage 84, 971-985.
    """
    from groupBMC.groupBMC import GroupBMC

    if isinstance(fits, pd.DataFrame):
        if fits.index.duplicated().any():
            raise ValueError(f"the log-evidence table repeats subject(s) {sorted(map(str, fits.index[fits.index.duplicated()].unique()))[:5]} "
                             "in its index: one row per subject")
        try:
            L = fits.astype(float)
        except (TypeError, ValueError):
            raise ValueError("the log-evidence table must hold numbers (nats), one column per model") from None
    elif isinstance(fits, dict):
        tables = {}
        for k, v in fits.items():
            if hasattr(v, "ibic") and hasattr(v, "subjects"):  # HierarchicalFit: sampled log p(D_i | group)
                table, column, scale = v.subjects, "log_evidence", 1.0
            elif isinstance(v, pd.DataFrame):
                table, column, scale = v, "bic", -0.5
            else:
                raise TypeError(f"fits[{k!r}] must be a fit_hybrid table or a fit_hierarchical result, got "
                                f"{type(v).__name__}")
            absent = [c for c in ("subject", column) if c not in table.columns]
            if absent:
                raise ValueError(f"fits[{k!r}] has no column(s) {absent}: pass fit_hybrid's table (subject, bic) or "
                                 "fit_hierarchical's result")
            dup = table["subject"].duplicated()
            if dup.any():
                raise ValueError(f"fits[{k!r}] repeats subject(s) {sorted(map(str, table.loc[dup, 'subject'].unique()))[:5]}: "
                                 "each subject's evidence would count more than once")
            tables[k] = scale * table.set_index("subject")[column].astype(float)
        first = set(next(iter(tables.values())).index) if tables else set()
        if any(set(t.index) != first for t in tables.values()):
            raise ValueError("fits must cover the same subjects")
        L = pd.DataFrame(tables)
    else:
        raise TypeError(f"fits must be a dict of model label -> fit, or a DataFrame of log evidences, got "
                        f"{type(fits).__name__}")
    if L.shape[1] < 2:
        raise ValueError(f"model selection needs at least two models, got {list(L.columns)}")
    if not np.isfinite(L.to_numpy()).all():
        raise ValueError("every log evidence (-bic / 2) must be finite; a fit failed for some subject")
    vb = GroupBMC(L.to_numpy().T)
    res = vb.get_result()
    table = pd.DataFrame({"model": list(L.columns), "frequency_mean": res.frequency_mean,
                          "frequency_sd": np.sqrt(res.frequency_var), "exceedance": res.exceedance_probability,
                          "protected_exceedance": res.protected_exceedance_probability})
    attribution = pd.DataFrame(res.attribution.T, index=L.index, columns=L.columns)
    bor = float(special.expit(vb.F0() - vb.F1()))  # 1 / (1 + exp(F1 - F0)), Rigoux et al. 2014 Eq. 6
    return ModelSelection(table.sort_values("exceedance", ascending=False, ignore_index=True), attribution, bor)


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
    variant, transitions, common_prob
        As :func:`hybrid_nll`; ``common_prob`` is also the task's transition probability.
    task : TwoStepTask, optional
        Default: Daw 2011's task (common 0.7, four drifting reward probabilities), compressed structure,
        batch ``n_subjects``.
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
    """
    from metarl_neuro.tasks import DriftingRewards, TwoStepTask

    transitions = transitions or _DEFAULT_TRANSITIONS.get(variant, "fixed")
    _check(variant, "hybrid", transitions, "both")
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
    e = _engine(variant, prm, "hybrid")
    if task is None:
        task = TwoStepTask(n_subjects, common_prob=common_prob, rewards=DriftingRewards(), n_trials=n_trials,
                           structure="compressed",
                           seed=seed, check_actions=False)
    n_opt = task.rewards.n_options
    gen = torch.Generator().manual_seed(seed + 7919)
    hist = _History(n_subjects)
    q1 = torch.zeros(n_subjects, 2, dtype=torch.float64)
    q2 = torch.zeros(n_subjects, 2, n_opt, dtype=torch.float64)
    task.reset()
    rows = []
    ar = torch.arange(n_subjects)
    for t in range(n_trials):
        sl = torch.randint(0, 2, (n_subjects,), generator=gen).numpy() if variant == "kool2016" else None
        rep, resp, p_same = (torch.from_numpy(np.asarray(v, dtype=float)) for v in hist.features(transitions, common_prob, sl))
        logits1 = _logits1(e, q1, q2.max(-1).values, p_same, rep, resp)
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
        q1, q2 = _q_update(e, q1, q2, hit1, hit2, outcome)
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
