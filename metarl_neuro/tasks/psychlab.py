"""DeepMind Lab's PsychLab Harlow level behind the batched task protocol (Wang et al. 2018, Simulation 5).

``deepmind_lab`` is imported only when a :class:`PsychLabHarlow` is built; it is not on PyPI and is built from
source (https://github.com/google-deepmind/lab/blob/master/docs/users/build.md, Python 3 pip package). The
wrapper's action set, start and time limit match the torch surrogate
(:class:`~metarl_neuro.tasks.harlow_pixels.HarlowPixelTask`), whose geometry was measured on this level.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from metarl_neuro.tasks._protocol import LogField, check_actions, step_doc
from metarl_neuro.tasks.harlow_pixels import look_actions

__all__ = ["DATASET_SIZE", "HELDOUT_COLOURS", "LEVEL_NAME", "LevelRecord", "PsychLabHarlow", "check_dataset_path",
           "heldout_colour_dataset", "parse_trial_data", "play_scripted", "render_size", "replay_on_surrogate",
           "write_dataset"]

#: the level of DeepMind Lab's PsychLab Harlow task (harlow_factory.lua)
LEVEL_NAME = "contributed/psychlab/harlow"
_LOOK = "LOOK_LEFT_RIGHT_PIXELS_PER_FRAME"
_HOW_TO_GET_IT = (
    "PsychLabHarlow needs DeepMind Lab's Python module `deepmind_lab`, which is not on PyPI: build it from "
    "source with Bazel and install the pip package it makes (https://github.com/google-deepmind/lab, "
    "docs/users/build.md: `bazel build -c opt --python_version=PY3 //python/pip_package:build_pip_package`, "
    "then `./bazel-bin/python/pip_package/build_pip_package /tmp/dmlab_pkg` and `pip install "
    "/tmp/dmlab_pkg/deepmind_lab-*.whl`)."
)
#: images the level's dataset reader expects in a ``datasetPath`` folder, ``0001.png`` ... ``2400.png``
#: (``datasets/brady_konkle_oliva2008.lua``: ``DATASET_SIZE``, template ``'%04d.png'``)
DATASET_SIZE = 2400
#: the ``dataset_path`` value of the held-out solid colours (:func:`heldout_colour_dataset`)
HELDOUT_COLOURS = "dummy-heldout"
#: ids the level draws its pairs from: ``harlow_factory.lua`` sets ``kwargs.isTrain = kwargs.isTrain or true``,
#: which no setting can make false, so every episode draws from its training batch, ids 1-1000
_LEVEL_DRAWS = 1000
_HOW_TO_GET_IMAGES = (
    "The PsychLab Harlow level needs its image set: download the Brady, Konkle & Oliva (2008) objects as "
    "described in DeepMind Lab's data/brady_konkle_oliva2008/README.md (a folder of 0001.png ... 2400.png) and "
    "pass that folder, or pass 'dummy' for the level's built-in solid-colour images (no download), or "
    f"'{HELDOUT_COLOURS}' for its held-out colours (written once, no download)."
)
_FIELD = re.compile(r"\[\s*'([^']+)'\s*\]\s*=\s*(.*)")


def parse_trial_data(text: str) -> dict:
    """Parse one ``xdata:psychlab`` event payload (PsychLab's ``helpers.tostring`` of the trial table).

    On the real level a payload reads ``{ ['trial'] = 1 ['correctResponse'] = 1 ['response'] =
    incorrect_image_button ['stepCount'] = 10 ['reactionTime'] = 0.1666 ['correct'] = 0 ['trialId'] = 1 }``
    with one field a line; numbers become int or float, everything else stays a string.

    Parameters
    ----------
    text : str
        The event's first observation.

    Returns
    -------
    dict
        Field name -> value.

    Examples
    --------
    >>> parse_trial_data("{\\n  ['correct'] = 1\\n  ['response'] = correct_image_button\\n}")
    {'correct': 1, 'response': 'correct_image_button'}
    """
    out = {}
    for line in str(text).splitlines():
        m = _FIELD.match(line.strip())
        if not m:
            continue
        key, raw = m.group(1), m.group(2).strip()
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        out[key] = value
    return out


def check_dataset_path(path: str | Path | None) -> str:
    """Check the level's ``datasetPath`` before anything is built or written.

    Parameters
    ----------
    path : str or Path or None
        ``"dummy"`` (the level's solid-colour images), ``"dummy-heldout"`` (:data:`HELDOUT_COLOURS`: the
        colours the surrogate holds out, :func:`heldout_colour_dataset`) or a folder holding ``0001.png``.

    Returns
    -------
    str
        The path as the level takes it (``"dummy-heldout"`` unchanged: :class:`PsychLabHarlow` resolves it).

    Raises
    ------
    ValueError
        If the path is empty or None, or not a folder holding ``0001.png``; the message says how to get the
        Brady et al. 2008 images or to pass ``dummy``.
    """
    if path is None or str(path) == "":
        raise ValueError(f"no dataset path given. {_HOW_TO_GET_IMAGES}")
    if str(path) in ("dummy", HELDOUT_COLOURS):
        return str(path)
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"dataset path {folder} is not a folder. {_HOW_TO_GET_IMAGES}")
    if not (folder / "0001.png").is_file():
        raise ValueError(f"dataset path {folder} holds no 0001.png. {_HOW_TO_GET_IMAGES}")
    return str(folder)


def write_dataset(folder: str | Path, images, size: int = 256) -> Path:
    """Write an image set in the layout the level's dataset reader expects, as a ``datasetPath`` folder.

    DeepMind Lab's ``datasets/brady_konkle_oliva2008.lua`` reads image id ``k`` from ``'%04d.png' % k`` in the
    folder, ids 1-2400 (:data:`DATASET_SIZE`). File ``k`` holds ``images[(k - 1) % n]``, so a set of fewer
    than 2,400 images repeats (as hard links to the first file of each image); the level draws every pair from
    ids 1-1000 (its ``isTrain`` cannot be switched off), which shows ``images[:1000]``. The files are written into a temporary folder beside ``folder`` and
    moved into place at once: a folder that exists is complete.

    Parameters
    ----------
    folder : str or Path
        The folder to create; it must not exist.
    images : torch.Tensor or numpy.ndarray
        ``(n, 3, h, w)`` float in [0, 1] (the stimulus tensors of
        :mod:`~metarl_neuro.tasks.harlow_pixels`), ``n >= 2``.
    size : int
        Side in pixels of each file (default 256, the side of the level's ``dummy`` images); images are
        resized by nearest neighbour.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    ValueError
        If ``images`` is not ``(n, 3, h, w)`` with ``n >= 2`` and values in [0, 1], or ``size < 1``.
    FileExistsError
        If ``folder`` exists.
    OSError
        If the folder cannot be written; the message names it.

    Examples
    --------
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> out = write_dataset(Path(tempfile.mkdtemp()) / "two_colours", torch.rand(2, 3, 1, 1), size=8)
    >>> sorted(p.name for p in out.iterdir())[:3], len(list(out.iterdir()))
    (['0001.png', '0002.png', '0003.png'], 2400)
    """
    from PIL import Image

    arr = np.asarray(images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else images, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[1] != 3 or arr.shape[0] < 2:
        raise ValueError(f"images must be (n, 3, h, w) with n >= 2, got shape {arr.shape}")
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
        raise ValueError("images must hold values in [0, 1]")
    if int(size) < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(f"dataset folder {folder} exists; write to a new folder")
    u8 = np.rint(arr * 255).astype(np.uint8).transpose(0, 2, 3, 1)  # (n, h, w, 3)
    rows = (np.arange(size) * u8.shape[1]) // size
    cols = (np.arange(size) * u8.shape[2]) // size
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as err:
        raise OSError(f"cannot write the dataset folder {folder}: {err}") from err
    try:
        for k in range(1, DATASET_SIZE + 1):
            first = (k - 1) % len(u8) + 1  # the file that holds this image first
            if first < k:  # a repeat: a hard link to it (a copy where the filesystem has none)
                try:
                    os.link(tmp / f"{first:04d}.png", tmp / f"{k:04d}.png")
                except OSError:
                    shutil.copyfile(tmp / f"{first:04d}.png", tmp / f"{k:04d}.png")
                continue
            img = u8[k - 1]
            Image.fromarray(np.ascontiguousarray(img[rows][:, cols])).save(tmp / f"{k:04d}.png", compress_level=1)
        os.replace(tmp, folder)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if folder.exists():  # another writer finished first
            raise FileExistsError(f"dataset folder {folder} exists; write to a new folder") from err
        raise OSError(f"cannot write the dataset folder {folder}: {err}") from err
    return folder


def heldout_colour_dataset(cache_dir: str | Path | None = None) -> Path:
    """The folder of ``dataset_path="dummy-heldout"``: the level's solid colours the surrogate never trains on.

    The level's ``dummy`` images are 2,400 solid colours (``datasets/color_dataset.lua``), and every episode
    draws its pair from ids 1-1000 (``harlow_factory.lua``). The surrogate
    (:class:`~metarl_neuro.tasks.harlow_pixels.HarlowPixelTask` with ``--stimuli dmlab-dummy``) trains on those
    same ids and holds out ids 1001-2000. This folder puts the held-out colours where the level draws: file
    ``k`` is colour id ``1000 + ((k - 1) % 1000) + 1`` (:func:`~metarl_neuro.tasks.harlow_pixels.dmlab_dummy_stimuli`
    indices 1000-1999), 256 x 256 as the level's own, so a network trained on the surrogate meets only images
    it never saw. The held-out colours are lighter on average than the training ones: ``color_dataset.lua``
    orders its colours by hue, then saturation, then lightness (lightness 0.2-0.37 for ids 1-1000, 0.37-0.54
    for ids 1001-2000).

    Written once (:func:`write_dataset`), under a lock so that concurrent seeds share it, into
    ``cache_dir`` (default: the user cache folder of ``platformdirs``, ``metarl_neuro/``).

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where the folder ``dmlab_dummy_heldout_1001_2000`` is kept.

    Returns
    -------
    pathlib.Path
        The dataset folder (``0001.png`` ... ``2400.png``).

    Raises
    ------
    OSError
        If the cache folder cannot be written; the message names it.

    Examples
    --------
    >>> import tempfile
    >>> folder = heldout_colour_dataset(tempfile.mkdtemp())
    >>> folder.name, (folder / "2400.png").is_file()
    ('dmlab_dummy_heldout_1001_2000', True)
    """
    import platformdirs
    from filelock import FileLock

    from metarl_neuro.tasks.harlow_pixels import dmlab_dummy_stimuli

    cache = Path(platformdirs.user_cache_dir("metarl_neuro") if cache_dir is None else cache_dir)
    folder = cache / "dmlab_dummy_heldout_1001_2000"
    if folder.is_dir():
        return folder
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot write the dataset cache folder {cache}: {err}") from err
    with FileLock(str(cache / "dmlab_dummy_heldout_1001_2000.lock")):
        if not folder.is_dir():
            write_dataset(folder, dmlab_dummy_stimuli(size=1)[_LEVEL_DRAWS:2 * _LEVEL_DRAWS])
    return folder


def import_lab(module=None):
    if module is not None:
        return module
    try:
        return importlib.import_module("deepmind_lab")
    except ImportError as err:
        raise ImportError(_HOW_TO_GET_IT) from err


class PsychLabHarlow:
    """B DeepMind Lab PsychLab Harlow levels stepped in lockstep, with the batched task protocol.

    Each slot is a ``deepmind_lab.Lab(LEVEL_NAME, ["RGB_INTERLEAVED", "DEBUG.POS.ROT"], config=...)`` with the
    software renderer. Action ``a`` sends ``LOOK_LEFT_RIGHT_PIXELS_PER_FRAME = look_actions(look_units)[a]``
    (the other entries zero) for ``action_repeat`` frames (``Lab.step(action, num_steps=action_repeat)``): the
    surrogate's action set, so one agent plays both. Rewards are passed through (+1 fixation, +5 correct,
    -5 incorrect). Trials come from the level's ``xdata:psychlab`` events (:func:`parse_trial_data`) into the
    log fields of :class:`~metarl_neuro.tasks.HarlowTask`, so :func:`metarl_neuro.experiments.harlow_1d.harlow_trials` builds the
    same trial table. A slot whose level stopped (6 trials, or ``episode_seconds``) is reset at once
    (``done``); the level's observations cannot be read after its end.

    Parameters
    ----------
    batch_size : int
        Number of Lab instances (about 75 MiB each).
    dataset_path : str
        ``"dummy"``, ``"dummy-heldout"`` (:func:`heldout_colour_dataset`) or the folder of the Brady et al.
        2008 images (:func:`check_dataset_path`).
    width, height : int
        Observation size in pixels (84 x 84, Wang et al. 2016).
    fps : int
        Frames per second of the level (60).
    look_units : tuple of int
        Look sizes of the actions (default ``(5, 36)``: fine 2.1 deg and saccade 15.2 deg per step; see
        :class:`~metarl_neuro.tasks.harlow_pixels.HarlowPixelTask`).
    action_repeat : int
        Frames per agent step (4).
    episode_seconds : float
        The level's ``episodeLengthSeconds`` (300 by default, the level's).
    fov : float
        Horizontal field of view of the observation in degrees. The level's camera sees 90 deg at any size; a
        narrower view is the centre of a larger render (``render_size``): e.g. 45 deg at 84 px is the central
        84 x 84 of a 204 x 204 render (44.8 deg exactly). Default 90: the whole frame.
    seed : int
        Seeds of the slots' episodes: slot ``b``'s ``k``-th episode uses ``seed + b + k * batch_size``.
    device : str or torch.device
        Device of the returned tensors.
    record_events : bool
        Keep every slot's parsed trial events in ``events[b]`` (for checks against the trial table).
    lab_module : module, optional
        Use this module instead of importing ``deepmind_lab``.

    Raises
    ------
    ImportError
        If ``deepmind_lab`` is not installed; the message says how to build it.
    ValueError
        For a bad dataset path, a non-positive batch size, size, fps, action repeat or episode length.

    Notes
    -----
    Frames are converted to float in numpy (one thread): torch's default thread count made the conversion
    cost 12-15 ms per step at batch >= 2 on 2 cores.
    """

    def __init__(self, batch_size: int, dataset_path: str, width: int = 84, height: int = 84, fps: int = 60,
                 look_units: tuple[int, ...] = (5, 36), action_repeat: int = 4, episode_seconds: float = 300.0,
                 fov: float = 90.0, seed: int = 0, device: torch.device | str = "cpu", record_events: bool = False,
                 lab_module=None):
        if min(batch_size, width, height, fps, action_repeat) < 1 or not episode_seconds > 0:
            raise ValueError("batch_size, width, height, fps, action_repeat and episode_seconds must be positive")
        if not 10 <= fov <= 90:
            raise ValueError(f"fov must be in [10, 90] degrees (the level's camera sees 90), got {fov}")
        if width % 4 or height % 4:
            raise ValueError(f"width and height must be multiples of 4 (DeepMind Lab's rule), got {width} x {height}")
        path = check_dataset_path(dataset_path)
        self.look = look_actions(look_units)
        lab = import_lab(lab_module)
        if path == HELDOUT_COLOURS:
            path = str(heldout_colour_dataset())
        self.render_size = (render_size(width, fov), render_size(height, fov))
        self._crop = ((self.render_size[1] - height) // 2, (self.render_size[0] - width) // 2)
        config = {"width": str(self.render_size[0]), "height": str(self.render_size[1]), "fps": str(fps),
                  "datasetPath": path, "logLevel": "WARN", "episodeLengthSeconds": str(episode_seconds)}
        self.batch_size, self.device = int(batch_size), torch.device(device)
        self.n_actions = len(self.look)
        self.action_repeat, self.seed = int(action_repeat), int(seed)
        self.obs_shape = (3, int(height), int(width))
        self.envs = [lab.Lab(LEVEL_NAME, ["RGB_INTERLEAVED", "DEBUG.POS.ROT"], config=dict(config),
                             renderer="software") for _ in range(self.batch_size)]
        spec = [a["name"] for a in self.envs[0].action_spec()]
        self._look_index = spec.index(_LOOK)
        self._n_action_entries = len(spec)
        self.episodes_started = np.zeros(self.batch_size, dtype=np.int64)
        self.trial = np.zeros(self.batch_size, dtype=np.int64)
        self.steps = np.zeros(self.batch_size, dtype=np.int64)
        self.start_gaze = np.zeros(self.batch_size, dtype=np.float32)
        self._obs = [None] * self.batch_size
        self.events = [[] for _ in range(self.batch_size)] if record_events else None
        self.log_schema = (
            LogField("trial", torch.int64, "0-based index of the trial the step ended (else the current one)"),
            LogField("trial_end", torch.bool, "True where an xdata:psychlab trial event arrived"),
            LogField("gaze", torch.float32, "gaze after the step, degrees from the screen's centre (+ right): "
                     "90 - yaw"),
            LogField("choice", torch.int64, "side chosen at trial_end (0 left, 1 right; -1 elsewhere)"),
            LogField("rewarded_side", torch.int64, "side of the correct image at trial_end (-1 elsewhere)"),
            LogField("correct", torch.bool, "True where the trial's response was the correct image"),
            LogField("rewarded_object", torch.int64, "image id (not published by the level: -1)"),
            LogField("other_object", torch.int64, "image id (not published by the level: -1)"),
            LogField("step_in_episode", torch.int64, "0-based agent step in the episode"),
        )

    def state_dict(self) -> dict:
        """The wrapper's counters (for checkpoints). DeepMind Lab's own state cannot be saved: a resumed run
        restarts the episodes that were in progress (:meth:`load_state_dict`), so it is not bit-identical to an
        uninterrupted one."""
        return {"episodes_started": self.episodes_started.copy(), "trial": self.trial.copy(),
                "steps": self.steps.copy()}

    def load_state_dict(self, state: dict) -> None:
        """Restore the counters and start a new episode in every slot (seeded as the next episode)."""
        self.episodes_started = np.asarray(state["episodes_started"]).copy()
        for b in range(self.batch_size):
            self._reset_slot(b)

    def close(self) -> None:
        """Close every Lab instance."""
        for env in self.envs:
            env.close()

    def _read(self, b: int) -> None:
        obs = self.envs[b].observations()
        (top, left), (_, h, w) = self._crop, self.obs_shape
        self._obs[b] = (obs["RGB_INTERLEAVED"][top:top + h, left:left + w], _gaze(obs["DEBUG.POS.ROT"]))

    def _reset_slot(self, b: int) -> None:
        self.envs[b].reset(seed=self.seed + b + int(self.episodes_started[b]) * self.batch_size)
        self.episodes_started[b] += 1
        self.trial[b] = 0
        self.steps[b] = 0
        self._read(b)
        self.start_gaze[b] = self._obs[b][1]

    def _frames(self) -> torch.Tensor:
        frames = np.stack([o[0] for o in self._obs]).astype(np.float32)  # (B, H, W, 3); numpy: one thread
        frames *= 1.0 / 255.0
        return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))).to(self.device)

    def reset(self) -> torch.Tensor:
        """Start a new episode in every slot; returns ``(B, 3, height, width)`` float32 in [0, 1]."""
        for b in range(self.batch_size):
            self._reset_slot(b)
        return self._frames()

    @step_doc(
        summary='One agent step (``action_repeat`` frames) in every slot.',
        action='values in ``range(n_actions)``',
        obs='``(B, 3, height, width)``',
        reward="the level's rewards summed over the step's frames",
        done='True where the step ended the episode',
    )
    def step(self, action: torch.Tensor):
        check_actions(action, self.batch_size, self.n_actions)
        acts = action.cpu().numpy()
        B = self.batch_size
        reward = np.zeros(B, np.float32)
        done = np.zeros(B, bool)
        gaze = np.zeros(B, np.float32)
        fields = {k: np.full(B, -1, np.int64) for k in ("choice", "rewarded_side", "rewarded_object", "other_object")}
        trial_end, correct = np.zeros(B, bool), np.zeros(B, bool)
        trial = self.trial.copy()
        for b, env in enumerate(self.envs):
            vec = np.zeros(self._n_action_entries, dtype=np.intc)
            vec[self._look_index] = int(self.look[int(acts[b])])
            reward[b] = env.step(vec, num_steps=self.action_repeat)
            for name, obs in env.events():
                if name != "xdata:psychlab":
                    continue
                data = parse_trial_data(obs[0])
                if self.events is not None:
                    self.events[b].append(data)
                side = int(data["correctResponse"]) - 1  # the level's 1 = left, 2 = right
                ok = int(data["correct"]) == 1
                trial_end[b], correct[b] = True, ok
                trial[b] = int(data["trial"]) - 1
                fields["rewarded_side"][b] = side
                fields["choice"][b] = side if ok else 1 - side
                self.trial[b] = trial[b] + 1
            done[b] = not env.is_running()
            if not done[b]:
                self._read(b)
                gaze[b] = self._obs[b][1]
            else:  # the level cannot be read after its end: the gaze is that of the step's last frame
                gaze[b] = np.nan
        log = {
            "trial": torch.from_numpy(trial),
            "trial_end": torch.from_numpy(trial_end),
            "gaze": torch.from_numpy(gaze),
            "correct": torch.from_numpy(correct),
            "step_in_episode": torch.from_numpy(self.steps.copy()),
            **{k: torch.from_numpy(v) for k, v in fields.items()},
        }
        self.steps += 1
        for b in np.nonzero(done)[0]:
            self._reset_slot(int(b))
        log = {k: v.to(self.device) for k, v in log.items()}
        return self._frames(), torch.from_numpy(reward).to(self.device), torch.from_numpy(done).to(self.device), log


def render_size(size: int, fov: float) -> int:
    """Side of the level's render whose central ``size`` pixels see ``fov`` degrees (the camera sees 90 deg across
    the whole render): ``size / tan(fov / 2)``, rounded to a multiple of 4 (DeepMind Lab's rule for its sizes;
    with ``size`` a multiple of 4 the crop is then centred on whole pixels).

    Examples
    --------
    >>> render_size(84, 90.0), render_size(84, 45.0)
    (84, 204)
    """
    full = size / math.tan(math.radians(fov) / 2)
    return 4 * round(full / 4)


def _gaze(rot: np.ndarray) -> float:
    """Gaze in degrees from the screen's centre, positive right, from ``DEBUG.POS.ROT`` (pitch, yaw, roll)."""
    return float((90.0 - float(rot[1]) + 180.0) % 360.0 - 180.0)


