"""Does the first frame of an episode count towards the fixation hold on the real PsychLab level? (issue 29)

Plays DeepMind Lab's Harlow level frame by frame (``action_repeat=1``, ``datasetPath='dummy'``), 0.2-s episodes:
after every reset the gaze stays put for 6 frames, then saccades away. For the episodes whose start gaze lies on
the fixation trigger (|gaze| <= 2.0 deg, clear of its 2.14-deg edge), it records the frame since the reset on
which the +1 fixation reward arrives; separately for the first episode of freshly built Lab instances and for the
later episodes of long-lived ones. The widget fires on the 4th frame the gaze is on it and pays one frame later
(``metarl_neuro.tasks.harlow_pixels``), so a reward on frame 5 means the first frame counted and frame 6 that it
did not. Needs ``deepmind_lab``.

Measured (2026-12-05): later episodes 276 of 276 on frame 5 (3,000 episodes, 4 slots x 9,000 frames); first
episodes of 60 fresh 4-slot Labs 22 of 23 on frame 5 (the 23rd never fired: its start gaze was 2.0-2.2 deg).

    python benchmarks/psychlab_reset_rule.py [--frames 9000] [--fresh 60]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def frames_to_fixation(task, frames: int, stay: int = 6, saccade: int = 3) -> list[int]:
    """Frames since the reset on which the fixation's +1 arrived, for episodes starting on the trigger."""
    task.reset()
    since = np.zeros(task.batch_size, int)
    start = np.full(task.batch_size, np.nan)
    out = []
    for _ in range(frames):
        _, r, d, log = task.step(torch.as_tensor(np.where(since < stay, 0, saccade)))
        r, g = r.numpy(), log["gaze"].numpy()
        start = np.where(since == 0, g, start)  # after one frame of staying: the start gaze
        out += [int(since[b]) + 1 for b in np.nonzero((r > 0) & (r < 2) & (np.abs(start) <= 2.0))[0]]
        since = np.where(d.numpy(), 0, since + 1)
    return out


def main() -> None:
    from metarl_neuro.tasks.psychlab import PsychLabHarlow

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=9000, help="frames of the long-lived Labs (4 slots)")
    ap.add_argument("--fresh", type=int, default=60, help="freshly built 4-slot Labs, one episode each")
    args = ap.parse_args()
    lab = PsychLabHarlow(4, "dummy", seed=7, action_repeat=1, episode_seconds=0.2)
    later = frames_to_fixation(lab, args.frames)
    lab.close()
    first = []
    for k in range(args.fresh):
        lab = PsychLabHarlow(4, "dummy", seed=1000 + 17 * k, action_repeat=1, episode_seconds=0.2)
        first += frames_to_fixation(lab, 11)
        lab.close()
    for name, got in (("later episodes", later), ("first episodes of fresh Labs", first)):
        values, counts = np.unique(got, return_counts=True)
        print(f"{name}: {len(got)} fixations from the trigger; frame of the +1 since reset: "
              f"{dict(zip(values.tolist(), counts.tolist()))}")


if __name__ == "__main__":
    main()
