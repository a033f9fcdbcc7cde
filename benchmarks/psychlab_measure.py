"""Measure the real PsychLab Harlow level's geometry and timing (the numbers behind ``LevelGeometry``).

Drives ``deepmind_lab`` frame by frame (``num_steps=1``) and reads the gaze from ``DEBUG.POS.ROT`` (gaze =
90 - yaw, in steps of the level's 65,536-per-turn grid):

- look motion: grid steps per frame per unit of ``LOOK_LEFT_RIGHT_PIXELS_PER_FRAME`` (600 frames per value);
- start gaze range over many resets;
- trigger edges: the gaze is put still at positions around each edge (approached from outside, so that it
  never rests on the widget on the way) and held; a widget fires (reward) or not;
- timing: a jump onto the cross, then still frames: the frame the images appear and the frame the +1 arrives.

    python benchmarks/psychlab_measure.py [--samples 40]
"""

import argparse

import numpy as np

GRID = 65536


def _lab():
    import deepmind_lab

    return deepmind_lab.Lab("contributed/psychlab/harlow", ["RGB_INTERLEAVED", "DEBUG.POS.ROT"],
                            config={"width": "84", "height": "84", "fps": "60", "datasetPath": "dummy",
                                    "logLevel": "WARN"}, renderer="software")


def _act(units: int = 0) -> np.ndarray:
    a = np.zeros(7, np.intc)
    a[0] = units
    return a


def main(samples: int = 40, seed: int = 0) -> dict:
    lab = _lab()
    rng = np.random.default_rng(seed)

    def gaze() -> int:  # gaze in grid steps, + right
        return (GRID // 4) - round(float(lab.observations()["DEBUG.POS.ROT"][1]) * GRID / 360)

    out = {}
    for units in (1, 3, 5, 7, 36):
        lab.reset(seed=4)
        moved, last = 0, gaze()
        for _ in range(600):
            lab.step(_act(units), 1)
            now = gaze()
            moved += (now - last + GRID // 2) % GRID - GRID // 2  # the view turns all the way round
            last = now
        out[f"grid steps per frame per unit at {units}"] = moved / 600 / units
    starts = []
    for s in range(200):
        lab.reset(seed=s)
        starts.append(gaze() * 360 / GRID)
    out["start gaze range (deg)"] = (min(starts), max(starts))

    def goto(target: int) -> None:
        for _ in range(40):
            rest = target - gaze()
            if abs(rest) <= 12:
                return
            lab.step(_act(int(np.clip(round(rest / 19.22), -200, 200))), 1)

    def fires() -> bool:
        return sum(lab.step(_act(), 1) for _ in range(7)) != 0

    for name, edge_deg, needs_fixation in (("cross +", 2.14, False), ("cross -", -2.14, False),
                                           ("button inner +", 11.25, True), ("button inner -", -11.25, True),
                                           ("button outer +", 24.42, True), ("button outer -", -24.42, True)):
        held = []
        for _ in range(samples):
            lab.reset(seed=int(rng.integers(1000)))
            lab.step(_act(), 1)
            if needs_fixation:
                goto(0)
                assert fires(), "could not fixate the cross"
            target = round((edge_deg + rng.uniform(-0.35, 0.35)) * GRID / 360)
            outward = 1 if abs(target) > 3000 or not needs_fixation else -1  # start from the side away from it
            goto(int(target + outward * np.sign(edge_deg) * 800))
            goto(target)
            held.append((gaze(), fires()))
        inside = [abs(p) for p, f in held if f]
        outside = [abs(p) for p, f in held if not f]
        out[f"{name}: fired at |gaze| (grid) / not fired at"] = (
            (min(inside), max(inside)) if inside else None, sorted(outside)[:3] + sorted(outside)[-3:])
    lab.reset(seed=3)
    lab.step(_act(-round(gaze() * 360 / GRID / 0.1056)), 1)  # frame 1: jump onto the cross
    seen = []
    for frame in range(2, 10):
        r = lab.step(_act(), 1)
        obs = lab.observations()["RGB_INTERLEAVED"]
        images = int((obs[20:60, 15:70].sum(-1) > 0).sum()) > 300
        seen.append((frame, r, images))
    out["after a jump onto the cross (frame, reward, images shown)"] = seen
    lab.close()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40)
    for k, v in main(ap.parse_args().samples).items():
        print(f"{k}: {v}")
