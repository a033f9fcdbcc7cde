"""The pixel Harlow task: DeepMind Lab's PsychLab layout rendered in torch on the task's device (Wang 2018 Sim 5)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from metarl_neuro.tasks._protocol import (
    LogField,
    check_actions,
    load_tensor_state,
    make_generator,
    tensor_state,
)

__all__ = ["REWARD_PRESETS", "HarlowPixelTask", "load_stimuli", "procedural_stimuli"]

#: (fixation, correct, incorrect) rewards: DeepMind Lab's harlow_factory.lua and Wang et al. 2016's
REWARD_PRESETS = {"dmlab": (1.0, 5.0, -5.0), "wang2016": (0.2, 1.0, -1.0)}
_SHAPES = ("disc", "square", "triangle", "diamond", "cross", "ring")
_TEXTURES = ("solid", "h_stripes", "v_stripes", "checker")


def procedural_stimuli(size: int = 32) -> torch.Tensor:
    """Distinct, recognisable object images: every combination of 6 shapes, 8 hues, 4 textures and 3 background
    greys (576 images), in a fixed order.

    Parameters
    ----------
    size : int
        Image side in pixels.

    Returns
    -------
    torch.Tensor
        ``(576, 3, size, size)`` float32 RGB in [0, 1].
    """
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    r = torch.sqrt(x * x + y * y)
    masks = {
        "disc": r < 0.8,
        "square": (x.abs() < 0.7) & (y.abs() < 0.7),
        "triangle": (y > -0.7) & (y < 0.7) & (x.abs() < (0.7 - y) / 2 + 0.05),
        "diamond": (x.abs() + y.abs()) < 0.85,
        "cross": ((x.abs() < 0.25) & (y.abs() < 0.8)) | ((y.abs() < 0.25) & (x.abs() < 0.8)),
        "ring": (r < 0.85) & (r > 0.45),
    }
    k = torch.arange(size)
    textures = {
        "solid": torch.ones(size, size),
        "h_stripes": ((k // max(size // 8, 1)) % 2).float()[:, None].expand(size, size),
        "v_stripes": ((k // max(size // 8, 1)) % 2).float()[None, :].expand(size, size),
        "checker": (((k[:, None] // max(size // 8, 1)) + (k[None, :] // max(size // 8, 1))) % 2).float(),
    }
    hues = [torch.tensor([math.cos(2 * math.pi * (h / 8 + c / 3)) * 0.45 + 0.5 for c in range(3)]) for h in range(8)]
    out = []
    for bg in (0.15, 0.35, 0.55):
        for shape in _SHAPES:
            for hue in hues:
                for tex in _TEXTURES:
                    img = torch.full((3, size, size), bg)
                    shade = 0.55 + 0.45 * textures[tex]  # the texture modulates the colour
                    fg = hue[:, None, None] * shade[None]
                    img = torch.where(masks[shape][None], fg, img)
                    out.append(img)
    return torch.stack(out).float()


def load_stimuli(folder: str | Path, size: int = 32) -> torch.Tensor:
    """Load a folder of images (``*.png``, e.g. the Brady et al. 2008 set ``0001.png`` ...), sorted by name.

    Parameters
    ----------
    folder : str or Path
        Folder of PNG files (read with matplotlib).
    size : int
        Side the images are resized to (bilinear).

    Returns
    -------
    torch.Tensor
        ``(n, 3, size, size)`` float32 in [0, 1].

    Raises
    ------
    ValueError
        If the folder holds fewer than 4 PNG files.
    """
    import matplotlib.image as mpimg

    files = sorted(Path(folder).glob("*.png"))
    if len(files) < 4:
        raise ValueError(f"{folder} holds {len(files)} PNG image(s); need at least 4 (2 for training, 2 for testing)")
    imgs = []
    for f in files:
        a = np.asarray(mpimg.imread(f), dtype=np.float32)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, -1)
        t = torch.from_numpy(a[..., :3].copy()).permute(2, 0, 1)[None]
        imgs.append(F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0])
    return torch.stack(imgs).clamp(0, 1)


class HarlowPixelTask:
    """B pixel Harlow episodes, rendered in torch (``HarlowTask(kind="pixels")``).

    A virtual square screen of ``screen`` pixels with DeepMind Lab's PsychLab Harlow layout
    (harlow_factory.lua): a red fixation cross of 0.1 of the screen at the centre; after fixation, the two
    images of the episode, 0.4 of the screen, centred at x = 0.25 and 0.75. The agent sees the ``view`` x
    ``view`` window around its gaze (84 x 84, Wang et al. 2016); its actions look left, look right or do
    nothing, moving the gaze by ``look_step`` pixels (Wang et al. 2018, Sim. 5). Holding the gaze on the cross
    for ``fixation_frames`` steps pays the fixation reward and shows the images; holding it within the central
    half of an image for ``target_frames`` steps pays the correct or incorrect reward; then ``gap_frames``
    blank steps and the cross again. Each episode has one image pair, one rewarded image and 6 trials whose
    sides are a shuffled {L, L, L, R, R, R}; at most ``max_steps`` steps.

    Parameters
    ----------
    batch_size : int
        Episodes ``B``.
    stimuli : {"train", "test"}
        Which images the episodes draw: the first ``1 - test_fraction`` of the stimulus set, or the rest.
    images : torch.Tensor, optional
        ``(n, 3, h, w)`` stimulus set in [0, 1]; default :func:`procedural_stimuli` (576 images).
    test_fraction : float
        Share of the stimulus set held out for testing (default 0.2, our choice).
    screen, view, look_step : int
        Screen side, window side and gaze step, in pixels (defaults 168, 84, 8: our choice).
    fixation_frames, target_frames, gap_frames : int
        4, 4, 5 (DeepMind Lab's level).
    rewards : str or tuple of float
        ``"dmlab"`` (+1, +5, -5, default) or ``"wang2016"`` (+0.2, +1, -1), or (fixation, correct, incorrect).
    n_trials, max_steps : int
        6 trials (the level's cap); 300 steps (our choice).
    seed : int
        Seed of the task's generator.
    device : str or torch.device
    check_actions : bool
        Check the actions' range (one host sync per step).

    Raises
    ------
    ValueError
        For an unknown ``stimuli`` or reward preset, a view larger than the screen, or fewer than 2 images in
        the chosen set.
    """

    n_actions = 3  # look left, look right, no-op

    def __init__(self, batch_size: int, stimuli: str = "train", images: torch.Tensor | None = None,
                 test_fraction: float = 0.2, screen: int = 168, view: int = 84, look_step: int = 8,
                 fixation_frames: int = 4, target_frames: int = 4, gap_frames: int = 5,
                 rewards: str | tuple = "dmlab", n_trials: int = 6, max_steps: int = 300, seed: int = 0,
                 device: torch.device | str = "cpu", check_actions: bool = True):
        if stimuli not in ("train", "test"):
            raise ValueError(f"stimuli must be 'train' or 'test', got {stimuli!r}")
        if isinstance(rewards, str):
            if rewards not in REWARD_PRESETS:
                raise ValueError(f"unknown reward preset {rewards!r}; choose from {sorted(REWARD_PRESETS)}")
            rewards = REWARD_PRESETS[rewards]
        if not 0 < view <= screen:
            raise ValueError(f"view {view} must be in (0, screen={screen}]")
        if batch_size < 1 or n_trials < 1 or max_steps < 1:
            raise ValueError("batch_size, n_trials and max_steps must be >= 1")
        self.batch_size, self.stimuli = int(batch_size), stimuli
        self.device = torch.device(device)
        self.check_actions = check_actions
        self.S, self.V, self.look_step = int(screen), int(view), int(look_step)
        self.fixation_frames, self.target_frames, self.gap_frames = int(fixation_frames), int(target_frames), int(gap_frames)
        self.rewards = tuple(float(r) for r in rewards)
        self.n_trials, self.max_steps = int(n_trials), int(max_steps)
        self.obs_shape = (3, self.V, self.V)
        imgs = procedural_stimuli() if images is None else images.float()
        n_test = max(2, round(len(imgs) * test_fraction))
        lo, hi = (0, len(imgs) - n_test) if stimuli == "train" else (len(imgs) - n_test, len(imgs))
        if hi - lo < 2:
            raise ValueError(f"the {stimuli} set has {hi - lo} image(s); need at least 2")
        self.id_range = (lo, hi)
        size = round(0.4 * self.S)
        self.images = F.interpolate(imgs, size=(size, size), mode="bilinear", align_corners=False).to(self.device)
        self.generator = make_generator(seed, self.device)
        self._build_screens()
        self.log_schema = (
            LogField("trial", torch.int64, "0-based trial index of the step"),
            LogField("trial_end", torch.bool, "True where the step completed a choice"),
            LogField("phase", torch.int64, "0: cross shown, 1: images shown, 2: gap, at the step's start"),
            LogField("gaze", torch.int64, "gaze x in screen pixels after the step"),
            LogField("rewarded_object", torch.int64, "stimulus index of the rewarded image"),
            LogField("other_object", torch.int64, "stimulus index of the other image"),
            LogField("rewarded_side", torch.int64, "side of the rewarded image this trial (0 left, 1 right)"),
            LogField("choice", torch.int64, "side chosen at trial_end (0 left, 1 right; -1 elsewhere)"),
            LogField("correct", torch.bool, "True where the choice was the rewarded image"),
            LogField("step_in_episode", torch.int64, "0-based step index in the episode"),
        )
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device), init=True)

    # ------------------------------------------------------------------ rendering
    def _build_screens(self) -> None:
        S, pad = self.S, self.V // 2 + 1
        self.pad = pad
        base = torch.zeros(3, S, S + 2 * pad, device=self.device)  # black background, padded left and right
        cross = base.clone()
        c, half, arm = S // 2, max(round(0.05 * S), 1), max(round(0.015 * S), 1)
        cross[0, c - half:c + half + 1, pad + c - arm:pad + c + arm + 1] = 1.0
        cross[0, c - arm:c + arm + 1, pad + c - half:pad + c + half + 1] = 1.0
        self._blank, self._cross = base, cross
        self._centres = (round(0.25 * S), round(0.75 * S))
        self._half_button = round(0.1 * S)  # the level's invisible buttons: half the image size
        self._half_cross = half

    def _targets_screen(self, left_ids: torch.Tensor, right_ids: torch.Tensor) -> torch.Tensor:
        B, S, pad = len(left_ids), self.S, self.pad
        scr = self._blank.expand(B, -1, -1, -1).clone()
        size = self.images.shape[-1]
        top = S // 2 - size // 2
        for ids, cx in ((left_ids, self._centres[0]), (right_ids, self._centres[1])):
            x0 = pad + cx - size // 2
            scr[:, :, top:top + size, x0:x0 + size] = self.images[ids]
        return scr

    def _observe(self) -> torch.Tensor:
        B, V, S = self.batch_size, self.V, self.S
        rows = slice(S // 2 - V // 2, S // 2 - V // 2 + V)
        phase = self.phase[:, None, None, None]
        band = torch.where(phase == 0, self._cross[None, :, rows], torch.where(phase == 1, self._shown[:, :, rows],
                                                                               self._blank[None, :, rows]))
        cols = (self.gaze + self.pad - V // 2)[:, None] + torch.arange(V, device=self.device)[None, :]  # (B, V)
        return torch.gather(band, 3, cols[:, None, None, :].expand(B, 3, V, V))

    # ------------------------------------------------------------------ state
    def _sides(self, B: int) -> torch.Tensor:
        half = self.n_trials // 2
        base = torch.tensor([0] * half + [1] * (self.n_trials - half), device=self.device)
        order = torch.argsort(torch.rand(B, self.n_trials, generator=self.generator, device=self.device), dim=1)
        return base[order]  # (B, n_trials): a shuffled {L, L, L, R, R, R} per episode

    def _new_episodes(self, which: torch.Tensor, init: bool = False) -> None:
        B, dev, gen = self.batch_size, self.device, self.generator
        lo, hi = self.id_range
        a = torch.randint(lo, hi, (B,), generator=gen, device=dev)
        b = torch.randint(lo, hi - 1, (B,), generator=gen, device=dev)
        b = torch.where(b >= a, b + 1, b)
        sides = self._sides(B)
        z = torch.zeros(B, dtype=torch.long, device=dev)
        if init:
            self.rewarded, self.other, self.side_plan = a, b, sides
            self.gaze = torch.full((B,), self.S // 2, dtype=torch.long, device=dev)
            self.trial, self.phase, self.steps, self.hold, self.gap = z, z.clone(), z.clone(), z.clone(), z.clone()
            self._shown = self._blank.expand(B, -1, -1, -1).clone()
            self._where = torch.full((B,), -2, dtype=torch.long, device=dev)
            return
        w = which
        self.rewarded = torch.where(w, a, self.rewarded)
        self.other = torch.where(w, b, self.other)
        self.side_plan = torch.where(w[:, None], sides, self.side_plan)
        self.gaze = torch.where(w, self.S // 2, self.gaze)
        for name in ("trial", "phase", "steps", "hold", "gap"):
            setattr(self, name, torch.where(w, 0, getattr(self, name)))
        self._where = torch.where(w, -2, self._where)

    def state_dict(self) -> dict:
        """Everything needed to continue the simulation exactly (for checkpoints)."""
        names = ("rewarded", "other", "side_plan", "gaze", "trial", "phase", "steps", "hold", "gap", "_shown", "_where")
        return tensor_state(self, names)

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`."""
        load_tensor_state(self, state)

    # ------------------------------------------------------------------ protocol
    def reset(self) -> torch.Tensor:
        """Start new episodes in every slot; returns ``(B, 3, view, view)`` float32 in [0, 1]."""
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device))
        return self._observe()

    def step(self, action: torch.Tensor):
        """Move every gaze (0 left, 1 right, 2 stay) by ``look_step`` pixels.

        Returns
        -------
        obs : torch.Tensor
            ``(B, 3, view, view)`` float32 (of a new episode where ``done``).
        reward : torch.Tensor
            ``(B,)`` float32.
        done : torch.Tensor
            ``(B,)`` bool.
        log : dict of str to torch.Tensor
            ``(B,)`` tensors described by ``log_schema``.

        Raises
        ------
        ValueError
            If ``action`` has the wrong shape, dtype or an out-of-range value.
        """
        check_actions(action, self.batch_size, self.n_actions, self.check_actions)
        B, dev = self.batch_size, self.device
        fix_r, good_r, bad_r = self.rewards
        move = torch.where(action == 0, -self.look_step, torch.where(action == 1, self.look_step, 0))
        gaze = (self.gaze + move).clamp(0, self.S - 1)
        phase = self.phase
        ar = torch.arange(B, device=dev)
        side = self.side_plan[ar, self.trial.clamp(max=self.n_trials - 1)]
        on_cross = (gaze - self.S // 2).abs() <= self._half_cross
        on_left = (gaze - self._centres[0]).abs() <= self._half_button
        on_right = (gaze - self._centres[1]).abs() <= self._half_button
        looking = torch.where(phase == 0, on_cross, torch.where(phase == 1, on_left | on_right, False))
        where = torch.where(on_left, 0, torch.where(on_right, 1, -1))
        # hold counts consecutive steps on the same target (a change of image restarts it)
        same = (phase != 1) | (where == self._where)
        self.hold = torch.where(looking & same, self.hold + 1, torch.where(looking, 1, 0))
        self._where = where
        fixated = (phase == 0) & (self.hold >= self.fixation_frames)
        chose = (phase == 1) & (self.hold >= self.target_frames)
        choice = torch.where(chose, where, -1)
        correct = chose & (choice == side)
        reward = torch.where(fixated, fix_r, 0.0) + torch.where(chose, torch.where(correct, good_r, bad_r), 0.0)
        log = {
            "trial": self.trial, "trial_end": chose, "phase": phase, "gaze": gaze,
            "rewarded_object": self.rewarded, "other_object": self.other, "rewarded_side": side,
            "choice": choice, "correct": correct, "step_in_episode": self.steps,
        }
        if bool(fixated.any()):  # draw the images of the slots whose trial starts
            left = torch.where(side == 0, self.rewarded, self.other)
            right = torch.where(side == 0, self.other, self.rewarded)
            self._shown = torch.where(fixated[:, None, None, None], self._targets_screen(left, right), self._shown)
        gap_left = torch.where(phase == 2, self.gap - 1, self.gap)
        self.phase = torch.where(fixated, 1, torch.where(chose, 2, torch.where((phase == 2) & (gap_left <= 0), 0, phase)))
        self.gap = torch.where(chose, self.gap_frames, gap_left)
        self.hold = torch.where(fixated | chose, 0, self.hold)
        self.gaze = gaze
        self.trial = self.trial + chose.long()
        self.steps = self.steps + 1
        done = (self.trial >= self.n_trials) | (self.steps >= self.max_steps)
        self._new_episodes(done)
        return self._observe(), reward.float(), done, log
