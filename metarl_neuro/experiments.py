"""One frozen config dataclass per experiment; each field's metadata gives its help text and source.

The command line of :mod:`metarl_neuro.simulate` is generated from these fields, and the config is saved in
the run folder as ``config.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch

__all__ = [
    "EXPERIMENTS", "BanditConfig", "BehrensConfig", "BrombergMartinConfig", "Harlow1DConfig", "HarlowPixelsConfig",
    "PsychLabHarlowConfig", "StopperConfig", "TsutsuiConfig", "TwoStepConfig", "config_hash", "resolve_device",
]


def _f(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class _TrainingConfig:
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


@dataclass(frozen=True)
class TwoStepConfig(_TrainingConfig):
    """Two-step task experiment (Wang et al. 2018, Simulation 4, Fig. 5)."""

    episodes: int = _f(
        100_000,
        "training episodes at most: training stops earlier once --until holds (W18: 10k episodes one at a time); "
        "0 evaluates the untrained agent, the control of the activation analyses",
    )
    batch: int = _f(64, "episodes simulated in parallel per update (departure from our earlier 32, issue 14: with "
                    "gamma 0.5 and lr 7e-3 the default criterion held after 235-407 updates, 15-26k episodes (seeds "
                    "0-2), against 1,188-1,813 updates at batch 32, lr 3e-3, gamma 0.9; see the README, Speed)")
    lr: float = _f(7e-3, "RMSProp learning rate (our choice, issue 14: best of 5e-3 and 7e-3 at batch 64, 7e-3 and "
                   "1e-2 at batch 128, in updates to the criterion; W18 Methods: 7e-4)")
    gamma: float = _f(0.5, "discount factor per step (departure from W18's 0.9: a step is a whole trial here and its "
                      "reward comes at once; at batch 32, 0.5 and 0.3 reached the criterion in 594 updates, 0.9 in "
                      "1,407 (seed 0); README, Speed)")
    eval_every: int = _f(1000, "test the frozen network every this many training episodes on the 300 test episodes "
                         "of the final test (evaluations.csv; --until); 0: never")
    until: str = _f("gap>=0.3,rc>=0.95,ur>=0.95",
                    "stop training once this holds on --until-held consecutive tests (issue 14: the stay-pattern gap "
                    "min(rc, ur) - max(rr, uc) >= 0.3 with both model-based stays >= 0.95; the Bayes-optimal "
                    "observer's gap is 0.337); '' trains for all --episodes", metavar="METRIC>=VALUE")
    unroll: int = _f(100, "BPTT unroll in steps per update (W18: 100-300; one compressed episode)")
    structure: str = _f(
        "compressed",
        "trial structure: compressed (one step per trial) or paper (fixation, choice, cue, action; W18 Methods)",
        choices=("compressed", "paper"),
    )
    common_prob: float = _f(0.8, "probability of the common transition (W18 Fig. 5a)")
    reward_high: float = _f(0.9, "higher second-stage reward probability; the other state pays 1 - it (W18 Fig. 5a)")
    swap_prob: float = _f(0.025, "probability per trial that the two states swap reward probabilities (W18 Methods)")
    n_trials: int = _f(100, "trials per episode (W18 Methods)")
    agent: str = _f("lstm", "network: lstm (A2C-LSTM) or rpe-input (W18 Sim 6: RPE as the policy's input)",
                    choices=("lstm", "rpe-input"))

    #: P(stay) rewarded-common, rewarded-rare, unrewarded-common, unrewarded-rare; the stay-pattern gap
    #: min(rc, ur) - max(rr, uc) (README, Tuning); reward per trial
    METRICS: ClassVar[tuple[str, ...]] = ("gap", "rc", "rr", "uc", "ur", "reward")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("n_trials",), ("common_prob", "reward_high", "swap_prob"))

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """The config's :class:`~metarl_neuro.tasks.TwoStepTask` with ``batch_size`` episodes (``variant``
        is not used)."""
        from metarl_neuro.tasks import SwappingRewards, TwoStepTask

        return TwoStepTask(batch_size, common_prob=self.common_prob,
                           rewards=SwappingRewards(self.reward_high, self.swap_prob), n_trials=self.n_trials,
                           structure=self.structure, seed=seed, device=device, check_actions=False)


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


_BANDIT_VARIANTS = ("independent", "uniform", "easy", "medium", "hard", "restless", "eleven-arm")


@dataclass(frozen=True)
class BanditConfig(_TrainingConfig):
    """Bandit meta-learning (Wang et al. 2016, Sec. 3.1; Wang et al. 2018, Fig. 1)."""

    episodes: int = _f(
        -1,
        "training episodes; -1: 20,000 (Wang et al. 2016, Sec. 3.1), 100,000 for eleven-arm (5-trial episodes: "
        "500k steps, measured to learn the informative arm); 0 evaluates the untrained agent",
        default_help="-1, the variant's",
    )
    batch: int = _f(16, "episodes simulated in parallel per update (tuned, see the README, Bandits)")
    lr: float = _f(3e-3, "RMSProp learning rate (our choice: the two-step task's; on the bandits 5e-3 did worse, "
                   "see the README, Bandits; W18 Methods: 7e-4)")
    entropy_coef: float = _f(
        -1.0,
        "weight beta_e of the entropy bonus; -1: 0.05 (Wang 2018 Methods), 0.5 for eleven-arm (payoffs up to 5; "
        "with 0.05 the agent searched the arms one by one and never used the informative arm, measured)",
        default_help="-1, the variant's",
    )
    unroll: int = _f(20, "BPTT unroll in steps per update: 5 updates per 100-trial episode (tuned, see the README)")
    variant: str = _f("independent", "training bandit distribution (Wang 2016, 3.1.1-3.1.4)", choices=_BANDIT_VARIANTS)
    test_variant: str = _f("", "bandit distribution of the frozen test: " + ", ".join(_BANDIT_VARIANTS),
                           choices=("",) + _BANDIT_VARIANTS, default_help="the training variant", metavar="VARIANT")
    n_trials: int = _f(0, "trials per episode (0: the variant's, 100; 5 for eleven-arm; Wang 2016)",
                       default_help="0, the variant's")
    volatility_low: float = _f(0.02, "restless: SD per trial of the random walk in low-volatility episodes "
                               "(our choice; see BanditTask)")
    volatility_high: float = _f(0.2, "restless: SD per trial of the random walk in high-volatility episodes "
                                "(our choice; see BanditTask)")

    #: mean cumulative regret at the last trial of the agent and of Thompson sampling on the same test episodes
    METRICS: ClassVar[tuple[str, ...]] = ("regret", "thompson_regret")

    def __post_init__(self):
        eleven = self.variant == "eleven-arm"
        if self.episodes == -1:  # variant defaults, resolved so that config.json holds the values used
            object.__setattr__(self, "episodes", 100_000 if eleven else 20_000)
        if self.entropy_coef == -1.0:
            object.__setattr__(self, "entropy_coef", 0.5 if eleven else 0.05)
        if self.entropy_coef < 0:
            raise ValueError(f"entropy_coef must be >= 0 (or -1 for the variant's default), got {self.entropy_coef}")
        super().__post_init__()
        _validate(self, (), ("volatility_low", "volatility_high"))
        if self.n_trials < 0:
            raise ValueError(f"n_trials must be >= 0 (0: the variant's default), got {self.n_trials}")

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.BanditTask` of ``variant`` (default: the training variant)."""
        from metarl_neuro.tasks import BanditTask

        v = (variant or self.variant).replace("-", "_")
        return BanditTask(batch_size, v, n_trials=self.n_trials or None,
                          volatility=(self.volatility_low, self.volatility_high), seed=seed, device=device,
                          check_actions=False)


