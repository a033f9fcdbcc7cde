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
killed run never leaves a half-written file. One process at a time writes a run folder: :meth:`Run.writer` holds
the folder's lock (``<run>/.lock``, a :mod:`filelock` lock the kernel releases when its process dies) for the life
of a run, and a second writer is refused with the holder's PID and host. Checkpoints are read with
``torch.load(weights_only=True)``: opening a run folder someone sent you never runs code from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import json
import os
import pickle
import re
import socket
import tempfile
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import filelock
import pandas as pd
import torch
import xarray as xr

__all__ = ["RUN_FILES", "SUMMARY_FILE", "Run", "RunFolderLocked", "UnsafeCheckpoint", "atomic_write", "convert_trusted_checkpoint",
           "load_checkpoint", "load_state", "one_writer", "read_run_file", "read_seed_summary", "save_figures"]

#: files a finished run folder must hold
#: a finished seed of ``reproduce``: its summary, beside the run files
SUMMARY_FILE = "seed_summary.json"
RUN_FILES = ("config.json", "checkpoint.pt", "training.csv", "trials.parquet", "activations.nc")


def read_run_file(path: Path, read: Callable[[Path], object]):
    """``read(path)``, with any failure but a missing file turned into a ``ValueError`` that names the file.

    Parameters
    ----------
    path : pathlib.Path
        A file of a run folder.
    read : callable
        Its reader, ``read(path) -> object`` (e.g. ``pandas.read_parquet``).

    Returns
    -------
    object
        What ``read`` returns.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``read`` fails otherwise (truncated or corrupt file), naming ``path`` and the reader's message; an
        :class:`UnsafeCheckpoint` from ``read`` is raised as it is.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        return read(path)
    except UnsafeCheckpoint:  # already names the file and what to do
        raise
    except Exception as err:  # h5py, pyarrow, json and torch raise many types; all mean "corrupt"
        raise ValueError(f"{path} is truncated or corrupt ({type(err).__name__}: {str(err)[:200]}); "
                         "rerun the run (or --resume it, if its checkpoint is intact)") from err


class UnsafeCheckpoint(ValueError):
    """A checkpoint that holds more than tensors and plain containers: it is refused, never unpickled."""


#: the keys a checkpoint of this package holds (:func:`metarl_neuro.experiments.train_run`)
CHECKPOINT_KEYS = ("model", "optimizer", "task", "sampler", "train")


def load_checkpoint(path: Path, map_location="cpu", keys: tuple[str, ...] = ("model",)) -> dict:
    """Read a ``checkpoint.pt`` safely: :func:`torch.load` with ``weights_only=True``.

    Only tensors, state dicts and plain containers (dict, list, tuple, str, numbers, bool, None) are read; a file
    whose pickle asks for anything else (a class, a function: code) is refused before any of it runs. This package
    writes nothing else into its checkpoints (the RNG states are byte tensors).

    Parameters
    ----------
    path : path-like
        The ``checkpoint.pt``.
    map_location : str or torch.device
        Where the tensors go (:func:`torch.load`).
    keys : tuple of str
        Entries the caller needs (``"model"`` to load a network; :data:`CHECKPOINT_KEYS` to resume training).

    Returns
    -------
    dict
        The checkpoint.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnsafeCheckpoint
        (a ``ValueError``) If it holds objects beyond tensors and plain containers; the message names the file and
        says how to convert a checkpoint you made yourself (:func:`convert_trusted_checkpoint`).
    ValueError
        If it is truncated or corrupt, or lacks one of ``keys`` (not a checkpoint of this package, or one
        written without its optimiser); the message names the file.

    Examples
    --------
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "checkpoint.pt"
    >>> torch.save({"model": {"w": torch.ones(2)}}, path)
    >>> load_checkpoint(path)["model"]["w"]
    tensor([1., 1.])
    """
    path = Path(path)

    def read(p):
        try:
            return torch.load(p, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            if "weights_only" not in str(err) and "Weights only" not in str(err):
                raise
            raise UnsafeCheckpoint(
                f"{p} holds objects other than tensors and plain containers, so it was not unpickled (loading it "
                "could run code). If you made this file yourself and trust it, convert it once with "
                f"`python -m metarl_neuro.run convert-trusted {p}` (metarl_neuro.run.convert_trusted_checkpoint); "
                f"never convert a file someone sent you. torch said: {str(err).splitlines()[-1][:200]}") from None

    ckpt = read_run_file(path, read)
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} is not a checkpoint of this package (not a dict of states)")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise ValueError(f"{path} is not a complete checkpoint of this package: it lacks {missing} (needs "
                         f"{list(keys)}); rerun the run rather than resume it")
    return ckpt


def load_state(target, state: dict, path: Path, what: str) -> None:
    """``target.load_state_dict(state)``, with a mismatch turned into a ``ValueError`` that names the file.

    Parameters
    ----------
    target : torch.nn.Module or torch.optim.Optimizer
        What the state is loaded into.
    state : dict
        A state dict from a checkpoint.
    path : pathlib.Path
        The checkpoint, for the message.
    what : str
        What is loaded (``"network"``, ``"optimiser"``), for the message.

    Raises
    ------
    ValueError
        If ``state`` does not fit ``target`` (another experiment's checkpoint, an edited ``hidden_size`` in
        ``config.json``, a checkpoint of another task); the message names ``path`` and ``what`` was loaded.
    """
    try:
        target.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: its {what} state does not fit this run's config ({first}); was config.json edited, "
                         "or the checkpoint copied from another run?") from None


def convert_trusted_checkpoint(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Rewrite a checkpoint **you made yourself** so that :func:`load_checkpoint` reads it.

    This one function unpickles with ``weights_only=False``: call it only on a file you created (an older
    version's checkpoint, say). It keeps what a checkpoint may hold (:data:`CHECKPOINT_KEYS` and
    ``config_hash``), writes it with :func:`torch.save` and checks that it now loads with ``weights_only=True``.
    ``python -m metarl_neuro.run convert-trusted PATH`` does the same.

    Parameters
    ----------
    path : path-like
        The trusted ``checkpoint.pt``.
    out : path-like, optional
        Where to write the converted file (default: over ``path``, atomically).

    Returns
    -------
    pathlib.Path
        The converted file.

    Raises
    ------
    ValueError
        If the converted contents still hold objects a safe load refuses (naming the file).
    """
    path = Path(path)
    ckpt = read_run_file(path, lambda p: torch.load(p, map_location="cpu", weights_only=False))  # trusted by the caller
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} is not a checkpoint of this package (not a dict of states)")
    kept = {k: v for k, v in ckpt.items() if k in (*CHECKPOINT_KEYS, "config_hash")}
    target = Path(out) if out is not None else path
    atomic_write(target, lambda p: torch.save(kept, p))
    load_checkpoint(target, keys=())
    return target


