"""The hybrid models' parameters: variants, domains, bounds, priors and the named models.

Every parameter has a *kind* (:func:`kind_of`: learning rate, inverse temperature, stickiness, ``pi`` or ``w``),
and each kind one domain (:data:`PARAMETER_DOMAINS`) against which every ``bounds=``, ``fixed=``, ``priors=`` and
likelihood parameter is checked, wherever it enters. The equations of each variant are in
:mod:`metarl_neuro.analysis.hybrid.model`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from metarl_neuro.domains import NON_NEGATIVE, REAL, UNIT_INTERVAL, check_value

__all__ = [
    "BOUNDS_PRESETS", "DEFAULT_TRANSITIONS", "MAX_BETA", "MAX_STICK", "MIN_TRIALS", "MODELS", "PARAMETER_DOMAINS",
    "PRIOR_PRESETS", "VARIANTS", "bounds_of", "check_fixed", "check_options", "check_params", "check_priors",
    "default_priors", "domain_of", "fitted_parameters", "free_parameters", "kind_of", "prior_preset",
]

MAX_BETA = 20.0  # upper bound of inverse temperatures
MAX_STICK = 5.0  # bound of stickiness weights

#: variant -> ordered {parameter: (lower, upper)}
VARIANTS: dict[str, dict[str, tuple[float, float]]] = {
    "daw2011": {"alpha1": (0, 1), "alpha2": (0, 1), "lam": (0, 1), "beta1": (0, MAX_BETA), "beta2": (0, MAX_BETA),
                "w": (0, 1), "p": (-MAX_STICK, MAX_STICK)},
    "kool2016": {"alpha": (0, 1), "beta": (0, MAX_BETA), "lam": (0, 1), "w": (0, 1), "st": (-MAX_STICK, MAX_STICK),
                 "respst": (-MAX_STICK, MAX_STICK)},
    "otto2013": {"alpha": (0, 1), "lam": (0, 1), "beta_mb": (0, MAX_BETA), "beta_mf": (0, MAX_BETA), "beta2": (0, MAX_BETA),
                 "st": (-MAX_STICK, MAX_STICK)},
    "hbayesdm_par7": {"a1": (0, 1), "beta1": (0, MAX_BETA), "a2": (0, 1), "beta2": (0, MAX_BETA), "pi": (0, 5), "w": (0, 1),
                      "lam": (0, 1)},
    "hbayesdm_par6": {"a1": (0, 1), "beta1": (0, MAX_BETA), "a2": (0, 1), "beta2": (0, MAX_BETA), "pi": (0, 5), "w": (0, 1)},
    "hbayesdm_par4": {"a": (0, 1), "beta": (0, MAX_BETA), "pi": (0, 5), "w": (0, 1)},
}
DEFAULT_TRANSITIONS = {"kool2016": "counting"}
MIN_TRIALS = 10


_STICKY = ("p", "st", "respst")  # signed stickiness weights (hBayesDM's pi has its own [0, 5] bound)


def kind_of(name: str) -> str:
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

    Parameters
    ----------
    name : str
        A model parameter (``"alpha1"``, ``"beta"``, ``"w"``, ``"p"``, ...).

    Returns
    -------
    pandas.Interval
        The values the parameter may take.

    Examples
    --------
    >>> domain_of("alpha1"), domain_of("beta2")
    (Interval(0.0, 1.0, closed='both'), Interval(0.0, inf, closed='left'))
    """
    return PARAMETER_DOMAINS[kind_of(name)]


def _f64(x: float) -> torch.Tensor:
    return torch.tensor(float(x), dtype=torch.float64)


