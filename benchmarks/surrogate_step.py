"""Milliseconds per agent step of the pixel Harlow surrogate, eager against compiled, at each field of view.

The figure ``harlow-pixels --compiled`` quotes in ``--help`` (one step of ``--batch`` slots, one thread, four frames
per step). The task is the experiment's own (``HarlowPixelsConfig.make_task``), stepped by the compiled-surrogate
test's scripted policy, which fixates and chooses as a trained agent does, so the images are on screen as in
training (random actions rarely fixate, and leave the renderer less to draw); the policy's own time is inside the
figure. The forms are interleaved round by round, so that a machine's load falls on all of them alike. Run it on an
idle machine for absolute figures::

    python benchmarks/surrogate_step.py --fov 45 90 --steps 300 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from metarl_neuro.experiments import HarlowPixelsConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.tasks.test_harlow_pixels_compiled import scripted  # noqa: E402  (the test's policy, one definition)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fov", type=float, nargs="+", default=[45.0, 90.0], help="views in degrees")
    p.add_argument("--batch", type=int, default=HarlowPixelsConfig.batch, help="slots stepped at once")
    p.add_argument("--steps", type=int, default=300, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=5, help="rounds (the median is reported)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    forms = {(fov, compiled): HarlowPixelsConfig(fov=fov, compiled=compiled, curriculum="none", device="cpu")
             .make_task(args.batch, seed=0, device="cpu") for fov in args.fov for compiled in ("off", "on")}
    for task in forms.values():  # compiling's one-time cost and the first renders, outside the timing
        task.reset()
        gen = torch.Generator().manual_seed(0)
        for _ in range(20):
            task.step(scripted(task, gen))
    times = {k: [] for k in forms}
    for r in range(args.rounds):
        for key, task in forms.items():
            task.reset()
            gen = torch.Generator().manual_seed(r)  # the same actions' stream for every form in a round
            start = time.perf_counter()
            for _ in range(args.steps):
                task.step(scripted(task, gen))
            times[key].append((time.perf_counter() - start) / args.steps * 1e3)
    print(f"batch {args.batch}, {args.threads} thread(s), {args.steps} steps x {args.rounds} rounds; "
          "ms per agent step, median [min, max] over rounds")
    for fov in args.fov:
        eager, comp = (statistics.median(times[(fov, c)]) for c in ("off", "on"))
        print(f"fov {fov:g}: eager {eager:.2f} [{min(times[(fov, 'off')]):.2f}, {max(times[(fov, 'off')]):.2f}], "
              f"compiled {comp:.2f} [{min(times[(fov, 'on')]):.2f}, {max(times[(fov, 'on')]):.2f}], "
              f"{eager / comp:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