class LevelRecord(NamedTuple):
    """What a Harlow task did under a sequence of actions: ``(S, B)`` numpy arrays, plus each slot's episodes.

    ``gaze`` is NaN on a step that ended the real level's episode (it cannot be read after the end).
    ``starts[b]`` lists slot ``b``'s start gazes (degrees) and ``sides[b]`` the rewarded sides of each
    episode's completed trials, in order. ``frames`` is ``(S, B, 3, H, W)`` uint8, the observation after each
    step, where asked for.
    """

    action: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    trial_end: np.ndarray
    choice: np.ndarray
    correct: np.ndarray
    rewarded_side: np.ndarray
    gaze: np.ndarray
    starts: list
    sides: list
    frames: np.ndarray | None = None


def _frames_u8(obs: torch.Tensor) -> np.ndarray:
    return (obs.cpu().numpy() * 255).round().astype(np.uint8)


def _scripted_action(g: float, mode: int, side: int, n_actions: int) -> int:
    fine_l, fine_r, sac_l, sac_r = 1, 2, n_actions - 2, n_actions - 1
    if mode == 0:  # to the cross: saccades while far, fine steps near, then hold
        if abs(g) > 9:
            return sac_r if g < 0 else sac_l
        return (fine_r if g < 0 else fine_l) if abs(g) > 1 else 0
    target = -17.8 if side == 0 else 17.8  # the centre of an image's button
    return (sac_r if g < target else sac_l) if abs(g - target) > 6 else 0