@dataclass(frozen=True)
class Harlow1DConfig(_TrainingConfig):
    """1-D Harlow learning-to-learn task (Wang et al. 2018, Simulation 5; issue 6's 1-D form)."""

    episodes: int = _f(50_000, "training episodes (our choice, measured: trials 2-6 reach >= 90% correct); 0: untrained")
    batch: int = _f(32, "episodes simulated in parallel per update")
    eval_episodes: int = _f(500, "frozen-weight test episodes on held-out objects (issue 6)")
    n_trials: int = _f(6, "trials per episode (Harlow 1949; Wang 2018 Sim 5)")
    max_steps: int = _f(250, "step limit per episode")
    eval_every: int = _f(10_000, "test the frozen network on eval_episodes / 5 held-out episodes every this many "
                         "training episodes (the learning curve by training stage, Wang 2018 Fig. 6c; "
                         "evaluations.csv and learning_curve.parquet); 0: never")

    #: percent correct on trial 1 and on trials 2-6 of the held-out test episodes
    METRICS: ClassVar[tuple[str, ...]] = ("correct_1", "correct_2_6")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("n_trials", "max_steps"), ())

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A 1-D :class:`~metarl_neuro.tasks.HarlowTask`; ``variant="test"`` draws the held-out objects."""
        from metarl_neuro.tasks import HarlowTask

        return HarlowTask(batch_size, "1d", stimuli=variant or "train", n_trials=self.n_trials,
                          max_steps=self.max_steps, seed=seed, device=device, check_actions=False)


@dataclass(frozen=True)
class _GazeConfig(_TrainingConfig):
    """Fields shared by the PsychLab Harlow level and its torch surrogate: the conv-LSTM agent and the action set."""

    batch: int = _f(32, "episodes simulated in parallel per update")
    hidden_size: int = _f(256, "LSTM units (Wang 2018 Sim 5)")
    lr: float = _f(2.5e-4, "RMSProp learning rate (departure from W18's 7e-4: 7e-4 to 1.4e-3 learned to complete "
                   "trials and then fell back to a near-uniform policy; 2.5e-4 kept it, issue 6/17 runs)")
    max_grad_norm: float = _f(1.0, "global gradient-norm clip (departure: 50, the small networks' default, let the "
                              "conv agent's policy collapse; 1 kept it, issue 6/17 runs)")
    threads: int = _f(2, "torch CPU threads (the conv net uses both cores)")
    fine_look: int = _f(5, "look units per frame of the fine gaze step (2.1 deg per 4-frame step, under the 4.3-deg "
                        "fixation trigger; our choice, see the README's ladder); 0: no fine step")
    saccade_look: int = _f(36, "look units per frame of the saccade (15.2 deg per step: cross centre to image "
                           "centre; our choice, see the README's ladder); 0: no saccade")
    episode_seconds: float = _f(20.0, "episode time limit in seconds of the level's 60 fps (departure: the level's "
                                "is 300 s; our choice, see the README's ladder)")
    stacked: bool = _f(False, "stacked two-LSTM agent (Wang 2016 Fig. 1d) instead of one LSTM")
    init_from: str = _f("", "run folder (harlow-pixels or psychlab-harlow) whose trained network starts this run: a "
                        "curriculum stage, or the surrogate's network on the real level")
    fov: float = _f(45.0, "horizontal field of view of the agent's view in degrees (departure: Wang 2016's 84 x 84 "
                    "frame sees the level's whole 90; 45 is the central 84 x 84 of a 204 x 204 render, so the images "
                    "are 49 px instead of 20; the gaze geometry is the same. At 90 no seed bound the images to "
                    "reward within 150k episodes; at 45 they did: see the README's ladder)")

    def __post_init__(self):
        super().__post_init__()
        if min(self.fine_look, self.saccade_look) < 0 or max(self.fine_look, self.saccade_look) < 1:
            raise ValueError(f"fine_look and saccade_look must be >= 0 and not both 0, got {self.fine_look}, "
                             f"{self.saccade_look}")
        if not self.episode_seconds > 0:
            raise ValueError(f"episode_seconds must be > 0, got {self.episode_seconds}")
        if not 10 <= self.fov <= 90:
            raise ValueError(f"fov must be in [10, 90] degrees, got {self.fov}")

    def look_units(self) -> tuple[int, ...]:
        """The action set's look sizes (:func:`~metarl_neuro.tasks.harlow_pixels.look_actions`)."""
        return tuple(u for u in (self.fine_look, self.saccade_look) if u > 0)


