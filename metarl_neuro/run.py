"""The run folder: the contract between simulation and analysis (DESIGN.md, "Run folder").

::

    <run>/config.json        full config, experiment, seed, package version, config hash
    <run>/checkpoint.pt      model + optimiser + training state + RNG states (resume after a kill)
    <run>/training.csv       one row per update
    <run>/evaluations.csv    one row per frozen-weight test during training (--eval-every; optional)
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

__all__ = ["RUN_FILES", "Run", "atomic_write", "load_checkpoint", "read_run_file", "save_figures"]

#: files a finished run folder must hold
RUN_FILES = ("config.json", "checkpoint.pt", "training.csv", "trials.parquet", "activations.nc")


def read_run_file(path: Path, read: Callable[[Path], object]):
    """``read(path)``, with any failure but a missing file turned into a ``ValueError`` that names the file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``read`` fails otherwise (truncated or corrupt file), naming ``path`` and the reader's message.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return read(path)
    except Exception as err:  # h5py, pyarrow, json and torch raise many types; all mean "corrupt"
        raise ValueError(f"{path} is truncated or corrupt ({type(err).__name__}: {str(err)[:200]}); "
                         "rerun the run (or --resume it, if its checkpoint is intact)") from err


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Read a ``checkpoint.pt`` (:func:`torch.load`); ``ValueError`` naming the file if it is truncated or corrupt.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`read_run_file`; ``ValueError`` also if it holds no ``model`` state.
    """
    ckpt = read_run_file(Path(path), lambda p: torch.load(p, map_location=map_location, weights_only=False))
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ValueError(f"{path} is not a checkpoint of this package (no 'model' state)")
    return ckpt


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
    except OSError as err:  # disk full, no permission: name the file; nothing partial is left
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_figures(folder: str | os.PathLike, figs) -> None:
    """Write each ``(name, figure)`` of ``figs`` to ``folder/<name>.png`` and close the figure.

    Parameters
    ----------
    folder : path-like
        Output folder (made if needed).
    figs : iterable of (str, matplotlib.figure.Figure)
        File stem and figure; each is written as a 120-dpi PNG through :func:`atomic_write` (temporary file, then
        rename), so a killed report never leaves a half-written image.

    Raises
    ------
    OSError
        If the folder cannot be written.
    """
    import matplotlib.pyplot as plt

    for name, fig in figs:
        atomic_write(Path(folder) / f"{name}.png", lambda p, f=fig: f.savefig(p, format="png", dpi=120))
        plt.close(fig)


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
        """Contents of ``config.json``: ``experiment``, ``config``, ``version``, ``config_hash``.

        Raises ``ValueError`` naming the file if it is not a JSON object with ``experiment`` and ``config``."""
        meta = read_run_file(self.path / "config.json", lambda p: json.loads(Path(p).read_text()))
        if not isinstance(meta, dict) or not {"experiment", "config"} <= set(meta):
            raise ValueError(f"{self.path / 'config.json'} is not a run's config (needs 'experiment' and 'config')")
        return meta

    @cached_property
    def config(self):
        """The experiment's frozen config dataclass.

        Raises ``ValueError`` naming ``config.json`` for an unknown experiment or fields the config does not have."""
        # the configs' registry is read when a run's config is: this module imports nothing above it
        from metarl_neuro.experiments import EXPERIMENTS

        name = self.meta["experiment"]
        if name not in EXPERIMENTS:
            raise ValueError(f"{self.path / 'config.json'} names an unknown experiment {name!r}; this version knows "
                             f"{sorted(EXPERIMENTS)}")
        try:
            return EXPERIMENTS[name].config(**self.meta["config"])
        except TypeError as err:
            raise ValueError(f"{self.path / 'config.json'}: its config does not fit {name!r} ({err})") from None

    @cached_property
    def trials(self) -> pd.DataFrame:
        """Evaluation trial table (one row per episode x trial); ``ValueError`` naming a corrupt file."""
        return read_run_file(self.path / "trials.parquet", pd.read_parquet)

    @cached_property
    def activations(self) -> xr.Dataset:
        """Evaluation activations, opened lazily (values are read on access); ``ValueError`` naming a corrupt
        file."""
        return read_run_file(self.path / "activations.nc", lambda p: xr.open_dataset(p, engine="h5netcdf"))

    @cached_property
    def training(self) -> pd.DataFrame:
        """Training log, one row per update (empty for an untrained run, ``--episodes 0``)."""
        try:
            return pd.read_csv(self.path / "training.csv")
        except pd.errors.EmptyDataError:
            return pd.DataFrame()

    @property
    def evaluations(self) -> pd.DataFrame:
        """The learning curve: one row per frozen-weight test during training (``--eval-every``) with
        ``update, episodes, steps, wall_s`` (training seconds so far, tests included) and the experiment's
        metrics (``config.METRICS``); empty where the run made none. ``ValueError`` naming a corrupt file."""
        path = self.path / "evaluations.csv"
        if not path.exists():
            return pd.DataFrame()
        return read_run_file(path, pd.read_csv)

    @cached_property
    def agent(self):
        """The trained :class:`~metarl_neuro.agents.A2CLSTM` (CPU, eval mode)."""
        from metarl_neuro.experiments._base import (
            build,  # the experiments write run folders: read when needed
        )

        agent, _task, _opt = build(self.config, torch.device("cpu"), batch_size=1)
        ckpt = load_checkpoint(self.path / "checkpoint.pt", "cpu")
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

    def save_evaluations(self, rows: list[dict]) -> None:
        """Write ``evaluations.csv`` from one dict per test during training."""
        atomic_write(self.path / "evaluations.csv", lambda p: pd.DataFrame(rows).to_csv(p, index=False))

    def save_trials(self, trials: pd.DataFrame) -> None:
        """Write ``trials.parquet``."""
        atomic_write(self.path / "trials.parquet", lambda p: trials.to_parquet(p, index=False))

    def save_activations(self, ds: xr.Dataset) -> None:
        """Write ``activations.nc`` (NetCDF4 through h5netcdf).

        The file is built in memory and written with one Python write: HDF5 writing straight to a full disk
        crashed the process (segmentation fault); now a full disk is an ``OSError`` naming the file, and no
        partial file is left."""
        data = bytes(ds.to_netcdf(engine="h5netcdf"))
        atomic_write(self.path / "activations.nc", lambda p: Path(p).write_bytes(data))

    def save_figure(self, fig, name: str) -> None:
        """Write ``figures/<name>.png``."""
        atomic_write(self.path / "figures" / f"{name}.png", lambda p: fig.savefig(p, format="png", dpi=120))

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"
