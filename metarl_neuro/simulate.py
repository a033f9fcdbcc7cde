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
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from metarl_neuro import __version__
from metarl_neuro.agents import (
    A2CLSTM,
    A2CSettings,
    ConvA2CLSTM,
    RPEInputA2C,
    TrainState,
    baselines,
    concat_records,
    rpe_manipulation,
    run_frozen,
    train,
)
from metarl_neuro.analysis import (
    cumulative_regret,
    plot_frames,
    plot_harlow_episode,
    plot_regret_matrix,
    stay_probability,
)
from metarl_neuro.analyze import (
    HARLOW_TEST_IMAGES,
    bandit_report,
    harlow_report,
    save_figures,
    two_step_report,
)
from metarl_neuro.experiments import (
    EXPERIMENTS,
    BanditConfig,
    Harlow1DConfig,
    HarlowPixelsConfig,
    PsychLabHarlowConfig,
    TwoStepConfig,
    config_hash,
    resolve_device,
)
from metarl_neuro.logs import (
    activations_dataset,
    bandit_trials,
    choice_trials,
    harlow_trials,
    two_step_trials,
)
from metarl_neuro.run import Run, atomic_write, load_checkpoint
from metarl_neuro.tasks._protocol import make_generator

__all__ = [
    "EVALUATIONS",
    "bandit_baselines",
    "build",
    "check_init_from",
    "cross_test_bandit",
    "evaluate_bandit",
    "extend_run",
    "main",
    "simulate_bandit",
    "simulate_cued",
    "simulate_harlow",
    "simulate_psychlab",
    "simulate_two_step",
    "train_run",
]

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


def a2c_settings(config: TwoStepConfig) -> A2CSettings:
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


def _attrs(t: _Trained, experiment: str) -> dict:
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


def two_step_metrics(trials: pd.DataFrame) -> dict:
    """The stay probabilities ``rc, rr, uc, ur`` (rewarded / unrewarded x common / rare) of a two-step trial
    table and the stay-pattern gap ``min(rc, ur) - max(rr, uc)`` (README, Tuning; the Bayes-optimal observer's
    is 0.337). A cell without trials is NaN, and so is the gap."""
    p = stay_probability(trials).set_index(["rewarded", "transition"])["p_stay"]
    rc, rr, uc, ur = (float(p.get(k, np.nan)) for k in ((True, "common"), (True, "rare"), (False, "common"),
                                                          (False, "rare")))
    return {"gap": min(rc, ur) - max(rr, uc), "rc": rc, "rr": rr, "uc": uc, "ur": ur}


def _two_step_evaluate(config: TwoStepConfig) -> Callable:
    """The tests during training (``--eval-every``): the final test's episodes, their stay metrics."""
    def evaluate(agent, state) -> dict:
        dev = agent_device(agent)
        record = run_frozen(agent, eval_task(config, config.eval_episodes, dev), eval_sampler(config, dev))
        return {**two_step_metrics(two_step_trials(record, "test")), "reward": episode_reward(record)}
    return evaluate


