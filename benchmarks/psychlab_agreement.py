"""The torch surrogate against the real PsychLab Harlow level, on the same actions from the same starts.

Plays the real level (DeepMind Lab, ``datasetPath='dummy'``) with the scripted gaze policy of
:func:`metarl_neuro.tasks.psychlab.play_scripted` (a share ``epsilon`` of random actions), replays every action
on :class:`~metarl_neuro.tasks.harlow_pixels.HarlowPixelTask` from the same start gazes with the same rewarded
sides (:func:`~metarl_neuro.tasks.psychlab.replay_on_surrogate`), and counts the steps on which rewards, episode
ends, trial ends and choices agree. Writes ``psychlab_agreement.png``: the agreement per field, one slot's gaze
and rewards over time on both, and frames of both side by side. Needs ``deepmind_lab``.

    python benchmarks/psychlab_agreement.py [--out DIR] [--slots 4] [--steps 1500] [--epsilon 0.4]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def main(out: Path, slots: int = 4, steps: int = 1500, epsilon: float = 0.4, seconds: tuple = (300.0, 2.0),
         seed: int = 11) -> pd.DataFrame:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from metarl_neuro.tasks.harlow_pixels import GRID_DEG, HarlowPixelTask, dmlab_dummy_stimuli
    from metarl_neuro.tasks.psychlab import PsychLabHarlow, play_scripted, replay_on_surrogate

    rows, shown = [], None
    for limit in seconds:  # the level's 300 s, and a short limit so that episodes also end by time
        real = PsychLabHarlow(slots, "dummy", seed=seed, episode_seconds=limit)
        rec = play_scripted(real, steps, epsilon, seed=seed, frames=shown is None)
        real.close()
        sur = HarlowPixelTask(slots, images=dmlab_dummy_stimuli()[:2000], test_fraction=0.5,
                              episode_frames=round(limit * 60))
        rep = replay_on_surrogate(sur, rec)
        te = rec.trial_end
        ok = ~np.isnan(rec.gaze)
        rows.append({
            "episode_seconds": limit, "steps": rec.action.size, "episodes": int(rec.done.sum()),
            "trials": int(te.sum()), "reward_equal": float((rec.reward == rep.reward).mean()),
            "done_equal": float((rec.done == rep.done).mean()),
            "trial_end_equal": float((rec.trial_end == rep.trial_end).mean()),
            "choice_equal_at_trial_ends": float((rec.choice[te] == rep.choice[te]).mean()),
            "correct_equal_at_trial_ends": float((rec.correct[te] == rep.correct[te]).mean()),
            "max_gaze_diff_deg": float(np.abs(rec.gaze[ok] - rep.gaze[ok]).max()),
            "grid_step_deg": GRID_DEG,
        })
        if shown is None:
            shown = (rec, rep)
    table = pd.DataFrame(rows)
    rec, rep = shown
    fig = plt.figure(figsize=(12, 6.5), layout="constrained")
    grid = fig.add_gridspec(3, 8, height_ratios=[1.6, 1, 1])
    ax = fig.add_subplot(grid[0, :3])
    fields = ["reward_equal", "done_equal", "trial_end_equal", "choice_equal_at_trial_ends"]
    ax.barh(range(len(fields)), [100 * table[f].min() for f in fields], color="tab:green")
    ax.set_yticks(range(len(fields)), ["reward", "episode end", "trial end", "choice"])
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {int(table['steps'].sum()):,} steps (trial ends: {int(table['trials'].sum())}) equal")
    ax = fig.add_subplot(grid[0, 3:])
    n = min(300, len(rec.gaze))
    ax.plot(rec.gaze[:n, 0], color="black", lw=2.5, label="real level")
    ax.plot(rep.gaze[:n, 0], color="tab:orange", lw=1, label="surrogate")
    for rr, col, mk in ((rec, "black", "o"), (rep, "tab:orange", "x")):
        paid = np.nonzero(rr.reward[:n, 0])[0]
        ax.scatter(paid, np.full(len(paid), 30.0) + 3 * (col == "black"), marker=mk, color=col, s=18)
    ax.set_xlabel("agent step (4 frames)")
    ax.set_ylabel("gaze (deg, + right)")
    ax.set_title("slot 0: gaze, and steps paid (markers at top)")
    ax.legend(loc="lower right", fontsize=8)
    picks = np.linspace(0, min(120, len(rec.frames) - 1), 8).astype(int)
    for i, t in enumerate(picks):
        for r, (rr, name) in enumerate(((rec, "real"), (rep, "surrogate"))):
            a = fig.add_subplot(grid[1 + r, i])
            a.imshow(rr.frames[t, 0].transpose(1, 2, 0))
            a.set_xticks([]), a.set_yticks([])
            if i == 0:
                a.set_ylabel(name)
            if r == 0:
                a.set_title(f"step {t}", fontsize=8)
    fig.suptitle("PsychLab Harlow: real level vs torch surrogate, same actions from the same starts (the level does "
                 "not publish its image ids: the surrogate's colours are its own draw)", fontsize=10)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "psychlab_agreement.png", dpi=90)
    plt.close(fig)
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/psychlab_agreement"))
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--epsilon", type=float, default=0.4)
    a = ap.parse_args()
    print(main(a.out, a.slots, a.steps, a.epsilon).to_string(index=False))
