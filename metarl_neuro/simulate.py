"""``python -m metarl_neuro.simulate EXPERIMENT [options]``: train, evaluate with frozen weights, write a run folder.

Example::

    python -m metarl_neuro.simulate two-step --seed 1 --out runs/two-step/seed1

A run killed at any moment continues from its last checkpoint with the same command plus ``--resume``, and
ends with the same ``trials.parquet`` as an uninterrupted run (on CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from metarl_neuro import __version__
from metarl_neuro.agents import A2CLSTM, A2CSettings, TrainState, run_frozen, train
from metarl_neuro.analyze import two_step_report
from metarl_neuro.experiments import EXPERIMENTS, TwoStepConfig, config_hash, resolve_device
from metarl_neuro.logs import activations_dataset, two_step_trials
from metarl_neuro.run import Run
from metarl_neuro.tasks import SwappingRewards, TwoStepTask
from metarl_neuro.tasks._protocol import make_generator

__all__ = ["build", "main", "simulate_two_step"]

#: offsets that give the evaluation its own random streams, disjoint from training's
EVAL_TASK_SEED_OFFSET = 1_000_003
EVAL_SAMPLER_SEED_OFFSET = 2_000_003
TRAIN_SAMPLER_SEED_OFFSET = 3_000_017


def build(config: TwoStepConfig, device: torch.device, batch_size: int, seed_offset: int = 0):
    """Task, agent and optimiser of a two-step config.

    The network is initialised from ``torch.manual_seed(config.seed)``; the task's generator is seeded with
    ``config.seed + seed_offset``. The optimiser is RMSProp (W18 Methods) with ``alpha=0.99, eps=1e-5``.

    Returns
    -------
    agent : A2CLSTM
    task : TwoStepTask
    optimizer : torch.optim.RMSprop
    """
    task = TwoStepTask(
        batch_size,
        common_prob=config.common_prob,
        rewards=SwappingRewards(config.reward_high, config.swap_prob),
        n_trials=config.n_trials,
        structure=config.structure,
        seed=config.seed + seed_offset,
        device=device,
        check_actions=False,
    )
    torch.manual_seed(config.seed)
    agent = A2CLSTM(task.obs_dim, task.n_actions, config.hidden_size).to(device)
    optimizer = torch.optim.RMSprop(agent.parameters(), lr=config.lr, alpha=0.99, eps=1e-5)
    return agent, task, optimizer


def a2c_settings(config: TwoStepConfig) -> A2CSettings:
    """The A2C update settings (unroll and loss weights) of a config."""
    return A2CSettings(
        config.unroll, config.gamma, config.gae_lambda, config.value_coef, config.entropy_coef, config.max_grad_norm
    )


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
        "experiment": "two-step",
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
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        agent.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        task.load_state_dict(ckpt["task"])
        sampler.set_state(ckpt["sampler"].cpu())  # generator states are CPU byte tensors
        state = TrainState.from_state_dict(ckpt["train"])
        print(f"resumed from update {state.update} ({state.episodes} episodes)", file=sys.stderr)

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

    t0 = time.perf_counter()
    state = train(
        agent, task, optimizer, settings, config.episodes, sampler, state, checkpoint, config.checkpoint_every_s, progress
    )
    train_s = time.perf_counter() - t0

    # Frozen-weight evaluation on episodes of its own seed.
    eval_task = build(config, device, config.eval_episodes, seed_offset=EVAL_TASK_SEED_OFFSET)[1]
    record = run_frozen(agent, eval_task, make_generator(config.seed + EVAL_SAMPLER_SEED_OFFSET, device))
    trials = two_step_trials(record, subject=run.path.name)
    attrs = {
        "experiment": "two-step",
        "seed": config.seed,
        "config_hash": meta["config_hash"],
        "version": __version__,
        "gamma": config.gamma,
        "units": "h, c: a.u.; value, rpe: reward; step: agent steps",
    }
    acts = activations_dataset(record, config.gamma, attrs)
    run.save_trials(trials)
    run.save_activations(acts)

    print(f"run folder: {run.path}  (training {train_s:.0f} s this session, {state.episodes} episodes)")
    two_step_report(trials, config.common_prob, run.path / "figures", f"two-step, {run.path.name}")
    return run.path


def _add_config_options(parser: argparse.ArgumentParser, cls) -> None:
    for f in dataclasses.fields(cls):
        kw = {"default": f.default, "help": f"{f.metadata['help']} (default: %(default)s)"}
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), **kw)


def make_parser() -> argparse.ArgumentParser:
    """The command-line parser, generated from the config dataclasses of :mod:`metarl_neuro.experiments`."""
    parser = argparse.ArgumentParser(prog="python -m metarl_neuro.simulate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name, cls in EXPERIMENTS.items():
        p = sub.add_parser(name, help=cls.__doc__, description=cls.__doc__)
        _add_config_options(p, cls)
        p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<experiment>/seed<SEED>)")
        p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.simulate``."""
    args = make_parser().parse_args(argv)
    cls = EXPERIMENTS[args.experiment]
    try:
        config = cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
        out = args.out or Path("runs") / args.experiment / f"seed{config.seed}"
        simulate_two_step(config, out, resume=args.resume, progress=not args.no_progress)
    except (ValueError, FileExistsError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