def simulate_two_step(config: TwoStepConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train, evaluate with frozen weights, write the run folder and print the two-step analyses.

    The analyses (:func:`metarl_neuro.analyze.two_step_report`): stay probabilities, one-back and lagged
    stay regressions and the daw2011 hybrid fit of the agent's test trials, with the figures
    ``figures/stay_probability.png`` and ``figures/lagged_regression.png``.

    Parameters
    ----------
    config : TwoStepConfig
        The experiment (ignored in favour of the saved one when resuming).
    out : pathlib.Path
        Run folder.
    resume : bool
        Continue from ``out/checkpoint.pt`` with the config saved in ``out/config.json``.
    progress : bool
        Show the progress bar.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    FileExistsError
        If ``out`` already holds a run and ``resume`` is False.
    FileNotFoundError
        If ``resume`` is True and ``out`` holds no ``config.json``.
    """
    t = train_run(config, "two-step", out, resume, progress, _two_step_evaluate)
    run, config = t.run, t.config
    # Frozen-weight evaluation on episodes of its own seed.
    record = run_frozen(t.agent, eval_task(config, config.eval_episodes, t.device), eval_sampler(config, t.device))
    trials = two_step_trials(record, subject=run.path.name)
    acts = activations_dataset(record, config.gamma, _attrs(t, "two-step"))
    run.save_trials(trials)
    run.save_activations(acts)

    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    # the agent is one subject with thousands of trials, whose likelihood has one clear optimum: 10 random starts
    # (the adaptive ones agree with them; python -m metarl_neuro.analyze RUN runs those)
    two_step_report(trials, config.common_prob, run.path / "figures", f"two-step, {run.path.name}", starts="random")
    return run.path


#: the variants of the cross-test matrix (Wang et al. 2016, Fig. 2f)
CROSS_TEST_VARIANTS = ("independent", "uniform", "easy", "medium", "hard")


def bandit_baselines(variant: str, batch_size: int, n_trials: int, seed: int) -> list:
    """Fresh baseline policies for a bandit variant (:mod:`metarl_neuro.agents.baselines`).

    Two-armed Bernoulli variants get UCB1, Thompson sampling and the Gittins index policy (discount 0.9);
    ``independent`` and the dependent ``uniform``/``easy``/``medium``/``hard`` also the exact finite-horizon
    Bayes-optimal policy; ``restless`` a Rescorla-Wagner learner instead of the Bayes-optimal one. The
    eleven-arm task has no baseline here (none of these policies applies to its deterministic payoffs).
    """
    v = variant.replace("-", "_")
    if v == "eleven_arm":
        return []
    out = [baselines.UCB1(batch_size, seed=seed), baselines.Thompson(batch_size, seed=seed),
           baselines.Gittins(batch_size, seed=seed, max_pulls=n_trials)]
    if v == "restless":
        out.append(baselines.RescorlaWagner(batch_size, seed=seed))
    else:
        out.append(baselines.BayesOptimal(batch_size, v, n_trials, seed=seed))
    return out


def evaluate_bandit(agent: A2CLSTM, config: BanditConfig, device: torch.device, variant: str, subject: str,
                    with_baselines: bool = True):
    """Frozen-weight test of a bandit agent, and of the baselines on the same episodes.

    The agent and every baseline play tasks built with the same seed (``config.seed +
    EVAL_TASK_SEED_OFFSET``); the task draws the episodes' arm means and each trial's reward noise whatever
    the choices, so every policy meets the same ``config.eval_episodes`` bandits.

    Returns
    -------
    trials : pandas.DataFrame
        Bandit trial table of all policies (``policy`` ``"meta-rl"`` for the agent).
    record : EvalRecord
        The agent's evaluation record (for the activations).
    """
    def task():
        return eval_task(config, config.eval_episodes, device, variant)

    record = run_frozen(agent, task(), eval_sampler(config, device))
    tables = [bandit_trials(record.log, subject, "meta-rl", record.active)]
    if with_baselines:
        t = task()
        for policy in bandit_baselines(variant, config.eval_episodes, t.n_trials, config.seed):
            tables.append(bandit_trials(baselines.run_policy(policy, task()), subject, policy.name))
    return pd.concat(tables, ignore_index=True), record


def _final_regret(trials: pd.DataFrame, policy: str) -> float:
    """Mean cumulative regret at the last trial of ``policy`` in a bandit trial table (NaN if it is absent)."""
    r = cumulative_regret(trials)
    r = r[(r["policy"] == policy) & (r["trial"] == r["trial"].max())]
    return float(r["mean"].iloc[0]) if len(r) else float("nan")


def _bandit_evaluate(config: BanditConfig) -> Callable:
    """The tests during training: the agent's regret at the last trial of the final test's episodes (of the
    test variant), and Thompson sampling's on the same episodes (computed once; NaN for eleven-arm)."""
    variant = config.test_variant or config.variant
    thompson: list[float] = []

    def evaluate(agent, state) -> dict:
        dev = agent_device(agent)
        if not thompson:
            t = eval_task(config, config.eval_episodes, dev, variant)
            policy = baselines.Thompson(config.eval_episodes, seed=config.seed)
            table = (bandit_trials(baselines.run_policy(policy, t), "test", policy.name)
                     if variant.replace("-", "_") != "eleven_arm" else None)
            thompson.append(_final_regret(table, policy.name) if table is not None else float("nan"))
        trials, _ = evaluate_bandit(agent, config, dev, variant, "test", with_baselines=False)
        return {"regret": _final_regret(trials, "meta-rl"), "thompson_regret": thompson[0]}
    return evaluate


def simulate_bandit(config: BanditConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train a meta-RL agent on a bandit distribution, test it and the baselines, write the run folder.

    The test (``config.test_variant``, default the training variant) runs ``config.eval_episodes`` episodes
    with frozen weights and the baselines of :func:`bandit_baselines` on the same episodes; the trial table
    holds them all. The report (:func:`metarl_neuro.analyze.bandit_report`) prints the cumulative regret at
    the last trial with 95% CIs and the suboptimal pulls (and, restless, Rescorla-Wagner fits by
    volatility) and writes ``figures/regret.png``.

    Parameters
    ----------
    config : BanditConfig
        The experiment (ignored in favour of the saved one when resuming).
    out : pathlib.Path
        Run folder.
    resume : bool
        Continue from ``out/checkpoint.pt``.
    progress : bool
        Show the progress bar.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    FileExistsError, FileNotFoundError
        As :func:`simulate_two_step`.
    """
    t = train_run(config, "bandit", out, resume, progress, _bandit_evaluate)
    run, config = t.run, t.config
    test_variant = config.test_variant or config.variant
    trials, record = evaluate_bandit(t.agent, config, t.device, test_variant, run.path.name)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, {**_attrs(t, "bandit"), "variant": test_variant}))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes; "
          f"trained on {config.variant}, tested on {test_variant})")
    bandit_report(trials, run.path / "figures", f"{config.variant} -> {test_variant}, {run.path.name}")
    return run.path


def cross_test_bandit(config: BanditConfig, out: Path, progress: bool = True) -> pd.DataFrame:
    """Train one agent per variant of :data:`CROSS_TEST_VARIANTS` and test each on all of them.

    Each training variant gets its own run folder ``out/train-<variant>`` (resumed if it is already
    there); the matrix of mean cumulative regret at the last trial (rows: training variant; columns: test
    variant; Wang et al. 2016, Fig. 2f) is written to ``out/regret_matrix.csv`` and
    ``out/figures/regret_matrix.png``.

    Returns
    -------
    pandas.DataFrame
        The regret matrix.
    """
    out = Path(out)
    rows = {}
    for v in CROSS_TEST_VARIANTS:
        cfg = dataclasses.replace(config, variant=v, test_variant="")
        folder = out / f"train-{v}"
        resume = (folder / "config.json").exists()
        if not (resume and (folder / "trials.parquet").exists()):
            simulate_bandit(cfg, folder, resume=resume, progress=progress)
        agent = Run.load(folder).agent
        row = {}
        for test in CROSS_TEST_VARIANTS:
            trials, _ = evaluate_bandit(agent, cfg, torch.device("cpu"), test, folder.name, with_baselines=False)
            row[test] = _final_regret(trials, "meta-rl")
        rows[v] = row
    matrix = pd.DataFrame.from_dict(rows, orient="index")
    matrix.index.name, matrix.columns.name = "train", "test"
    atomic_write(out / "regret_matrix.csv", lambda p: matrix.to_csv(p))
    save_figures(out / "figures", [("regret_matrix", plot_regret_matrix(matrix, title="cumulative regret at trial 100"))])
    print("\nCumulative regret at the last trial (rows: trained on; columns: tested on):")
    print(matrix.round(2).to_string())
    return matrix


def simulate_harlow(config: Harlow1DConfig | HarlowPixelsConfig, out: Path, resume: bool = False,
                    progress: bool = True) -> Path:
    """Train on the 1-D or pixel Harlow task, test on held-out objects during and after training, write the run folder.

    A pixel config's ``init_from`` starts from another run's network (a curriculum stage; its
    ``checkpoint.pt``'s SHA-256 goes into ``config.json``).

    Every ``config.eval_every`` training episodes, ``config.eval_episodes // 5`` frozen-weight episodes on
    held-out objects (``HarlowTask(stimuli="test")``, the same ones each time) give the learning curve
    (``evaluations.csv``: ``correct_1`` and ``correct_2_6`` in percent; ``config.until`` can stop training on
    it, e.g. ``correct_2_6>=90``); the final test runs ``config.eval_episodes`` episodes. ``trials.parquet``
    holds all of them, with the ``training_episodes`` of the agent that played; the activations are the final
    test's. The report prints :func:`~metarl_neuro.analysis.harlow_performance` and writes
    ``figures/harlow_performance.png`` (Wang et al. 2018, Fig. 6c).

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    FileExistsError, FileNotFoundError
        As :func:`simulate_two_step`.
    """
    check_init_from(config)  # before the run folder
    curve_path = Path(out) / "learning_curve.parquet"
    curve = [pd.read_parquet(curve_path)] if resume and curve_path.exists() else []

    def keep(table: pd.DataFrame) -> None:
        curve.append(table)
        both = _harlow_curve(curve)
        atomic_write(curve_path, lambda p: both.to_parquet(p, index=False))

    experiment = "harlow-pixels" if isinstance(config, HarlowPixelsConfig) else "harlow-1d"
    t = train_run(config, experiment, out, resume, progress,
                  lambda cfg: _harlow_evaluate(cfg, Path(out).name, on_table=keep))
    run, config = t.run, t.config
    final, record = harlow_test(config, t.agent, config.eval_episodes, t.episodes, run.path.name)
    # a test during training at the final episode count (the last stage, or where --until stopped) gives way
    # to the final test of the same network
    earlier = _harlow_curve(curve)
    earlier = [earlier[earlier["training_episodes"] != t.episodes]] if len(earlier) else []
    trials = pd.concat([*earlier, final], ignore_index=True)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, {**_attrs(t, experiment), "stimuli": "test"}))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    harlow_report(trials, run.path / "figures", f"Harlow {experiment[7:]}, {run.path.name}",
                  HARLOW_TEST_IMAGES[experiment])
    save_figures(run.path / "figures", [("harlow_episode", harlow_episode_strip(t.agent, config))])
    return run.path


def harlow_test(config, agent, n_episodes: int, training_episodes: int, subject: str):
    """``n_episodes`` frozen-weight Harlow test episodes on held-out objects (the same ones at every test of a
    run); returns the trial table (with ``training_episodes``) and the :class:`EvalRecord`."""
    dev = agent_device(agent)
    record = run_frozen(agent, eval_task(config, n_episodes, dev, "test"), eval_sampler(config, dev))
    return harlow_trials(record.log, record.active, subject, training_episodes), record


def _harlow_evaluate(config, subject: str = "test", on_table: Callable | None = None) -> Callable:
    """The tests during training: ``config.eval_episodes // 5`` held-out episodes, their percent correct;
    ``on_table`` receives each trial table."""
    def evaluate(agent, state) -> dict:
        table = harlow_test(config, agent, max(config.eval_episodes // 5, 1), state.episodes, subject)[0]
        if on_table is not None:
            on_table(table)
        return harlow_metrics(table)
    return evaluate


def _harlow_curve(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The learning-curve tests as one table, each (training_episodes, episode, trial) once: a test repeated
    after a resume (training is deterministic, so the same table) is kept once."""
    if not tables:
        return pd.DataFrame()
    both = pd.concat(tables, ignore_index=True)
    return both.drop_duplicates(["training_episodes", "episode", "trial"], keep="last", ignore_index=True)


def harlow_metrics(trials: pd.DataFrame) -> dict:
    """Percent correct on trial 1 (``correct_1``) and on trials 2-6 (``correct_2_6``; every trial after the
    first) of a Harlow trial table (NaN where there is none)."""
    first = trials["trial"] == 0
    return {"correct_1": 100 * float(trials.loc[first, "correct"].mean()) if first.any() else float("nan"),
            "correct_2_6": 100 * float(trials.loc[~first, "correct"].mean()) if (~first).any() else float("nan")}


@torch.inference_mode()
def harlow_episode_strip(agent: A2CLSTM, config: Harlow1DConfig):
    """Play one held-out 1-D Harlow episode with frozen weights and draw it as the agent saw it
    (:func:`~metarl_neuro.analysis.plot_harlow_episode`)."""
    device = agent_device(agent)
    task = build(config, device, 1, seed_offset=EVAL_TASK_SEED_OFFSET + 1, variant="test")[1]
    sampler = make_generator(config.seed + EVAL_SAMPLER_SEED_OFFSET + 1, device)
    obs, state = task.reset(), agent.initial_state(1, device)
    prev_a, prev_r = torch.full((1,), -1, dtype=torch.long, device=device), torch.zeros(1, device=device)
    seen, paid = [], []
    max_steps = config.max_steps if hasattr(config, "max_steps") else -(-round(config.episode_seconds * 60) // 4)
    for _ in range(max_steps):
        seen.append(obs[0].cpu().numpy())
        logits, _, state = agent(obs, prev_a, prev_r, state)
        a = torch.multinomial(torch.softmax(logits, -1), 1, generator=sampler).squeeze(-1)
        obs, r, done, _ = task.step(a)
        paid.append(float(r[0]))
        prev_a, prev_r = a, r
        if bool(done[0]):
            break
    if hasattr(task, "obs_shape"):
        return plot_frames(np.stack(seen), np.array(paid), title="one held-out test episode")
    return plot_harlow_episode(np.stack(seen), np.array(paid), task.code_size, title="one held-out test episode")


def simulate_psychlab(config: PsychLabHarlowConfig, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train (or only test) the conv-LSTM agent on DeepMind Lab's PsychLab Harlow level, frozen test after.

    Needs ``deepmind_lab`` (``ImportError`` with build instructions otherwise) and a valid ``dataset_path``
    (``ValueError`` saying how to get the images or to pass ``dummy``); both are checked before the run
    folder is written. ``config.init_from`` starts from another run's network, e.g. one trained on the
    surrogate (``harlow-pixels``, same action set and image size): with ``--episodes 0`` that network is
    tested frozen on the real level (transfer); with more, it is fine-tuned there first. The frozen test
    plays ``config.eval_episodes`` episodes, ``config.batch`` Lab instances at a time. Writes the run folder
    with the Harlow trial table, ``figures/harlow_performance.png`` and the activations.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    ImportError, ValueError, FileNotFoundError, FileExistsError
        As above, and as :func:`simulate_two_step`.
    """
    from metarl_neuro.tasks.psychlab import _import_lab, check_dataset_path

    check_dataset_path(config.dataset_path)  # fail before creating the run folder: the arguments first,
    check_init_from(config)
    _import_lab()  # then the machine
    t = train_run(config, "psychlab-harlow", out, resume, progress)
    run, config = t.run, t.config
    records, done = [], 0
    while done < config.eval_episodes:
        n = min(config.batch, config.eval_episodes - done)
        task = build(config, t.device, n, seed_offset=EVAL_TASK_SEED_OFFSET + 7919 * done)[1]
        sampler = make_generator(config.seed + EVAL_SAMPLER_SEED_OFFSET + done, t.device)
        records.append(run_frozen(t.agent, task, sampler))
        task.close()
        done += n
    record = concat_records(records)
    trials = harlow_trials(record.log, record.active, run.path.name, t.episodes)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, _attrs(t, "psychlab-harlow")))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    harlow_report(trials, run.path / "figures", f"PsychLab Harlow, {run.path.name}",
                  HARLOW_TEST_IMAGES["psychlab-harlow"])
    return run.path


#: the cued-choice simulations of Wang et al. 2018: experiment -> the paper's simulation
CUED_EXPERIMENTS = {"tsutsui": "Simulation 1", "behrens": "Simulation 2", "bromberg-martin": "Simulation 3",
                    "stopper": "Simulation 6"}
#: Stopper et al. 2014's manipulations: name -> (sign of the RPE offset, the risky outcome after which it acts)
MANIPULATIONS = {"block": (-1.0, "win"), "stimulate": (1.0, "loss")}


def _reward_evaluate(config) -> Callable:
    """The tests during training of the cued-choice simulations: reward per test episode."""
    def evaluate(agent, state) -> dict:
        dev = agent_device(agent)
        return {"reward": episode_reward(run_frozen(agent, eval_task(config, config.eval_episodes, dev, "test"),
                                                    eval_sampler(config, dev)))}
    return evaluate


def simulate_cued(config, experiment: str, out: Path, resume: bool = False, progress: bool = True) -> Path:
    """Train and test one of the fixation / left / right simulations of Wang et al. 2018 (Sims 1, 2, 3, 6).

    ``experiment`` is a key of :data:`CUED_EXPERIMENTS`. Training as every simulation (:func:`_train_run`);
    the frozen test runs ``config.eval_episodes`` episodes (``tsutsui``: on the test distribution of p0, which
    includes the held-out values). ``stopper`` tests the intact network and then the same network under each
    manipulation of :data:`MANIPULATIONS` (the RPE input decremented by ``config.manipulation`` after risky wins:
    block; incremented after risky losses: stimulation; Stopper et al. 2014, Wang 2018 Fig. 7), on the same
    test episodes; its trial table has a ``manipulation`` column. The report
    (:func:`metarl_neuro.analyze.cued_report`) prints the simulation's analyses, its one-line summary of the
    paper's effect, and writes its figures.

    Returns
    -------
    pathlib.Path
        The run folder.

    Raises
    ------
    ValueError
        For an unknown ``experiment``, or ``stopper`` without the RPE-input agent (checked before training).
    FileExistsError, FileNotFoundError
        As :func:`simulate_two_step`.
    """
    from metarl_neuro.analyze import cued_report

    if experiment not in CUED_EXPERIMENTS:
        raise ValueError(f"unknown cued-choice experiment {experiment!r}; choose from {sorted(CUED_EXPERIMENTS)}")
    if experiment == "stopper" and config.agent != "rpe-input":  # before any training
        raise ValueError("the stopper manipulations act on the RPE input: use --agent rpe-input")
    t = train_run(config, experiment, out, resume, progress, _reward_evaluate)
    run, config, agent = t.run, t.config, t.agent

    def test():
        task = eval_task(config, config.eval_episodes, t.device, "test")
        record = run_frozen(agent, task, eval_sampler(config, t.device))
        return choice_trials(record.log, record.active, run.path.name), record

    trials, record = test()
    if experiment == "stopper":
        tables = [trials.assign(manipulation="none")]
        risky_action = 1 + config.make_task(1, 0, "cpu").risky_side
        for name, (sign, when) in MANIPULATIONS.items():
            agent.manipulation = rpe_manipulation(risky_action, sign * config.manipulation, when)
            tables.append(test()[0].assign(manipulation=name))
        agent.manipulation = None
        trials = pd.concat(tables, ignore_index=True)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, _attrs(t, experiment)))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    cued_report(run, run.path / "figures")
    return run.path


#: experiment -> ``evaluation(config) -> evaluate(agent, state) -> dict`` of the tests during training
#: (``--eval-every``; the metrics are the config's ``METRICS``)
EVALUATIONS = {
    "two-step": _two_step_evaluate,
    "bandit": _bandit_evaluate,
    "harlow-1d": _harlow_evaluate,
    "harlow-pixels": _harlow_evaluate,
    **dict.fromkeys(CUED_EXPERIMENTS, _reward_evaluate),
}


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


def _add_config_options(parser: argparse.ArgumentParser, cls) -> None:
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
        else:
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), **kw)


def make_parser() -> argparse.ArgumentParser:
    """The command-line parser, generated from the config dataclasses of :mod:`metarl_neuro.experiments`."""
    parser = argparse.ArgumentParser(prog="python -m metarl_neuro.simulate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name, cls in EXPERIMENTS.items():
        aliases = [name.replace("-", "_")] if "-" in name and name in CUED_EXPERIMENTS else []
        p = sub.add_parser(name, help=cls.__doc__, description=cls.__doc__, aliases=aliases)
        _add_config_options(p, cls)
        p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<experiment>/seed<SEED>)")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
        p.add_argument("--extend", type=int, default=None, metavar="EPISODES",
                       help="with --resume: train on to EPISODES in all (more than the run's own length)")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        if name == "bandit":
            p.add_argument("--cross-test", action="store_true",
                           help="train one agent per variant (independent, uniform, easy, medium, hard) in "
                                "OUT/train-<variant> and write the train x test regret matrix (Wang 2016 Fig. 2f)")
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
    """Entry point of ``python -m metarl_neuro.simulate``."""
    args = make_parser().parse_args(argv)
    args.experiment = args.experiment.replace("_", "-")  # aliases: bromberg_martin
    cls = EXPERIMENTS[args.experiment]
    try:
        config = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
        progress = not args.no_progress
        if args.out is not None:
            _check_out(args.out)
        if args.extend is not None:
            if not args.resume or args.out is None:
                raise ValueError("--extend needs --resume and the run's --out")
            extend_run(args.out, args.extend)
        if args.experiment == "bandit":
            default = Path("runs") / "bandit" / ("cross-test" if args.cross_test else config.variant) / f"seed{config.seed}"
            out = args.out or default
            if args.cross_test:
                cross_test_bandit(config, out, progress=progress)
            else:
                simulate_bandit(config, out, resume=args.resume, progress=progress)
        elif args.experiment in CUED_EXPERIMENTS:
            out = args.out or Path("runs") / args.experiment / f"seed{config.seed}"
            simulate_cued(config, args.experiment, out, resume=args.resume, progress=progress)
        elif args.experiment == "psychlab-harlow":
            out = args.out or Path("runs") / args.experiment / f"seed{config.seed}"
            simulate_psychlab(config, out, resume=args.resume, progress=progress)
        elif args.experiment in ("harlow-1d", "harlow-pixels"):
            out = args.out or Path("runs") / args.experiment / f"seed{config.seed}"
            simulate_harlow(config, out, resume=args.resume, progress=progress)
        else:
            out = args.out or Path("runs") / args.experiment / f"seed{config.seed}"
            simulate_two_step(config, out, resume=args.resume, progress=progress)
    except (ValueError, OSError, ImportError) as err:  # OSError: FileExistsError, disk full, ...
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