#: published bounds (``bounds=`` of :func:`fit_hybrid`): preset -> kind -> (lower, upper); kinds not listed
#: keep :data:`VARIANTS`' bounds
BOUNDS_PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "default": {},
    # Kool, Cushman & Gershman 2016, github.com/wkool/tradeoffs, data/daw paradigm/set_opts.m
    "kool2016": {"beta": (0.0, 20.0), "stick": (-20.0, 20.0)},
    # Nussenbaum et al. 2020 (Collabra: Psychology 6:17), mbmf_driver.m: Fit.LB = [1e-6 1e-6 1e-6 1e-6 1e-6 -30],
    # Fit.UB = [1 30 30 30 1 30] (alpha, beta_mb, beta_mf, beta, lambda, stickiness)
    "nussenbaum2020": {"rate": (1e-6, 1.0), "beta": (1e-6, 30.0), "stick": (-30.0, 30.0)},
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

    Parameters
    ----------
    name : str
        A preset of :data:`PRIOR_PRESETS` (``"daw2011"``, ``"kool2016"``, ``"nussenbaum2020"``).
    variant : str
        The model variant whose parameters get the priors (:data:`VARIANTS`).

    Returns
    -------
    dict of str to torch.distributions.Distribution
        Parameter -> prior (float64); a parameter with a flat prior is absent.

    Raises
    ------
    ValueError
        For an unknown preset or variant.

    Examples
    --------
    >>> kool = prior_preset("kool2016", "kool2016")
    >>> sorted(kool)
    ['beta', 'respst', 'st']
    """
    if name not in PRIOR_PRESETS:
        raise ValueError(f"unknown priors preset {name!r}; choose from {sorted(PRIOR_PRESETS)}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    out = {}
    for k in VARIANTS[variant]:
        spec = PRIOR_PRESETS[name].get(kind_of(k))
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

    Parameters
    ----------
    variant : str
        A model variant of :data:`VARIANTS`.
    bounds : str or dict, optional
        A preset of :data:`BOUNDS_PRESETS` (``"default"``, ``"kool2016"``, ``"nussenbaum2020"``) or
        ``{parameter: (lower, upper)}`` replacing those parameters' bounds; None: the variant's.

    Returns
    -------
    dict of str to (float, float)
        Parameter -> ``(lower, upper)``, for every parameter of the variant.

    Raises
    ------
    ValueError
        For an unknown variant, preset or parameter, an end outside the parameter's domain
        (:data:`PARAMETER_DOMAINS`: a learning rate bounded above 1, a negative inverse temperature), or a pair
        that is not ``lower < upper`` (finite).
    TypeError
        If ``bounds`` is neither a preset name nor a dict.

    Examples
    --------
    >>> bounds_of("daw2011")["beta1"]
    (0, 20.0)
    >>> bounds_of("kool2016", "kool2016")["beta"]
    (0.0, 20.0)
    >>> bounds_of("daw2011", {"beta1": (0.0, 10.0)})["beta1"]
    (0.0, 10.0)
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    out = dict(VARIANTS[variant])
    if bounds is None:
        return out
    if isinstance(bounds, str):
        if bounds not in BOUNDS_PRESETS:
            raise ValueError(f"unknown bounds preset {bounds!r}; choose from {sorted(BOUNDS_PRESETS)}")
        return {k: BOUNDS_PRESETS[bounds].get(kind_of(k), v) for k, v in out.items()}
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


#: named models: Kool et al. 2016's 12 (``"hybrid+st+respst"`` ... ``"mf"``), Daw et al. 2011's nested ones
#: (hybrid, model-based, model-free, and the TD(0) / TD(1) model-free learners with lambda fixed) and hBayesDM's
#: ``ts_par4`` / ``ts_par6`` / ``ts_par7``; each entry is
#: the keyword arguments of :func:`fit_hybrid`, e.g. ``fit_hybrid(trials, **MODELS["mf+st"])``
MODELS: dict[str, dict] = {
    **_kool_models(),
    "daw2011": {"variant": "daw2011", "model": "hybrid", "fixed": {}},
    "daw2011_mb": {"variant": "daw2011", "model": "mb", "fixed": {}},
    "daw2011_mf": {"variant": "daw2011", "model": "mf", "fixed": {}},
    "daw2011_td0": {"variant": "daw2011", "model": "mf", "fixed": {"lam": 0.0}},
    "daw2011_td1": {"variant": "daw2011", "model": "mf", "fixed": {"lam": 1.0}},
    # hBayesDM 1.1.1's two-step models (Ahn, Haines & Zhang 2017), under their own names
    "ts_par4": {"variant": "hbayesdm_par4", "model": "hybrid", "fixed": {}},
    "ts_par6": {"variant": "hbayesdm_par6", "model": "hybrid", "fixed": {}},
    "ts_par7": {"variant": "hbayesdm_par7", "model": "hybrid", "fixed": {}},
}


def default_priors(variant: str) -> dict[str, torch.distributions.Distribution]:
    """MAP priors: Daw et al. 2011 — Beta(1.1, 1.1) for learning rates, lambda and w; Gamma(shape 1.2,
    scale 5) for inverse temperatures; Normal(0, 1) for stickiness. Other variants get the same family per
    kind of parameter (pass ``priors=`` to :func:`fit_hybrid` to change them). The ``"daw2011"`` preset of
    :func:`prior_preset`.

    Parameters
    ----------
    variant : str
        A model variant of :data:`VARIANTS` (e.g. ``"daw2011"``).

    Returns
    -------
    dict of str to torch.distributions.Distribution
        Parameter -> prior (float64), for every parameter of the variant.

    References
    ----------
    Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based influences on humans'
    choices and striatal prediction errors. *Neuron* 69, 1204-1215.

    Examples
    --------
    >>> priors = default_priors("daw2011")
    >>> sorted(priors)
    ['alpha1', 'alpha2', 'beta1', 'beta2', 'lam', 'p', 'w']
    >>> priors["w"]
    Beta()
    """
    return prior_preset("daw2011", variant)


def check_options(variant: str, model: str, transitions: str | None, likelihood: str) -> str:
    """Check a model's options; the transitions it assumes (``None``: the variant's default, "counting" for
    kool2016, else "fixed").

    Raises
    ------
    ValueError
        For an unknown variant, model (``"hybrid"``, ``"mf"``, ``"mb"``), transitions (``"fixed"``,
        ``"counting"``) or likelihood (``"both"``, ``"stage1"``).
    """
    transitions = transitions or DEFAULT_TRANSITIONS.get(variant, "fixed")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(VARIANTS)}")
    if model not in ("hybrid", "mf", "mb"):
        raise ValueError(f"model must be 'hybrid', 'mf' or 'mb', got {model!r}")
    if transitions not in ("fixed", "counting"):
        raise ValueError(f"transitions must be 'fixed' or 'counting', got {transitions!r}")
    if likelihood not in ("both", "stage1"):
        raise ValueError(f"likelihood must be 'both' or 'stage1', got {likelihood!r}")
    return transitions


def fitted_parameters(variant: str, model: str, fixed: dict | None = None, bounds: dict | str | None = None
                      ) -> tuple[list[str], dict[str, float], np.ndarray, dict[str, tuple[float, float]]]:
    """What a fit of ``variant``'s ``model`` estimates: the free parameters not held by ``fixed``, in order; the
    checked fixed values (:func:`check_fixed`); the estimated ones' bounds ``(K, 2)`` float64; and every
    parameter's bounds (:func:`bounds_of`).

    Raises
    ------
    ValueError
        As :func:`bounds_of` and :func:`check_fixed`, and when ``fixed`` leaves nothing to fit.
    """
    box = bounds_of(variant, bounds)
    fixed = check_fixed(fixed, free_parameters(variant, model), box, model)
    names = [k for k in free_parameters(variant, model) if k not in fixed]
    if not names:
        raise ValueError(f"fixed= fixes every parameter of {variant} ({model}); leave at least one to fit")
    return names, fixed, np.array([box[k] for k in names], dtype=float), box


def check_params(params, names) -> None:
    """Each parameter in its domain (:data:`PARAMETER_DOMAINS`): rates, lambda and w in [0, 1]; inverse
    temperatures >= 0; all finite."""
    for k in names:
        v = params[k]
        if isinstance(v, (np.generic, torch.Tensor)) and np.ndim(v) == 0:
            v = v.item()
        check_value(f"parameter {k}", v, float, domain_of(k))


def free_parameters(variant: str, model: str) -> list[str]:
    names = list(VARIANTS[variant])
    if model != "hybrid":
        drop = {"otto2013": "beta_mf" if model == "mb" else "beta_mb"}.get(variant, "w")
        names.remove(drop)
    return names

def check_fixed(fixed, free: list[str], box: dict, model: str) -> dict[str, float]:
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

    Parameters
    ----------
    priors : dict or str or None
        As ``priors=`` of :func:`fit_hybrid`.
    method : {"mle", "map"}
        The fit's method.
    variant : str
        The model variant (:data:`VARIANTS`).
    names : list of str
        The fitted (free) parameters.
    box : dict of str to (float, float)
        The fit's bounds of those parameters (:func:`bounds_of`).

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

    Examples
    --------
    >>> from metarl_neuro.analysis.hybrid import bounds_of
    >>> box = bounds_of("daw2011")
    >>> sorted(check_priors(None, "map", "daw2011", ["alpha1", "w"], box))
    ['alpha1', 'w']
    >>> check_priors(None, "mle", "daw2011", ["alpha1", "w"], box) is None
    True
    >>> check_priors("kool2016", "mle", "daw2011", ["alpha1"], box)
    Traceback (most recent call last):
    ...
    ValueError: priors= applies to method='map' only; with method='mle' it would be ignored
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

