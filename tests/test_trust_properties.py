"""Property tests of issue 25's entry points: a value is refused the same way wherever it enters, and what is
accepted is used as given.

- config fields: a command-line flag, ``reproduce --set``, ``sweep --param ...=choice:`` and ``config.json`` give
  the same value or the same refusal for any text, on any field of any registered experiment;
- fits: ``bounds=``, ``fixed=`` and ``priors=`` either raise an error naming the entry or give a fit inside
  what was asked, which :func:`hybrid_nll` accepts;
- loaders: a shuffled Nussenbaum file gives the same table as the sorted one; a skipped trial number is refused;
- ``Criterion``: any text either fails with ``ValueError`` or parses to a criterion that round-trips.

``python -m pytest tests/test_trust_properties.py -s`` prints how many inputs each property tried.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from metarl_neuro import analysis
from metarl_neuro.agents import Criterion
from metarl_neuro.analysis.hybrid import VARIANTS, domain_of, simulate_hybrid
from metarl_neuro.domains import OR_DEPENDENT_DEFAULT
from metarl_neuro.experiments import EXPERIMENTS, check_config, parse_field
from metarl_neuro.reproduce import parse_overrides
from metarl_neuro.simulate import make_parser
from metarl_neuro.sweep import parse_param

TALLY: Counter = Counter()
FIELDS = sorted({(name, f.name) for name, exp in EXPERIMENTS.items() for f in dataclasses.fields(exp.config)
                 if f.name != "seed"})


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(TALLY.items())))


def _outcome(fn):
    try:
        return "ok", fn()
    except ValueError as err:
        return "refused", str(err)


texts = st.one_of(
    st.sampled_from(["0", "1", "-1", "0.5", "1.5", "2e4", "2.5", "inf", "-inf", "nan", "true", "False", "maybe",
                     "yes", "", "lstm", "paper", "compressed", "cpu", "64", "1e-3", "1e6", "independent"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), text=texts)
@example(field=("bandit", "batch"), text="-1")  # found by this property: -1 is the variant's batch (64), resolved
def test_a_config_value_is_refused_the_same_way_wherever_it_enters(field, text):
    experiment, name = field
    cls = EXPERIMENTS[experiment].config
    assume("," not in text and "=" not in text and "\x00" not in text)  # the separators of --set / --param
    TALLY["config values"] += 1
    direct = _outcome(lambda: parse_field(cls, name, text))
    via_set = _outcome(lambda: parse_overrides([f"{experiment}.{name}={text}"], [experiment])[experiment][name])
    assert direct[0] == via_set[0], (direct, via_set)
    if direct[0] == "refused":
        assert name in direct[1] and name in via_set[1]
    else:
        assert via_set[1] == direct[1] and type(via_set[1]) is type(direct[1])
    kind = type(direct[1]) if direct[0] == "ok" else None
    if kind is not bool and text.strip():  # --param choice: the same parser
        via_param = _outcome(lambda: parse_param(f"{name}=choice:{text}", cls)[1].categories[0])
        assert via_param[0] == direct[0], (direct, via_param)
    # a flag on the command line (argparse exits 2 with the field's message)
    flag = f"--{name.replace('_', '-')}"
    if kind is not bool and not (isinstance(cls().__dict__.get(name), bool)) and not text.startswith("-"):
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                args = make_parser().parse_args([experiment, flag, text])
            cli = ("ok", getattr(args, name))
        except SystemExit as exit_:
            assert exit_.code == 2
            cli = ("refused", "")
        assert cli[0] == direct[0] and (cli[0] == "refused" or cli[1] == direct[1])
    # config.json: the value as JSON, read back through the config class
    if direct[0] == "ok":
        value = json.loads(json.dumps(direct[1]))
        try:
            config = cls(**{name: value})
        except ValueError as err:  # a field checked against another (bandit's -1 defaults, fine / saccade look)
            TALLY["cross-field refusals"] += 1
            assert str(err)
        else:
            check_config(config)
            # -1 in a field declared OR_DEPENDENT_DEFAULT is "the variant's default", resolved in the config
            dependent = {f.name for f in dataclasses.fields(cls) if f.metadata.get("domain") == OR_DEPENDENT_DEFAULT}
            assert getattr(config, name) == direct[1] or (name in dependent and direct[1] == -1)


def _fit_data():
    return simulate_hybrid({"alpha1": .5, "alpha2": .5, "lam": .5, "beta1": 3, "beta2": 3, "w": .5, "p": .1},
                           n_subjects=2, n_trials=30, seed=3)


DATA = _fit_data()
FIT = {"starts": "random", "n_starts": 1, "maxiter": 3}
numbers = st.one_of(st.floats(-30, 30, allow_nan=False), st.sampled_from([-1.0, 0.0, 1.0, 1.5, 5.0, 20.0, math.inf,
                                                                           math.nan]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(param=st.sampled_from(list(VARIANTS["daw2011"])), lo=numbers, hi=numbers)
@example(param="p", lo=2.0, hi=3.0)  # found by this property: the random starts' range was empty
@example(param="beta1", lo=12.0, hi=20.0)
def test_bounds_are_refused_by_name_or_bound_the_fit(param, lo, hi):
    TALLY["bounds"] += 1
    try:
        fit = analysis.fit_hybrid(DATA, bounds={param: (lo, hi)}, **FIT)
    except ValueError as err:
        assert f"bounds[{param!r}]" in str(err)
        dom = domain_of(param)
        assert not (lo in dom and hi in dom and lo < hi and math.isfinite(lo) and math.isfinite(hi))
        return
    assert lo in domain_of(param) and hi in domain_of(param) and lo < hi
    assert fit[param].between(lo, hi).all()
    for _, row in fit.iterrows():  # what the fit reports, the likelihood accepts
        analysis.hybrid_nll(row[list(VARIANTS["daw2011"])].to_dict(), DATA[DATA.subject == row.subject])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(param=st.sampled_from(list(VARIANTS["daw2011"])), value=st.one_of(numbers, st.text(max_size=3), st.none()))
def test_fixed_values_are_refused_by_name_or_held(param, value):
    TALLY["fixed"] += 1
    try:
        fit = analysis.fit_hybrid(DATA, fixed={param: value}, **FIT)
    except (ValueError, TypeError) as err:
        assert f"fixed[{param!r}]" in str(err)
        return
    assert isinstance(value, float) and value in domain_of(param)
    assert (fit[param] == value).all()


def _dist(family: str, a: float, b: float):
    a64, b64 = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return {"beta": lambda: torch.distributions.Beta(a64, b64), "gamma": lambda: torch.distributions.Gamma(a64, b64),
            "normal": lambda: torch.distributions.Normal(a64, b64), "number": lambda: a}[family]()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(param=st.sampled_from([*VARIANTS["daw2011"], "zeta"]), family=st.sampled_from(["beta", "gamma", "normal",
                                                                                      "number"]),
       a=st.floats(0.5, 5), b=st.floats(0.5, 5), method=st.sampled_from(["map", "mle"]))
def test_priors_are_refused_by_name_or_used(param, family, a, b, method):
    TALLY["priors"] += 1
    try:
        fit = analysis.fit_hybrid(DATA, method=method, priors={param: _dist(family, a, b)}, **FIT)
    except ValueError as err:
        assert "priors" in str(err)
        bad_support = (family == "beta" and param not in ("alpha1", "alpha2", "lam", "w")) or (
            family == "gamma" and param == "p")
        assert method == "mle" or param == "zeta" or family == "number" or bad_support
        return
    assert method == "map" and param != "zeta" and family != "number"
    assert np.isfinite(fit["objective"]).all()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), seed=st.integers(0, 1000), gap=st.booleans())
def test_a_shuffled_nussenbaum_file_loads_as_sorted_and_a_skipped_trial_is_refused(n, seed, gap):
    TALLY["loader files"] += 1
    rng = np.random.default_rng(seed)
    trial = np.arange(1, n + 1) + np.where(np.arange(n) >= n // 2, 5, 0) * gap
    df = pd.DataFrame({"subject_id": "a", "trial": trial, "choice_1": rng.integers(1, 3, n),
                       "choice_2": rng.integers(1, 3, n), "state": rng.integers(2, 4, n),
                       "reward": rng.integers(0, 2, n)})
    shuffled = df.sample(frac=1, random_state=seed)
    if gap:
        with pytest.raises(ValueError, match="'trial' skips from"):
            analysis.from_nussenbaum2020(shuffled)
        return
    pd.testing.assert_frame_equal(analysis.from_nussenbaum2020(shuffled), analysis.from_nussenbaum2020(df))


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(alphabet="gaprc_<>=.,0123456789infa -", max_size=20),
                      st.sampled_from(["gap>=0.3", "gap>=inf", "gap>=nan", "rc>=0.95,ur>=0.95", "gap>rc"])),
       held=st.one_of(st.integers(-2, 5), st.floats(-2, 5), st.text(max_size=2), st.booleans()))
def test_criterion_text_is_refused_or_round_trips(text, held):
    TALLY["criteria"] += 1
    try:
        c = Criterion.parse(text, ("gap", "rc", "ur"), held)
    except ValueError as err:
        assert str(err)
        return
    assert isinstance(held, int) and not isinstance(held, bool) and held >= 1
    assert all(isinstance(v, str) or math.isfinite(v) for _, _, v in c.clauses)
    assert Criterion.parse(str(c), ("gap", "rc", "ur"), held) == c
