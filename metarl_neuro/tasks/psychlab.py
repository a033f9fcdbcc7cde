"""DeepMind Lab's PsychLab Harlow level behind the batched task protocol (Wang et al. 2018, Simulation 5).

``deepmind_lab`` is imported only when a :class:`PsychLabHarlow` is built; it is not on PyPI and is built from
source (https://github.com/google-deepmind/lab/blob/master/docs/users/build.md, Python 3 pip package).
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import torch

from metarl_neuro.tasks._protocol import LogField, check_actions

__all__ = ["LEVEL", "PsychLabHarlow", "parse_trial_data"]

#: the level of DeepMind Lab's PsychLab Harlow task (harlow_factory.lua)
LEVEL = "contributed/psychlab/harlow"
#: DeepMind Lab's 7 action entries; only the first is used (PsychLab moves a gaze on a screen)
_ACTION_NAMES = ("LOOK_LEFT_RIGHT_PIXELS_PER_FRAME", "LOOK_DOWN_UP_PIXELS_PER_FRAME", "STRAFE_LEFT_RIGHT",
                 "MOVE_BACK_FORWARD", "FIRE", "JUMP", "CROUCH")
_HOW_TO_GET_IT = (
    "PsychLabHarlow needs DeepMind Lab's Python module `deepmind_lab`, which is not on PyPI: build it from "
    "source with Bazel and install the pip package it makes (https://github.com/google-deepmind/lab, "
    "docs/users/build.md: `bazel build -c opt --python_version=PY3 //python/pip_package:build_pip_package`, "
    "then `./bazel-bin/python/pip_package/build_pip_package /tmp/dmlab_pkg` and `pip install "
    "/tmp/dmlab_pkg/deepmind_lab-*.whl`). The level also needs the Brady et al. 2008 image set "
    "(`datasetPath`, data/brady_konkle_oliva2008 in the DeepMind Lab repository)."
)
_FIELD = re.compile(r"\[\s*'([^']+)'\s*\]\s*=\s*(.*)")


def parse_trial_data(text: str) -> dict:
    """Parse one ``xdata:psychlab`` event payload (PsychLab's ``helpers.tostring`` of the trial table).

    Lines look like ``['correct'] = 1``; numbers become int or float, everything else stays a string.

    Parameters
    ----------
    text : str
        The event's first observation.

    Returns
    -------
    dict
        Field name -> value.
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


def _import_lab(module=None):
    if module is not None:
        return module
    try:
        return importlib.import_module("deepmind_lab")
    except ImportError as err:
        raise ImportError(_HOW_TO_GET_IT) from err


class PsychLabHarlow:
    """B DeepMind Lab PsychLab Harlow levels stepped in lockstep, with the batched task protocol.

    Each slot is a ``deepmind_lab.Lab(LEVEL, ["RGB_INTERLEAVED"], config={"width", "height", "fps",
    "datasetPath"})``. Actions: ``0`` look left, ``1`` look right, ``2`` no-op, each sent as
    ``LOOK_LEFT_RIGHT_PIXELS_PER_FRAME = -/+look_speed`` (the other six entries zero) repeated for
    ``action_repeat`` frames (``Lab.step(action, num_steps=action_repeat)``). Rewards are passed through
    (DeepMind Lab's +1 fixation, +5 correct, -5 incorrect). Trials come from the level's ``xdata:psychlab``
    events (:func:`parse_trial_data`) into the log fields of :class:`~metarl_neuro.tasks.HarlowTask`, so
    :func:`metarl_neuro.logs.harlow_trials` builds the same trial table. A slot whose level stopped running
    is reset at once (``done``).

    Parameters
    ----------
    batch_size : int
        Number of Lab instances.
    width, height : int
        Observation size in pixels (84 x 84, Wang et al. 2016).
    fps : int
        Frames per second of the level.
    dataset_path : str, optional
        Folder of the Brady et al. 2008 images (``datasetPath``).
    action_repeat : int
        Frames per agent step.
    look_speed : int
        Pixels per frame of a look action.
    seed : int
        Seeds of the slots' episodes: slot ``b``'s ``k``-th episode uses ``seed + b + k * batch_size``.
    device : str or torch.device
        Device of the returned tensors.
    lab_module : module, optional
        Use this module instead of importing ``deepmind_lab`` (the tests pass a stand-in).

    Raises
    ------
    ImportError
        If ``deepmind_lab`` is not installed; the message says how to build it.
    ValueError
        For a non-positive batch size, size, fps or action repeat.
    """

    n_actions = 3

    def __init__(self, batch_size: int, width: int = 84, height: int = 84, fps: int = 60,
                 dataset_path: str | None = None, action_repeat: int = 4, look_speed: int = 20, seed: int = 0,
                 device: torch.device | str = "cpu", lab_module=None):
        if min(batch_size, width, height, fps, action_repeat) < 1:
            raise ValueError("batch_size, width, height, fps and action_repeat must be >= 1")
        lab = _import_lab(lab_module)
        config = {"width": str(width), "height": str(height), "fps": str(fps)}
        if dataset_path is not None:
            config["datasetPath"] = str(dataset_path)
        self.batch_size, self.device = int(batch_size), torch.device(device)
        self.action_repeat, self.look_speed, self.seed = int(action_repeat), int(look_speed), int(seed)
        self.obs_shape = (3, int(height), int(width))
        self.envs = [lab.Lab(LEVEL, ["RGB_INTERLEAVED"], config=dict(config)) for _ in range(self.batch_size)]
        spec = [a["name"] for a in self.envs[0].action_spec()]
        self._look_index = spec.index(_ACTION_NAMES[0])
        self._n_action_entries = len(spec)
        self.episodes_started = np.zeros(self.batch_size, dtype=np.int64)
        self.trial = np.zeros(self.batch_size, dtype=np.int64)
        self.steps = np.zeros(self.batch_size, dtype=np.int64)
        self.log_schema = (
            LogField("trial", torch.int64, "0-based index of the trial the step ended (else the current one)"),
            LogField("trial_end", torch.bool, "True where an xdata:psychlab trial event arrived"),
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

    def _reset_slot(self, b: int) -> None:
        self.envs[b].reset(seed=self.seed + b + int(self.episodes_started[b]) * self.batch_size)
        self.episodes_started[b] += 1
        self.trial[b] = 0
        self.steps[b] = 0

    def _frames(self) -> torch.Tensor:
        frames = np.stack([env.observations()["RGB_INTERLEAVED"] for env in self.envs])  # (B, H, W, 3) uint8
        return torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)

    def reset(self) -> torch.Tensor:
        """Start a new episode in every slot; returns ``(B, 3, height, width)`` float32 in [0, 1]."""
        for b in range(self.batch_size):
            self._reset_slot(b)
        return self._frames()

    def step(self, action: torch.Tensor):
        """One agent step (``action_repeat`` frames) in every slot.

        Returns
        -------
        obs : torch.Tensor
            ``(B, 3, height, width)`` float32 (of a new episode where ``done``).
        reward : torch.Tensor
            ``(B,)`` float32, the level's rewards summed over the repeated frames.
        done : torch.Tensor
            ``(B,)`` bool.
        log : dict of str to torch.Tensor
            ``(B,)`` tensors described by ``log_schema``.

        Raises
        ------
        ValueError
            If ``action`` has the wrong shape, dtype or an out-of-range value.
        """
        check_actions(action, self.batch_size, self.n_actions)
        acts = action.cpu().numpy()
        B = self.batch_size
        reward = np.zeros(B, np.float32)
        done = np.zeros(B, bool)
        fields = {k: np.full(B, -1, np.int64) for k in ("choice", "rewarded_side", "rewarded_object", "other_object")}
        trial_end, correct = np.zeros(B, bool), np.zeros(B, bool)
        trial = self.trial.copy()
        for b, env in enumerate(self.envs):
            vec = np.zeros(self._n_action_entries, dtype=np.intc)
            vec[self._look_index] = (-self.look_speed, self.look_speed, 0)[int(acts[b])]
            reward[b] = env.step(vec, num_steps=self.action_repeat)
            for name, obs in env.events():
                if name != "xdata:psychlab":
                    continue
                data = parse_trial_data(obs[0])
                side = int(data.get("correctResponse", 0)) - 1  # the level's 1 = left, 2 = right
                ok = int(data.get("correct", 0)) == 1
                trial_end[b], correct[b] = True, ok
                trial[b] = int(data.get("trial", self.trial[b] + 1)) - 1
                fields["rewarded_side"][b] = side
                fields["choice"][b] = side if ok else 1 - side
                self.trial[b] = trial[b] + 1
            done[b] = not env.is_running()
        log = {
            "trial": torch.from_numpy(trial),
            "trial_end": torch.from_numpy(trial_end),
            "correct": torch.from_numpy(correct),
            "step_in_episode": torch.from_numpy(self.steps.copy()),
            **{k: torch.from_numpy(v) for k, v in fields.items()},
        }
        self.steps += 1
        for b in np.nonzero(done)[0]:
            self._reset_slot(int(b))
        log = {k: v.to(self.device) for k, v in log.items()}
        return (self._frames(), torch.from_numpy(reward).to(self.device), torch.from_numpy(done).to(self.device),
                log)
