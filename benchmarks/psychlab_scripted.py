"""Scripted gaze policy on the real PsychLab Harlow level, through the wrapper: episodes finished, trials per
finished episode, fixation rewards (issue 17: a scripted policy fixating and completing 6-trial episodes).

    python benchmarks/psychlab_scripted.py      # needs deepmind_lab; about a minute
"""

import time

import numpy as np


def main(labs: int = 4, steps: int = 1000) -> None:
    from metarl_neuro.tasks.psychlab import PsychLabHarlow, play_scripted

    task = PsychLabHarlow(labs, "dummy", seed=0, record_events=True)
    t = time.time()
    rec = play_scripted(task, steps, epsilon=0.0, seed=0)
    wall = time.time() - t
    trials_per_episode = []
    for b in range(labs):
        prev = -1
        for e in np.nonzero(rec.done[:, b])[0]:
            trials_per_episode.append(int(rec.trial_end[prev + 1: e + 1, b].sum()))
            prev = e
    print(f"{labs} Labs x {steps} agent steps ({wall:.0f} s): {rec.done.sum()} episodes finished, trials per finished "
          f"episode {sorted(set(trials_per_episode))}, fixation rewards {(rec.reward == 1).sum()}, trials "
          f"{rec.trial_end.sum()}, first +1 at step {int(np.nonzero((rec.reward == 1).any(1))[0][0])}")
    task.close()


if __name__ == "__main__":
    main()
