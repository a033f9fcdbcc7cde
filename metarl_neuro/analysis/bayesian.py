"""Hierarchical Bayesian fits of the two-step hybrid models by NUTS, the way hBayesDM makes them.

:func:`fit_bayesian` samples the joint posterior of the group and subject parameters of any named model of
:data:`~metarl_neuro.analysis.hybrid.MODELS` (hBayesDM's ``ts_par4`` / ``ts_par6`` / ``ts_par7``, Daw et al.
2011's hybrid and its nested models, Kool et al. 2016's twelve), with NumPyro's NUTS, and returns an
:class:`arviz.InferenceData`. The likelihood is the toolkit's own (:mod:`~metarl_neuro.analysis.hybrid.jax_model`,
held equal to :func:`~metarl_neuro.analysis.hybrid_nll`); the hierarchy is hBayesDM's (Ahn, Haines & Zhang 2017,
Computational Psychiatry 1:24; the ``ts_par*.stan`` files of hBayesDM 1.1.1):

- group means on an unconstrained scale, ``mu_pr[k] ~ Normal(0, 1)``, and SDs ``sigma[k] ~ HalfNormal(0.2)``;
- each subject's parameter, non-centred: ``x = f(mu_pr[k] + sigma[k] * x_pr)``, ``x_pr ~ Normal(0, 1)``, with
  ``f`` by the parameter's kind: ``Phi_approx`` for learning rates, ``lambda`` and ``w`` (values in (0, 1));
  ``exp`` for inverse temperatures; ``5 * Phi_approx`` for hBayesDM's perseveration ``pi``;
- a signed stickiness (Daw's ``p``, Kool's ``st`` / ``respst``), which no ``ts_par`` model has, takes hBayesDM's
  prior for an unbounded parameter (``gng_m2.stan``'s go bias): ``f`` the identity, ``mu_pr ~ Normal(0, 10)``,
  ``sigma ~ HalfCauchy(1)``.

``Phi_approx(x) = logit^-1(0.07056 x^3 + 1.5976 x)`` (Stan's approximation of the normal CDF). The group
mean on the parameter's scale is ``mu_<name> = f(mu_pr[k])``, as hBayesDM's generated quantities define it.

Why NumPyro: ``benchmarks/bayes_backends.py`` samples ts_par4 on the hBayesDM example with the same likelihood in
NumPyro and in PyMC (its default sampler, the likelihood by ``pytensor.scan``). A first, short measurement on a
shared 2-core machine (1 chain, 30 warm-up + 30 draws): NumPyro 47 s wall, PyMC 127 s (57 s of it sampling).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metarl_neuro.analysis.hybrid.model import prepare_trials
from metarl_neuro.analysis.hybrid.parameters import MODELS, check_options, fitted_parameters, kind_of
from metarl_neuro.schema import check_int

__all__ = [
    "BayesianSpec", "PosteriorPredictive", "SamplingWarning", "bayesian_diagnostics", "bayesian_spec",
    "compare_bayesian", "fit_bayesian", "group_priors", "plot_posterior_predictive", "posterior_predictive",
]

#: hBayesDM's names for parameters the toolkit names otherwise (ts_par7's ``lambda``)
STAN_NAMES = {"hbayesdm_par7": {"lam": "lambda"}}

#: thresholds of the convergence checks (Vehtari et al. 2021, Bayesian Analysis 16:667: R-hat < 1.01 and
#: ESS > 100 per chain; Betancourt 2016, arXiv 1604.00695: E-BFMI > 0.3; no divergent transition)
MAX_RHAT = 1.01
MIN_ESS_PER_CHAIN = 100
MIN_BFMI = 0.3


class SamplingWarning(UserWarning):
    """A posterior whose convergence checks failed (R-hat, ESS, divergences or E-BFMI): not to be reported as a
    result until it is sampled again (more draws, a higher ``target_accept``)."""


@dataclass(frozen=True)
class BayesianSpec:
    """What :func:`fit_bayesian` samples for a named model: the variant's estimated parameters (the toolkit's
    names, in order), their names in the output (hBayesDM's where it has them), their kinds and the fixed ones."""

    name: str
    variant: str
    model: str
    names: tuple[str, ...]
    out_names: tuple[str, ...]
    kinds: tuple[str, ...]
    fixed: dict


def bayesian_spec(model: str) -> BayesianSpec:
    """The specification of the named model ``model`` (a key of :data:`~metarl_neuro.analysis.hybrid.MODELS`).

    Raises
    ------
    ValueError
        For a name that is not in ``MODELS``.

    Examples
    --------
    >>> bayesian_spec("ts_par4").out_names
    ('a', 'beta', 'pi', 'w')
    >>> bayesian_spec("ts_par7").out_names[-1]
    'lambda'
    """
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {sorted(MODELS)}")
    kw = MODELS[model]
    names, fixed, _, _ = fitted_parameters(kw["variant"], kw["model"], kw["fixed"])
    rename = STAN_NAMES.get(kw["variant"], {})
    return BayesianSpec(model, kw["variant"], kw["model"], tuple(names), tuple(rename.get(k, k) for k in names),
                        tuple(kind_of(k) for k in names), fixed)


def _phi_approx(x):
    import jax

    return jax.nn.sigmoid(0.07056 * x**3 + 1.5976 * x)


def _transform(kind: str, x):
    import jax.numpy as jnp

    if kind == "beta":
        return jnp.exp(x)
    if kind == "pi":
        return 5.0 * _phi_approx(x)
    if kind == "stick":
        return x
    return _phi_approx(x)  # learning rates, lambda, w


def group_priors(spec: BayesianSpec | str, priors: dict | None = None) -> pd.DataFrame:
    """The group-level priors of :func:`fit_bayesian` for ``spec``'s parameters: hBayesDM's, changed by ``priors``.

    hBayesDM's (its .stan files): ``mu_pr ~ Normal(0, 1)``, ``sigma ~ HalfNormal(0.2)``; for a signed stickiness,
    which no ts_par model has, hBayesDM's prior of an unbounded parameter (``gng_m2.stan``'s go bias):
    ``mu_pr ~ Normal(0, 10)``, ``sigma ~ HalfCauchy(1)``.

    Parameters
    ----------
    spec : BayesianSpec or str
        The model (:func:`bayesian_spec`, or its name).
    priors : dict, optional
        Output name (``spec.out_names``, e.g. ``"beta"``) -> ``{"mu_loc": float, "mu_scale": float,
        "sigma_scale": float}`` (any of the three keys): the normal prior of ``mu_pr`` and the scale of the half
        normal (half Cauchy for stickiness) prior of ``sigma``, on the unconstrained scale.

    Returns
    -------
    pandas.DataFrame
        One row per parameter (index: output name): ``mu_loc``, ``mu_scale``, ``sigma_family``, ``sigma_scale``.

    Raises
    ------
    ValueError
        For a parameter the model does not estimate (the message lists those it does), an unknown key, or a
        location that is not finite or a scale that is not a positive finite number.

    Examples
    --------
    >>> p = group_priors("ts_par4", {"beta": {"sigma_scale": 0.5}})
    >>> float(p.loc["beta", "sigma_scale"]), float(p.loc["a", "sigma_scale"]), p.loc["beta", "sigma_family"]
    (0.5, 0.2, 'halfnormal')
    """
    if not isinstance(spec, BayesianSpec):
        spec = bayesian_spec(spec)
    stick = [k == "stick" for k in spec.kinds]
    table = pd.DataFrame({"mu_loc": 0.0, "mu_scale": [10.0 if s else 1.0 for s in stick],
                          "sigma_family": ["halfcauchy" if s else "halfnormal" for s in stick],
                          "sigma_scale": [1.0 if s else 0.2 for s in stick]}, index=list(spec.out_names))
    if priors is None:
        return table
    if not isinstance(priors, dict):
        raise TypeError(f"priors must be a dict of parameter -> {{'mu_loc', 'mu_scale', 'sigma_scale'}}, got "
                        f"{type(priors).__name__}")
    for name, spec_k in priors.items():
        if name not in table.index:
            raise ValueError(f"priors: model {spec.name!r} has no parameter {name!r}; it estimates "
                             f"{list(spec.out_names)}")
        if not isinstance(spec_k, dict):
            raise TypeError(f"priors[{name!r}] must be a dict with keys mu_loc, mu_scale, sigma_scale, got "
                            f"{type(spec_k).__name__}")
        for key, value in spec_k.items():
            if key not in ("mu_loc", "mu_scale", "sigma_scale"):
                raise ValueError(f"priors[{name!r}]: unknown key {key!r}; use mu_loc, mu_scale, sigma_scale")
            ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
                and np.isfinite(value) and (key == "mu_loc" or value > 0)
            if not ok:
                need = "a finite number" if key == "mu_loc" else "a positive finite number"
                raise ValueError(f"priors[{name!r}][{key!r}] must be {need}, got {value!r}")
            table.loc[name, key] = float(value)
    return table


def _numpyro_model(spec: BayesianSpec, data, likelihood: str, prior: pd.DataFrame):
    """The NumPyro model of ``spec`` (module docstring) over the trials ``data`` (:class:`JaxTrials`), with the
    group priors ``prior`` (:func:`group_priors`)."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    from metarl_neuro.analysis.hybrid.jax_model import subject_loglik

    K, S = len(spec.names), data.n_subjects
    stick = np.array([k == "stick" for k in spec.kinds])
    mu_loc, mu_scale = jnp.asarray(prior["mu_loc"].to_numpy(float)), jnp.asarray(prior["mu_scale"].to_numpy(float))
    sigma_scale = prior["sigma_scale"].to_numpy(float)

    def model():
        mu_pr = numpyro.sample("mu_pr", dist.Normal(mu_loc, mu_scale).to_event(1))
        parts = []
        if (~stick).any():
            scale = jnp.asarray(sigma_scale[~stick])
            parts.append(numpyro.sample("sigma_probit", dist.HalfNormal(scale).to_event(1)))
        if stick.any():
            parts.append(numpyro.sample("sigma_stick", dist.HalfCauchy(jnp.asarray(sigma_scale[stick])).to_event(1)))
        sigma = _assemble(parts, stick)
        raw = numpyro.sample("raw", dist.Normal(jnp.zeros((S, K)), 1.0).to_event(2))
        x = mu_pr + sigma * raw  # (S, K)
        prm = {k: _transform(kind, x[:, i]) for i, (k, kind) in enumerate(zip(spec.names, spec.kinds))}
        prm.update({k: jnp.full(S, v) for k, v in spec.fixed.items()})
        numpyro.factor("loglik", subject_loglik(spec.variant, prm, data, spec.model, likelihood).sum())

    return model


def _assemble(parts, stick):
    """``sigma`` ``(..., K)`` in parameter order from the probit / exp kinds' part and the stickiness part (in that
    order; either may be absent)."""
    import jax.numpy as jnp

    if len(parts) == 1:
        return parts[0]
    out = jnp.zeros(parts[0].shape[:-1] + (len(stick),), dtype=parts[0].dtype)
    out = out.at[..., np.flatnonzero(~stick)].set(parts[0])
    return out.at[..., np.flatnonzero(stick)].set(parts[1])


def fit_bayesian(
    trials: pd.DataFrame,
    model: str = "ts_par4",
    draws: int = 3000,
    warmup: int = 1000,
    chains: int = 4,
    seed: int = 0,
    transitions: str | None = None,
    common_prob: float = 0.7,
    likelihood: str = "both",
    start_trial: int = 0,
    start_values: str = "learn",
    target_accept: float = 0.95,
    max_tree_depth: int = 10,
    cores: int = 1,
    priors: dict | None = None,
    progress_bar: bool = False,
    verbose: bool = False,
):
    """Fit a hierarchical Bayesian hybrid model to every subject at once by NUTS (hBayesDM's hierarchy).

    Parameters
    ----------
    trials : pandas.DataFrame
        Trial table (``subject``, ``episode``, ``trial``, ``choice1``, ``state2``, ``choice2``, ``reward``;
        optional ``missed``; ``stim_left`` for Kool's models), e.g. from
        :func:`~metarl_neuro.analysis.from_hbayesdm`.
    model : str
        A named model of :data:`~metarl_neuro.analysis.hybrid.MODELS`: ``"ts_par4"`` (default), ``"ts_par6"``,
        ``"ts_par7"`` (hBayesDM), ``"daw2011"`` (Daw et al. 2011's 7 parameters) and its nested models, or one of
        Kool et al. 2016's twelve (``"hybrid+st+respst"`` ... ``"mf"``).
    draws, warmup, chains : int
        Post-warm-up draws per chain, warm-up iterations per chain, chains. The defaults are hBayesDM's (4,000
        iterations, 1,000 of them warm-up, 4 chains).
    seed : int
        Seed of the sampler (the chains' initial points: uniform in (-2, 2) on the unconstrained scale, as Stan's).
    transitions, common_prob, likelihood, start_trial, start_values
        As :func:`~metarl_neuro.analysis.fit_hybrid`; ``start_values="reset"`` is the convention of Decker et
        al. 2016 and Nussenbaum et al. 2020.
    target_accept, max_tree_depth : float, int
        NUTS' target acceptance probability and maximum tree depth; hBayesDM's defaults (``adapt_delta`` 0.95,
        ``max_treedepth`` 10).
    cores : int
        CPU cores that run chains at once (JAX CPU devices, NumPyro's ``chain_method="parallel"``), in rounds of
        ``cores`` chains; with one core the chains run one after the other (``"sequential"``, measured faster here
        than ``"vectorized"``). JAX's CPU device count can only be set before JAX's first computation in the
        process: if JAX already runs with fewer devices, only those are used. The draws depend on the seed and on
        the number of cores used (floating-point order), not on anything else.
    priors : dict, optional
        Group-level priors to change, by parameter (output name): ``{"beta": {"mu_loc": 0, "mu_scale": 1,
        "sigma_scale": 0.2}}``; default hBayesDM's (:func:`group_priors`). They are stored in the posterior's
        attributes.
    progress_bar, verbose : bool
        Show NumPyro's progress bars; print the diagnostics table.

    Returns
    -------
    arviz.InferenceData
        - ``posterior``: ``mu_<name>`` (the group mean on the parameter's scale), ``sigma`` and ``mu_pr``
          (dimension ``parameter``: the unconstrained scale), the subject parameters ``<name>`` and their raw
          ``<name>_pr`` (dimension ``subject``, labelled with the table's ``subject`` values); ``<name>`` as in
          hBayesDM's .stan files for its models (ts_par4: ``mu_a, mu_beta, mu_pi, mu_w``; ``a, beta, pi, w``),
          else the toolkit's (:data:`~metarl_neuro.analysis.hybrid.VARIANTS`); all ``(chain, draw, ...)`` float64.
        - ``log_likelihood``: ``log_lik`` ``(chain, draw, subject)``, each subject's log-likelihood (nats), as
          hBayesDM's ``log_lik``, for LOO over subjects.
        - ``sample_stats``: ``diverging``, ``energy``, ``lp``, ``tree_depth``, ``n_steps``, ``step_size``,
          ``acceptance_rate``; its attributes hold the diagnostics (:func:`bayesian_diagnostics`).

    Raises
    ------
    ValueError
        Before any sampling: an unknown model or option, ``draws`` / ``warmup`` below 1, ``chains`` below 1,
        ``target_accept`` outside (0, 1), a prior for a parameter the model does not estimate or with a bad
        value (:func:`group_priors`), bad trials (as :func:`~metarl_neuro.analysis.hybrid_nll`).

    Warns
    -----
    SamplingWarning
        When a check fails: R-hat above 1.01 or bulk / tail ESS below 100 per chain (naming the parameters), a
        divergent transition, or an E-BFMI below 0.3 (naming the chains).

    References
    ----------
    Ahn, Haines & Zhang 2017 (Computational Psychiatry 1:24), hBayesDM 1.1.1's ts_par4/6/7; Daw et al. 2011
    (Neuron 69:1204); Kool, Cushman & Gershman 2016 (PLoS Comput Biol 12:e1005090); Hoffman & Gelman 2014
    (NUTS); Phan, Pradhan & Jankowiak 2019 (NumPyro).

    Examples
    --------
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import fit_bayesian, simulate_hybrid
    >>> truth = pd.DataFrame({"a": [0.5] * 4, "beta": [3.0] * 4, "pi": [0.5] * 4, "w": [0.5] * 4})
    >>> trials = simulate_hybrid(truth, n_trials=60, variant="hbayesdm_par4", seed=1)
    >>> idata = fit_bayesian(trials, "ts_par4", draws=50, warmup=50, chains=1)  # doctest: +SKIP
    >>> idata.posterior["a"].dims  # doctest: +SKIP
    ('chain', 'draw', 'subject')
    """
    spec = bayesian_spec(model)
    draws = check_int(draws, "draws", 1)
    warmup = check_int(warmup, "warmup", 1)
    chains = check_int(chains, "chains", 1)
    seed = check_int(seed, "seed", 0)
    max_tree_depth = check_int(max_tree_depth, "max_tree_depth", 1)
    if isinstance(target_accept, bool) or not isinstance(target_accept, (int, float)) or not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be a probability in (0, 1) (hBayesDM's adapt_delta: 0.95), got "
                         f"{target_accept!r}")
    cores = min(check_int(cores, "cores", 1), chains)
    prior = group_priors(spec, priors)
    transitions = check_options(spec.variant, spec.model, transitions, likelihood)
    data = prepare_trials(trials, start_trial, spec.variant == "kool2016", transitions, common_prob,
                          start_values=start_values)

    import jax

    jax.config.update("jax_enable_x64", True)
    devices = _cpu_devices(cores)  # before JAX's first computation
    import numpyro
    from numpyro.infer import MCMC, NUTS, init_to_uniform

    from metarl_neuro.analysis.hybrid.jax_model import jax_trials

    jd = jax_trials(data)
    kernel = NUTS(_numpyro_model(spec, jd, likelihood, prior), target_accept_prob=float(target_accept),
                  max_tree_depth=max_tree_depth, init_strategy=init_to_uniform(radius=2))
    extra = ("diverging", "energy", "num_steps", "accept_prob", "potential_energy", "adapt_state.step_size")

    keys = [jax.random.fold_in(jax.random.PRNGKey(seed), c) for c in range(chains)]  # chain c's
    # rounds of `devices` chains run at once; one device: all chains one after the other, by one compiled sampler
    rounds = [list(range(i, min(i + devices, chains))) for i in range(0, chains, devices)] if devices > 1 else \
        [list(range(chains))]
    t0 = time.perf_counter()
    runs = []
    for group in rounds:
        method = "parallel" if len(group) > 1 and devices > 1 else "sequential"
        mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=len(group), chain_method=method,
                    progress_bar=progress_bar)
        mcmc.run(keys[group[0]] if len(group) == 1 else jax.numpy.stack([keys[c] for c in group]), extra_fields=extra)
        runs.append(jax.block_until_ready((mcmc.get_samples(group_by_chain=True),  # JAX dispatches asynchronously
                                           mcmc.get_extra_fields(group_by_chain=True))))
    seconds = time.perf_counter() - t0
    samples = {k: np.concatenate([np.asarray(r[0][k]) for r in runs]) for k in runs[0][0]}
    fields = {k: np.concatenate([np.asarray(r[1][k]) for r in runs]) for k in runs[0][1]}
    idata = _inference_data(samples, fields, spec, jd, data.subjects, likelihood)
    idata.posterior.attrs.update({
        "model": model, "variant": spec.variant, "nested_model": spec.model, "transitions": transitions,
        "common_prob": float(common_prob), "likelihood": likelihood, "start_trial": int(start_trial),
        "start_values": start_values, "inference_library": "numpyro",
        "inference_library_version": numpyro.__version__, "sampling_time": seconds,
        "fixed": ", ".join(f"{k}={v:g}" for k, v in spec.fixed.items()),
        "group_priors": "; ".join(f"{k}: mu_pr ~ Normal({r.mu_loc:g}, {r.mu_scale:g}), sigma ~ {r.sigma_family}"
                                  f"({r.sigma_scale:g})" for k, r in prior.iterrows()),
    })
    table = bayesian_diagnostics(idata)
    if verbose:
        print(table.to_string())
    return idata


def _cpu_devices(cores: int) -> int:
    """JAX CPU devices to run chains on: ``cores``, where JAX has not computed anything yet in this process (its
    device count is fixed then), else as many as it has, at most ``cores``."""
    import jax

    if cores > 1:
        try:
            jax.config.update("jax_num_cpu_devices", max(cores, jax.config.jax_num_cpu_devices))
        except RuntimeError:  # JAX is running: its devices are what there is
            pass
    return max(1, min(cores, jax.local_device_count()))


def _inference_data(smp: dict, ex: dict, spec: BayesianSpec, jd, subjects: list, likelihood: str):
    """The InferenceData of the draws ``smp`` and the sampler's fields ``ex`` (``(chain, draw, ...)`` arrays)."""
    import arviz as az
    import jax
    import jax.numpy as jnp

    from metarl_neuro.analysis.hybrid.jax_model import subject_loglik

    C, D = smp["mu_pr"].shape[:2]
    stick = np.array([k == "stick" for k in spec.kinds])
    sigma = np.asarray(_assemble([jnp.asarray(smp[k]) for k in ("sigma_probit", "sigma_stick") if k in smp], stick))
    mu_pr, raw = np.asarray(smp["mu_pr"]), np.asarray(smp["raw"])  # (C, D, K), (C, D, S, K)
    x = mu_pr[:, :, None, :] + sigma[:, :, None, :] * raw
    posterior: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {"mu_pr": ["parameter"], "sigma": ["parameter"], "log_lik": ["subject"]}
    subj = {}
    for i, (k, out, kind) in enumerate(zip(spec.names, spec.out_names, spec.kinds)):
        posterior[f"mu_{out}"] = np.asarray(_transform(kind, jnp.asarray(mu_pr[..., i])))
        subj[k] = np.asarray(_transform(kind, jnp.asarray(x[..., i])))
        posterior[out] = subj[k]
        posterior[f"{out}_pr"] = raw[..., i]
        dims[out] = dims[f"{out}_pr"] = ["subject"]
    posterior["mu_pr"], posterior["sigma"] = mu_pr, sigma
    # each subject's log-likelihood at every draw, in batches (hBayesDM's log_lik)
    S = len(subjects)
    flat = {k: jnp.asarray(v.reshape(C * D, S)) for k, v in subj.items()}
    flat.update({k: jnp.full((C * D, S), v) for k, v in spec.fixed.items()})
    ll = jax.lax.map(lambda p: subject_loglik(spec.variant, p, jd, spec.model, likelihood), flat, batch_size=64)
    log_lik = np.asarray(ll).reshape(C, D, S)
    n_steps = np.asarray(ex["num_steps"])
    sample_stats = {
        "diverging": np.asarray(ex["diverging"]), "energy": np.asarray(ex["energy"]),
        "lp": -np.asarray(ex["potential_energy"]), "n_steps": n_steps,
        "tree_depth": np.floor(np.log2(n_steps)).astype(int) + 1,
        "acceptance_rate": np.asarray(ex["accept_prob"]), "step_size": np.asarray(ex["adapt_state.step_size"]),
    }
    coords = {"subject": list(subjects), "parameter": list(spec.out_names)}
    return az.from_dict(posterior=posterior, log_likelihood={"log_lik": log_lik}, sample_stats=sample_stats,
                        coords=coords, dims=dims)


def bayesian_diagnostics(idata, warn: bool = True) -> pd.DataFrame:
    """Convergence checks of a :func:`fit_bayesian` posterior, stored in its ``sample_stats`` attributes.

    Parameters
    ----------
    idata : arviz.InferenceData
        A posterior from :func:`fit_bayesian` (or one read back with ``arviz.from_netcdf``).
    warn : bool
        Warn (:class:`SamplingWarning`) when a check fails.

    Returns
    -------
    pandas.DataFrame
        One row per group parameter (``mu_<name>``, ``sigma[<name>]``) and subject parameter
        (``<name>[<subject>]``): ``mean``, ``sd``, ``hdi_3%``, ``hdi_97%``, ``mcse_mean``, ``r_hat``,
        ``ess_bulk``, ``ess_tail`` (ArviZ's ``summary``); ``attrs`` and the posterior's ``sample_stats``
        attributes hold ``n_divergent``, ``min_bfmi`` (E-BFMI, the lowest chain's), ``max_rhat``, ``min_ess_bulk``,
        ``min_ess_tail`` and ``failed`` (the failed checks, ``""`` when all passed).

    Warns
    -----
    SamplingWarning
        As :func:`fit_bayesian`.

    Examples
    --------
    Four well-mixed chains of independent draws (in practice, :func:`fit_bayesian`'s posterior): every check
    passes.

    >>> import arviz as az
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> draws = {"mu_a": rng.normal(0.3, 0.05, (4, 500)), "sigma": rng.gamma(2.0, 0.1, (4, 500, 1)),
    ...          "a": rng.normal(0.3, 0.1, (4, 500, 3))}
    >>> idata = az.from_dict(posterior=draws, coords={"subject": ["s1", "s2", "s3"], "param": ["a"]},
    ...                      dims={"a": ["subject"], "sigma": ["param"]},
    ...                      sample_stats={"diverging": np.zeros((4, 500), bool), "energy": rng.normal(0, 1, (4, 500))})
    >>> table = bayesian_diagnostics(idata)
    >>> table.index.tolist()
    ['mu_a', 'sigma[a]', 'a[s1]', 'a[s2]', 'a[s3]']
    >>> table.attrs["n_divergent"], table.attrs["failed"]
    (0, '')
    """
    import arviz as az

    post = idata.posterior
    names = [v for v in post.data_vars if v.startswith("mu_") and v != "mu_pr"]
    subject_vars = [v for v in post.data_vars if post[v].dims[2:] == ("subject",) and not v.endswith("_pr")]
    table = az.summary(idata, var_names=names + ["sigma"] + subject_vars, round_to="none")
    chains = post.sizes["chain"]
    stats = idata.sample_stats
    n_div = int(np.asarray(stats["diverging"]).sum())
    bfmi = az.bfmi(idata) if chains and post.sizes["draw"] > 1 else np.array([np.nan])
    failed = []
    rhat = table["r_hat"]
    if chains > 1 and (rhat > MAX_RHAT).any():
        failed.append(f"R-hat above {MAX_RHAT}: " + _listing(rhat[rhat > MAX_RHAT]))
    for col in ("ess_bulk", "ess_tail"):
        low = table[col][table[col] < MIN_ESS_PER_CHAIN * chains]
        if len(low):
            failed.append(f"{col.replace('_', ' ')} ESS below {MIN_ESS_PER_CHAIN * chains}: " + _listing(low))
    if n_div:
        failed.append(f"{n_div} divergent transitions (raise target_accept)")
    low_bfmi = np.flatnonzero(np.asarray(bfmi) < MIN_BFMI)
    if len(low_bfmi):
        failed.append(f"E-BFMI below {MIN_BFMI} in chain(s) {low_bfmi.tolist()}")
    summary = {"n_divergent": n_div, "min_bfmi": float(np.nanmin(bfmi)), "max_rhat": float(np.nanmax(rhat)),
               "min_ess_bulk": float(table["ess_bulk"].min()), "min_ess_tail": float(table["ess_tail"].min()),
               "failed": "; ".join(failed)}
    stats.attrs.update(summary)
    table.attrs.update(summary)
    if failed and warn:
        warnings.warn("the posterior failed its convergence checks, do not report it as a result: " + "; ".join(failed),
                      SamplingWarning, stacklevel=2)
    return table


def _listing(s: pd.Series, n: int = 5) -> str:
    items = [f"{k} ({v:.3g})" for k, v in s.sort_values().items()]
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


# ------------------------------------------------------------------------------- posterior predictive checks
@dataclass
class PosteriorPredictive:
    """A posterior predictive check of a :func:`fit_bayesian` posterior (:func:`posterior_predictive`).

    Attributes
    ----------
    stay : pandas.DataFrame
        By previous outcome (``rewarded``, bool) and transition (``transition``: "common" / "rare"): the data's
        P(stay) (``observed``) and the predicted one, the mean over posterior draws (``predicted``) with its 95%
        interval over draws (``lower``, ``upper``), and ``n`` (trials).
    regression : pandas.DataFrame
        The one-back stay regression's effect-coded coefficients (``term``: intercept, reward, transition,
        reward:transition; Daw et al. 2011), fitted to the data (``observed``) and to each draw's predictions
        (``predicted``, ``lower``, ``upper`` as above).
    n_draws : int
        Posterior draws simulated.
    """

    stay: pd.DataFrame
    regression: pd.DataFrame
    n_draws: int


def posterior_predictive(idata, trials: pd.DataFrame, n_draws: int = 200, seed: int = 0) -> PosteriorPredictive:
    """Posterior predictive check of the stay pattern and the one-back stay regression.

    At each of ``n_draws`` posterior draws, every first-stage choice is drawn from the model's choice
    probability given the subject's own history up to that trial (hBayesDM's one-step-ahead ``y_pred_step1``);
    a predicted stay is a predicted choice equal to the subject's previous choice. The stay probabilities by
    previous reward x transition, and the coefficients of the effect-coded one-back logistic regression
    ``stay ~ reward * transition`` (pooled over subjects; Daw et al. 2011), are computed on the data and on
    each draw's predictions.

    Parameters
    ----------
    idata : arviz.InferenceData
        From :func:`fit_bayesian` on ``trials`` (its model and options are read from the posterior's attributes).
    trials : pandas.DataFrame
        The trial table that was fitted.
    n_draws : int
        Posterior draws to simulate (drawn at random from all chains).
    seed : int
        Seed of the draws' choice and of the simulated choices.

    Returns
    -------
    PosteriorPredictive

    Raises
    ------
    ValueError
        If ``n_draws`` is not an integer >= 1, or the table's subjects are not the posterior's.

    References
    ----------
    Daw, N. D., Gershman, S. J., Seymour, B., Dayan, P. & Dolan, R. J. (2011). Model-based influences on humans'
    choices and striatal prediction errors. *Neuron* 69, 1204-1215.

    Examples
    --------
    >>> ppc = posterior_predictive(idata, trials)  # doctest: +SKIP
    >>> ppc.stay  # doctest: +SKIP
    >>> posterior_predictive(None, None, n_draws=0)  # checked before anything is read
    Traceback (most recent call last):
    ...
    ValueError: n_draws must be an integer >= 1, got 0
    """
    import jax
    import jax.numpy as jnp
    import statsmodels.api as sm

    from metarl_neuro.analysis.hybrid.jax_model import choice_logprobs, jax_trials
    from metarl_neuro.analysis.stay import add_stay_columns
    from metarl_neuro.schema import validate_trials

    n_draws = check_int(n_draws, "n_draws", 1)
    seed = check_int(seed, "seed", 0)
    attrs = idata.posterior.attrs
    spec = bayesian_spec(attrs["model"])
    jax.config.update("jax_enable_x64", True)
    data = prepare_trials(trials, attrs["start_trial"], spec.variant == "kool2016", attrs["transitions"],
                          attrs["common_prob"], start_values=attrs["start_values"])
    post_subjects = [str(s) for s in idata.posterior["subject"].values]
    if [str(s) for s in data.subjects] != post_subjects:
        raise ValueError(f"the trial table's subjects {data.subjects[:5]}... are not the posterior's "
                         f"{post_subjects[:5]}...: pass the table that was fitted")
    rng = np.random.default_rng(seed)
    post = idata.posterior.stack(sample=("chain", "draw"))
    pick = rng.choice(post.sizes["sample"], size=n_draws, replace=n_draws > post.sizes["sample"])
    S = len(data.subjects)
    prm = {k: jnp.asarray(post[out].values.T[pick]) for k, out in zip(spec.names, spec.out_names)}  # (M, S)
    prm.update({k: jnp.full((n_draws, S), v) for k, v in spec.fixed.items()})
    jd = jax_trials(data)

    def p_choice1(p):
        logp1, _ = choice_logprobs(spec.variant, {k: jd.seq_subject @ v for k, v in p.items()}, jd, spec.model)
        return jnp.exp(logp1[..., 1])

    p1 = np.asarray(jax.lax.map(p_choice1, prm, batch_size=32))  # (M, N, T)
    pred = rng.random(p1.shape) < p1  # predicted choice1 == 1
    # the observed stays, each with its place in the (sequence, trial) arrays
    df = validate_trials(trials, ("subject", "episode", "trial", "choice1", "state2", "choice2", "reward"))
    grouped = df.groupby(["subject", "episode"], sort=False)
    df = df.assign(_seq=grouped.ngroup(), _pos=grouped.cumcount())
    st = add_stay_columns(df, min_trial=attrs["start_trial"])
    c1_pred = pred[:, st["_seq"].to_numpy(), st["_pos"].to_numpy()]  # (M, n)
    stay_pred = c1_pred == st["prev_choice1"].to_numpy().astype(bool)
    rewarded, common = st["prev_rewarded"].to_numpy(), st["prev_common"].to_numpy()
    rows = []
    for r in (True, False):
        for c in (True, False):
            m = (rewarded == r) & (common == c)
            p = stay_pred[:, m].mean(1)
            rows.append({"rewarded": r, "transition": "common" if c else "rare", "n": int(m.sum()),
                         "observed": float(st["stay"].to_numpy()[m].mean()), "predicted": float(p.mean()),
                         "lower": float(np.quantile(p, 0.025)), "upper": float(np.quantile(p, 0.975))})
    rew, tr = np.where(rewarded, 1.0, -1.0), np.where(common, 1.0, -1.0)
    X = np.column_stack([np.ones_like(rew), rew, tr, rew * tr])
    terms = ["intercept", "reward", "transition", "reward:transition"]
    fit = lambda y: sm.GLM(y.astype(float), X, family=sm.families.Binomial()).fit().params
    observed = fit(st["stay"].to_numpy())
    draws = np.array([fit(y) for y in stay_pred])
    reg = pd.DataFrame({"term": terms, "observed": observed, "predicted": draws.mean(0),
                        "lower": np.quantile(draws, 0.025, axis=0), "upper": np.quantile(draws, 0.975, axis=0)})
    return PosteriorPredictive(pd.DataFrame(rows), reg, n_draws)


def plot_posterior_predictive(ppc: PosteriorPredictive, title: str | None = None):
    """The data's stay probabilities and one-back regression coefficients (points) beside the posterior
    predictive means and 95% intervals (bars), as :func:`posterior_predictive` computes them.

    Parameters
    ----------
    ppc : PosteriorPredictive
        :func:`posterior_predictive` output.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    A check as :func:`posterior_predictive` computes it, written out by hand (the hBayesDM example's stay table
    under ts_par4):

    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from metarl_neuro.analysis import PosteriorPredictive
    >>> stay = pd.DataFrame({"rewarded": [True, True, False, False], "transition": ["common", "rare"] * 2,
    ...                      "observed": [0.86, 0.74, 0.59, 0.80], "predicted": [0.83, 0.73, 0.67, 0.77],
    ...                      "lower": [0.80, 0.69, 0.64, 0.73], "upper": [0.86, 0.78, 0.71, 0.81], "n": [955, 289, 574, 345]})
    >>> regression = pd.DataFrame({"term": ["intercept", "reward", "transition", "reward:transition"],
    ...                            "observed": [1.16, 0.27, -0.07, 0.44], "predicted": [1.10, 0.20, -0.02, 0.35],
    ...                            "lower": [1.0, 0.1, -0.1, 0.25], "upper": [1.2, 0.3, 0.06, 0.45]})
    >>> fig = plot_posterior_predictive(PosteriorPredictive(stay, regression, n_draws=200))
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.4), constrained_layout=True)
    s = ppc.stay
    x = np.arange(len(s))
    colors = np.where(s["transition"] == "common", "#1f77b4", "#d62728")
    a1.bar(x, s["predicted"], color=colors, alpha=0.5, yerr=[s["predicted"] - s["lower"], s["upper"] - s["predicted"]],
           capsize=3, label="predicted (95% interval)")
    a1.plot(x, s["observed"], "ko", label="data")
    a1.set_xticks(x, [f"{'rew' if r else 'unrew'}\n{t}" for r, t in zip(s["rewarded"], s["transition"])], fontsize=8)
    a1.set_ylim(0, 1)
    a1.set_ylabel("P(stay)")
    a1.legend(frameon=False, fontsize=8)
    r = ppc.regression
    x = np.arange(len(r))
    a2.bar(x, r["predicted"], color="0.7", yerr=[r["predicted"] - r["lower"], r["upper"] - r["predicted"]], capsize=3)
    a2.plot(x, r["observed"], "ko")
    a2.axhline(0, color="k", lw=0.5)
    a2.set_xticks(x, r["term"], fontsize=8)
    a2.set_ylabel("coefficient (effect-coded)")
    fig.suptitle(title or f"posterior predictive check ({ppc.n_draws} draws)", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------ model comparison
def compare_bayesian(fits: dict, ic: str = "loo") -> pd.DataFrame:
    """PSIS-LOO (or WAIC) comparison of :func:`fit_bayesian` posteriors over subjects, by ``arviz.compare``.

    Parameters
    ----------
    fits : dict
        Model name -> InferenceData, all fitted to the same subjects.
    ic : {"loo", "waic"}
        The criterion; on the deviance scale, so that ``looic`` / ``waic`` read as hBayesDM's LOOIC.

    Returns
    -------
    pandas.DataFrame
        ``arviz.compare``'s table (rank, elpd, p, elpd difference and its SE, stacking ``weight``, ``warning``),
        with the criterion on the deviance scale (``looic`` or ``waic``, and ``se``), best model first; a
        ``warning`` of True means Pareto k above 0.7 for some subject (the LOO estimate is unreliable there).

    Raises
    ------
    ValueError
        For fewer than two fits, a criterion other than "loo" / "waic", or fits to different subjects.

    Examples
    --------
    Two posteriors' log-likelihoods per subject (here drawn at random, the second model's 5 nats worse per
    subject):

    >>> import arviz as az
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def fake_fit(shift):  # 2 chains x 200 draws of the log-likelihood of 5 subjects
    ...     return az.from_dict(posterior={"a": rng.normal(0.5, 0.1, (2, 200, 5))},
    ...                         log_likelihood={"log_lik": rng.normal(-100 - shift, 1, (2, 200, 5))},
    ...                         coords={"subject": ["s1", "s2", "s3", "s4", "s5"]},
    ...                         dims={"a": ["subject"], "log_lik": ["subject"]})
    >>> table = compare_bayesian({"better": fake_fit(0.0), "worse": fake_fit(5.0)})
    >>> table.index.tolist()
    ['better', 'worse']
    """
    import arviz as az

    if not isinstance(fits, dict) or len(fits) < 2:
        raise ValueError("fits must be a dict of at least two model name -> InferenceData")
    if ic not in ("loo", "waic"):
        raise ValueError(f"ic must be 'loo' or 'waic', got {ic!r}")
    subjects = {k: [str(s) for s in v.posterior["subject"].values] for k, v in fits.items()}
    first = next(iter(subjects.values()))
    if any(s != first for s in subjects.values()):
        raise ValueError("the fits are to different subjects; compare models fitted to the same table")
    with warnings.catch_warnings():
        # the table's "warning" column carries them
        for message in ("Estimated shape parameter of Pareto", "posterior variance of the log predictive"):
            warnings.filterwarnings("ignore", category=UserWarning, message=".*" + message)
        # ArviZ 0.23 sorts in place, which pandas 3.1 deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        table = az.compare(fits, ic=ic, scale="deviance")
    col = "elpd_loo" if "elpd_loo" in table else "elpd_waic"
    table = table.rename(columns={col: ic + "ic" if ic == "loo" else "waic"})
    return table
