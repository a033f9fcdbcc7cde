"""The run folder: the contract between simulation and analysis (DESIGN.md, "Run folder").

::

    <run>/config.json        full config, experiment, seed, package version, config hash
    <run>/checkpoint.pt      model + optimiser + training state + RNG states (resume after a kill)
    <run>/training.csv       one row per update
    <run>/trials.parquet     evaluation trials, one row per (episode, trial)
    <run>/activations.nc     xarray.Dataset of evaluation LSTM states (NetCDF4 via h5netcdf)
    <run>/figures/*.png

Every file is written to a temporary name in the same folder and renamed into place (``os.replace``), so a
killed run never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch
import xarray as xr

from metarl_neuro.experiments import EXPERIMENTS

__all__ = ["RUN_FILES", "Run", "atomic_write"]

#: files a finished run folder must hold
RUN_FILES = ("config.json", "checkpoint.pt", "training.csv", "trials.parquet", "activations.nc")


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Write ``path`` atomically: ``write(tmp_path)`` then rename the temporary file over ``path``.

    Parameters
    ----------
    path : path-like
        Destination.
    write : callable
        Writes the whole file to the temporary path it is given.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; run folders are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class Run:
    """A run folder on disk.

    Use :meth:`Run.load` to open a finished run; ``.config``, ``.trials``, ``.activations`` and ``.agent``
    are read when first accessed.

    Parameters
    ----------
    path : path-like
        The run folder.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Run:
        """Open a finished run folder.

        Raises
        ------
        FileNotFoundError
            If the folder does not exist, or lacks one of :data:`RUN_FILES` (an unfinished run: rerun the
            same command with ``--resume``).
        """
        run = cls(path)
        if not run.path.is_dir():
            raise FileNotFoundError(f"no run folder at {run.path}")
        missing = [f for f in RUN_FILES if not (run.path / f).exists()]
        if missing:
            raise FileNotFoundError(
                f"run folder {run.path} is incomplete: missing {missing}. If its training was interrupted, "
                f"finish it with `python -m metarl_neuro.simulate <experiment> --out {run.path} --resume`."
            )
        return run

    @cached_property
    def meta(self) -> dict:
        """Contents of ``config.json``: ``experiment``, ``config``, ``version``, ``config_hash``."""
        return json.loads((self.path / "config.json").read_text())

    @cached_property
    def config(self):
        """The experiment's frozen config dataclass."""
        return EXPERIMENTS[self.meta["experiment"]](**self.meta["config"])

    @cached_property
    def trials(self) -> pd.DataFrame:
        """Evaluation trial table (one row per episode x trial)."""
        return pd.read_parquet(self.path / "trials.parquet")

    @cached_property
    def activations(self) -> xr.Dataset:
        """Evaluation activations, opened lazily (values are read on access)."""
        return xr.open_dataset(self.path / "activations.nc", engine="h5netcdf")

    @cached_property
    def training(self) -> pd.DataFrame:
        """Training log, one row per update (empty for an untrained run, ``--episodes 0``)."""
        try:
            return pd.read_csv(self.path / "training.csv")
        except pd.errors.EmptyDataError:
            return pd.DataFrame()

    @cached_property
    def agent(self):
        """The trained :class:`~metarl_neuro.agents.A2CLSTM` (CPU, eval mode)."""
        from metarl_neuro.simulate import build  # late import: simulate imports this module

        agent, _task, _opt = build(self.config, torch.device("cpu"), batch_size=1)
        ckpt = torch.load(self.path / "checkpoint.pt", map_location="cpu", weights_only=False)
        agent.load_state_dict(ckpt["model"])
        return agent.eval()

    # ------------------------------------------------------------------ writing (each file atomically)
    def save_meta(self, meta: dict) -> None:
        """Write ``config.json`` (``experiment``, ``config``, ``version``, ``config_hash``, ...)."""
        atomic_write(self.path / "config.json", lambda p: Path(p).write_text(json.dumps(meta, indent=2)))
        self.__dict__.pop("meta", None)
        self.__dict__.pop("config", None)

    def save_checkpoint(self, payload: dict) -> None:
        """Write ``checkpoint.pt`` with :func:`torch.save`."""
        atomic_write(self.path / "checkpoint.pt", lambda p: torch.save(payload, p))

    def save_training(self, rows: list[dict]) -> None:
        """Write ``training.csv`` from one dict per update."""
        atomic_write(self.path / "training.csv", lambda p: pd.DataFrame(rows).to_csv(p, index=False))

    def save_trials(self, trials: pd.DataFrame) -> None:
        """Write ``trials.parquet``."""
        atomic_write(self.path / "trials.parquet", lambda p: trials.to_parquet(p, index=False))

    def save_activations(self, ds: xr.Dataset) -> None:
        """Write ``activations.nc`` (NetCDF4 through h5netcdf)."""
        atomic_write(self.path / "activations.nc", lambda p: ds.to_netcdf(p, engine="h5netcdf"))

    def save_figure(self, fig, name: str) -> None:
        """Write ``figures/<name>.png``."""
        atomic_write(self.path / "figures" / f"{name}.png", lambda p: fig.savefig(p, format="png", dpi=120))

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"
