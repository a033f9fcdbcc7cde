"""Hierarchical Bayesian fits by NUTS (analysis.fit_bayesian): one likelihood with hybrid_nll, the InferenceData
it returns, its checks, and (slow) parity with hBayesDM's own Stan posteriors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarl_neuro.analysis import from_hbayesdm, hybrid_nll, simulate_hybrid
from metarl_neuro.analysis.hybrid import MODELS, VARIANTS

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

from metarl_neuro.analysis.bayesian import SamplingWarning, bayesian_spec, fit_bayesian  # noqa: E402
from metarl_neuro.analysis.hybrid.jax_model import jax_trials, subject_loglik  # noqa: E402
from metarl_neuro.analysis.hybrid.model import prepare_trials  # noqa: E402
from metarl_neuro.analysis.hybrid.parameters import check_options, free_parameters  # noqa: E402

REF = Path(__file__).parents[1] / "reference"
HBAYESDM = REF / "hbayesdm" / "ts_exampleData.txt"


def _table(variant, n_subjects=4, n_trials=40, seed=0):
    rng = np.random.default_rng(seed)
    names = list(VARIANTS[variant])
    prm = pd.DataFrame({k: rng.uniform(0.1, 0.9, n_subjects) * (4 if k.startswith("beta") or k == "pi" else 1)
                        for k in names})
    for k in ("p", "st", "respst"):
        if k in prm:
            prm[k] = rng.normal(0, 0.5, n_subjects)
    df = simulate_hybrid(prm, n_trials=n_trials, variant=variant, seed=seed)
    df["missed"] = False
    df.loc[df.sample(frac=0.1, random_state=seed).index, "missed"] = True  # missed trials are skipped
    return df


def _subject_params(names, n, rng):
    out = {}
    for k in names:
        if k.startswith("beta"):
            out[k] = rng.uniform(0.5, 6, n)
        elif k in ("p", "st", "respst"):
            out[k] = rng.normal(0, 1, n)
        elif k == "pi":
            out[k] = rng.uniform(0, 5, n)
        else:
            out[k] = rng.uniform(0.02, 0.98, n)
    return out


CASES = [(m, {}) for m in MODELS] + [
    ("daw2011", {"start_trial": 9, "start_values": "reset"}),  # Nussenbaum et al. 2020's convention
    ("daw2011", {"transitions": "counting", "likelihood": "stage1"}),
    ("hybrid+st+respst", {"transitions": "fixed", "common_prob": 0.8}),
]


#: the default suite's cases; the others run in the slow step (each case compiles its own JAX program)
QUICK = {("ts_par7", ()), ("daw2011", ("start_trial", "start_values")),
         ("hybrid+st+respst", ("transitions", "common_prob"))}


@pytest.mark.parametrize("name,options", [
    pytest.param(m, o, id=f"{m}{'-' + '-'.join(o) if o else ''}",
                 marks=() if (m, tuple(o)) in QUICK else pytest.mark.slow) for m, o in CASES])
def test_the_jax_likelihood_is_hybrid_nll_for_every_subject_and_model(name, options):
    kw = MODELS[name]
    variant, model, fixed = kw["variant"], kw["model"], kw["fixed"]
    df = _table(variant, seed=len(name))
    df.loc[df["subject"] == df["subject"].iloc[0], "episode"] = df["trial"] // 20  # two episodes for one subject
    transitions = check_options(variant, model, options.get("transitions"), options.get("likelihood", "both"))
    data = prepare_trials(df, options.get("start_trial", 0), variant == "kool2016", transitions,
                          options.get("common_prob", 0.7), start_values=options.get("start_values", "learn"))
    rng = np.random.default_rng(1)
    S = len(data.subjects)
    names = free_parameters(variant, model)
    prm = _subject_params(names, S, rng)
    prm.update({k: np.full(S, v) for k, v in fixed.items()})
    ll = np.asarray(subject_loglik(variant, {k: jax.numpy.asarray(v) for k, v in prm.items()}, jax_trials(data),
                                   model, options.get("likelihood", "both")))
    for i, s in enumerate(data.subjects):
        one = df[df["subject"] == s]
        ref = -hybrid_nll({k: prm[k][i] for k in names}, one, variant=variant, model=model, **options)
        assert ll[i] == pytest.approx(ref, abs=1e-6)


def test_the_hbayesdm_example_loglik_matches_hybrid_nll():
    df = from_hbayesdm(pd.read_csv(HBAYESDM, sep="\t"))
    data = prepare_trials(df, 0, False, "fixed", 0.7)
    p = {"a": 0.3, "beta": 5.0, "pi": 0.7, "w": 0.55}
    S = len(data.subjects)
    ll = subject_loglik("hbayesdm_par4", {k: jax.numpy.full(S, v) for k, v in p.items()}, jax_trials(data))
    assert float(ll.sum()) == pytest.approx(-hybrid_nll(p, df, variant="hbayesdm_par4"), abs=1e-6)


def test_specs_use_hbayesdm_names_and_fixed_values():
    assert bayesian_spec("ts_par7").out_names == ("a1", "beta1", "a2", "beta2", "pi", "w", "lambda")
    assert bayesian_spec("ts_par7").names[-1] == "lam"
    s = bayesian_spec("mf+st")
    assert s.variant == "kool2016" and "w" not in s.names and s.fixed == {"respst": 0.0}
    assert s.kinds == ("rate", "beta", "rate", "stick")


@pytest.mark.parametrize("kw,match", [
    ({"model": "ts_par5"}, "unknown model 'ts_par5'"),
    ({"draws": 0}, "draws must be an integer >= 1"),
    ({"warmup": 0}, "warmup must be an integer >= 1"),
    ({"chains": 0}, "chains must be an integer >= 1"),
    ({"chains": 2.0}, "chains must be an integer >= 1"),
    ({"target_accept": 1.0}, "target_accept must be a probability"),
    ({"cores": 0}, "cores must be an integer >= 1"),
    ({"likelihood": "stage2"}, "likelihood must be"),
    ({"priors": {"lambda": {"mu_loc": 0.0}}}, r"model 'ts_par4' has no parameter 'lambda'; it estimates \['a'"),
    ({"priors": {"beta": {"mu_scale": 0.0}}}, r"priors\['beta'\]\['mu_scale'\] must be a positive finite number"),
    ({"priors": {"beta": {"loc": 0.0}}}, "unknown key 'loc'"),
])
def test_bad_arguments_are_refused_before_sampling(kw, match):
    df = _table("hbayesdm_par4", n_subjects=2, n_trials=15)
    with pytest.raises(ValueError, match=match):
        fit_bayesian(df, **kw)


def test_group_priors_enter_the_model():
    """A changed group prior changes the model's log density by exactly the difference of the two priors' log
    densities at the same point (hBayesDM's: mu_pr ~ N(0, 1), sigma ~ HalfNormal(0.2))."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer.util import log_density
    from scipy import stats

    from metarl_neuro.analysis import group_priors
    from metarl_neuro.analysis.bayesian import _numpyro_model
    from metarl_neuro.analysis.hybrid.jax_model import jax_trials
    from metarl_neuro.analysis.hybrid.model import prepare_trials

    jax.config.update("jax_enable_x64", True)
    spec = bayesian_spec("ts_par4")
    data = jax_trials(prepare_trials(_table("hbayesdm_par4", n_subjects=2, n_trials=15), 0, False, "fixed", 0.7))
    point = {"mu_pr": jnp.array([0.1, 0.5, -0.3, 0.2]), "sigma_probit": jnp.array([0.3, 0.2, 0.1, 0.4]),
             "raw": jnp.zeros((2, 4))}
    default = group_priors(spec)
    changed = group_priors(spec, {"beta": {"mu_loc": 1.0, "mu_scale": 2.0, "sigma_scale": 0.5}})
    lp = [float(log_density(_numpyro_model(spec, data, "both", p), (), {}, point)[0]) for p in (default, changed)]
    want = (stats.norm.logpdf(0.5, 1.0, 2.0) - stats.norm.logpdf(0.5, 0.0, 1.0)
            + stats.halfnorm.logpdf(0.2, scale=0.5) - stats.halfnorm.logpdf(0.2, scale=0.2))
    assert lp[1] - lp[0] == pytest.approx(want, abs=1e-10)
    assert changed.loc["beta", "mu_loc"] == 1.0 and (changed.drop("beta") == default.drop("beta")).all().all()
    assert group_priors("hybrid+st").loc["st"].tolist() == [0.0, 10.0, "halfcauchy", 1.0]


def test_a_table_without_a_column_is_refused():
    df = _table("hbayesdm_par4", n_subjects=2, n_trials=15).drop(columns="state2")
    with pytest.raises(ValueError, match="state2"):
        fit_bayesian(df)


@pytest.fixture(scope="module")
def short_fit():
    df = _table("hbayesdm_par4", n_subjects=3, n_trials=40, seed=5)
    df["subject"] = df["subject"].map({"sim000": "s01", "sim001": "s02", "sim002": "s03"})
    with pytest.warns(SamplingWarning, match="failed its convergence checks"):  # 2 chains x 40 draws: too few
        idata = fit_bayesian(df, "ts_par4", draws=40, warmup=40, chains=2, seed=3)
    return df, idata


@pytest.mark.slow  # sampling compiles NumPyro's sampler: about 20 s
def test_the_inference_data_reads_as_hbayesdm_output(short_fit):
    df, idata = short_fit
    post = idata.posterior
    for k in ("mu_a", "mu_beta", "mu_pi", "mu_w"):
        assert post[k].dims == ("chain", "draw")
    for k in ("a", "beta", "pi", "w", "a_pr"):
        assert post[k].dims == ("chain", "draw", "subject")
    assert list(post["subject"].values) == ["s01", "s02", "s03"]
    assert list(post["parameter"].values) == ["a", "beta", "pi", "w"]
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 40
    # each parameter on its scale (hBayesDM's transforms)
    assert ((post["a"] > 0) & (post["a"] < 1)).all() and (post["beta"] > 0).all()
    assert ((post["pi"] > 0) & (post["pi"] < 5)).all()
    np.testing.assert_allclose(post["mu_beta"], np.exp(post["mu_pr"].sel(parameter="beta")))
    # log_lik is each subject's log-likelihood at that draw: hybrid_nll at the draw's parameters
    ll = idata.log_likelihood["log_lik"]
    assert ll.dims == ("chain", "draw", "subject")
    for s in ("s01", "s03"):
        p = {k: float(post[k].sel(subject=s)[1, 7]) for k in ("a", "beta", "pi", "w")}
        assert float(ll.sel(subject=s)[1, 7]) == pytest.approx(
            -hybrid_nll(p, df[df["subject"] == s], variant="hbayesdm_par4"), abs=1e-6)
    stats = idata.sample_stats
    for k in ("diverging", "energy", "lp", "tree_depth", "step_size", "acceptance_rate"):
        assert stats[k].dims == ("chain", "draw")
    assert stats.attrs["failed"] and "ESS below 200" in stats.attrs["failed"]
    assert post.attrs["model"] == "ts_par4" and post.attrs["inference_library"] == "numpyro"


@pytest.mark.slow
def test_the_same_seed_gives_the_same_draws(short_fit):
    df, idata = short_fit
    with pytest.warns(SamplingWarning):
        again = fit_bayesian(df, "ts_par4", draws=40, warmup=40, chains=2, seed=3)
    np.testing.assert_array_equal(again.posterior["a"].values, idata.posterior["a"].values)


# ----------------------------------------------------------------------------- parity with hBayesDM's own Stan fits
def _hbayesdm_trials():
    return from_hbayesdm(pd.read_csv(HBAYESDM, sep="\t"))


def _stan_index(subjects) -> list[int]:
    """Stan's 1-based subject index of each subject: hBayesDM numbers the sorted subjIDs."""
    ids = sorted(pd.read_csv(HBAYESDM, sep="\t")["subjID"].unique())
    pos = {str(s): i + 1 for i, s in enumerate(ids)}
    return [pos[str(s)] for s in subjects]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ts_par4", "ts_par6", "ts_par7"])
def test_posteriors_equal_hbayesdm_stan_fits(model):
    """Against rstan running hBayesDM 1.1.1's own .stan file (tests/reference/hbayesdm_stan/, 4 x 3,000 draws).
    Each group mean, and each end of its 95% interval, differs from Stan's by less than 4 combined Monte Carlo SEs
    (ours and Stan's, in quadrature); each subject's posterior mean by less than 5, and the subjects' means
    correlate >= 0.99; LOOIC agrees within its SE."""
    import arviz as az

    ref = pd.read_csv(REF / "hbayesdm_stan" / f"{model}_summary.csv").set_index("parameter")
    loo_ref = pd.read_csv(REF / "hbayesdm_stan" / "loo.csv")
    loo_ref = loo_ref[(loo_ref["model"] == model) & (loo_ref["log_lik"] != "generated_quantities")
                      if model == "ts_par4" else loo_ref["model"] == model].iloc[0]
    df = _hbayesdm_trials()
    idata = fit_bayesian(df, model, draws=2000, warmup=1000, chains=4, seed=0, cores=2)
    spec = bayesian_spec(model)
    post = idata.posterior
    for k in spec.out_names:
        mu = post[f"mu_{k}"]
        mean, mcse = float(mu.mean()), float(np.squeeze(az.mcse(mu.values, method="mean")))
        r = ref.loc[f"mu_{k}"]
        assert abs(mean - r["mean"]) < 4 * np.hypot(mcse, r["mcse"]), (k, mean, r["mean"])
        for q, col in ((0.025, "q2.5"), (0.975, "q97.5")):
            ours = float(mu.quantile(q))
            mcse_q = float(np.squeeze(az.mcse(mu.values, method="quantile", prob=q)))
            assert abs(ours - r[col]) < 4 * np.hypot(mcse_q, r[f"mcse_{col}"]), (k, q, ours, r[col])
        ours_subj = post[k].mean(("chain", "draw")).values
        ours_mcse = az.mcse(post[k], method="mean")[k].values
        stan = ref.loc[[f"{k}[{i}]" for i in _stan_index(post["subject"].values)]]
        z = (ours_subj - stan["mean"].to_numpy()) / np.hypot(ours_mcse, stan["mcse"].to_numpy())
        assert np.abs(z).max() < 5, (k, z)  # every subject (up to 7 x 11 comparisons per model)
        # the correlation, where the subjects' means spread well beyond their Monte Carlo error (ts_par7's lambda is
        # shrunk to an SD of 0.004 around 0.91, with MCSEs of 0.001: its r, 0.988, measures the noise)
        if ours_subj.std() > 10 * np.median(ours_mcse):
            assert np.corrcoef(ours_subj, stan["mean"])[0, 1] >= 0.99, k
    with_warn = pytest.warns(UserWarning) if loo_ref["max_pareto_k"] > 0.7 else _nothing()
    with with_warn:
        loo = az.loo(idata, scale="deviance")
    assert abs(loo["elpd_loo"] - loo_ref["looic"]) < loo_ref["looic_se"], (loo["elpd_loo"], loo_ref["looic"])


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ------------------------------------------------------------------------------------------------------------ CLI
@pytest.mark.parametrize("extra,match", [
    (["--bayes", "ts_par4,ts_par5"], "unknown model"),
    (["--bayes", "ts_par4", "--draws", "0"], "--draws must be >= 1"),
    (["--bayes", "ts_par4", "--chains", "0"], "--chains must be >= 1"),
    (["--bayes", "ts_par4,ts_par7", "--prior", "lambda=0,1,0.2"], "model 'ts_par4' has no parameter 'lambda'"),
    (["--bayes", "ts_par4", "--prior", "beta=0,1"], "'beta=0,1' is not NAME=MU_LOC,MU_SCALE,SIGMA_SCALE"),
    (["--bayes", "ts_par4", "--prior", "beta=0,-1,0.2"], "must be a positive finite number"),
])
def test_the_cli_refuses_bad_bayes_options_before_sampling(extra, match, capsys):
    from metarl_neuro.analyze import main

    assert main([str(HBAYESDM), "--format", "hbayesdm", "--sep", "\t", *extra]) == 2
    assert match in capsys.readouterr().err


def test_the_cli_names_a_missing_column(tmp_path, capsys):
    from metarl_neuro.analyze import main

    raw = pd.read_csv(HBAYESDM, sep="\t").drop(columns="level2_choice")
    raw.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    assert main([str(tmp_path / "d.tsv"), "--format", "hbayesdm", "--sep", "\t", "--bayes", "ts_par4"]) == 2
    assert "level2_choice" in capsys.readouterr().err


@pytest.mark.slow
def test_the_cli_fits_compares_and_writes_the_posteriors(tmp_path, capsys):
    import arviz as az

    from metarl_neuro.analyze import main

    df = _table("hbayesdm_par4", n_subjects=3, n_trials=40, seed=7)
    df.to_csv(tmp_path / "sim.csv", index=False)
    rc = main([str(tmp_path / "sim.csv"), "--bayes", "ts_par4,ts_par6", "--draws", "30", "--warmup", "30",
               "--chains", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "mu_beta" in out and "divergent transitions" in out and "WARNING: the posterior failed" in out
    assert "PSIS-LOO" in out and "looic" in out
    back = az.from_netcdf(tmp_path / "sim_ts_par6.nc")
    assert back.posterior["beta2"].dims == ("chain", "draw", "subject")
    assert (tmp_path / "sim_ts_par4_ppc.png").stat().st_size > 0


# ------------------------------------------------- the likelihood is hBayesDM's: Stan's own log_lik at Stan's draws
STAN_NAMES = {"lambda": "lam"}


def _check_stan_points(points: pd.DataFrame):
    points = points.assign(subject=points["subject"].astype(str))
    df = _hbayesdm_trials()
    data = prepare_trials(df, 0, False, "fixed", 0.7)
    jd = jax_trials(data)
    for (model, _draw), g in points.groupby(["model", "draw"]):
        if model == "ts_par4_as_published":
            continue
        variant = MODELS[model]["variant"]
        g = g.set_index("subject")  # hBayesDM's subjID
        prm = {STAN_NAMES.get(c, c): jax.numpy.asarray(g.loc[data.subjects, c].to_numpy())
               for c in g.columns if c not in ("model", "draw", "log_lik") and g[c].notna().all()}
        ours = np.asarray(subject_loglik(variant, prm, jd))
        np.testing.assert_allclose(ours, g.loc[data.subjects, "log_lik"].to_numpy(), atol=1e-6, rtol=0)
    # hBayesDM's ts_par4 as published reports another log_lik (its generated quantities update Q1 twice)
    pub = points[(points["model"] == "ts_par4_as_published") & (points["draw"] == points["draw"].max())]
    pub = pub.set_index("subject")
    prm = {c: jax.numpy.asarray(pub.loc[data.subjects, c].to_numpy()) for c in ("a", "beta", "pi", "w")}
    assert np.abs(np.asarray(subject_loglik("hbayesdm_par4", prm, jd)) - pub.loc[data.subjects, "log_lik"]).max() > 0.1


def test_the_likelihood_is_stans_at_stans_draws():
    """tests/reference/hbayesdm_stan/loglik_points.csv: rstan's per-subject log_lik of hBayesDM's own .stan files at
    5 draws each of ts_par4 (its model block's), ts_par6 and ts_par7, made by loglik_points.R."""
    _check_stan_points(pd.read_csv(REF / "hbayesdm_stan" / "loglik_points.csv"))


@pytest.mark.slow
def test_the_likelihood_is_stans_at_stans_draws_run_now(tmp_path):
    """The same, with rstan run now (real R, real Stan: compiles four models, about 5 minutes)."""
    import shutil
    import subprocess

    rscript = shutil.which("Rscript") or pytest.skip("R is not installed (Rscript not on PATH)")
    probe = subprocess.run([rscript, "-e", "library(rstan)"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("R's rstan is not installed (Debian: apt-get install r-cran-rstan r-base-dev)")
    out = tmp_path / "points.csv"
    run = subprocess.run([rscript, str(REF / "hbayesdm_stan" / "loglik_points.R"), str(out)],
                         cwd=REF.parents[1], capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    _check_stan_points(pd.read_csv(out))
