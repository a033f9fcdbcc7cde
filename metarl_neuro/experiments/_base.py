"""What every experiment shares: the config fields and their checks, the registry entry (:class:`Experiment`),
building the task and agent, training with checkpoints and resume, and the frozen-weight tests' seeds.

An experiment module (one per experiment, :mod:`metarl_neuro.experiments`) defines its config dataclass (a
subclass of :class:`TrainingConfig`), its simulation, its report and its per-seed summary, and ends with
``EXPERIMENT = Experiment(...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from metarl_neuro import __version__
from metarl_neuro.agents import (
    A2CLSTM,
    A2CSettings,
    ConvA2CLSTM,
    RPEInputA2C,
    TrainState,
    train,
)
from metarl_neuro.run import Run, load_checkpoint
from metarl_neuro.tasks._protocol import make_generator

__all__ = [
    "EVAL_SAMPLER_SEED_OFFSET",
    "EVAL_TASK_SEED_OFFSET",
    "TRAIN_SAMPLER_SEED_OFFSET",
    "Claim",
    "Experiment",
    "TrainingConfig",
    "a2c_settings",
    "agent_device",
    "build",
    "check_init_from",
    "config_hash",
    "episode_reward",
    "eval_sampler",
    "eval_task",
    "extend_run",
    "option",
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
    """

    metric: str
    paper: str
    holds: Callable[[dict], bool] | None = None


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
    options, cli : callable or None
        ``options(parser)`` adds experiment-only command-line options; ``cli(config, args) -> Path`` replaces
        the default ``simulate(config, args.out or default_out(config), ...)``.
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
    options: Callable[[argparse.ArgumentParser], None] | None = None
    cli: Callable[..., Path] | None = None

    def default_out(self, config) -> Path:
        """``runs/<name>/seed<seed>``, the run folder when ``--out`` is not given."""
        return Path("runs") / self.name / f"seed{config.seed}"


def option(default, help: str, **kw):
    """A config field with its default and help text (``help`` gives the source of the default: the paper, or
    "our choice" and why); ``kw`` may add ``choices``, ``metavar`` and ``default_help`` for the command line."""
    return field(default=default, metadata={"help": help, **kw})


_f = option


@dataclass(frozen=True)
class TrainingConfig:
    """Fields every experiment has: seed, training length, device and the A2C-LSTM's settings.

    Each experiment's config inherits them and redefines only those whose default (and its source) differ;
    ``__post_init__`` validates them (``ValueError`` naming the bad field).
    """

    seed: int = _f(0, "seed of the network initialisation, the task and the action samples")
    episodes: int = _f(20_000, "training episodes; 0 evaluates the untrained agent")
    batch: int = _f(16, "episodes simulated in parallel per update")
    device: str = _f("auto", "device: auto (cuda if available), cpu or cuda", choices=("auto", "cpu", "cuda"))
    hidden_size: int = _f(48, "LSTM units (W18 Methods)")
    lr: float = _f(3e-3, "RMSProp learning rate (our choice, tuned on the two-step task, see the README, Tuning; "
                   "W18 Methods: 7e-4)")
    gamma: float = _f(0.9, "discount factor per step (W18 Methods)")
    value_coef: float = _f(0.05, "weight beta_V of the value loss (W18 Methods)")
    entropy_coef: float = _f(0.05, "weight beta_e of the entropy bonus (W18 Methods)")
    unroll: int = _f(20, "BPTT unroll in steps per update (our choice; tuned on the bandits, see the README)")
    gae_lambda: float = _f(1.0, "GAE lambda; 1 gives the n-step returns of A2C (W18)")
    max_grad_norm: float = _f(50.0, "global gradient-norm clip (inf for none)")
    eval_episodes: int = _f(300, "frozen-weight test episodes (W18 Methods; Wang 2016, 3.1)")
    checkpoint_every_s: float = _f(120.0, "seconds between checkpoints")
    threads: int = _f(1, "torch CPU threads (1 measured fastest for the 48-unit networks)")
    eval_every: int = _f(0, "test the frozen network every this many training episodes on the fixed test episodes "
                         "of the final test (the learning curve, evaluations.csv); 0: never")
    until: str = _f("", "stop training once this criterion on the evaluations holds on --until-held consecutive "
                    "ones, e.g. gap>=0.3 (two-step), correct_2_6>=90 (Harlow), regret<thompson_regret (bandit); "
                    "needs --eval-every; --episodes stays the budget", metavar="METRIC>=VALUE")
    until_held: int = _f(2, "consecutive evaluations on which --until must hold (issue 14: 2)")

    #: metrics of the evaluations during training (``--until``); each experiment names its own
    METRICS: ClassVar[tuple[str, ...]] = ("reward",)

    def __post_init__(self):
        _validate(self, ("batch", "hidden_size", "unroll", "eval_episodes", "threads", "until_held"),
                  ("gamma", "gae_lambda"))
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0 (0: no evaluations during training), got {self.eval_every}")
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


