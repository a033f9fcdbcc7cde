"""What every experiment shares: the config fields and their checks, the registry entry (:class:`Experiment`),
building the task and agent, training with checkpoints and resume, and the frozen-weight tests' seeds.

An experiment module (one per experiment, :mod:`metarl_neuro.experiments`) defines its config dataclass (a
subclass of :class:`TrainingConfig`), its simulation, its report and its per-seed summary, and ends with
``EXPERIMENT = Experiment(...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd
import torch

from metarl_neuro import __version__
from metarl_neuro.agents import (
    A2CLSTM,
    A2CSettings,
    ConvA2CLSTM,
    RPEInputA2C,
    TrainingDiverged,
    TrainState,
    train,
)
from metarl_neuro.domains import AT_LEAST_ONE, NON_NEGATIVE, UNIT_INTERVAL, check_value, parse_value
from metarl_neuro.run import CHECKPOINT_KEYS, SUMMARY_FILE, Run, load_checkpoint, load_state
from metarl_neuro.run import one_writer as run_one_writer
from metarl_neuro.tasks._protocol import make_generator

__all__ = [
    "EVAL_SAMPLER_SEED_OFFSET",
    "EVAL_TASK_SEED_OFFSET",
    "NETWORK_FIELDS",
    "TRAIN_SAMPLER_SEED_OFFSET",
    "Claim",
    "Experiment",
    "TrainedRun",
    "TrainingConfig",
    "a2c_settings",
    "agent_device",
    "build",
    "check_config",
    "check_init_from",
    "config_hash",
    "episode_reward",
    "eval_sampler",
    "eval_task",
    "extend_run",
    "field_spec",
    "one_writer",
    "option",
    "parse_field",
    "resolve_device",
    "run_attrs",
    "train_run",
]


@dataclass(frozen=True)
class Claim:
    """One of the paper's reported values or effects, set beside ours and checked in every seed.

    Attributes
    ----------
    metric : str
        Key of the experiment's per-seed summary (:attr:`Experiment.summarize`) the claim is about.
    paper : str
        The paper's value or qualitative effect, with the figure it is from (e.g. ``"0.89 (Fig. 5f)"``).
    holds : callable or None
        ``holds(summary) -> bool`` on one seed's summary dict: whether the effect holds in that seed; None for
        a value shown beside the paper's without a per-seed test.
    falls_short : str
        Why the effect may not hold in a seed, as measured (with where the measurement is); the report prints it
        under its top table wherever the claim fails in some seed. Empty where nothing is known.
    """

    metric: str
    paper: str
    holds: Callable[[dict], bool] | None = None
    falls_short: str = ""


@dataclass(frozen=True)
class Experiment:
    """An experiment's registry entry: everything the generic drivers (``simulate``, ``analyze``, ``reproduce``,
    ``sweep``) need.

    Attributes
    ----------
    name : str
        Its name on the command line (``python -m metarl_neuro.simulate NAME``) and in ``config.json``.
    config : type
        Its frozen config dataclass (a :class:`TrainingConfig`); the command line is generated from its fields.
    simulate : callable
        ``simulate(config, out, resume=False, progress=True) -> Path``: train, test with frozen weights, write
        the run folder ``out`` and print the report.
    report : callable
        ``report(run, figures, **options) -> dict``: the analyses of a finished run folder, printed, with their
        figures written to ``figures`` (``python -m metarl_neuro.analyze RUN``; options it does not use are
        ignored).
    summarize : callable
        ``summarize(run) -> dict[str, float]``: the paper's effects as numbers, for one seed (``reproduce``).
    paper : str
        The paper, simulation and figure it reproduces.
    claims : tuple of Claim
        The paper's reported values and effects beside ours.
    figure : callable or None
        ``figure(runs, summaries) -> matplotlib.figure.Figure``: the paper's panel redrawn from N seeds (``runs``: the
        seeds' run folders; ``summaries``: one row per seed of ``summarize``'s values).
    evaluation : callable or None
        ``evaluation(config) -> evaluate(agent, state) -> dict``: the frozen-weight tests during training
        (``--eval-every``, :func:`train_run`), whose metrics are ``config.METRICS``.
    score : callable or None
        ``score(run, episodes) -> float``: the sweeps' objective (higher is better) on the test episodes whose
        ``episode`` index is in the int array ``episodes`` (Wang 2016: select on some test episodes, report on
        others).
    resources : dict
        What one seed needs as a Ray task (``num_cpus``, ``num_gpus``).
    reproduce_defaults : dict
        Config values ``reproduce`` uses unless told otherwise (e.g. the PsychLab level's built-in images).
    reduced : dict
        Config overrides of ``reproduce --budget reduced`` (for experiments too long for a laptop), with
        ``why`` saying so.
    bounded : dict
        Summary metric (name or glob pattern) -> ``(lower, upper)``: the metrics that are probabilities or
        percentages, whose interval across seeds is the bootstrap one that stays inside them
        (:func:`~metarl_neuro.analysis.across_seeds`).
    frozen_test_of : str
        Another experiment whose seed ``k`` this one's seed ``k`` tests frozen when ``reproduce`` runs both: the
        seed gets ``episodes=0`` and ``init_from`` that seed's run folder, and its task waits for it
        (``psychlab-harlow`` of ``harlow-pixels``: the surrogate-trained network on the real level). "" for none.
    options, cli : callable or None
        ``options(parser)`` adds experiment-only command-line options; ``cli(config, args) -> Path`` replaces
        the default ``simulate(config, args.out or default_out(config), ...)``.
    report_options : callable or None
        ``report_options(parser)`` adds the options only this experiment's ``report`` takes to
        ``python -m metarl_neuro.analyze`` (two-step and the Harlow forms: ``--hidden``).
    report_data : callable or None
        ``report_data(trials, figures, title, **options) -> dict``: the analyses of a trial table from a data
        file (people's or animals' choices: ``python -m metarl_neuro.analyze FILE --experiment NAME``), where the
        experiment's task is one people also do.
    """

    name: str
    config: type
    simulate: Callable[..., Path]
    report: Callable[..., dict]
    summarize: Callable[[Run], dict]
    paper: str
    claims: tuple[Claim, ...] = ()
    figure: Callable[..., Any] | None = None
    evaluation: Callable[..., Callable] | None = None
    score: Callable[[Run, np.ndarray], float] | None = None
    resources: dict = field(default_factory=lambda: {"num_cpus": 1})
    reproduce_defaults: dict = field(default_factory=dict)
    reduced: dict = field(default_factory=dict)
    bounded: dict = field(default_factory=dict)
    frozen_test_of: str = ""
    options: Callable[[argparse.ArgumentParser], None] | None = None
    cli: Callable[..., Path] | None = None
    report_options: Callable[[argparse.ArgumentParser], None] | None = None
    report_data: Callable[..., dict] | None = None

    def default_out(self, config) -> Path:
        """``runs/<name>/seed<seed>``, the run folder when ``--out`` is not given."""
        return Path("runs") / self.name / f"seed{config.seed}"


def option(default, help: str, domain=None, legacy=dataclasses.MISSING, **kw):
    """A config field with its default and help text (``help`` gives the source of the default: the paper, or
    "our choice" and why).

    ``domain`` (a :class:`pandas.Interval`, e.g. :data:`~metarl_neuro.domains.UNIT_INTERVAL`) declares the values
    the field takes; a subclass that redefines the field keeps its base class's domain. ``kw`` may add
    ``choices``, ``metavar`` and ``default_help`` for the command line. Every entry point (keyword, command-line
    flag, ``reproduce --set``, ``sweep --param``, ``config.json``) checks a value against the field's type,
    domain and choices (:func:`check_config`, :func:`parse_field`).

    Parameters
    ----------
    default : object
        The field's default.
    help : str
        Its help text, with the default's source.
    domain : pandas.Interval, optional
        The values the field takes (numbers).
    legacy : object, optional
        For a field added after run folders were written without it: the value that gives the behaviour those
        runs had, which :attr:`metarl_neuro.run.Run.config` fills in where ``config.json`` lacks the field (the
        default fills it otherwise; a changed default would give such a folder a config it was not run with).
    **kw
        ``choices``, ``metavar``, ``default_help``.

    Returns
    -------
    dataclasses.Field
        The field, its help, domain and command-line settings in its metadata.
    """
    meta = {"help": help, **kw}
    if domain is not None:
        meta["domain"] = domain
    if legacy is not dataclasses.MISSING:
        meta["legacy"] = legacy
    return field(default=default, metadata=meta)


#: the fields' types, from their annotations (``from __future__ import annotations`` makes them text)
_KINDS = {"bool": bool, "int": int, "float": float, "str": str}
#: RMSProp's learning rate: a step moves each weight by about lr, so above 1 a single update overturns the network
LEARNING_RATE = pd.Interval(0.0, 1.0, closed="right")
#: a gradient-norm clip: positive, inf for none (a negative clip flips the gradient's sign in torch)
CLIP = pd.Interval(0.0, math.inf, closed="right")
#: an annealing target: -1 switches it off, otherwise >= 0 (``TrainingConfig.__post_init__`` refuses (-1, 0))
OFF_OR_NON_NEGATIVE = pd.Interval(-1.0, math.inf, closed="left")


@functools.cache  # config classes are fixed at import; every config construction asks for every field
def field_spec(cls, name: str) -> tuple[type, pd.Interval | None, tuple | None]:
    """``(type, domain, choices)`` of the config field ``name`` of the config class ``cls``; the domain and
    choices come from the nearest class in ``cls``'s MRO that declares them.

    Raises
    ------
    ValueError
        If ``cls`` has no field ``name``.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise ValueError(f"{cls.__name__} has no field {name!r}")
    f = fields[name]
    kind = _KINDS.get(f.type if isinstance(f.type, str) else getattr(f.type, "__name__", ""), type(f.default))
    domain, choices = f.metadata.get("domain"), f.metadata.get("choices")
    for base in cls.__mro__[1:]:
        if domain is not None and choices is not None:
            break
        if dataclasses.is_dataclass(base):
            bf = {g.name: g for g in dataclasses.fields(base)}.get(name)
            if bf is not None:
                domain = domain if domain is not None else bf.metadata.get("domain")
                choices = choices if choices is not None else bf.metadata.get("choices")
    return kind, domain, choices


def parse_field(cls, name: str, text: str, where: str = ""):
    """The text of a command-line value of the field ``name`` of ``cls``, parsed as the field's type and checked
    against its domain and choices (:func:`~metarl_neuro.domains.parse_value`): the one parser of command-line
    flags, ``reproduce --set`` and ``sweep --param``.

    Parameters
    ----------
    name : str
        The field of the config dataclass ``cls`` (its first argument).
    text : str
        The value as written.
    where : str
        Where the value came from, for the message.

    Returns
    -------
    bool or int or float or str
        The value.

    Raises
    ------
    ValueError
        Naming the field (and ``where``) for a value not of its type, outside its domain or choices.
    """
    kind, domain, choices = field_spec(cls, name)
    return parse_value(name, text, kind, domain, choices, where)


def check_config(config, where: str = "") -> None:
    """Check every field of a config against its type, domain and choices (:func:`field_spec`).

    Parameters
    ----------
    config : TrainingConfig
        An experiment's config.
    where : str
        Where the values came from, for the message (e.g. a ``config.json`` path).

    Raises
    ------
    ValueError
        Naming the first bad field, its type and domain (and ``where`` the values came from).
    """
    cls = type(config)
    for f in dataclasses.fields(cls):
        kind, domain, choices = field_spec(cls, f.name)
        value = check_value(f.name, getattr(config, f.name), kind, domain, choices, where)
        if kind is float and type(getattr(config, f.name)) is not float:
            object.__setattr__(config, f.name, value)  # an int given for a float field is stored as a float


@dataclass(frozen=True)
class TrainingConfig:
    """Fields every experiment has: seed, training length, device and the A2C-LSTM's settings.

    Each experiment's config inherits them and redefines only those whose default (and its source) differ;
    ``__post_init__`` checks every field against its type and declared domain (:func:`check_config`) and the
    fields against each other (``ValueError`` naming the bad field).
    """

    seed: int = option(0, "seed of the network initialisation, the task and the action samples", domain=NON_NEGATIVE)
    episodes: int = option(20_000, "training episodes; 0 evaluates the untrained agent", domain=NON_NEGATIVE)
    batch: int = option(16, "episodes simulated in parallel per update", domain=AT_LEAST_ONE)
    device: str = option("auto", "device: auto (cuda if available), cpu or cuda", choices=("auto", "cpu", "cuda"))
    hidden_size: int = option(48, "LSTM units (W18 Methods)", domain=AT_LEAST_ONE)
    agent: str = option("lstm", "network: lstm (A2C-LSTM) or rpe-input (Wang 2018 Sim 6: RPE as the policy's input, "
                    "separate value and policy LSTMs)", choices=("lstm", "rpe-input"))
    lr: float = option(3e-3, "RMSProp learning rate (our choice, tuned on the two-step task, see docs/measurements.md; "
                   "W18 Methods: 7e-4)", domain=LEARNING_RATE)
    gamma: float = option(0.9, "discount factor per step (W18 Methods)", domain=UNIT_INTERVAL)
    value_coef: float = option(0.05, "weight beta_V of the value loss (W18 Methods)", domain=NON_NEGATIVE)
    entropy_coef: float = option(0.05, "weight beta_e of the entropy bonus (W18 Methods)", domain=NON_NEGATIVE)
    lr_final: float = option(-1.0, "anneal the learning rate linearly from --lr to this value at --episodes (Mnih et "
                         "al. 2016 anneal to 0); -1: constant (W18)", domain=OFF_OR_NON_NEGATIVE)
    entropy_final: float = option(-1.0, "anneal the entropy weight linearly from --entropy-coef to this value at "
                              "--episodes; -1: constant (W18)", domain=OFF_OR_NON_NEGATIVE)
    unroll: int = option(20, "BPTT unroll in steps per update (our choice; tuned on the bandits, see docs/measurements.md)",
                     domain=AT_LEAST_ONE)
    gae_lambda: float = option(1.0, "GAE lambda; 1 gives the n-step returns of A2C (W18)", domain=UNIT_INTERVAL)
    max_grad_norm: float = option(50.0, "global gradient-norm clip (inf for none)", domain=CLIP)
    eval_episodes: int = option(300, "frozen-weight test episodes (W18 Methods; Wang 2016, 3.1)", domain=AT_LEAST_ONE)
    checkpoint_every_s: float = option(120.0, "seconds between checkpoints",
                                   domain=pd.Interval(0.0, math.inf, closed="left"))
    threads: int = option(1, "torch CPU threads (1 measured fastest for the 48-unit networks)", domain=AT_LEAST_ONE)
    eval_every: int = option(0, "test the frozen network every this many training episodes on the fixed test episodes "
                         "of the final test (the learning curve, evaluations.csv); 0: never", domain=NON_NEGATIVE)
    until: str = option("", "stop training once this criterion on the evaluations holds on --until-held consecutive "
                    "ones, e.g. gap>=0.3 (two-step), correct_2_6>=90 (Harlow), regret<thompson_regret (bandit); "
                    "needs --eval-every; --episodes stays the budget", metavar="METRIC>=VALUE")
    until_held: int = option(2, "consecutive evaluations on which --until must hold (issue 14: 2)", domain=AT_LEAST_ONE)

    #: metrics of the evaluations during training (``--until``); each experiment names its own
    METRICS: ClassVar[tuple[str, ...]] = ("reward",)

    def __post_init__(self):
        check_config(self)
        for name in ("lr_final", "entropy_final"):
            value = getattr(self, name)
            if value != -1 and value < 0:
                raise ValueError(f"{name} must be >= 0, or -1 for no annealing; got {value}")
        if self.lr_final > LEARNING_RATE.right:
            raise ValueError(f"lr_final must be in the learning rate's domain {LEARNING_RATE}, got {self.lr_final}")
        if self.until:
            if not self.eval_every:
                raise ValueError(f"--until {self.until!r} needs evaluations during training: pass --eval-every")
            self.criterion()

    def criterion(self):
        """The parsed ``until`` (:class:`~metarl_neuro.agents.Criterion`), or None; ``ValueError`` if malformed."""
        from metarl_neuro.agents.training import Criterion

        return Criterion.parse(self.until, self.METRICS, self.until_held) if self.until else None

    def to_dict(self) -> dict:
        """Plain dict of the fields (JSON-serialisable)."""
        return dataclasses.asdict(self)

    def new_agent(self, device: torch.device):
        """A freshly initialised network of this config (:func:`build`'s, for one episode at a time)."""
        return build(self, device, batch_size=1)[0]


def config_hash(config) -> str:
    """Short SHA-256 of the config's JSON form, identifying the run's settings.

    A field that holds its declared ``legacy`` value (:func:`option`: a field added after run folders were
    written without it, at the value that gives their behaviour) is left out, so that adding such a field keeps
    the hash of every config that does not use it, and ``reproduce`` still finds those folders finished.

    Parameters
    ----------
    config : TrainingConfig
        An experiment's config.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    values = dataclasses.asdict(config)
    for f in dataclasses.fields(config):
        if "legacy" in f.metadata and values[f.name] == f.metadata["legacy"]:
            del values[f.name]
    text = json.dumps(values, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without CUDA raises ``ValueError``.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda"}
        The ``--device`` option.

    Returns
    -------
    torch.device
        The device.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch.cuda.is_available() is False")
    return torch.device(name)


#: offsets that give the evaluation its own random streams, disjoint from training's
EVAL_TASK_SEED_OFFSET = 1_000_003


EVAL_SAMPLER_SEED_OFFSET = 2_000_003


TRAIN_SAMPLER_SEED_OFFSET = 3_000_017


def build(config, device: torch.device, batch_size: int, seed_offset: int = 0, variant: str | None = None):
    """Task, agent and optimiser of an experiment config.

    The network is initialised from ``torch.manual_seed(config.seed)``; the task (``config.make_task``, of
    ``variant`` for a bandit config) has its generator seeded with ``config.seed + seed_offset``. The
    optimiser is RMSProp (W18 Methods) with ``alpha=0.99, eps=1e-5``.

    Parameters
    ----------
    config : TrainingConfig
        An experiment's config.
    device : torch.device
        Where the task and the network live.
    batch_size : int
        Episodes simulated at once.
    seed_offset : int
        Added to ``config.seed`` for the task's generator (the test's tasks use their own offset).
    variant : str, optional
        The task variant (bandits: the test distribution).

    Returns
    -------
    agent : A2CLSTM
    task : TwoStepTask or BanditTask
    optimizer : torch.optim.RMSprop
    """
    task = config.make_task(batch_size, config.seed + seed_offset, device, variant)
    torch.manual_seed(config.seed)
    if hasattr(task, "obs_shape"):  # pixels: the conv-LSTM agent
        agent = ConvA2CLSTM(task.obs_shape, task.n_actions, config.hidden_size,
                            stacked=getattr(config, "stacked", False),
                            reward_head=getattr(config, "reward_coef", 0.0) > 0).to(device)
    elif config.agent == "rpe-input":  # Wang 2018 Sim 6
        agent = RPEInputA2C(task.obs_dim, task.n_actions, config.hidden_size, gamma=config.gamma).to(device)
    else:
        agent = A2CLSTM(task.obs_dim, task.n_actions, config.hidden_size).to(device)
    optimizer = torch.optim.RMSprop(agent.parameters(), lr=config.lr, alpha=0.99, eps=1e-5)
    return agent, task, optimizer


def a2c_settings(config: TrainingConfig) -> A2CSettings:
    """The A2C update settings (unroll and loss weights) of a config.

    Parameters
    ----------
    config : TrainingConfig
        An experiment's config.

    Returns
    -------
    A2CSettings
        Its unroll, discount, GAE lambda, loss weights, gradient clip and annealing.
    """
    return A2CSettings(
        config.unroll, config.gamma, config.gae_lambda, config.value_coef, config.entropy_coef, config.max_grad_norm,
        lr=config.lr, lr_final=config.lr_final, entropy_final=config.entropy_final,
        reward_coef=getattr(config, "reward_coef", 0.0),
    )


class TrainedRun(NamedTuple):
    """What :func:`train_run` hands to an experiment's simulation: the trained network and where it lives.

    Attributes
    ----------
    run : Run
        The run folder.
    config
        The config trained with (the saved one when resumed).
    agent : A2CLSTM
        The trained network (on ``device``).
    device : torch.device
        Where it ran.
    meta : dict
        The contents of ``config.json``.
    train_s : float
        Seconds of training this session.
    episodes : int
        Training episodes in all.
    state : TrainState
        ``curve``, ``stopped``, ``wall_s`` and the rest of the training state.
    """

    run: Run
    config: object
    agent: A2CLSTM
    device: torch.device
    meta: dict
    train_s: float
    episodes: int
    state: TrainState


def one_writer(simulate: Callable) -> Callable:
    """Decorate an experiment's ``simulate(config, out, ...)`` so that its run folder has one writer.

    Before anything is written, the config's device is checked (:func:`resolve_device`); then
    :func:`metarl_neuro.run.one_writer` holds ``out``'s lock (:meth:`~metarl_neuro.run.Run.writer`) for the
    whole simulation, training, test and report, and releases it at its end (or the kernel does, when the
    process dies). A folder this call made and left empty (a failed start) is removed again.

    Raises
    ------
    ValueError
        If the device is not available (nothing is written).
    metarl_neuro.run.RunFolderLocked
        (an ``OSError``) If another process writes ``out``; the message names its PID and host.
    """
    locked = run_one_writer(simulate)

    @functools.wraps(simulate)
    def wrapper(config, out, *args, **kwargs):
        resolve_device(config.device)
        return locked(config, out, *args, **kwargs)
    return wrapper


def train_run(config, experiment: str, out: Path, resume: bool = False, progress: bool = True,
              evaluation: Callable | None = None, stages: Callable | None = None) -> TrainedRun:
    """Training only, the shared part of every ``simulate``: run folder, config, checkpoints and resume.

    Everything that can be checked is checked before the first write: the config, the device, the network and
    task it builds, and (resuming) the checkpoint, read safely (``weights_only=True``) and fitted to the
    network. Training holds the run folder's lock (:meth:`~metarl_neuro.run.Run.writer`; an experiment's
    ``simulate`` holds it for its whole life, :func:`one_writer`).

    Parameters
    ----------
    config
        An experiment config (:data:`~metarl_neuro.experiments.EXPERIMENTS`); a resumed run uses its saved one.
    experiment : str
        Its name, recorded in ``config.json``.
    out : pathlib.Path
        Run folder.
    resume, progress : bool
        As :func:`simulate_two_step`.
    evaluation : callable, optional
        ``evaluation(config) -> evaluate(agent, state) -> dict`` (:data:`EVALUATIONS`): with
        ``config.eval_every``, the tests of the frozen network during training (:func:`~metarl_neuro.agents.train`),
        written to ``evaluations.csv`` with every checkpoint; ``config.until`` stops training once it is met.
    stages : callable, optional
        ``stages(config) -> (folder, record)``: for a config with a curriculum (``config.stages()`` not empty,
        e.g. :class:`~metarl_neuro.experiments.harlow_pixels.HarlowPixelsConfig`), trains its stages once the run
        folder's ``config.json`` is written and before training starts (again on a resume that finds no
        checkpoint: finished stages are skipped there); training then starts from the network of the run folder
        ``folder``, and ``config.json`` records ``record`` as ``curriculum`` with that network's SHA-256.

    Returns
    -------
    TrainedRun

    Raises
    ------
    FileExistsError
        If ``out`` already holds a run and ``resume`` is False.
    FileNotFoundError
        If ``resume`` is True and ``out`` holds no ``config.json``.
    ValueError
        If the device is not available, or (resuming) the checkpoint is refused, corrupt, incomplete or does not
        fit the config (naming the file), or the config has a curriculum and ``stages`` is not given; nothing is
        written then.
    metarl_neuro.run.RunFolderLocked
        If another process writes ``out``.
    metarl_neuro.agents.TrainingDiverged
        If an update's loss, gradient or parameters are not finite: the message names the update, the likely
        cause and the last good checkpoint, which is left as it was.
    """
    run = Run(out)
    with run.writer():
        meta_path = run.path / "config.json"
        if resume:
            if not meta_path.exists():
                raise FileNotFoundError(f"--resume: no run to resume at {out} (no config.json)")
            saved = run.config
            changed = [f.name for f in dataclasses.fields(config) if getattr(saved, f.name) != getattr(config, f.name)]
            if changed:
                print(f"--resume: using the saved config; ignoring option(s) {changed}", file=sys.stderr)
            config = saved
        elif meta_path.exists():
            raise FileExistsError(f"{out} already holds a run; pass --resume to continue it or choose another --out")

        device = resolve_device(config.device)
        torch.set_num_threads(config.threads)
        agent, task, optimizer = build(config, device, config.batch)
        sampler = make_generator(config.seed + TRAIN_SAMPLER_SEED_OFFSET, device)
        settings = a2c_settings(config)
        ckpt_path = run.path / "checkpoint.pt"
        state = None
        if resume and ckpt_path.exists():
            ckpt = load_checkpoint(ckpt_path, device, keys=CHECKPOINT_KEYS)
            load_state(agent, ckpt["model"], ckpt_path, "network")
            load_state(optimizer, ckpt["optimizer"], ckpt_path, "optimiser")
            load_state(task, ckpt["task"], ckpt_path, "task")
            try:
                sampler.set_state(ckpt["sampler"].cpu())  # generator states are CPU byte tensors
                state = TrainState.from_state_dict(ckpt["train"])
            except (AttributeError, KeyError, TypeError, RuntimeError, ValueError) as err:
                raise ValueError(f"{ckpt_path}: its sampler or training state is malformed ({type(err).__name__}: "
                                 f"{err}); rerun the run rather than resume it") from None
            print(f"resumed from update {state.update} ({state.episodes} episodes)", file=sys.stderr)
        staged = bool(config.stages()) if hasattr(config, "stages") else False
        if staged and stages is None:
            raise ValueError(f"{experiment}: --curriculum {config.curriculum!r} trains in stages that only the "
                             "experiment's simulate runs (python -m metarl_neuro.simulate); pass --curriculum none to "
                             "train at --fov alone")
        init_sha = None
        if state is None and not staged and getattr(config, "init_from", ""):
            init_sha = _init_from(agent, Path(config.init_from), device)

        # everything is checked: the first write
        meta = {
            **(run.meta if resume else {}),  # a resumed run keeps what its folder recorded (init_from_sha256, ...)
            "experiment": experiment,
            "config": config.to_dict(),
            "version": __version__,
            "config_hash": config_hash(config),
            "torch": torch.__version__,
        }
        if init_sha is not None:
            meta["init_from_sha256"] = init_sha  # the run folder names the network it started from
        run.save_meta(meta)
        if state is None and staged:  # the curriculum's stages, each a run folder of its own; then training here
            start, meta["curriculum"] = stages(config)
            meta["init_from_sha256"] = _init_from(agent, Path(start), device)
            run.save_meta(meta)
        saved_at = {"update": state.update if state is not None else None}

        def checkpoint(s: TrainState) -> None:
            payload = {
                "model": agent.state_dict(),
                "optimizer": optimizer.state_dict(),
                "task": task.state_dict(),
                "sampler": sampler.get_state(),
                "train": s.state_dict(),
                "config_hash": meta["config_hash"],
            }
            run.save_checkpoint(payload)
            run.save_training(s.rows)
            if s.curve:
                run.save_evaluations(s.curve)
            saved_at["update"] = s.update

        t0 = time.perf_counter()
        evaluate = evaluation(config) if evaluation is not None and config.eval_every else None
        eval_every = config.eval_every if evaluate is not None else 0
        if eval_every and 0 < config.episodes < eval_every:  # a short trial run of a default with tests every N
            print(f"note: --eval-every {eval_every:,} is longer than --episodes {config.episodes:,}: no test during "
                  f"training (evaluations.csv stays empty){f' and --until {config.until} is never checked' if config.until else ''}",
                  file=sys.stderr)
        try:
            state = train(agent, task, optimizer, settings, config.episodes, sampler, state, checkpoint,
                          config.checkpoint_every_s, progress, evaluate, eval_every, config.criterion())
        except TrainingDiverged as err:
            last = (f"the last good checkpoint, {ckpt_path} at update {saved_at['update']:,}, is left as it was"
                    if saved_at["update"] is not None else f"no checkpoint was written before it ({run.path} holds "
                    "config.json only)")
            raise TrainingDiverged(err.update, err.what, f"; this run: lr {config.lr:g}, max_grad_norm "
                                   f"{config.max_grad_norm:g}. {last[0].upper()}{last[1:]}; start again in another "
                                   "--out with other settings") from None
    if state.stopped:
        row = state.curve[-1]
        print(f"--until {config.until} held on {config.until_held} consecutive evaluations: training stopped at "
              f"{row['episodes']:,} episodes, {row['update']:,} updates, {row['wall_s']:.1f} s", file=sys.stderr)
    if progress:
        print(f"training done; now the {config.eval_episodes} frozen-weight test episodes, the analyses and the "
              "figures (no progress bar)", file=sys.stderr, flush=True)
    return TrainedRun(run, config, agent, device, meta, time.perf_counter() - t0, state.episodes, state)


#: config fields a network depends on beyond its weights' shapes: what its pixels and actions mean (the value a
#: run folder that did not record the field was trained with)
_SENSORIMOTOR = {"fov": 90.0, "fine_look": 5, "saccade_look": 36}
#: config fields that set the network's form (same recording rule): a mismatch would fail when the weights load
_ARCHITECTURE = {"agent": "lstm", "stacked": False, "hidden_size": None}
#: every field a network trained in one run needs from a run that starts from it (``init_from``; ``reproduce`` carries
#: a trained experiment's settings of these to its frozen test)
NETWORK_FIELDS = (*_SENSORIMOTOR, *_ARCHITECTURE)


def _option_for(field_name: str, value) -> str:
    """The command-line option that asks for ``field_name = value`` (``--no-stacked``, ``--hidden-size 256``)."""
    flag = field_name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    return f"--{flag} {value}"


def check_init_from(config) -> None:
    """Check a config's ``init_from`` run folder before anything is written.

    Raises
    ------
    FileNotFoundError
        If the folder holds no ``checkpoint.pt``.
    ValueError
        If its ``config.json`` cannot be read; if its run saw another field of view or action set and this run
        is a frozen test (``episodes == 0``: the weights would fit but the test would mean something else; a run
        that trains on in another view is a curriculum stage, allowed with a note on stderr); or if its network
        has another form (``agent``, ``stacked``, ``hidden_size``: the weights would not fit). The message names
        the folder and the options that match it.
    """
    folder = Path(getattr(config, "init_from", "") or "")
    if not str(folder) or str(folder) == ".":
        return
    if not (folder / "checkpoint.pt").is_file():
        raise FileNotFoundError(f"--init-from: {folder} holds no checkpoint.pt (not a finished or running run folder)")
    try:
        source = json.loads((folder / "config.json").read_text())["config"]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"--init-from: cannot read the run's config {folder / 'config.json'}: {err}") from err
    recorded = {k: source.get(k, d) for k, d in {**_SENSORIMOTOR, **_ARCHITECTURE}.items()}  # legacy folders: d
    differ = [f"{k} {recorded[k]} there, {getattr(config, k, d)} here" for k, d in _SENSORIMOTOR.items()
              if recorded[k] != getattr(config, k, d)]
    if differ and getattr(config, "episodes", 0) == 0:
        raise ValueError(f"--init-from: {folder} was trained with another view or action set ({'; '.join(differ)}); "
                         "a frozen test (--episodes 0) needs the same options")
    if differ:  # training on from it in another view: a curriculum stage (the config records both)
        print(f"--init-from: training on from {folder} with another view or action set ({'; '.join(differ)})",
              file=sys.stderr)
    form = {k: recorded[k] for k in _ARCHITECTURE
            if recorded[k] is not None and hasattr(config, k) and recorded[k] != getattr(config, k)}
    if form:
        there = "; ".join(f"{k} {v} there, {getattr(config, k)} here" for k, v in form.items())
        raise ValueError(f"--init-from: {folder} holds a network of another form ({there}); pass "
                         + " ".join(_option_for(k, v) for k, v in form.items()))


def _init_from(agent, folder: Path, device: torch.device) -> str:
    """Load the trained network of the run folder ``folder`` into ``agent`` (same architecture required; see
    :func:`check_init_from`); return the SHA-256 of its ``checkpoint.pt``.

    Raises
    ------
    ValueError
        If the checkpoint cannot be read, or its network differs from ``agent`` (sizes, actions, image size);
        the message names the file.
    """
    path = folder / "checkpoint.pt"
    try:
        model = load_checkpoint(path, device)["model"]
    except (OSError, ValueError) as err:
        raise ValueError(f"--init-from: cannot read {path}: {err}") from err
    mine = agent.state_dict()
    # the auxiliary reward head never acts: a network trained with it starts a run without it, and the reverse
    aux = "reward_head."
    model = {**{k: v for k, v in mine.items() if k.startswith(aux)},
             **{k: v for k, v in model.items() if not k.startswith(aux) or k in mine}}
    bad = sorted(k for k in set(mine) | set(model) if k not in model or k not in mine or model[k].shape != mine[k].shape)
    if bad:
        raise ValueError(f"--init-from: the network in {path} does not match this run's (differs in {bad[:4]}); use "
                         "the same --hidden-size, --stacked, image size and action set (--fine-look, --saccade-look)")
    load_state(agent, model, path, "network")
    return Run(folder).checkpoint_sha256()


def run_attrs(t: TrainedRun, experiment: str) -> dict:
    """The activations' attributes of a trained run (experiment, seed, config hash, version, gamma, units)."""
    return {
        "experiment": experiment,
        "seed": t.config.seed,
        "config_hash": t.meta["config_hash"],
        "version": __version__,
        "gamma": t.config.gamma,
        "units": "h, c: a.u.; value, rpe: reward; step: agent steps",
    }


