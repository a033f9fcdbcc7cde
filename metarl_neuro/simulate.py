"""``python -m metarl_neuro.simulate EXPERIMENT [options]``: train, evaluate with frozen weights, write a run folder.

Example::

    python -m metarl_neuro.simulate two-step --seed 1 --out runs/two-step/seed1
    python -m metarl_neuro.simulate bandit --variant easy --test-variant medium
    python -m metarl_neuro.simulate bandit --cross-test
    python -m metarl_neuro.simulate harlow-1d
    python -m metarl_neuro.simulate harlow-pixels --device cuda
    python -m metarl_neuro.simulate psychlab-harlow --dataset-path DIR    # needs deepmind_lab
    python -m metarl_neuro.simulate tsutsui            # Wang 2018 Sim 1: matching
    python -m metarl_neuro.simulate behrens            # Sim 2: volatility
    python -m metarl_neuro.simulate bromberg-martin    # Sim 3: inferred value after reversals
    python -m metarl_neuro.simulate stopper            # Sim 6: RPE input, simulated optogenetics

A run killed at any moment continues from its last checkpoint with the same command plus ``--resume``, and
ends with the same ``trials.parquet`` as an uninterrupted run (on CPU; ``psychlab-harlow`` restarts the
episodes that were in progress, DeepMind Lab's state cannot be saved).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from metarl_neuro.agents import TrainingDiverged
from metarl_neuro.experiments import EXPERIMENTS, extend_run, parse_field
from metarl_neuro.experiments import get as get_experiment

__all__ = ["add_config_options", "main", "make_parser", "simulate"]


def simulate(experiment: str, config, out: Path | None = None, resume: bool = False, progress: bool = True) -> Path:
    """Train, test and report one experiment of the registry: ``EXPERIMENTS[experiment].simulate``.

    Parameters
    ----------
    experiment : str
        A registered name (:data:`~metarl_neuro.experiments.EXPERIMENTS`).
    config
        Its config dataclass (ignored in favour of the saved one when resuming).
    out : pathlib.Path, optional
        Run folder (default ``runs/<experiment>/seed<seed>``).
    resume, progress : bool
        Continue from ``out/checkpoint.pt``; show the progress bar.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    ValueError
        For an unknown experiment, and as the experiment's ``simulate``.
    """
    exp = get_experiment(experiment)
    return exp.simulate(config, Path(out) if out is not None else exp.default_out(config), resume, progress)


def add_config_options(parser: argparse.ArgumentParser, cls) -> None:
    """One ``--option`` per field of the config dataclass ``cls``, with its help text, default and choices.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The experiment's subcommand.
    cls : type
        Its config dataclass.
    """
    for f in dataclasses.fields(cls):
        text = f.metadata["help"].replace("%", "%%")  # argparse formats help with %: "90%" crashed --help
        shown = f.metadata.get("default_help", "%(default)s")
        kw = {"default": f.default, "help": text if f.default == "" and "default_help" not in f.metadata
              else f"{text} (default: {shown})"}
        for key in ("choices", "metavar"):
            if key in f.metadata:
                kw[key] = f.metadata[key]
        if isinstance(f.default, bool):  # --stacked / --no-stacked
            parser.add_argument(f"--{f.name.replace('_', '-')}", action=argparse.BooleanOptionalAction, **kw)
        else:  # the field's one typed parser: its type, domain and choices (experiments.parse_field)
            choices = kw.pop("choices", None)
            if choices and "metavar" not in kw:
                kw["metavar"] = "{" + ",".join(map(str, choices)) + "}"
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=_field_type(cls, f.name), **kw)


def _field_type(cls, name: str):
    """argparse's ``type=`` for a config field: :func:`~metarl_neuro.experiments.parse_field`, whose
    ``ValueError`` argparse reports as ``argument --NAME: ...``."""
    def parse(text: str):
        try:
            return parse_field(cls, name, text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    parse.__name__ = name
    return parse


def make_parser() -> argparse.ArgumentParser:
    """The command-line parser: one sub-command per registered experiment, its options generated from the
    experiment's config dataclass (:mod:`metarl_neuro.experiments`).

    Returns
    -------
    argparse.ArgumentParser
        With one subcommand per registered experiment, its options generated from the config dataclass.
    """
    parser = argparse.ArgumentParser(prog="python -m metarl_neuro.simulate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name, exp in EXPERIMENTS.items():
        cls = exp.config
        aliases = [name.replace("-", "_")] if "-" in name and not any(c.isdigit() for c in name) else []
        p = sub.add_parser(name, help=cls.__doc__, description=cls.__doc__, aliases=aliases)
        add_config_options(p, cls)
        p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<experiment>/seed<SEED>)")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
        p.add_argument("--extend", type=int, default=None, metavar="EPISODES",
                       help="with --resume: train on to EPISODES in all (more than the run's own length)")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        if exp.options is not None:
            exp.options(p)
    return parser


def _check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot become a run folder, before any work: an existing file, or a path under
    one, or a folder that cannot be written."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"--out {out}: {p} is a file, not a folder; name a run folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise ValueError(f"--out {out}: {p} is not writable")
            return


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.simulate``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments without the program's name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 done, 2 bad input or an unreadable / unwritable file (the message names it).
    """
    try:  # a value refused by its field's parser (experiments.parse_field) is argparse's error: status 2
        args = make_parser().parse_args(argv)
    except SystemExit as exit_:
        if exit_.code != 2:  # --help
            raise
        return 2
    exp = get_experiment(args.experiment)  # aliases: bromberg_martin
    cls = exp.config
    try:
        config = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
        if args.out is not None:
            _check_out(args.out)
        if args.extend is not None:
            if not args.resume or args.out is None:
                raise ValueError("--extend needs --resume and the run's --out")
            extend_run(args.out, args.extend)
        if exp.cli is not None:
            exp.cli(config, args)
        else:
            exp.simulate(config, args.out or exp.default_out(config), resume=args.resume, progress=not args.no_progress)
    except (ValueError, OSError, ImportError, TrainingDiverged) as err:  # OSError: FileExistsError, a locked run, ...
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
