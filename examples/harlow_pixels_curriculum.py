"""Harlow on pixels in the level's whole 90-degree view: a curriculum of widening views (issue 29, item 2).

Wang et al. 2016's agent saw the PsychLab Harlow level's whole 90-degree view at 84 x 84 pixels, where each image is
about 20 px wide. Trained there from scratch, no seed of ours bound images to reward within 60k-150k episodes
(docs/measurements.md, the ladder); in the central 45 degrees (images 49 px, ``harlow-pixels``' default) 7 of 8 seeds
do. This script trains one seed in stages that widen the view, each stage starting from the last one's network
(``--init-from``; the gaze geometry, the actions and the network stay the same, only the field of view changes):

1. ``--fovs[0]`` (45 degrees) until held-out trials 2-6 reach 90% on two tests in a row (``--until``), at most
   ``--first-episodes``;
2. each middle view (60, 75 degrees) the same, at most ``--stage-episodes`` each;
3. the last view (90 degrees) for ``--last-episodes``, then the final test (200 held-out episodes by default).

With ``--level`` the last network is then tested frozen on the real level (DeepMind Lab) in the same view, on the
colours the surrogate never trained on (``psychlab-harlow --dataset-path dummy-heldout --episodes 0``). Every stage
is an ordinary run folder under ``--out/seed<SEED>/fov<FOV>``; a stage already finished is skipped and a killed one
resumed, so the same command continues a killed curriculum. Any other option is passed to every ``simulate`` call
(e.g. ``--threads 1``).

    python examples/harlow_pixels_curriculum.py --seed 2 --out runs/curriculum --level --threads 1

Measured with the defaults of lr 2.5e-4 (docs/measurements.md, "The level's whole 90-degree view"; seeds 2, 3 and 6,
chosen among those that bind at 45 degrees; at today's lr 5e-4 the unselected seeds 0-6 bound too, 98.1-99.4% at 90
degrees and 95.8-100% on the real level, in 48-56k episodes): 14-26k episodes at 45 degrees, 4-10k at 60, 4k at
75; at 90 degrees 95.5-100% on every test, the final tests' trials 2-6 97.7-99.2%, and 98.2-98.8% frozen on the
real level. From scratch at 90 degrees no seed bound.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metarl_neuro.experiments import get as get_experiment
from metarl_neuro.run import Run
from metarl_neuro.simulate import main as simulate


def _stage(args: list[str], out: Path) -> Path:
    """Run one ``simulate`` call into ``out`` unless a finished run is there (one that started there is resumed)."""
    try:
        Run.load(out)  # the project's test of a finished run folder
        print(f"{out}: finished, skipped")
        return out
    except FileNotFoundError:
        pass
    code = simulate([*args, "--out", str(out), *(["--resume"] if out.exists() else [])])
    if code != 0:
        raise SystemExit(f"simulate {' '.join(args[:1])} into {out} failed (exit {code})")
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run the curriculum; return the last stage's folder (``last``), the level's test folder (``level``, or None)
    and each view's final test (``results``: fov -> ``correct_1``, ``correct_2_6``, ``balanced`` in percent)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/harlow_curriculum"))
    p.add_argument("--fovs", type=float, nargs="+", default=[45.0, 60.0, 75.0, 90.0],
                   help="the views in degrees, narrowest first")
    p.add_argument("--first-episodes", type=int, default=60_000, help="budget of the first view")
    p.add_argument("--stage-episodes", type=int, default=16_000, help="budget of each middle view")
    p.add_argument("--last-episodes", type=int, default=24_000, help="training episodes in the last view")
    p.add_argument("--eval-every", type=int, default=2_000, help="tests during the first and middle views")
    p.add_argument("--until", default="correct_2_6>=90", help="criterion that ends the first and middle views")
    p.add_argument("--level", action="store_true", help="test the last network frozen on the real level")
    p.add_argument("--level-episodes", type=int, default=100)
    args, passed = p.parse_known_args(argv)
    if len(args.fovs) < 2:
        p.error("--fovs needs at least two views")
    root = args.out / f"seed{args.seed}"
    common = ["--seed", str(args.seed), "--no-progress", *passed]
    prev, results = None, {}
    for i, fov in enumerate(args.fovs):
        last = i == len(args.fovs) - 1
        stage = ["harlow-pixels", *common, "--fov", f"{fov:g}"]
        if last:
            stage += ["--episodes", str(args.last_episodes), "--eval-every", str(2 * args.eval_every)]
        else:
            stage += ["--episodes", str(args.first_episodes if i == 0 else args.stage_episodes),
                      "--eval-every", str(args.eval_every), "--until", args.until]
        if prev is not None:
            stage += ["--init-from", str(prev)]
        prev = _stage(stage, root / f"fov{fov:g}")
        results[fov] = get_experiment("harlow-pixels").summarize(Run.load(prev))
    level = None
    if args.level:
        level = _stage(["psychlab-harlow", *common, "--fov", f"{args.fovs[-1]:g}", "--dataset-path", "dummy-heldout",
                        "--init-from", str(prev), "--episodes", "0", "--eval-episodes", str(args.level_episodes)],
                       root / f"level{args.fovs[-1]:g}")
    return {"last": prev, "level": level, "results": results}


if __name__ == "__main__":
    main()