@dataclass(frozen=True)
class HarlowPixelsConfig(_GazeConfig):
    """Pixel Harlow task: the torch surrogate of DeepMind Lab's PsychLab level, conv-LSTM agent (Wang et al.
    2018, Simulation 5; issue 17)."""

    episodes: int = _f(60_000, "training episodes (our choice: with the defaults seeds 0-2 bound images to reward by "
                       "24k and ended at >= 80% on held-out trials 2-6; about 40 min on one core; see the README's "
                       "ladder)")
    eval_episodes: int = _f(200, "frozen-weight test episodes on held-out images")
    stimuli: str = _f("dmlab-dummy", "stimulus images: 'dmlab-dummy' (the level's datasetPath=dummy colours: ids "
                      "1-1000 train, 1001-2000 held out), 'procedural' (576 shapes, 20% held out) or a folder of "
                      "PNGs (e.g. Brady et al. 2008's)")
    rewards: str = _f("dmlab", "rewards: dmlab (+1, +5, -5) or wang2016 (+0.2, +1, -1)", choices=("dmlab", "wang2016"))
    start_range: float = _f(22.5, "start gaze uniform in +- this many degrees (the level's; 0: start on the cross)")
    train_sides: str = _f("random", "rewarded sides in training episodes: random (a coin per trial; departure: the "
                          "level's shuffled L L L R R R lets side counting alone reach 72% on trials 2-6, and every "
                          "run trained on it counted first, one seed still at 189k episodes; see the README's ladder) "
                          "or level. The tests always use the level's sides", choices=("level", "random"))
    view: int = _f(84, "side of the rendered view in pixels (Wang 2016: 84)")
    eval_every: int = _f(12_000, "test the frozen network on eval_episodes / 5 held-out episodes every this many "
                         "training episodes (the learning curve by training stage, Wang 2018 Fig. 6c; "
                         "evaluations.csv and learning_curve.parquet); 0: never")

    METRICS: ClassVar[tuple[str, ...]] = ("correct_1", "correct_2_6")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("view",), ())
        if self.start_range < 0:
            raise ValueError(f"start_range must be >= 0, got {self.start_range}")

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A pixel :class:`~metarl_neuro.tasks.HarlowTask`; ``variant="test"`` draws the held-out images, with the
        level's sides whatever ``train_sides``."""
        from metarl_neuro.tasks import HarlowTask
        from metarl_neuro.tasks.harlow_pixels import LEVEL, dmlab_dummy_stimuli, load_stimuli

        kw = {"geometry": dataclasses.replace(LEVEL, fov_deg=self.fov)}
        if self.stimuli == "dmlab-dummy":
            kw.update(images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5)
        elif self.stimuli != "procedural":
            kw.update(images=load_stimuli(self.stimuli))
        return HarlowTask(batch_size, "pixels", stimuli=variant or "train", view=self.view,
                          look_units=self.look_units(), start_range_deg=self.start_range, rewards=self.rewards,
                          sides=self.train_sides if variant != "test" else "level",
                          episode_frames=round(self.episode_seconds * 60), seed=seed, device=device,
                          check_actions=False, **kw)