def _validate(config, positive: tuple[str, ...], unit_interval: tuple[str, ...]) -> None:
    """Shared checks of the configs' ``__post_init__``; raise ``ValueError`` naming the bad field."""
    for name in positive:
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}")
    if config.episodes < 0:
        raise ValueError(f"episodes must be >= 0 (0: evaluate the untrained agent), got {config.episodes}")
    for name in unit_interval:
        if not 0.0 <= getattr(config, name) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {getattr(config, name)}")
    if config.lr <= 0:
        raise ValueError(f"lr must be > 0, got {config.lr}")
    for f in dataclasses.fields(config):  # NaN passes every comparison above
        v = getattr(config, f.name)
        if isinstance(v, float) and math.isnan(v):
            raise ValueError(f"{f.name} must be a number, got nan")
    if config.seed < 0:
        raise ValueError(f"seed must be >= 0 (numpy and torch seeds are unsigned), got {config.seed}")
    if not config.max_grad_norm > 0:  # a negative clip flips the gradient's sign in torch
        raise ValueError(f"max_grad_norm must be > 0 (inf for no clipping), got {config.max_grad_norm}")
    for name in ("value_coef", "entropy_coef"):
        if getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
    if not 0 <= config.checkpoint_every_s < math.inf:
        raise ValueError(f"checkpoint_every_s must be a number of seconds >= 0 (0: after every update), got "
                         f"{config.checkpoint_every_s}")
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        if choices and getattr(config, f.name) not in choices:
            raise ValueError(f"{f.name} must be one of {choices}, got {getattr(config, f.name)!r}")


