"""The 1-D Harlow learning-to-learn task (Wang et al. 2018, Simulation 5, Fig. 6c): config, trial table, the
simulation with held-out tests during training (the learning curve by training stage), report, summary.

The Harlow simulation and report here serve the pixel surrogate (:mod:`.harlow_pixels`) and the PsychLab level
(:mod:`.psychlab_harlow`) too.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from metarl_neuro.agents import A2CLSTM, run_frozen
from metarl_neuro.analysis import (
    decode_hidden,
    harlow_binding,
    harlow_performance,
    harlow_strategy,
    plot_frames,
    plot_harlow_episode,
    plot_harlow_performance,
)
from metarl_neuro.domains import AT_LEAST_ONE
from metarl_neuro.experiments._base import (
    EVAL_SAMPLER_SEED_OFFSET,
    EVAL_TASK_SEED_OFFSET,
    Claim,
    Experiment,
    TrainingConfig,
    agent_device,
    build,
    check_init_from,
    eval_sampler,
    eval_task,
    one_writer,
    option,
    run_attrs,
    train_run,
)
from metarl_neuro.logs import activations_dataset, trial_ends
from metarl_neuro.run import Run, atomic_write, save_figures
from metarl_neuro.tasks._protocol import make_generator

__all__ = [
    "EXPERIMENT", "HARLOW_TEST_IMAGES", "Harlow1DConfig", "harlow_hidden_report", "harlow_metrics", "harlow_report",
    "harlow_test",
    "harlow_test_images", "harlow_trials", "simulate_harlow",
]


@dataclass(frozen=True)
class Harlow1DConfig(TrainingConfig):
    """1-D Harlow learning-to-learn task (Wang et al. 2018, Simulation 5; issue 6's 1-D form)."""

    episodes: int = option(100_000, "training episodes (our choice, measured: at 100k, trials 2-6 reached 95.6-98.1% "
                          "correct in 8 of 8 seeds, where 50k left 2 of 8 short, one still binding at 70k); "
                          "0: untrained")
    batch: int = option(32, "episodes simulated in parallel per update")
    eval_episodes: int = option(500, "frozen-weight test episodes on held-out objects (issue 6)")
    n_trials: int = option(6, "trials per episode (Harlow 1949; Wang 2018 Sim 5)", domain=AT_LEAST_ONE)
    max_steps: int = option(250, "step limit per episode", domain=AT_LEAST_ONE)
    eval_every: int = option(10_000, "test the frozen network on eval_episodes / 5 held-out episodes every this many "
                         "training episodes (the learning curve by training stage, Wang 2018 Fig. 6c; "
                         "evaluations.csv and learning_curve.parquet); 0: never")

    #: percent correct on trial 1 and on trials 2-6 of the held-out test episodes
    METRICS: ClassVar[tuple[str, ...]] = ("correct_1", "correct_2_6")
    #: the experiment whose runs this config makes (``config.json``'s ``experiment``)
    NAME: ClassVar[str] = "harlow-1d"

    def __post_init__(self):
        super().__post_init__()

    def make_task(self, batch_size: int, seed: int, device: torch.device | str, variant: str | None = None):
        """A 1-D :class:`~metarl_neuro.tasks.HarlowTask`; ``variant="test"`` draws the held-out objects."""
        from metarl_neuro.tasks import HarlowTask

        return HarlowTask(batch_size, "1d", stimuli=variant or "train", n_trials=self.n_trials,
                          max_steps=self.max_steps, seed=seed, device=device, check_actions=False)


def harlow_trials(log: dict, active, subject: str, training_episodes: int) -> pd.DataFrame:
    """The Harlow trial table from a :class:`~metarl_neuro.tasks.HarlowTask` log.

    Parameters
    ----------
    log : dict of str to torch.Tensor
        ``(S, B)`` log fields (``EvalRecord.log``).
    active : torch.Tensor
        ``(S, B)`` bool, the steps of each slot's first episode.
    subject : str
        Value of the ``subject`` column.
    training_episodes : int
        Training episodes of the agent that played (the training stage).

    Returns
    -------
    pandas.DataFrame
        One row per completed trial: ``subject``, ``training_episodes``, ``episode`` (batch slot), ``trial``
        (0-based), ``choice`` (side reached, 0 left / 1 right), ``rewarded_side``, ``correct`` (bool),
        ``rewarded_object``, ``other_object`` (ids), ``step`` (step in the episode at which the object was
        reached).
    """
    steps, slots, pick = trial_ends(log, active.numpy())
    df = pd.DataFrame({
        "subject": pd.array([subject] * len(steps), dtype="string"),
        "training_episodes": np.full(len(steps), int(training_episodes), dtype="int64"),
        "episode": slots.astype("int64"),
        "trial": pick("trial").astype("int64"),
        "choice": pick("choice").astype("int64"),
        "rewarded_side": pick("rewarded_side").astype("int64"),
        "correct": pick("correct").astype(bool),
        "rewarded_object": pick("rewarded_object").astype("int64"),
        "other_object": pick("other_object").astype("int64"),
        "step": pick("step_in_episode").astype("int64"),
    })
    return df.sort_values(["episode", "trial"], kind="stable").reset_index(drop=True)


#: what the test images of each Harlow form are, for the report's heading; the PsychLab level's by its
#: ``dataset_path`` (``"psychlab-harlow"`` alone: a folder of the user's)
HARLOW_TEST_IMAGES = {
    "harlow-1d": "held-out objects",
    "harlow-pixels": "held-out images",
    "harlow-w16": "held-out images",
    "psychlab-harlow": "the level's draws, ids 1-1000, from the dataset folder given",
    "psychlab-harlow:dummy": "the level's dummy colours, ids 1-1000: the surrogate's training colours",
    "psychlab-harlow:dummy-heldout": "held-out images: the level's dummy colours 1001-2000, which the surrogate "
                                     "never trains on, in the level's draws",
}


def harlow_test_images(experiment: str, config) -> str:
    """What the test images of a Harlow run were (:data:`HARLOW_TEST_IMAGES`), from its experiment and config."""
    key = f"{experiment}:{getattr(config, 'dataset_path', '')}"
    return HARLOW_TEST_IMAGES.get(key, HARLOW_TEST_IMAGES[experiment])


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


@one_writer
def simulate_harlow(config: Harlow1DConfig, out: Path, resume: bool = False,
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

    experiment = config.NAME
    t = train_run(config, experiment, out, resume, progress,
                  lambda cfg: harlow_evaluate(cfg, Path(out).name, on_table=keep),
                  stages=lambda cfg: train_stages(cfg, Path(out), progress))
    run, config = t.run, t.config
    final, record = harlow_test(config, t.agent, config.eval_episodes, t.episodes, run.path.name)
    # a test during training at the final episode count (the last stage, or where --until stopped) gives way
    # to the final test of the same network
    earlier = _harlow_curve(curve)
    earlier = [earlier[earlier["training_episodes"] != t.episodes]] if len(earlier) else []
    trials = pd.concat([*earlier, final], ignore_index=True)
    run.save_trials(trials)
    run.save_activations(activations_dataset(record, config.gamma, {**run_attrs(t, experiment), "stimuli": "test"}))
    print(f"run folder: {run.path}  (training {t.train_s:.0f} s this session, {t.episodes} episodes)")
    harlow_report(trials, run.path / "figures", f"Harlow {experiment[7:]}, {run.path.name}",
                  harlow_test_images(experiment, config))
    save_figures(run.path / "figures", [("harlow_episode", harlow_episode_strip(t.agent, config))])
    return run.path


#: when a curriculum stage ends early: held-out trials 2-6 at 90% on two tests in a row (issue 29's criterion)
STAGE_CRITERION = "correct_2_6>=90"


def train_stages(config, out: Path, progress: bool = True) -> tuple[Path, list[dict]]:
    """Train a pixel config's curriculum (``config.stages()``), each stage a run folder ``out/stages/fov<DEGREES>``.

    Stage k trains ``config`` at its view for at most its episodes, tested every ``config.curriculum_eval_every``
    episodes, and stops once :data:`STAGE_CRITERION` holds on two tests in a row; it starts from stage k - 1's
    network (the first from ``config.init_from``, or from scratch). A finished stage is skipped and a killed one
    resumed, so a resumed run continues its curriculum where it stopped. (The curriculum of issue 29, item 2:
    ``examples/harlow_pixels_curriculum.py`` ran the same stages as separate ``simulate`` calls.)

    Parameters
    ----------
    config : HarlowPixelsConfig
        The run's config; its ``stages()`` is not empty.
    out : pathlib.Path
        The run folder that trains at ``config.fov`` after the stages.
    progress : bool
        Progress bars.

    Returns
    -------
    (pathlib.Path, list of dict)
        The last stage's folder, and per stage ``fov`` (degrees), ``folder`` (relative to ``out``), ``episodes``
        (trained), ``criterion_met`` (bool) and ``checkpoint_sha256``.
    """
    base = dataclasses.replace(config, curriculum="none", until=STAGE_CRITERION, until_held=2,
                               eval_every=config.curriculum_eval_every)
    prev, record = config.init_from, []
    for view, budget in config.stages():
        stage = dataclasses.replace(base, fov=view, episodes=budget, init_from=prev)
        folder = out / "stages" / f"fov{view:g}"
        try:
            run = Run.load(folder)  # a finished stage
            print(f"curriculum stage {view:g} degrees: finished in {folder}, skipped", file=sys.stderr)
        except FileNotFoundError:
            print(f"curriculum stage {view:g} degrees: at most {budget:,} episodes into {folder}", file=sys.stderr)
            run = Run.load(simulate_harlow(stage, folder, (folder / "config.json").exists(), progress))
        met = stage.criterion().met(run.evaluations.to_dict("records"))  # the test that stops training, reread
        record.append({"fov": view, "folder": str(folder.relative_to(out)),
                       "episodes": int(run.training["episodes"].iloc[-1]),
                       "criterion_met": met, "checkpoint_sha256": run.checkpoint_sha256()})
        prev = str(folder)
    return Path(prev), record


def harlow_test(config, agent, n_episodes: int, training_episodes: int, subject: str):
    """``n_episodes`` frozen-weight Harlow test episodes on held-out objects (the same ones at every test of a
    run); returns the trial table (with ``training_episodes``) and the :class:`EvalRecord`."""
    dev = agent_device(agent)
    record = run_frozen(agent, eval_task(config, n_episodes, dev, "test"), eval_sampler(config, dev))
    return harlow_trials(record.log, record.active, subject, training_episodes), record


def harlow_evaluate(config, subject: str = "test", on_table: Callable | None = None) -> Callable:
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


def level_sides(trials: pd.DataFrame) -> int:
    """Trials per side where a Harlow trial table's episodes have the level's kind of rewarded sides: ``2k``
    trials with at most ``k`` on either side (a shuffled L L L R R R for the level's 6; L x 5, R x 5 for Wang
    2016's 10), where side counting predicts later trials (:func:`~metarl_neuro.analysis.harlow_binding` then
    tells binding from counting). 0 (falsy) for other sides or an empty table."""
    if trials.empty:
        return 0
    n_trials = int(trials["trial"].max()) + 1
    n = trials.groupby(["training_episodes", "episode"])["rewarded_side"].agg(["sum", "count"])
    k = n_trials // 2
    balanced = n_trials % 2 == 0 and bool(((n["sum"] <= k) & (n["count"] - n["sum"] <= k)).all())
    return k if balanced else 0


def harlow_report(trials: pd.DataFrame, figures: Path, title: str, images: str = "held-out objects") -> pd.DataFrame:
    """Percent correct by trial number at each training stage (Wang 2018 Fig. 6c), printed and drawn
    (``harlow_performance.png``); ``images`` says what the test images were (:data:`HARLOW_TEST_IMAGES`)."""
    if trials.empty:  # e.g. an untrained pixel agent that never fixated in a short test episode
        print(f"\nno trial was completed in the test episodes ({images}); nothing to report or draw")
        return pd.DataFrame(columns=["training_episodes", "trial_number", "pct_correct", "n"])
    table = harlow_performance(trials)
    wide = table.pivot(index="training_episodes", columns="trial_number", values="pct_correct")
    print(f"\n% correct by trial within episode ({images}), rows: training episodes:")
    print(wide.round(1).to_string())
    final, last = _final_test(table), _final_test(trials)
    later = last[last["trial"] >= 1]
    print(f"final: trial 1 {final['pct_correct'].iloc[0]:.1f}%, trials 2-{int(final['trial_number'].max())} "
          f"{100 * later['correct'].mean():.1f}% ({int(final['n'].iloc[0])} episodes)")
    if per_side := level_sides(trials):
        b = harlow_binding(trials, per_side=per_side).iloc[-1]  # the level's shuffled sides: counting predicts
        print(f"side counting alone would get {b['pct_counting']:.1f}% of these; on the {int(b['n_balanced'])} "
              f"trials where it is at chance (as many L as R to come): {b['pct_balanced']:.1f}% "
              f"[{b['ci_lo']:.1f}, {b['ci_hi']:.1f}] (harlow_binding)")
    save_figures(figures, [("harlow_performance", plot_harlow_performance(table, title=title))])
    return table


def _final_test(trials: pd.DataFrame) -> pd.DataFrame:
    """The rows of a Harlow trial table's final test: its last training stage (``training_episodes``)."""
    return trials[trials["training_episodes"] == trials["training_episodes"].max()]


def report(run: Run, figures: Path, hidden: bool = False, permutations: int = 100, jobs: int | None = None,
           **_) -> dict:
    """``python -m metarl_neuro.analyze RUN`` on a Harlow run: :func:`harlow_report` of its test trials, the final
    test's strategy (:func:`~metarl_neuro.analysis.harlow_strategy`), and with ``hidden``
    :func:`harlow_hidden_report`."""
    images = harlow_test_images(run.meta["experiment"], run.config)
    out = {"performance": harlow_report(run.trials, figures, run.path.name, images)}
    final = _final_test(run.trials)
    if (final["trial"] >= 1).any():  # an untrained pixel agent may finish no trial after the first
        st = out["strategy"] = harlow_strategy(final).iloc[-1]
        print(f"strategy (final test): object win-stay {st['win_stay']:.2f}, lose-shift {st['lose_shift']:.2f}, "
              f"{100 * st['position_habit']:.0f}% of choices on the preferred side (harlow_strategy: near 1, 1 and "
              f"50% for a learner that binds objects to reward; near 0.5 with one side preferred for a position habit)")
    if hidden:
        out["hidden"] = harlow_hidden_report(run, permutations, jobs)
    return out


def harlow_hidden_report(run: Run, permutations: int = 100, jobs: int | None = None) -> pd.DataFrame:
    """``analyze RUN --hidden`` on a Harlow run: the side of the rewarded object, the previous trial's outcome and
    the previous choice decoded from the LSTM state at each trial's choice step (trials 2-6 of the final test;
    :func:`~metarl_neuro.analysis.decode_hidden` with ``at="outcome"``), printed and returned.

    A network that binds objects to reward holds the rewarded object's side in its state when it chooses
    (balanced accuracy near 1); one with a position habit does not (near chance: docs/guide/activations.md).

    Parameters
    ----------
    run : Run
        A Harlow run folder (harlow-1d, harlow-pixels, harlow-w16 or psychlab-harlow) with ``activations.nc``.
    permutations : int
        Within-episode label permutations for the chance level and p-value.
    jobs : int, optional
        Parallel jobs of the permutations (joblib).

    Returns
    -------
    pandas.DataFrame
        Three rows (``rewarded_side``, ``prev_reward``, ``prev_choice``) with the columns of
        :func:`~metarl_neuro.analysis.decode_hidden` (balanced accuracy, its chance band and p-value, float64).

    Examples
    --------
    On a run folder made by ``python -m metarl_neuro.simulate harlow-1d --out runs/h``::

        python -m metarl_neuro.analyze runs/h --hidden --permutations 20

    Raises
    ------
    ValueError
        From :func:`~metarl_neuro.analysis.decode_hidden`, e.g. for a test with fewer than 5 episodes or in which
        one side was always rewarded.
    """
    table = decode_hidden(run, targets=["rewarded_side", "prev_reward", "prev_choice"], at="outcome",
                          n_permutations=permutations, n_jobs=jobs)
    print(f"\ndecoded from the LSTM state at each trial's choice step ({int(table['n_trials'].iloc[0])} trials 2-6 of "
          f"the final test; balanced accuracy over 5 folds by episode; chance from {permutations} permutations "
          "within episodes):")
    print(table[["target", "mean", "chance_lo", "chance_hi", "p_value"]].round(3).to_string(index=False))
    return table


def report_options(parser) -> None:
    """The options of a Harlow run's report in ``python -m metarl_neuro.analyze`` (``--hidden``)."""
    parser.add_argument("--hidden", action="store_true",
                        help="Harlow runs: also decode the rewarded object's side, the previous outcome and the "
                             "previous choice from the LSTM state at each trial's choice step (a network that binds "
                             "objects to reward holds the side; one with a position habit does not)")


def summarize(run: Run) -> dict:
    """Wang 2018 Fig. 6c in one seed: percent correct on trial 1 (``correct_1``) and trials 2-6 (``correct_2_6``)
    of the final held-out test, by trial number (``trial_1`` ... ``trial_6``), and, where the test used the
    level's L L L R R R sides, on the trials where counting sides is at chance (``balanced``,
    :func:`~metarl_neuro.analysis.harlow_binding`), and after a curriculum the episodes its stages trained
    (``curriculum_episodes``, :func:`train_stages`)."""
    final = _final_test(run.trials)
    out = harlow_metrics(final)
    by_trial = final.groupby("trial")["correct"].mean()
    out.update({f"trial_{k + 1}": 100 * float(v) for k, v in by_trial.items()})
    if per_side := level_sides(final):
        out["balanced"] = float(harlow_binding(final, per_side=per_side).iloc[-1]["pct_balanced"])
    if stages := run.meta.get("curriculum"):  # harlow-pixels' --curriculum: the episodes trained before --fov
        out["curriculum_episodes"] = float(sum(s["episodes"] for s in stages))
    return out


def figure(runs: list[Run], summaries: pd.DataFrame, title: str = "Harlow"):
    """Wang 2018 Fig. 6c (the final stage) from N seeds: percent correct by trial within the episode, mean with its
    95% CI across seeds and each seed's value."""
    from metarl_neuro.analysis.plots import plot_seed_values

    cols = {c: c.replace("trial_", "trial ") for c in summaries.columns if c.startswith("trial_")}
    return plot_seed_values(summaries, cols, ylabel="% correct (held-out test)", title=title, ylim=(0, 105),
                            chance=50)


def score(run: Run, episodes: np.ndarray) -> float:
    """The sweeps' objective: percent correct on trials 2-6 of the final test's episodes ``episodes``."""
    final = _final_test(run.trials)
    final = final[final["episode"].isin(episodes)]
    return harlow_metrics(final)["correct_2_6"]


#: Wang 2018 Fig. 6c's effect: trial 1 at chance (the objects are new), later trials near perfect
HARLOW_CLAIMS = (
    Claim("correct_1", "trial 1 at chance, 50% (Fig. 6c: new objects)", lambda s: 35 <= s["correct_1"] <= 65),
    Claim("correct_2_6", "trials 2-6 near 100% after training (Fig. 6c)", lambda s: s["correct_2_6"] >= 90),
)

#: the Harlow summaries' percentages (percent correct by trial, trials 2-6, balanced trials)
HARLOW_BOUNDED = {"correct_*": (0.0, 100.0), "trial_*": (0.0, 100.0), "balanced": (0.0, 100.0)}

EXPERIMENT = Experiment(
    name="harlow-1d", config=Harlow1DConfig, simulate=simulate_harlow, report=report, summarize=summarize,
    paper="Wang et al. 2018, Simulation 5 (Harlow), Fig. 6c; 1-D form", claims=HARLOW_CLAIMS, figure=figure,
    evaluation=harlow_evaluate, score=score, report_options=report_options,
    bounded=HARLOW_BOUNDED,
)