def play_scripted(task, steps: int, epsilon: float = 0.3, seed: int = 0, frames: bool = False) -> LevelRecord:
    """Play a Harlow pixel task (the real level or the surrogate) with a scripted gaze policy.

    The policy reads the logged gaze: it saccades and steps towards the cross and holds, then (after the
    fixation reward) saccades to a random image and holds; with probability ``epsilon`` it takes a uniformly
    random action instead. It needs the default action set (stay, fine left / right, saccade left / right).

    Parameters
    ----------
    task : PsychLabHarlow or HarlowPixelTask
        A task with a ``gaze`` log field (degrees) and, for the record of starts, ``start_gaze`` or ``gaze``.
    steps : int
        Agent steps to play.
    epsilon : float
        Share of random actions.
    seed : int
        Seed of the policy's random numbers.
    frames : bool
        Keep the observations (``LevelRecord.frames``).

    Returns
    -------
    LevelRecord

    Raises
    ------
    ValueError
        If ``task`` has fewer than 5 actions or ``epsilon`` is outside [0, 1].
    """
    if task.n_actions < 5 or not 0 <= epsilon <= 1:
        raise ValueError("play_scripted needs the 5-action set (stay, fine and saccade steps) and epsilon in [0, 1]")
    rng = np.random.default_rng(seed)
    task.reset()
    B = task.batch_size

    def starts_now():
        if hasattr(task, "start_gaze"):
            return [float(x) for x in task.start_gaze]
        return [float(x) for x in task.gaze.float() * (360.0 / 65536)]

    g = np.array(starts_now())
    starts, sides = [[x] for x in g], [[[]] for _ in range(B)]
    mode, side = np.zeros(B, int), np.zeros(B, int)
    owed = np.zeros(B, bool)  # a choice fired on a step's last frame: its reward comes on the next step
    cols = {k: [] for k in ("action", "reward", "done", "trial_end", "choice", "correct", "rewarded_side", "gaze")}
    seen = []
    for _ in range(steps):
        a = np.array([int(rng.integers(task.n_actions)) if rng.random() < epsilon
                      else _scripted_action(g[b], mode[b], side[b], task.n_actions) for b in range(B)])
        obs, r, d, log = task.step(torch.as_tensor(a, dtype=torch.long))
        if frames:
            seen.append(_frames_u8(obs))
        r, d = r.cpu().numpy(), d.cpu().numpy()
        te = log["trial_end"].cpu().numpy()
        rows = {"action": a, "reward": r, "done": d, "trial_end": te, "choice": log["choice"].cpu().numpy(),
                "correct": log["correct"].cpu().numpy(), "rewarded_side": log["rewarded_side"].cpu().numpy(),
                "gaze": log["gaze"].cpu().numpy()}
        for k, v in rows.items():
            cols[k].append(v)
        now = starts_now()
        for b in range(B):
            if te[b]:
                sides[b][-1].append(int(rows["rewarded_side"][b]))
                mode[b], owed[b] = 0, r[b] == 0
            elif r[b] != 0 and owed[b]:
                owed[b] = False
            elif r[b] > 0 and mode[b] == 0:
                mode[b], side[b] = 1, int(rng.integers(2))
            if d[b]:
                starts[b].append(now[b])
                sides[b].append([])
                mode[b], owed[b], g[b] = 0, False, now[b]
            else:
                g[b] = rows["gaze"][b]
    return LevelRecord(**{k: np.stack(v) for k, v in cols.items()}, starts=starts, sides=sides,
                       frames=np.stack(seen) if frames else None)


