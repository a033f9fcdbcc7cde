"""Same seed, same trials: a hash of every experiment's logs after a tiny run (issue 26's check across a restructuring).

Runs ``python -m metarl_neuro.simulate EXPERIMENT`` for every registered experiment at a tiny budget (seed 0, CPU)
and prints one SHA-256 per experiment over its trial table, its evaluations and its training log (wall-clock
columns left out). Run it before and after a change that must not alter behaviour, and compare the lines.

    python benchmarks/trial_hashes.py                 # every experiment (psychlab-harlow needs DeepMind Lab)
    python benchmarks/trial_hashes.py two-step bandit
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from metarl_neuro.experiments import EXPERIMENTS

TINY = ["--episodes", "32", "--batch", "8", "--eval-episodes", "8", "--seed", "0", "--device", "cpu", "--no-progress"]
#: what an experiment needs beyond the tiny budget: the real level's built-in images (no download)
EXTRA = {"psychlab-harlow": ["--dataset", "dummy"]}
TIMING = ("seconds", "wall", "time", "elapsed", "steps_per_s", "sps")


def digest(folder: Path) -> str:
    """SHA-256 over the run folder's tables, in name order, without wall-clock columns."""
    h = hashlib.sha256()
    for path in sorted([*folder.glob("*.parquet"), *folder.glob("*.csv")]):
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        df = df[[c for c in df.columns if not any(t in c.lower() for t in TIMING)]]
        h.update(path.name.encode())
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        h.update(",".join(map(str, df.columns)).encode())
    return h.hexdigest()[:16]


def main(argv=None) -> dict[str, str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="*", default=list(EXPERIMENTS))
    args = ap.parse_args(argv)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.experiments:
            folder = Path(tmp) / name
            cmd = [sys.executable, "-m", "metarl_neuro.simulate", name, *TINY, *EXTRA.get(name, []), "--out", str(folder)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            out[name] = digest(folder) if done.returncode == 0 else f"failed: {done.stderr.strip().splitlines()[-1:]}"
            print(f"{name:20s} {out[name]}", flush=True)
    return out


if __name__ == "__main__":
    main()