def _spacing(meta: dict) -> float:
    """A run's spacing of tests during training in episodes (its config's ``eval_every``), as recorded; NaN where
    the config has none or tests never (0)."""
    every = meta["config"].get("eval_every")
    return float(every) if every else float("nan")


class RunFolderLocked(OSError):
    """Another process is writing the run folder (it holds its lock)."""


_LOCK, _OWNER = ".lock", ".lock.owner"
#: run folders this process writes: folder -> (lock, depth), so that nested writers of one run share the lock
_HELD: dict[Path, list] = {}


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
    def experiment(self):
        """The :class:`~metarl_neuro.experiments.Experiment` that wrote the run (``config.json``'s ``experiment``).

        Found by the registry's rule, module ``metarl_neuro.experiments.<name with _ for ->`` and its
        ``EXPERIMENT`` (``tests/test_registry.py`` holds every registered experiment to it), imported by that name:
        the run-folder layer imports nothing above it. Raises ``ValueError`` naming ``config.json`` for a name
        that is no experiment of this version."""
        name = self.meta["experiment"]
        unknown = ValueError(f"{self.path / 'config.json'} names an unknown experiment {name!r}; this version has "
                             "no such module in metarl_neuro.experiments")
        module = str(name).replace("-", "_")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", module):
            raise unknown
        try:
            exp = importlib.import_module(f"metarl_neuro.experiments.{module}").EXPERIMENT
        except (ModuleNotFoundError, AttributeError):
            raise unknown from None
        if exp.name != name:
            raise unknown
        return exp

    @cached_property
    def config(self):
        """The experiment's frozen config dataclass.

        A field the folder's ``config.json`` lacks (added to the experiment after the run) takes its declared
        ``legacy`` value (:func:`~metarl_neuro.experiments.option`), else its default.

        Raises ``ValueError`` naming ``config.json`` for an unknown experiment or fields the config does not have."""
        name = self.meta["experiment"]
        cls = self.experiment.config
        if not isinstance(self.meta["config"], dict):
            raise ValueError(f"{self.path / 'config.json'}: 'config' must be an object of field -> value")
        recorded = self.meta["config"]
        # a field added after this folder was written: the value it ran with (experiments.option's legacy)
        legacy = {f.name: f.metadata["legacy"] for f in dataclasses.fields(cls)
                  if "legacy" in f.metadata and f.name not in recorded}
        try:  # every field checked against its type, domain and choices (experiments.check_config)
            return cls(**legacy, **recorded)
        except (TypeError, ValueError) as err:
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

    def evaluations_by_stage(self) -> pd.DataFrame:
        """The learning curve through a curriculum (``config.json``'s ``curriculum``, e.g. ``harlow-pixels
        --curriculum``): each stage's :attr:`evaluations`, then this run's, on one axis of training episodes.

        Returns
        -------
        pandas.DataFrame
            The rows of :attr:`evaluations`, stage by stage, with ``episodes`` counted from the start of the first
            stage, ``stage_episodes`` (the episodes within its own stage), ``fov`` (the stage's view in degrees,
            NaN for a config without one), ``eval_every`` (the stage's spacing of tests in its own episodes, its
            config's ``eval_every``; NaN for a config without one) and ``stage`` (0, 1, ...; this run's own rows
            last). A run without a curriculum gives its own evaluations with ``stage`` 0.

        Raises
        ------
        FileNotFoundError, ValueError
            As :attr:`evaluations` and :meth:`load`, naming a stage folder that is missing or corrupt.
        """
        parts, offset = [], 0
        stages = self.meta.get("curriculum") or []
        for k, stage in enumerate(stages):
            run = Run.load(self.path / stage["folder"])
            e = run.evaluations
            parts.append(e.assign(stage_episodes=e["episodes"], episodes=e["episodes"] + offset, fov=stage["fov"],
                                  eval_every=_spacing(run.meta), stage=k))
            offset += int(stage["episodes"])
        own = self.evaluations
        # as recorded: the report also reads folders whose config.json holds fields of a lab's own
        fov = float(self.meta["config"].get("fov", float("nan")))
        if len(own):
            parts.append(own.assign(stage_episodes=own["episodes"], episodes=own["episodes"] + offset, fov=fov,
                                    eval_every=_spacing(self.meta), stage=len(stages)))
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else own

    @cached_property
    def agent(self):
        """The trained :class:`~metarl_neuro.agents.A2CLSTM` (CPU, eval mode), read with
        :func:`load_checkpoint` (``weights_only=True``: no code in the folder runs).

        Raises ``ValueError`` naming ``checkpoint.pt`` if it is refused, corrupt, or does not fit the config."""
        path = self.path / "checkpoint.pt"
        ckpt = load_checkpoint(path, "cpu")
        agent = self.config.new_agent(torch.device("cpu"))
        load_state(agent, ckpt["model"], path, "network")
        return agent.eval()

    def checkpoint_sha256(self) -> str:
        """The SHA-256 (hex) of this folder's ``checkpoint.pt``: the identity of its network, as a run started
        from it records it (``init_from_sha256`` in ``config.json``). Read afresh at each call.

        Raises ``FileNotFoundError`` (naming the file) where the folder holds no checkpoint."""
        return hashlib.sha256((self.path / "checkpoint.pt").read_bytes()).hexdigest()

    @contextlib.contextmanager
    def writer(self):
        """Hold this run folder's lock while writing it: one writer per run folder.

        The lock is ``<run>/.lock`` (:class:`filelock.FileLock`, an ``flock`` the kernel releases when the process
        dies, so a killed run's lock is recovered by the next writer); ``<run>/.lock.owner`` names the holder.
        Nested writers of one folder in one process share it. The folder is made if needed, and removed again if
        this call made it and nothing was written in it (a start that failed its checks).

        Raises
        ------
        RunFolderLocked
            (an ``OSError``) If another process holds the lock; the message names its PID, host and start time.
        """
        key = self.path.resolve()
        if key in _HELD:
            _HELD[key][1] += 1
            try:
                yield self
            finally:
                _HELD[key][1] -= 1
            return
        created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(self.path / _LOCK, timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise RunFolderLocked(f"{self.path} is being written by another process ({_owner(self.path)}); wait for "
                                  "it to finish, or choose another --out") from None
        _HELD[key] = [lock, 1]
        try:
            owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
            atomic_write(self.path / _OWNER, lambda p: Path(p).write_text(json.dumps(owner)))
            yield self
        finally:
            del _HELD[key]
            (self.path / _OWNER).unlink(missing_ok=True)
            lock.release()
            if created and {p.name for p in self.path.iterdir()} <= {_LOCK}:  # a failed start leaves nothing behind
                (self.path / _LOCK).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    self.path.rmdir()

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


def read_seed_summary(folder: str | Path) -> dict | None:
    """A finished seed's ``seed_summary.json`` (:func:`metarl_neuro.reproduce.run_seed`'s result), or None where there is none.

    Parameters
    ----------
    folder : str or pathlib.Path
        A seed's run folder.

    Returns
    -------
    dict or None
        ``wall_s``, ``resumed``, ``config_hash`` and ``summary``, and ``cpu_s`` where it was recorded (summaries
        written before it have none); None where the seed has not finished.

    Raises
    ------
    ValueError
        If the file is corrupt, or lacks one of ``wall_s``, ``resumed``, ``config_hash`` and ``summary`` (a dict of
        metric -> number) or holds it with another type; the message names the file.
    """
    path = Path(folder) / SUMMARY_FILE
    if not path.exists():
        return None
    saved = read_run_file(path, lambda p: json.loads(Path(p).read_text()))
    number = (int, float)
    expected = {"wall_s": number, "resumed": bool, "config_hash": str, "summary": dict}
    bad = [k for k, kind in expected.items() if not isinstance(saved, dict) or not isinstance(saved.get(k), kind)
           or (kind is number and isinstance(saved.get(k), bool))]
    if "cpu_s" in saved and (not isinstance(saved["cpu_s"], number) or isinstance(saved["cpu_s"], bool)):
        bad.append("cpu_s")
    if not bad and not all(isinstance(k, str) and isinstance(v, number) and not isinstance(v, bool)
                           for k, v in saved["summary"].items()):
        bad = ["summary (a dict of metric -> number)"]
    if bad:
        raise ValueError(f"{path} is not a seed summary of this package: missing or malformed {bad}; delete it and "
                         "rerun reproduce to write it again")
    return saved


def _owner(folder: Path, wait_s: float = 2.0) -> str:
    """The lock holder of a run folder as written in ``.lock.owner``: ``PID 123 on host h since ...``. A holder
    writes the file just after taking the lock: a writer refused in between waits up to ``wait_s`` for it."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            o = json.loads((folder / _OWNER).read_text())
            return f"PID {o['pid']} on host {o['host']} since {o['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return "a process that has not written its PID and host"
            time.sleep(0.01)


def one_writer(simulate: Callable) -> Callable:
    """Decorate a ``simulate(config, out, ...)`` so that it holds ``out``'s lock for its whole life
    (:meth:`Run.writer`); every experiment's simulation is wrapped.

    Parameters
    ----------
    simulate : callable
        An experiment's ``simulate(config, out, resume=False, progress=True)``.

    Returns
    -------
    callable
        The same function, holding the lock of ``out`` while it runs.

    Raises
    ------
    RunFolderLocked
        If another process writes ``out``.
    """
    @functools.wraps(simulate)
    def wrapper(config, out, *args, **kwargs):
        with Run(out).writer():
            return simulate(config, out, *args, **kwargs)
    return wrapper


def _main(argv: list[str] | None = None) -> int:
    """``python -m metarl_neuro.run convert-trusted PATH [--out OUT]``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m metarl_neuro.run", description="Run-folder utilities.")
    sub = parser.add_subparsers(dest="command", required=True)
    conv = sub.add_parser("convert-trusted", help="rewrite a checkpoint YOU made so that it loads with "
                          "weights_only=True (never on a file someone sent you)")
    conv.add_argument("path", type=Path)
    conv.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        print(f"converted: {convert_trusted_checkpoint(args.path, args.out)}")
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
