"""Hyperparameter sweeps with Ray Tune, selected and reported on disjoint test episodes (Wang et al. 2016).

``python -m metarl_neuro.sweep EXPERIMENT --param lr=loguniform:1e-4:1e-2 --samples 100``.

Example::

    python -m metarl_neuro.sweep bandit --param lr=loguniform:1e-4:1e-2 --param gamma=uniform:0.7:0.99 \\
        --samples 20 --top 5

Wang 2016 sampled the learning rate and discount of every run and kept the top 5 of 100 runs, selected on their
first 150 test episodes and shown on the other 150. Each sample here is a Ray Tune trial that trains and tests
one run folder ``OUT/trials/<k>/`` (seed ``--seed + k``); its score (the experiment's ``score``, higher is better:
minus the regret for a bandit, the stay-pattern gap for the two-step task, percent correct for Harlow, reward per
trial otherwise) is computed on the test episodes ``0 .. --select-episodes - 1`` for selection and on the rest for
the report. Writes ``OUT/sweep.csv`` (every sample: its values, both scores, its folder) and ``OUT/top.csv`` (the
selected ones, by selection score).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from metarl_neuro.domains import check_value
from metarl_neuro.experiments import EXPERIMENTS, field_spec, parse_field
from metarl_neuro.experiments import get as get_experiment
from metarl_neuro.reproduce import parse_overrides, ray_session, simulate_logged
from metarl_neuro.run import Run, atomic_write

__all__ = ["main", "parse_param", "score_run", "sweep"]

_DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")


def parse_param(text: str, config) -> tuple[str, object]:
    """``"lr=loguniform:1e-4:1e-2"`` -> ``("lr", tune.loguniform(1e-4, 1e-2))``.

    Distributions: ``uniform:LO:HI``, ``loguniform:LO:HI``, ``randint:LO:HI`` (HI excluded), ``choice:A,B,...``
    (values of the field's type).

    Parameters
    ----------
    text : str
        ``FIELD=DISTRIBUTION:ARGS``.
    config : type
        The experiment's config class.

    Returns
    -------
    tuple
        The field and its Ray Tune distribution.

    Raises
    ------
    ValueError
        For a malformed text, an unknown distribution, a field ``config`` (a config class) does not have, the
        ``seed`` field, a distribution that does not fit the field's type (``uniform`` for an int field, ``randint``
        for a float field), bounds that are not numbers with LO < HI (LO > 0 for loguniform), or bounds or choices
        outside the field's declared domain (the same check as every other entry point).
    """
    from ray import tune

    name, sep, spec = text.partition("=")
    kind, _, rest = spec.partition(":")
    name = name.strip().replace("-", "_")
    fields = {f.name: f for f in dataclasses.fields(config)}
    if not sep or kind not in _DISTRIBUTIONS or not rest:
        raise ValueError(f"--param {text!r}: expected FIELD=DIST:ARGS with DIST one of {_DISTRIBUTIONS}, e.g. "
                         "lr=loguniform:1e-4:1e-2")
    if name not in fields:
        raise ValueError(f"--param {text!r}: {config.__name__} has no field {name!r}")
    if name == "seed":
        raise ValueError(f"--param {text!r}: sample k trains with seed --seed + k; the seed is not a sampled field")
    where = f"--param {text!r}"
    field_kind, domain, _choices = field_spec(config, name)
    if kind == "choice":  # each value through the field's one parser (type, domain, choices)
        return name, tune.choice([parse_field(config, name, v, where=where) for v in rest.split(",")])
    if field_kind not in (int, float):
        raise ValueError(f"{where}: {name} is a {field_kind.__name__} field; sample it with choice:A,B,...")
    if field_kind is int and kind != "randint":
        raise ValueError(f"{where}: {name} takes integers; sample it with randint:LO:HI or choice:A,B,...")
    if field_kind is float and kind == "randint":
        raise ValueError(f"{where}: {name} takes any number; sample it with uniform or loguniform")
    try:
        lo, hi = (float(v) for v in rest.split(":"))
    except ValueError:
        raise ValueError(f"{where}: {kind} needs two numbers LO:HI") from None
    if not lo < hi or (kind == "loguniform" and lo <= 0):
        raise ValueError(f"{where}: needs LO < HI{' and LO > 0' if kind == 'loguniform' else ''}")
    if kind == "randint":
        if not (lo.is_integer() and hi.is_integer()):
            raise ValueError(f"{where}: randint needs integer bounds, got {lo:g}:{hi:g}")
        check_value(name, int(lo), int, domain, where=where)
        check_value(name, int(hi) - 1, int, domain, where=where)  # HI is excluded
    else:  # both ends in the field's domain
        check_value(name, lo, float, domain, where=where)
        check_value(name, hi, float, domain, where=where)
    if kind == "randint":
        return name, tune.randint(int(lo), int(hi))
    return name, (tune.loguniform if kind == "loguniform" else tune.uniform)(lo, hi)


def score_run(experiment: str, folder: str | Path, select_episodes: int) -> dict:
    """A run's sweep scores: the experiment's ``score`` on test episodes ``< select_episodes`` (``select``) and
    on the others (``heldout``).

    Parameters
    ----------
    experiment : str
        A registered experiment with a ``score``.
    folder : str or pathlib.Path
        A finished run folder.
    select_episodes : int
        Test episodes ``0 .. select_episodes - 1`` select; the others are held out.

    Returns
    -------
    dict
        ``select`` and ``heldout`` (floats, higher is better).

    Raises
    ------
    ValueError
        If the experiment has no score, or the run's test has no episode past ``select_episodes``.
    """
    exp = get_experiment(experiment)
    if exp.score is None:
        raise ValueError(f"{experiment} has no sweep score")
    run = Run.load(folder)
    n = int(run.config.eval_episodes)
    if not 0 < select_episodes < n:
        raise ValueError(f"--select-episodes {select_episodes} must be in (0, {n}): the run's test has {n} episodes")
    return {"select": float(exp.score(run, np.arange(select_episodes))),
            "heldout": float(exp.score(run, np.arange(select_episodes, n)))}


def _trial(params: dict, experiment: str, base: dict, out: str, first_seed: int, select_episodes: int) -> None:
    """One Ray Tune trial: train and test a run folder with the sampled values, report both scores."""
    from ray import tune

    exp = get_experiment(experiment)
    k = tune.get_context().get_trial_id()
    index = int(params.pop("_index"))
    config = exp.config(**{**base, **params, "seed": first_seed + index})
    folder = Path(out) / "trials" / f"{index:04d}"
    simulate_logged(experiment, config, folder, Path(out) / "logs" / f"{index:04d}.log",
                    f"trial {k} sample {index}: {params}")
    tune.report({**score_run(experiment, folder, select_episodes), "folder": str(folder), "seed": config.seed})


def sweep(experiment: str, params: dict, samples: int, out: Path, base: dict | None = None, top: int = 5,
          select_episodes: int = 150, first_seed: int = 0, num_cpus: int | None = None, address: str | None = None,
          cpus_per_trial: float = 1.0, search_seed: int = 0, verbose: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run a Ray Tune sweep over ``params`` and select the ``top`` samples on the selection episodes.

    Parameters
    ----------
    experiment : str
        A registered experiment with a ``score``.
    params : dict
        Field -> Ray Tune distribution (:func:`parse_param`).
    samples : int
        Number of sampled configs: one grid point each, whose distributions Tune's random search draws (seeded
        with ``search_seed``).
    out : pathlib.Path
        Root of the trials' run folders (``out/trials/<k>``), their logs, Tune's state (``out/tune``) and the tables.
    base : dict, optional
        Fixed config values of every sample.
    top : int
        How many samples to select (Wang 2016: 5 of 100).
    select_episodes : int
        Test episodes ``0 .. select_episodes - 1`` select, the rest report (Wang 2016: 150 of 300).
    first_seed : int
        Sample ``k`` trains with seed ``first_seed + k``.
    num_cpus, address : optional
        The local Ray cluster's CPUs, or a running cluster to join.
    cpus_per_trial : float
        CPUs of each trial (Ray resources).
    search_seed : int
        Seed of Tune's random search (which values the samples draw).
    verbose : int
        Ray Tune's verbosity (0 silent, 1 a status table).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The sweep table (one row per sample: ``sample``, ``seed``, the swept fields, ``select``, ``heldout``,
        ``folder``; sorted by ``select``, best first) and its first ``top`` rows; also written to
        ``out/sweep.csv`` and ``out/top.csv``.

    Raises
    ------
    ValueError
        For bad arguments, before any trial starts.
    """
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    exp = get_experiment(experiment)
    if exp.score is None:
        raise ValueError(f"{experiment} has no sweep score")
    if samples < 1 or not 1 <= top <= samples:
        raise ValueError(f"--samples must be >= 1 and --top in [1, samples], got {samples}, {top}")
    base = dict(base or {})
    probe = exp.config(**{**base, "seed": first_seed})  # a bad fixed value fails here
    if not 0 < select_episodes < probe.eval_episodes:
        raise ValueError(f"--select-episodes {select_episodes} must be in (0, eval_episodes={probe.eval_episodes})")
    out = Path(out).resolve()
    with ray_session(address, num_cpus):
        trainable = tune.with_resources(
            tune.with_parameters(_trial, experiment=experiment, base=base, out=str(out), first_seed=first_seed,
                                 select_episodes=select_episodes), {"cpu": cpus_per_trial})
        # one grid point per sample, each with its own draw of the distributions: the sample's index names its
        # folder and seed
        space = {**params, "_index": tune.grid_search(list(range(samples)))}
        tuner = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(num_samples=1, metric="select", mode="max",
                                        search_alg=BasicVariantGenerator(random_state=search_seed)),
            run_config=tune.RunConfig(name="tune", storage_path=str(out), verbose=verbose),
        )
        results = tuner.fit()
        frame = results.get_dataframe()
    if frame.empty or "select" not in frame.columns:
        raise RuntimeError(f"no trial of the sweep reported a score; see the logs in {out / 'logs'}")
    cols = {f"config/{k}": k for k in params}
    table = frame.rename(columns={**cols, "config/_index": "sample"})[
        ["sample", "seed", *params, "select", "heldout", "folder"]]
    table = table.sort_values("select", ascending=False, kind="stable").reset_index(drop=True)
    table["sample"] = table["sample"].astype(int)
    table["seed"] = table["seed"].astype(int)
    chosen = table.head(top)
    atomic_write(out / "sweep.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(out / "top.csv", lambda p: chosen.to_csv(p, index=False))
    return table, chosen


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.sweep``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments without the program's name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 done, 2 bad input or an unreadable / unwritable file (the message names it).
    """
    ap = argparse.ArgumentParser(prog="python -m metarl_neuro.sweep", description=__doc__.splitlines()[0])
    ap.add_argument("experiment", help=f"one of {', '.join(EXPERIMENTS)}")
    ap.add_argument("--param", action="append", default=[], metavar="FIELD=DIST:ARGS",
                    help="a swept field: uniform:LO:HI, loguniform:LO:HI, randint:LO:HI, choice:A,B (repeatable)")
    ap.add_argument("--samples", type=int, default=100, help="sampled configs (Wang 2016: 100)")
    ap.add_argument("--top", type=int, default=5, help="selected configs (Wang 2016: 5)")
    ap.add_argument("--select-episodes", type=int, default=150,
                    help="test episodes that select (the first ones); the rest report (Wang 2016: 150 of 300)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a fixed config value")
    ap.add_argument("--seed", type=int, default=0, help="sample k trains with seed SEED + k; Tune's search seed")
    ap.add_argument("--out", type=Path, default=None, help="root folder (default runs/sweep/<experiment>)")
    ap.add_argument("--address", default=None, help="join this Ray cluster instead of starting one")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray cluster (default: all)")
    ap.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs per trial (default 1)")
    args = ap.parse_args(argv)
    try:
        exp = get_experiment(args.experiment)
        if not args.param:
            raise ValueError("name at least one --param to sweep")
        params = dict(parse_param(p, exp.config) for p in args.param)
        base = parse_overrides(args.set, [exp.name])[exp.name]
        out = args.out or Path("runs") / "sweep" / exp.name
        if (out / "sweep.csv").exists():
            raise ValueError(f"{out} already holds a sweep; choose another --out")
        table, chosen = sweep(exp.name, params, args.samples, out, base, args.top, args.select_episodes, args.seed,
                              args.num_cpus, args.address, args.cpus_per_trial, args.seed)
    except (ValueError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    fmt = {"float_format": lambda x: f"{x:.4g}", "index": False}
    print(f"\nAll {len(table)} samples, by the score on test episodes 0-{args.select_episodes - 1} (select); "
          f"heldout: on the other test episodes:")
    print(table.drop(columns="folder").to_string(**fmt))
    print(f"\nSelected top {len(chosen)} (Wang 2016: selected on one half of the test episodes, shown on the other):")
    print(chosen.drop(columns="folder").to_string(**fmt))
    print(f"heldout score of the selected: mean {chosen['heldout'].mean():.4g}; of all samples: mean "
          f"{table['heldout'].mean():.4g}")
    print(f"tables: {out / 'sweep.csv'}, {out / 'top.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