@dataclass(frozen=True)
class PsychLabHarlowConfig(_GazeConfig):
    """DeepMind Lab's PsychLab Harlow level (Wang et al. 2018, Simulation 5); needs ``deepmind_lab``."""

    episodes: int = _f(20_000, "training episodes (our choice; Wang 2018 trained far longer, on GPUs); 0 evaluates "
                       "the untrained (or --init-from) agent")
    batch: int = _f(16, "Lab instances stepped in parallel (about 75 MiB each)")
    eval_episodes: int = _f(100, "frozen-weight test episodes (played --batch at a time)")
    width: int = _f(84, "observation width in pixels (Wang 2016)")
    height: int = _f(84, "observation height in pixels (Wang 2016)")
    dataset_path: str = _f("", "the level's datasetPath: 'dummy' (its solid-colour images) or the folder of the "
                           "Brady et al. 2008 images (0001.png ...)")

    METRICS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("width", "height"), ())
        if self.eval_every:
            raise ValueError("--eval-every is not available for psychlab-harlow: train on harlow-pixels with "
                             "--eval-every and test the network here with --init-from")

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.PsychLabHarlow` of ``batch_size`` Lab instances (raises
        ``ImportError`` with build instructions when ``deepmind_lab`` is missing)."""
        from metarl_neuro.tasks import PsychLabHarlow

        return PsychLabHarlow(batch_size, self.dataset_path, self.width, self.height,
                              look_units=self.look_units(), episode_seconds=self.episode_seconds, fov=self.fov,
                              seed=seed, device=device)


@dataclass(frozen=True)
class _CuedConfig(_TrainingConfig):
    """Fields shared by the fixation / left / right simulations of Wang et al. 2018 (Sims 1, 2, 3, 6)."""

    agent: str = _f("lstm", "network: lstm (A2C-LSTM) or rpe-input (Wang 2018 Sim 6: RPE as the policy's input, "
                    "separate value and policy LSTMs)", choices=("lstm", "rpe-input"))
    fixation_reward: float = _f(0.0, "reward of a valid fixation (our choice)")
    invalid_reward: float = _f(-1.0, "reward of an invalid action (W18 Methods)")

    def _task_kwargs(self, seed: int, device) -> dict:
        return {"fixation_reward": self.fixation_reward, "invalid_reward": self.invalid_reward, "seed": seed,
                "device": device, "check_actions": False}


@dataclass(frozen=True)
class TsutsuiConfig(_CuedConfig):
    """Baited two-armed bandit and matching (Wang et al. 2018, Simulation 1, Fig. 2; Tsutsui et al. 2016)."""

    p_sum: float = _f(0.5, "p0(L) + p0(R) (W18 Sim 1)")
    min_trials: int = _f(50, "shortest episode in trials (W18 Sim 1)")
    max_trials: int = _f(100, "longest episode in trials (W18 Sim 1)")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("min_trials", "max_trials"), ("p_sum",))

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.TsutsuiTask`; ``variant="test"`` draws p0(L) from [0, p_sum]."""
        from metarl_neuro.tasks import TsutsuiTask

        return TsutsuiTask(batch_size, test=variant == "test", p_sum=self.p_sum,
                           train_ranges=tuple((a * self.p_sum / 0.5, b * self.p_sum / 0.5)
                                              for a, b in TsutsuiTask.TRAIN_RANGES),
                           n_trials=(self.min_trials, self.max_trials), **self._task_kwargs(seed, device))


@dataclass(frozen=True)
class BehrensConfig(_CuedConfig):
    """Stable and volatile periods (Wang et al. 2018, Simulation 2, Fig. 3; Behrens et al. 2007)."""

    lr: float = _f(3e-3, "RMSProp learning rate (our choice, as the other simulations; W18 Sim 2: 5e-5, which left "
                   "the agent choosing at chance after 14k episodes here, measured)")
    episodes: int = _f(10_000, "training episodes of 2 blocks (our choice: 4M steps, under 3 min on 2 CPU cores)")
    block_trials: int = _f(100, "trials per block; an episode is one stable and one volatile block (our choice)")
    stable_p: float = _f(0.75, "reward probability of the better arm in a stable block (Behrens et al. 2007)")
    volatile_p: float = _f(0.8, "reward probability of the better arm in a volatile block (Behrens et al. 2007)")
    reversal_min: int = _f(20, "fewest trials between reversals in a volatile block (our choice; mean ~25)")
    reversal_max: int = _f(30, "most trials between reversals in a volatile block (our choice; mean ~25)")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("block_trials", "reversal_min", "reversal_max"), ("stable_p", "volatile_p"))

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.BehrensTask` (block order random; ``variant`` not used)."""
        from metarl_neuro.tasks import BehrensTask

        return BehrensTask(batch_size, self.block_trials, self.stable_p, self.volatile_p,
                           (self.reversal_min, self.reversal_max), **self._task_kwargs(seed, device))