def config_hash(config) -> str:
    """Short SHA-256 of the config's JSON form, identifying the run's settings."""
    text = json.dumps(dataclasses.asdict(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without CUDA raises ``ValueError``."""
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
                            stacked=getattr(config, "stacked", False)).to(device)
    elif getattr(config, "agent", "lstm") == "rpe-input":  # Wang 2018 Sim 6
        agent = RPEInputA2C(task.obs_dim, task.n_actions, config.hidden_size, gamma=config.gamma).to(device)
    else:
        agent = A2CLSTM(task.obs_dim, task.n_actions, config.hidden_size).to(device)
    optimizer = torch.optim.RMSprop(agent.parameters(), lr=config.lr, alpha=0.99, eps=1e-5)
    return agent, task, optimizer


def a2c_settings(config: TrainingConfig) -> A2CSettings:
    """The A2C update settings (unroll and loss weights) of a config."""
    return A2CSettings(
        config.unroll, config.gamma, config.gae_lambda, config.value_coef, config.entropy_coef, config.max_grad_norm
    )


class _Trained(NamedTuple):
    run: Run
    config: object
    agent: A2CLSTM
    device: torch.device
    meta: dict
    train_s: float
    episodes: int
    state: TrainState


def train_run(config, experiment: str, out: Path, resume: bool = False, progress: bool = True,
              evaluation: Callable | None = None) -> _Trained:
    """Training only, the shared part of every ``simulate``: run folder, config, checkpoints and resume.

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

    Returns
    -------
    NamedTuple
        ``run, config, agent, device, meta, train_s`` (seconds this session), ``episodes`` and ``state``
        (:class:`~metarl_neuro.agents.TrainState`: ``curve``, ``stopped``, ``wall_s``).

    Raises
    ------
    FileExistsError, FileNotFoundError
        As :func:`simulate_two_step`.
    """
    run = Run(out)
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
    meta = {
        **(run.meta if resume else {}),  # a resumed run keeps what its folder recorded (init_from_sha256, ...)
        "experiment": experiment,
        "config": config.to_dict(),
        "version": __version__,
        "config_hash": config_hash(config),
        "torch": torch.__version__,
    }
    run.save_meta(meta)

    torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    agent, task, optimizer = build(config, device, config.batch)
    sampler = make_generator(config.seed + TRAIN_SAMPLER_SEED_OFFSET, device)
    settings = a2c_settings(config)
    ckpt_path = run.path / "checkpoint.pt"
    state = None
    if resume and ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path, device)
        agent.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        task.load_state_dict(ckpt["task"])
        sampler.set_state(ckpt["sampler"].cpu())  # generator states are CPU byte tensors
        state = TrainState.from_state_dict(ckpt["train"])
        print(f"resumed from update {state.update} ({state.episodes} episodes)", file=sys.stderr)

    if state is None and getattr(config, "init_from", ""):
        meta["init_from_sha256"] = _init_from(agent, Path(config.init_from), device)
        run.save_meta(meta)  # the run folder names the network it started from

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

    t0 = time.perf_counter()
    evaluate = evaluation(config) if evaluation is not None and config.eval_every else None
    eval_every = config.eval_every if evaluate is not None else 0
    state = train(agent, task, optimizer, settings, config.episodes, sampler, state, checkpoint,
                  config.checkpoint_every_s, progress, evaluate, eval_every, config.criterion())
    if state.stopped:
        row = state.curve[-1]
        print(f"--until {config.until} held on {config.until_held} consecutive evaluations: training stopped at "
              f"{row['episodes']:,} episodes, {row['update']:,} updates, {row['wall_s']:.1f} s", file=sys.stderr)
    if progress:
        print(f"training done; now the {config.eval_episodes} frozen-weight test episodes, the analyses and the "
              "figures (no progress bar)", file=sys.stderr, flush=True)
    return _Trained(run, config, agent, device, meta, time.perf_counter() - t0, state.episodes, state)


#: config fields a network depends on beyond its weights' shapes: what its pixels and actions mean
_SENSORIMOTOR = {"fov": 90.0, "fine_look": 5, "saccade_look": 36}


def check_init_from(config) -> None:
    """Check a config's ``init_from`` run folder before anything is written.

    Raises
    ------
    FileNotFoundError
        If the folder holds no ``checkpoint.pt``.
    ValueError
        If its ``config.json`` cannot be read, or its run saw another field of view or action set (the weights
        would fit but mean something else); the message names the folder.
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
    differ = [f"{k} {source.get(k, d)} there, {getattr(config, k, d)} here" for k, d in _SENSORIMOTOR.items()
              if source.get(k, d) != getattr(config, k, d)]
    if differ:
        raise ValueError(f"--init-from: {folder} was trained with another view or action set ({'; '.join(differ)}); "
                         "pass the same options")


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
    bad = sorted(k for k in set(mine) | set(model) if k not in model or k not in mine or model[k].shape != mine[k].shape)
    if bad:
        raise ValueError(f"--init-from: the network in {path} does not match this run's (differs in {bad[:4]}); use "
                         "the same --hidden-size, --stacked, image size and action set (--fine-look, --saccade-look)")
    agent.load_state_dict(model)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_attrs(t: _Trained, experiment: str) -> dict:
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


def extend_run(out: Path, episodes: int) -> None:
    """Raise the training length recorded in the run folder ``out`` to ``episodes``, for ``--resume`` to train on.

    Training is deterministic, so the extended run trains as one started with ``episodes`` would have (a run
    stopped by ``--until`` stays stopped); ``config.json`` lists the earlier lengths in ``extended_from``.

    Raises
    ------
    FileNotFoundError
        If ``out`` holds no ``config.json``.
    ValueError
        If ``episodes`` is not more than the run's training length.
    """
    run = Run(out)
    if not (run.path / "config.json").exists():
        raise FileNotFoundError(f"--extend: no run at {out} (no config.json)")
    meta = dict(run.meta)
    before = int(meta["config"]["episodes"])
    if episodes <= before:
        raise ValueError(f"--extend {episodes}: the run at {out} already trains for {before} episodes")
    config = dataclasses.replace(run.config, episodes=int(episodes))
    meta.update(config=config.to_dict(), config_hash=config_hash(config),
                extended_from=[*meta.get("extended_from", []), before])
    run.save_meta(meta)


def agent_device(agent: A2CLSTM) -> torch.device:
    """Device of an agent's parameters."""
    return next(agent.parameters()).device