def eval_task(config, n_episodes: int, device: torch.device, variant: str | None = None):
    """The fixed test episodes of a config: its task of ``n_episodes`` slots seeded with ``config.seed +``
    :data:`EVAL_TASK_SEED_OFFSET` (the same episodes at every test of a run)."""
    return config.make_task(n_episodes, config.seed + EVAL_TASK_SEED_OFFSET, device, variant)


def eval_sampler(config, device: torch.device) -> torch.Generator:
    """The action sampler of the frozen-weight tests (its own stream, seeded from ``config.seed``)."""
    return make_generator(config.seed + EVAL_SAMPLER_SEED_OFFSET, device)


def episode_reward(record) -> float:
    """Mean total reward per test episode of a frozen evaluation (the ``reward`` metric)."""
    return float((record.reward * record.active).sum()) / record.reward.shape[1]


#: what the end of a run writes after training (its final test, summary and figures): an extension moves them into
#: ``extended_from_<episodes>/``, where they stay beside the network they came from
_FINAL_OUTPUTS = ("trials.parquet", "activations.nc", SUMMARY_FILE, "figures")


def extend_run(out: Path, episodes: int) -> None:
    """Raise the training length recorded in the run folder ``out`` to ``episodes``, for ``--resume`` to train on.

    Training is deterministic, so the extended run trains as one started with ``episodes`` would have (a run
    stopped by ``--until`` stays stopped); ``config.json`` lists the earlier lengths in ``extended_from``. The
    earlier end's final test, summary and figures move into ``extended_from_<before>/`` with a copy of its
    checkpoint, so nothing is lost, and the run counts as unfinished until the longer training and its test are
    done (``reproduce`` resumes it, a killed extension included). The run folder's lock is held throughout.

    Parameters
    ----------
    out : pathlib.Path
        The run folder.
    episodes : int
        The new training length.

    Raises
    ------
    FileNotFoundError
        If ``out`` holds no ``config.json``.
    ValueError
        If ``episodes`` is not more than the run's training length.
    metarl_neuro.run.RunFolderLocked
        (an ``OSError``) If another process writes ``out``.
    """
    run = Run(out)
    if not (run.path / "config.json").exists():
        raise FileNotFoundError(f"--extend: no run at {out} (no config.json)")
    with run.writer():
        meta = dict(run.meta)
        before = int(meta["config"]["episodes"])
        if episodes <= before:
            raise ValueError(f"--extend {episodes}: the run at {out} already trains for {before} episodes")
        done = [run.path / f for f in _FINAL_OUTPUTS if (run.path / f).exists()]
        if done:
            keep = run.path / f"extended_from_{before}"
            keep.mkdir(exist_ok=True)
            if (run.path / "checkpoint.pt").exists():
                shutil.copy2(run.path / "checkpoint.pt", keep / "checkpoint.pt")
            for f in done:
                f.replace(keep / f.name)
        config = dataclasses.replace(run.config, episodes=int(episodes))
        meta.update(config=config.to_dict(), config_hash=config_hash(config),
                    extended_from=[*meta.get("extended_from", []), before])
        run.save_meta(meta)


def agent_device(agent: A2CLSTM) -> torch.device:
    """Device of an agent's parameters."""
    return next(agent.parameters()).device