@dataclass(frozen=True)
class BrombergMartinConfig(_CuedConfig):
    """Reversal task and inferred value (Wang et al. 2018, Simulation 3, Fig. 4; Bromberg-Martin et al. 2010)."""

    n_trials: int = _f(100, "trials per episode (our choice)")
    block_min: int = _f(10, "fewest trials between reversals (our choice)")
    block_max: int = _f(30, "most trials between reversals (our choice)")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("n_trials", "block_min", "block_max"), ())

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.BrombergMartinTask` (``variant`` not used)."""
        from metarl_neuro.tasks import BrombergMartinTask

        return BrombergMartinTask(batch_size, self.n_trials, (self.block_min, self.block_max),
                                  **self._task_kwargs(seed, device))


@dataclass(frozen=True)
class StopperConfig(_CuedConfig):
    """Risky choice and simulated optogenetics on an RPE-input network (Wang et al. 2018, Simulation 6, Fig. 7)."""

    agent: str = _f("rpe-input", "network: rpe-input (W18 Sim 6) or lstm", choices=("lstm", "rpe-input"))
    entropy_coef: float = _f(0.2, "weight beta_e of the entropy bonus (our choice: payoffs up to 4; with W18's 0.05 "
                             "the policy became deterministic early and, in 1 of 3 seeds, always risky; measured)")
    n_trials: int = _f(50, "trials per episode (our choice)")
    small_reward: float = _f(1.0, "payoff of the certain lever (Stopper et al. 2014: 1 pellet)")
    large_reward: float = _f(4.0, "payoff of the risky lever when it pays (Stopper et al. 2014: 4 pellets)")
    risky_prob_high: float = _f(0.5, "risky lever's reward probability in half of the episodes (Stopper 2014)")
    risky_prob_low: float = _f(0.125, "risky lever's reward probability in the other half (Stopper 2014)")
    manipulation: float = _f(2.0, "size of the simulated optogenetic RPE offset: block subtracts it after risky "
                             "wins, stimulation adds it after risky losses (timing: Stopper 2014; size: our choice, half "
                             "the large reward; 1 left near-deterministic agents unmoved, measured)")

    def __post_init__(self):
        super().__post_init__()
        _validate(self, ("n_trials",), ("risky_prob_high", "risky_prob_low"))
        if self.manipulation < 0:
            raise ValueError(f"manipulation must be >= 0, got {self.manipulation}")

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A :class:`~metarl_neuro.tasks.StopperTask` (``variant`` not used)."""
        from metarl_neuro.tasks import StopperTask

        return StopperTask(batch_size, self.n_trials, self.small_reward, self.large_reward,
                           (self.risky_prob_high, self.risky_prob_low), **self._task_kwargs(seed, device))


#: experiment name on the command line -> config class
EXPERIMENTS = {
    "two-step": TwoStepConfig,
    "bandit": BanditConfig,
    "harlow-1d": Harlow1DConfig,
    "harlow-pixels": HarlowPixelsConfig,
    "psychlab-harlow": PsychLabHarlowConfig,
    "tsutsui": TsutsuiConfig,
    "behrens": BehrensConfig,
    "bromberg-martin": BrombergMartinConfig,
    "stopper": StopperConfig,
}


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