def replay_on_surrogate(surrogate, record: LevelRecord) -> LevelRecord:
    """Replay a :class:`LevelRecord`'s actions on the surrogate from the same starts and sides.

    Each slot's episodes start at the recorded start gaze with the recorded rewarded sides (trials the
    record never finished get the left side); a surrogate episode that ends where the record's did not (or
    the reverse) shows as a difference in ``done``. Compare the two records field by field. Where the record
    kept its frames, the surrogate's are kept too.

    Parameters
    ----------
    surrogate : HarlowPixelTask
        The surrogate, with ``batch_size`` equal to the record's.
    record : LevelRecord
        E.g. :func:`play_scripted` on the real level.

    Returns
    -------
    LevelRecord
        The surrogate's record of the same actions.

    Raises
    ------
    ValueError
        If the batch sizes differ.
    """
    S, B = record.action.shape
    if surrogate.batch_size != B:
        raise ValueError(f"the surrogate has {surrogate.batch_size} slots; the record {B}")
    n = surrogate.n_trials
    episode = np.zeros(B, int)

    def plan(b):
        got = record.sides[b][episode[b]] if episode[b] < len(record.sides[b]) else []
        return (list(got) + [0] * n)[:n]

    def start(b):
        return record.starts[b][min(episode[b], len(record.starts[b]) - 1)]

    surrogate.reset_to(torch.tensor([start(b) for b in range(B)]), torch.tensor([plan(b) for b in range(B)]))
    cols = {k: [] for k in ("action", "reward", "done", "trial_end", "choice", "correct", "rewarded_side", "gaze")}
    seen = []
    for t in range(S):
        a = record.action[t]
        obs, r, d, log = surrogate.step(torch.as_tensor(a, dtype=torch.long))
        d = d.cpu().numpy()
        rows = {"action": a, "reward": r.cpu().numpy(), "done": d, "trial_end": log["trial_end"].cpu().numpy(),
                "choice": log["choice"].cpu().numpy(), "correct": log["correct"].cpu().numpy(),
                "rewarded_side": log["rewarded_side"].cpu().numpy(), "gaze": log["gaze"].cpu().numpy()}
        for k, v in rows.items():
            cols[k].append(v)
        if d.any():
            episode[d] += 1
            obs = surrogate.reset_to(torch.tensor([start(b) for b in range(B)]),
                                     torch.tensor([plan(b) for b in range(B)]), which=torch.as_tensor(d))
        if record.frames is not None:
            seen.append(_frames_u8(obs))
    starts = [list(record.starts[b][:episode[b] + 1]) for b in range(B)]
    return LevelRecord(**{k: np.stack(v) for k, v in cols.items()}, starts=starts, sides=record.sides,
                       frames=np.stack(seen) if record.frames is not None else None)
