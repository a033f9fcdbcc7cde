"""The pixel Harlow task: a torch surrogate of DeepMind Lab's PsychLab Harlow level (Wang 2018 Sim 5).

The surrogate reproduces the level's geometry and timing *as measured on the real level* (``deepmind_lab`` at
google-deepmind/lab b1db91af, ``contributed/psychlab/harlow``, 84 x 84, 60 fps; issue 17), not as read from
its documentation. The measurements are in :data:`LEVEL` (``benchmarks/psychlab_measure.py`` repeats them);
``tests/tasks/test_psychlab_real.py`` and ``benchmarks/psychlab_agreement.py`` drive the real level and this
surrogate with the same actions from the same starts and compare them step by step.

Geometry is in degrees of gaze (the player's yaw), measured from the screen's centre, positive to the right.
The level keeps the yaw on a grid of 65,536 steps per turn (0.0055 deg); the surrogate moves on the same grid:

- one unit of DeepMind Lab's ``LOOK_LEFT_RIGHT_PIXELS_PER_FRAME`` turns the view by about 0.1056 deg per frame
  (positive units turn right; 5 units: 96 grid steps per frame, 36 units: 692, measured);
- the start gaze is uniform in [-22.5, 22.5] deg (the level's ``randomAngleRange`` of 45);
- the fixation trigger (the centre of the cross, +-0.025 of the screen) spans +-2.14 deg; the image buttons
  (half of each 0.4-screen image) span 11.25-24.42 deg left and right;
- a widget fires on the 4th consecutive frame the gaze is on it, judged from where the gaze was at the end of
  the previous frame (on the first frame of an episode, the start gaze: that frame counts, in a fresh Lab's
  first episode and in later ones alike; issue 29, ``benchmarks/psychlab_reset_rule.py``); the reward reaches
  the agent one frame after the frame that fired it (on the same frame when it ends the episode); the cross
  returns 5 frames after a choice; an episode ends after its 6th choice or after 300 s (18,000 frames).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from metarl_neuro.domains import check_value
from metarl_neuro.tasks._protocol import (
    LogField,
    check_actions,
    compiled_or_eager,
    load_tensor_state,
    make_generator,
    step_doc,
    tensor_state,
)

__all__ = [
    "GRID_DEG", "GRID_PER_UNIT", "LEVEL", "REWARD_PRESETS", "HarlowPixelTask", "LevelGeometry", "dmlab_dummy_stimuli",
    "load_stimuli", "look_actions", "procedural_stimuli",
]

#: (fixation, correct, incorrect) rewards: DeepMind Lab's harlow_factory.lua and Wang et al. 2016's
REWARD_PRESETS = {"dmlab": (1.0, 5.0, -5.0), "wang2016": (0.2, 1.0, -1.0)}
#: degrees of one step of the level's yaw grid (65,536 per turn; DEBUG.POS.ROT reads multiples of it)
GRID_DEG = 360.0 / 65536
#: grid steps per frame per unit of LOOK_LEFT_RIGHT_PIXELS_PER_FRAME (measured over 600 frames each: 3, 5, 7 and 36
#: units moved 19.2238-19.2240 steps per unit per frame, 1 unit 19.2217; the level reports the yaw rounded to
#: its grid, so single frames move 96 or 97 steps at 5 units and 692 or 693 at 36)
GRID_PER_UNIT = 19.2239
_SHAPES = ("disc", "square", "triangle", "diamond", "cross", "ring")
_TEXTURES = ("solid", "h_stripes", "v_stripes", "checker")


@dataclass(frozen=True)
class LevelGeometry:
    """Geometry and timing of DeepMind Lab's PsychLab Harlow level, measured on the real level (84 x 84, 60 fps).

    Angles are degrees of gaze from the screen's centre (yaw 90 in ``DEBUG.POS.ROT``), positive to the right.
    Trigger edges were found by scanning the gaze one unit (0.105 deg) per frame towards each edge and
    reading the frame of the reward (4 frames on the widget, judged one frame late, reward one frame later):
    +-0.05 deg.

    Attributes
    ----------
    cross_half_grid : int
        Half-width of the fixation trigger in grid steps (:data:`GRID_DEG`): 391, i.e. +-2.15 deg (the level's
        ``center_of_fixation`` widget, 0.05 of the screen). Measured by holding the gaze still at 40 positions
        around each edge: fired at +-390 steps, not at +-392; a replay in which the level fired at 391 decided
        that step.
    button_grid : tuple of int
        Inner and outer edge of each image button, in grid steps: 2049 and 4445, i.e. 11.25-24.42 deg on
        either side (the level's invisible buttons, 0.2 of the screen, under the 0.4-screen images at x = 0.25
        and 0.75; fired at 2049-4445 steps, not at 2048 or 4447). At pitch 0 (the start; the surrogate has no
        vertical look) the gaze is inside every trigger's vertical extent.
    start_range_deg : float
        Start gaze uniform in [-start_range_deg, start_range_deg] (200 resets: 67.5 to 112.3 deg of yaw).
    hold_frames : int
        Consecutive frames on a widget that fire it (``TIME_TO_FIXATE_CROSS = TIME_TO_FIXATE_TARGET = 4``).
    gap_frames : int
        Frames from a choice to the cross's return (``FAST_INTER_TRIAL_INTERVAL = 5``).
    fov_deg : float
        Horizontal field of view of the camera, for rendering (the cross moved 7.5 px at +-10 deg and 15.5 px
        at -20 deg of gaze in the 84-px view: a pinhole of focal 42 px).
    screen_distance : float
        Distance from the eye to the screen in screen widths, for rendering: at gaze 0 the images are 20 px
        wide with centres 13 px either side of the view's centre (a 52-px screen at focal 42 px).
    screen_elevation : float
        Tangent of the screen centre's elevation above the camera axis, for rendering: 0 (the images span rows
        31-51 of 84 once the view has settled; in the first 3 frames after a reset the view bobs by 3 px).
    """

    cross_half_grid: int = 391
    button_grid: tuple[int, int] = (2049, 4445)
    start_range_deg: float = 22.5
    hold_frames: int = 4
    gap_frames: int = 5
    fov_deg: float = 90.0
    screen_distance: float = 0.81
    screen_elevation: float = 0.0


#: the real level's measured geometry
LEVEL = LevelGeometry()


def look_actions(look_units: tuple[int, ...]) -> torch.Tensor:
    """Per-frame ``LOOK_LEFT_RIGHT_PIXELS_PER_FRAME`` of each action: stay, then left / right per look size.

    Parameters
    ----------
    look_units : tuple of int
        Positive look sizes in DeepMind Lab units (one unit turns 0.105 deg per frame); e.g. ``(5, 36)``:
        a fine step of 2.1 deg and a saccade of 15.2 deg per 4-frame step.

    Returns
    -------
    torch.Tensor
        ``(1 + 2 * len(look_units),)`` int64: ``[0, -u0, +u0, -u1, +u1, ...]`` (negative turns left).

    Raises
    ------
    ValueError
        If ``look_units`` is empty or holds a value < 1.

    Examples
    --------
    >>> look_actions((5, 36)).tolist()
    [0, -5, 5, -36, 36]
    """
    units = tuple(int(u) for u in look_units)
    if not units or min(units) < 1:
        raise ValueError(f"look_units must be one or more positive look sizes, got {look_units!r}")
    return torch.tensor([0] + [s * u for u in units for s in (-1, 1)], dtype=torch.long)



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


def dmlab_dummy_stimuli(count: int = 2400, size: int = 8) -> torch.Tensor:
    """The solid-colour images of DeepMind Lab's ``datasetPath='dummy'`` (``datasets/color_dataset.lua``).

    Image ``k`` (0-based) is the level's image id ``k + 1``: hue ``(k % 60) * 6`` deg, then saturation and
    lightness from the next digits of ``k`` in base ``ceil(sqrt(ceil(count / 60)))``, converted with the level's
    ``colors.hslToRgb`` and truncated to bytes. The level draws its training pairs from ids 1-1000 and its
    held-out pairs from ids 1001-2000 (``harlow_factory.lua``), i.e. indices 0-999 and 1000-1999 here.

    Parameters
    ----------
    count : int
        The dataset's size (2,400 in ``brady_konkle_oliva2008.lua``).
    size : int
        Image side in pixels (the images are uniform).

    Returns
    -------
    torch.Tensor
        ``(count, 3, size, size)`` float32 in [0, 1].
    """

    def extract(row, cnt, amount):
        return row % amount, row // amount, math.ceil(cnt / amount)

    rgb = []
    for k in range(count):
        h, row, cnt = extract(k, count, 60)
        amount = math.ceil(math.sqrt(cnt))
        s, row, cnt = extract(row, cnt, amount)
        light, row, cnt = extract(row, cnt, amount)
        r, g, b = colorsys.hls_to_rgb(h / 60, 0.6 * light / amount + 0.2, 1.0 - 0.7 * s / amount)
        rgb.append([math.floor(r * 255 + 1e-9), math.floor(g * 255 + 1e-9), math.floor(b * 255 + 1e-9)])
    colours = torch.tensor(rgb, dtype=torch.float32) / 255.0
    return colours[:, :, None, None].expand(count, 3, size, size).contiguous()


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
        If the folder holds fewer than 4 PNG files, or one cannot be read (the message names it).
    """
    import matplotlib.image as mpimg

    files = sorted(Path(folder).glob("*.png"))
    if len(files) < 4:
        raise ValueError(f"{folder} holds {len(files)} PNG image(s); need at least 4 (2 for training, 2 for testing)")
    imgs = []
    for f in files:
        try:
            a = np.asarray(mpimg.imread(f), dtype=np.float32)
        except (OSError, ValueError, SyntaxError) as err:
            raise ValueError(f"cannot read stimulus image {f}: {err}") from err
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, -1)
        t = torch.from_numpy(a[..., :3].copy()).permute(2, 0, 1)[None]
        imgs.append(F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0])
    return torch.stack(imgs).clamp(0, 1)


class HarlowPixelTask:
    """B episodes of a torch surrogate of DeepMind Lab's PsychLab Harlow level (``HarlowTask(kind="pixels")``).

    What the agent sees is the ``view`` x ``view`` camera image of a square screen in a room, rendered by
    perspective projection from the gaze angle (:class:`LevelGeometry`): a black screen with, in turn, the
    red fixation cross (0.1 of the screen), the episode's two images (0.4 of the screen, centred at x = 0.25
    and 0.75 and at mid-height), or nothing (the 5-frame gap; also the first observation of an episode, as on
    the level). The room around the screen is uniform grey and the screen has a light frame.

    Each agent step repeats its action for ``action_repeat`` frames; every frame follows the level's measured
    timing (module docstring): the gaze moves by the action's look units, widgets fire on their 4th
    consecutive frame under the gaze, rewards are paid, the gap timer runs. Fixating the cross pays the
    fixation reward and shows the images; holding the gaze on an image's button pays the correct or incorrect
    reward and starts the gap. Each episode has one image pair, one rewarded image and 6 trials whose sides
    are a shuffled {L, L, L, R, R, R}; it ends after its last trial or after ``episode_frames`` frames.

    Parameters
    ----------
    batch_size : int
        Episodes ``B``.
    stimuli : {"train", "test"}
        Which images the episodes draw: the first ``1 - test_fraction`` of the stimulus set, or the rest.
    images : torch.Tensor, optional
        ``(n, 3, h, w)`` stimulus set in [0, 1]; default :func:`procedural_stimuli` (576 images);
        :func:`dmlab_dummy_stimuli` gives the level's ``dummy`` colours (``[:2000]`` with ``test_fraction=0.5``
        splits them as the level does).
    test_fraction : float
        Share of the stimulus set held out for testing (default 0.2, our choice).
    view : int
        Side of the rendered observation in pixels (84, Wang et al. 2016).
    look_units : tuple of int
        Look sizes of the actions (:func:`look_actions`): action 0 stays, ``2k + 1`` / ``2k + 2`` turn left /
        right by ``look_units[k]`` units per frame. Default ``(5, 36)``: a fine step of 2.1 deg (under the
        4.3-deg trigger, so the cross can always be reached) and a saccade of 15.2 deg (cross centre to image
        centre +-2 deg), per 4-frame step (our choice; see docs/measurements.md, the ladder).
    action_repeat : int
        Frames per agent step (4, Wang et al. 2016).
    start_range_deg : float, optional
        Start gaze uniform in [-start_range_deg, start_range_deg]; default the level's 22.5 deg (0: start on the
        cross).
    geometry : LevelGeometry
        Trigger sizes, timing and rendering constants (default :data:`LEVEL`, the real level's).
    rewards : str or tuple of float
        ``"dmlab"`` (+1, +5, -5, default: the level's) or ``"wang2016"`` (+0.2, +1, -1), or (fixation, correct,
        incorrect).
    n_trials : int
        Trials per episode (6, the level's cap).
    sides : {"level", "random"}
        Sides of the rewarded image over an episode's trials: a shuffled {L, L, L, R, R, R} (the level's) or a
        fair coin per trial (a departure for training: side counting then predicts nothing; see
        :func:`~metarl_neuro.analysis.harlow_binding`).
    episode_frames : int
        Frame limit of an episode (18,000: the level's 300 s at 60 fps).
    seed : int
        Seed of the task's generator (start gaze, images, sides).
    device : str or torch.device
    check_actions : bool
        Check the actions' range (one host sync per step).
    compiled : bool
        Run the frame loop and the renderer through ``torch.compile`` (inductor, one fused loop each): the same
        frames, rewards and logs bitwise as the eager code (``tests/tasks/test_harlow_pixels_compiled.py``), at
        about a third of the cost of a step (``benchmarks/update_breakdown.py``). The first step of each batch size
        compiles (seconds; cached on disk by inductor). Where compiling fails (no C++ compiler), a warning says
        so and the eager code runs. Default False.

    Raises
    ------
    ValueError
        For an unknown ``stimuli`` or reward preset, a view under 8 pixels, a non-positive action repeat,
        trial count or frame limit, or fewer than 2 images in the chosen set.

    Examples
    --------
    >>> task = HarlowPixelTask(2, seed=0)
    >>> task.reset().shape, task.n_actions
    (torch.Size([2, 3, 84, 84]), 5)
    """

    citation = ("Wang et al. (2018) Nat Neurosci 21:860, Simulation 5; DeepMind Lab contributed/psychlab/harlow "
                "(Leibo et al. 2018, arXiv:1801.08116)")

    def __init__(self, batch_size: int, stimuli: str = "train", images: torch.Tensor | None = None,
                 test_fraction: float = 0.2, view: int = 84, look_units: tuple[int, ...] = (5, 36),
                 action_repeat: int = 4, start_range_deg: float | None = None, geometry: LevelGeometry = LEVEL,
                 rewards: str | tuple = "dmlab", n_trials: int = 6, sides: str = "level", episode_frames: int = 18_000,
                 seed: int = 0,
                 device: torch.device | str = "cpu", check_actions: bool = True, compiled: bool = False):
        if stimuli not in ("train", "test"):
            raise ValueError(f"stimuli must be 'train' or 'test', got {stimuli!r}")
        if sides not in ("level", "random"):
            raise ValueError(f"sides must be 'level' or 'random', got {sides!r}")
        if isinstance(rewards, str):
            if rewards not in REWARD_PRESETS:
                raise ValueError(f"unknown reward preset {rewards!r}; choose from {sorted(REWARD_PRESETS)}")
            rewards = REWARD_PRESETS[rewards]
        if view < 8:
            raise ValueError(f"view must be >= 8 pixels, got {view}")
        if batch_size < 1 or n_trials < 1 or episode_frames < 1 or action_repeat < 1:
            raise ValueError("batch_size, n_trials, episode_frames and action_repeat must be >= 1")
        self.batch_size, self.stimuli, self.sides = int(batch_size), stimuli, sides
        self.device = torch.device(device)
        self.check_actions = check_value("check_actions", check_actions, bool)
        self._kernels = ({"frames": compiled_or_eager(_frames), "render": compiled_or_eager(_render)}
                         if check_value("compiled", compiled, bool) else None)
        self.geometry = geometry
        self.V, self.action_repeat = int(view), int(action_repeat)
        self.look = look_actions(look_units).to(self.device)
        self._move = self.look.double() * GRID_PER_UNIT  # grid steps per frame (continuous)
        self.n_actions = len(self.look)
        self.start_range = geometry.start_range_deg if start_range_deg is None else float(start_range_deg)
        self.rewards = tuple(float(r) for r in rewards)
        self.n_trials, self.episode_frames = int(n_trials), int(episode_frames)
        self.obs_shape = (3, self.V, self.V)
        imgs = procedural_stimuli() if images is None else images.float()
        n_test = max(2, round(len(imgs) * test_fraction))
        lo, hi = (0, len(imgs) - n_test) if stimuli == "train" else (len(imgs) - n_test, len(imgs))
        if hi - lo < 2:
            raise ValueError(f"the {stimuli} set has {hi - lo} image(s); need at least 2")
        self.id_range = (lo, hi)
        self._tex = 128  # screen texture side: the images are pasted at 0.4 of it
        size = round(0.4 * self._tex)
        self.images = F.interpolate(imgs, size=(size, size), mode="bilinear", align_corners=False).to(self.device)
        self.generator = make_generator(seed, self.device)
        self._build_camera()
        self.log_schema = (
            LogField("trial", torch.int64, "0-based index of the trial the step ended (else the current one)"),
            LogField("trial_end", torch.bool, "True where a choice fired in the step (the trial's outcome)"),
            LogField("fixated", torch.bool, "True where the fixation trigger fired in the step (images shown)"),
            LogField("phase", torch.int64, "0: cross shown, 1: images shown, 2: gap, at the step's start"),
            LogField("gaze", torch.float32, "gaze after the step, degrees from the screen's centre (+ right)"),
            LogField("rewarded_object", torch.int64, "stimulus index of the rewarded image"),
            LogField("other_object", torch.int64, "stimulus index of the other image"),
            LogField("rewarded_side", torch.int64, "side of the rewarded image this trial (0 left, 1 right)"),
            LogField("choice", torch.int64, "side chosen at trial_end (0 left, 1 right; -1 elsewhere)"),
            LogField("correct", torch.bool, "True where the choice was the rewarded image"),
            LogField("step_in_episode", torch.int64, "0-based agent step in the episode"),
        )
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device), init=True)

    # ------------------------------------------------------------------ rendering
    def _build_camera(self) -> None:
        V, dev, g = self.V, self.device, self.geometry
        f = (V / 2) / math.tan(math.radians(g.fov_deg / 2))
        k = torch.arange(V, device=dev, dtype=torch.float32) + 0.5 - V / 2
        self._dx = k / f  # (V,): ray slope right of the axis, per column
        self._dy = -k / f  # (V,): ray slope up, per row
        T, size = self._tex, round(0.4 * self._tex)
        self._paste = {"top": round(0.3 * T), "left": round(0.05 * T), "right": round(0.55 * T), "size": size}
        self._room = torch.tensor([0.25, 0.25, 0.27], device=dev)[:, None, None]
        self._frame = torch.tensor([0.6, 0.6, 0.6], device=dev)[:, None, None]

    def _compose_textures(self, which: torch.Tensor, side: torch.Tensor) -> None:
        """Paste the two images of the slots ``which`` into their screen textures (rewarded image on ``side``)."""
        left = torch.where(side == 0, self.rewarded, self.other)[which]
        right = torch.where(side == 0, self.other, self.rewarded)[which]
        p, s = self._paste, self._paste["size"]
        tex = torch.zeros(len(left), 3, self._tex, self._tex, device=self.device)
        tex[:, :, p["top"]:p["top"] + s, p["left"]:p["left"] + s] = self.images[left]
        tex[:, :, p["top"]:p["top"] + s, p["right"]:p["right"] + s] = self.images[right]
        self._texture[which] = tex
        if self._kernels:
            self._table[which, 4:] = tex.permute(0, 2, 3, 1).reshape(len(tex), -1, 3)

    def _build_table(self) -> None:
        """The compiled renderer's colour table (:func:`_render`) from the screen textures."""
        B, T = self.batch_size, self._tex
        palette = torch.cat([self._room, self._frame, torch.zeros_like(self._room),
                             torch.tensor([1.0, 0.0, 0.0], device=self.device)[:, None, None]], 1)[..., 0].T
        self._table = torch.cat([palette.expand(B, 4, 3), self._texture.permute(0, 2, 3, 1).reshape(B, T * T, 3)], 1)

    def _observe(self) -> torch.Tensor:
        """Render every slot's view (perspective projection of the screen plane, nearest-texel images)."""
        g, V, T = self.geometry, self.V, self._tex
        ok, inv, sx = _columns(self.gaze, self._dx, g.screen_distance)
        if self._kernels:
            return self._kernels["render"](ok, inv, sx, self.frames, self.phase, self._table, self._dy,
                                           distance=g.screen_distance, elevation=g.screen_elevation, tex=T)
        D = g.screen_distance
        sy = (0.5 + D * g.screen_elevation) - D * self._dy[None, :, None] * inv[:, None, :]  # (B, V, V)
        on = (ok & (sx >= 0) & (sx <= 1))[:, None, :] & (sy >= 0) & (sy <= 1)
        near = (ok & (sx >= -0.03) & (sx <= 1.03))[:, None, :] & (sy >= -0.03) & (sy <= 1.03)
        out = torch.where(near[:, None], self._frame, self._room)
        out.masked_fill_(on[:, None], 0.0)  # the black screen
        drawn = self.frames > 0  # the level draws the screen from the first frame on
        cross = torch.nonzero(drawn & (self.phase == 0)).squeeze(1)
        if len(cross):
            cx, cy = (sx[cross] - 0.5).abs()[:, None, :], (sy[cross] - 0.5).abs()
            red = ((cx <= 0.05) & (cy <= 0.011)) | ((cx <= 0.011) & (cy <= 0.05))  # bars of 0.02 of the screen
            sub = out[cross]
            sub[:, 0].masked_fill_(red, 1.0)
            sub[:, 1:].masked_fill_(red[:, None], 0.0)
            out[cross] = sub
        shown = torch.nonzero(drawn & (self.phase == 1)).squeeze(1)
        if len(shown):
            tx = (sx[shown] * T).long().clamp(0, T - 1)[:, None, :]
            ty = (sy[shown] * T).long().clamp(0, T - 1)
            idx = (ty * T + tx).view(len(shown), 1, V * V).expand(-1, 3, -1)
            texels = self._texture[shown].view(len(shown), 3, T * T).gather(2, idx).view(len(shown), 3, V, V)
            out[shown] = torch.where(on[shown][:, None], texels, out[shown])
        return out

    # ------------------------------------------------------------------ state
    def _sides(self, B: int) -> torch.Tensor:
        if self.sides == "random":
            return torch.randint(0, 2, (B, self.n_trials), generator=self.generator, device=self.device)
        half = self.n_trials // 2
        base = torch.tensor([0] * half + [1] * (self.n_trials - half), device=self.device)
        order = torch.argsort(torch.rand(B, self.n_trials, generator=self.generator, device=self.device), dim=1)
        return base[order]  # (B, n_trials): a shuffled {L, L, L, R, R, R} per episode (harlow_factory.lua)

    def _new_episodes(self, which: torch.Tensor, init: bool = False) -> None:
        B, dev, gen = self.batch_size, self.device, self.generator
        lo, hi = self.id_range
        a = torch.randint(lo, hi, (B,), generator=gen, device=dev)
        b = torch.randint(lo, hi - 1, (B,), generator=gen, device=dev)
        b = torch.where(b >= a, b + 1, b)
        sides = self._sides(B)
        start = ((torch.rand(B, generator=gen, device=dev) * 2 - 1) * (self.start_range / GRID_DEG)).double()
        if init:
            z = torch.zeros(B, dtype=torch.long, device=dev)
            self.rewarded, self.other, self.side_plan, self.gaze = a, b, sides, start
            self.trial, self.phase, self.frames, self.steps = z, z.clone(), z.clone(), z.clone()
            self.hold, self.gap = z.clone(), z.clone()
            self.where = torch.full((B,), -1, dtype=torch.long, device=dev)
            self.pending = torch.zeros(B, device=dev)
            self._texture = torch.zeros(B, 3, self._tex, self._tex, device=dev)
            if self._kernels:
                self._build_table()
            return
        w = which
        self.rewarded = torch.where(w, a, self.rewarded)
        self.other = torch.where(w, b, self.other)
        self.side_plan = torch.where(w[:, None], sides, self.side_plan)
        self.gaze = torch.where(w, start, self.gaze)
        for name in ("trial", "phase", "frames", "steps", "hold", "gap"):
            setattr(self, name, torch.where(w, 0, getattr(self, name)))
        self.where = torch.where(w, -1, self.where)
        self.pending = torch.where(w, 0.0, self.pending)

    def state_dict(self) -> dict:
        """Everything needed to continue the simulation exactly (for checkpoints)."""
        names = ("rewarded", "other", "side_plan", "gaze", "trial", "phase", "frames", "steps", "hold", "gap",
                 "where", "pending", "_texture")
        return tensor_state(self, names)

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict`."""
        load_tensor_state(self, state)
        if self._kernels:
            self._build_table()

    # ------------------------------------------------------------------ protocol
    def reset(self) -> torch.Tensor:
        """Start new episodes in every slot; returns ``(B, 3, view, view)`` float32 in [0, 1]."""
        self._new_episodes(torch.ones(self.batch_size, dtype=torch.bool, device=self.device))
        return self._observe()

    def reset_to(self, start_deg: torch.Tensor, side_plan: torch.Tensor | None = None,
                 objects: tuple[torch.Tensor, torch.Tensor] | None = None,
                 which: torch.Tensor | None = None) -> torch.Tensor:
        """Start new episodes from given start gazes (and sides, images): to replay a real level's episodes.

        Parameters
        ----------
        start_deg : torch.Tensor
            ``(B,)`` float start gaze in degrees (the level's ``90 - yaw``, as read: on its grid); the
            level's position within that grid step is not readable, so the surrogate starts mid-step.
        side_plan : torch.Tensor, optional
            ``(B, n_trials)`` int64 side of the rewarded image per trial (0 left, 1 right); default: drawn.
        objects : tuple of torch.Tensor, optional
            ``(rewarded, other)`` stimulus indices, each ``(B,)`` int64; default: drawn.
        which : torch.Tensor, optional
            ``(B,)`` bool: restart only these slots (the others keep their episodes); default all.

        Returns
        -------
        torch.Tensor
            ``(B, 3, view, view)`` float32, the observation (the first of each restarted episode).

        Raises
        ------
        ValueError
            If a shape is wrong or a side is not 0 / 1.
        """
        B, dev = self.batch_size, self.device
        w = torch.ones(B, dtype=torch.bool, device=dev) if which is None else torch.as_tensor(which, device=dev)
        start = torch.as_tensor(start_deg, dtype=torch.float64, device=dev)
        if start.shape != (B,) or w.shape != (B,):
            raise ValueError(f"start_deg and which must have shape ({B},), got {tuple(start.shape)}, {tuple(w.shape)}")
        if side_plan is not None:
            sides = torch.as_tensor(side_plan, dtype=torch.long, device=dev)
            if sides.shape != (B, self.n_trials) or not bool(((sides == 0) | (sides == 1)).all()):
                raise ValueError(f"side_plan must be ({B}, {self.n_trials}) of 0 / 1")
        self._new_episodes(w.bool())
        self.gaze = torch.where(w, torch.round(start / GRID_DEG) - 0.5, self.gaze)  # mid-cell: the level hides it
        if side_plan is not None:
            self.side_plan = torch.where(w[:, None], sides, self.side_plan)
        if objects is not None:
            rewarded, other = (torch.as_tensor(o, dtype=torch.long, device=dev) for o in objects)
            self.rewarded = torch.where(w, rewarded, self.rewarded)
            self.other = torch.where(w, other, self.other)
        return self._observe()

    @step_doc(
        summary="Repeat every slot's action for ``action_repeat`` frames (0 stay; see ``look_units``).",
        action='values in ``range(n_actions)``',
        obs='``(B, 3, view, view)``',
        reward="summed over the step's frames",
        done='True where the step ended the episode',
    )
    def step(self, action: torch.Tensor):
        check_actions(action, self.batch_size, self.n_actions, self.check_actions)
        g = self.geometry
        phase0, steps0 = self.phase, self.steps
        frames = self._kernels["frames"] if self._kernels else _frames
        (self.gaze, self.phase, self.gap, self.hold, self.where, self.trial, self.frames, self.pending, reward, ended,
         trial_end, fixated, fix_side, choice, correct, trial_of, side_of) = frames(
            self.gaze, self.phase, self.gap, self.hold, self.where, self.trial, self.frames, self.pending,
            self.side_plan, self._move[action], action_repeat=self.action_repeat, rewards=self.rewards,
            cross_half=g.cross_half_grid, button=g.button_grid, hold_frames=g.hold_frames, gap_frames=g.gap_frames,
            n_trials=self.n_trials, episode_frames=self.episode_frames)
        if bool(fixated.any()):  # the images of the trial whose cross was fixated, shown from the next frame
            self._compose_textures(fixated, fix_side)
        log = {
            "trial": trial_of, "trial_end": trial_end, "fixated": fixated, "phase": phase0,
            "gaze": (torch.ceil(self.gaze) * GRID_DEG).float(), "rewarded_object": self.rewarded.clone(), "other_object": self.other.clone(),
            "rewarded_side": side_of, "choice": choice, "correct": correct, "step_in_episode": steps0,
        }
        self.steps = self.steps + 1
        self._new_episodes(ended)
        return self._observe(), reward.float(), ended, log


def _frames(gaze, phase, gap, hold, where, trial, frames, pending, side_plan, delta, *, action_repeat: int,
            rewards: tuple, cross_half: int, button: tuple, hold_frames: int, gap_frames: int, n_trials: int,
            episode_frames: int):
    """The ``action_repeat`` frames of one agent step, every slot at once, following the level's measured timing
    (module docstring): a pure function of the ``(B,)`` state, run as it is or compiled
    (:class:`HarlowPixelTask`, ``compiled``).

    Returns the state after the step (``gaze`` ... ``pending``, as passed in), then the step's ``reward``
    (float), ``ended``, ``trial_end``, ``fixated`` (bool), the rewarded side of the trial whose cross was
    fixated (``fix_side``: its images are composed after the step; no choice can follow a fixation within
    ``hold_frames`` frames, so ``trial`` does not move between the two), ``choice``, ``correct``, and the trial
    and rewarded side each choice belongs to (``trial_of``, ``side_of``).
    """
    fix_r, good_r, bad_r = rewards
    b_in, b_out = button
    B = gaze.shape[0]
    ar = torch.arange(B, device=gaze.device)
    reward = torch.zeros(B, device=gaze.device)
    ended = torch.zeros(B, dtype=torch.bool, device=gaze.device)
    trial_end, fixated_any = torch.zeros_like(ended), torch.zeros_like(ended)
    choice = torch.full_like(trial, -1)
    correct = torch.zeros_like(ended)
    fix_side = torch.zeros_like(trial)
    trial_of = trial
    side_of = side_plan[ar, trial.clamp(max=n_trials - 1)]
    for _ in range(action_repeat):
        # a slot whose episode ended earlier in this step is reset after it; its later frames must not count
        live = ~ended
        reward = reward + pending * live  # last frame's callbacks pay now
        # the gap timer ticks first; the cross returns (and can be hovered) on the frame it expires
        in_gap = phase == 2
        gap = gap - in_gap.long()
        phase = torch.where(in_gap & (gap <= 0), 0, phase)
        # widgets are judged from where the gaze was at the end of the previous frame, on the level's grid
        p = torch.ceil(gaze)
        a = p.abs()
        on_cross = (phase == 0) & (a <= cross_half)
        on_button = (phase == 1) & (a >= b_in) & (a <= b_out)
        target = torch.where(on_cross, 2, torch.where(on_button, (p > 0).long(), -1))
        hold = torch.where(target < 0, 0, torch.where(target == where, hold + 1, 1))
        where = target
        fire = live & (hold == hold_frames)
        fixated, chose = fire & (target == 2), fire & (target < 2)
        side = side_plan[ar, trial.clamp(max=n_trials - 1)]
        good = target == side
        pending = fix_r * fixated + torch.where(good, good_r, bad_r) * chose
        fix_side = torch.where(fixated, side, fix_side)
        trial_end, fixated_any = trial_end | chose, fixated_any | fixated
        choice = torch.where(chose, target, choice)
        correct = torch.where(chose, good, correct)
        trial_of = torch.where(chose, trial, trial_of)
        side_of = torch.where(chose, side, side_of)
        phase = torch.where(fixated, 1, torch.where(chose, 2, phase))
        gap = torch.where(chose, gap_frames, gap)
        where = torch.where(fire, -1, where)
        hold = torch.where(fire, 0, hold)
        trial = trial + chose.long()
        # the frame's movement (the view turns all the way round)
        gaze = torch.remainder(gaze + delta + 32768, 65536.0) - 32768
        frames = frames + 1
        finish = live & ((trial >= n_trials) | (frames >= episode_frames))
        reward = reward + pending * finish  # the last trial pays on its own frame
        ended = ended | finish
    return (gaze, phase, gap, hold, where, trial, frames, pending, reward, ended, trial_end, fixated_any, fix_side,
            choice, correct, trial_of, side_of)


def _columns(gaze, dx, distance: float):
    """Per slot and view column (``(B, V)`` each): whether the column's rays meet the screen's plane in front
    (``ok``), the inverse of their depth (``inv``) and the screen x they meet it at (``sx``, in screen widths)."""
    d = torch.deg2rad(gaze * GRID_DEG).float()[:, None]  # (B, 1)
    cos, sin = torch.cos(d), torch.sin(d)
    depth = cos - dx * sin  # (B, V): > 0 where the column's rays meet the screen's plane in front
    ok = depth > 1e-3
    inv = torch.where(ok, 1.0 / depth.clamp(min=1e-3), 0.0)
    return ok, inv, 0.5 + distance * (dx * cos + sin) * inv


def _render(ok, inv, sx, frames, phase, table, dy, *, distance: float, elevation: float, tex: int):
    """Every slot's view from its columns (:func:`_columns`) in one pass, without branching on the slots'
    phases: the same pixels as :meth:`HarlowPixelTask._observe` (tested bitwise), written for ``torch.compile``,
    which fuses it into one loop over the pixels. ``table`` is ``(B, 4 + tex * tex, 3)``: the colours of the
    room, the screen's frame, the black screen and the red cross, then the slot's screen texture, texel by texel
    (row-major). Returns ``(B, 3, V, V)`` float32."""
    B, T, D = ok.shape[0], tex, distance
    sy = (0.5 + D * elevation) - D * dy[None, :, None] * inv[:, None, :]
    on = (ok & (sx >= 0) & (sx <= 1))[:, None, :] & (sy >= 0) & (sy <= 1)
    near = (ok & (sx >= -0.03) & (sx <= 1.03))[:, None, :] & (sy >= -0.03) & (sy <= 1.03)
    code = torch.where(on, 2, near.long())
    drawn = frames > 0
    cx, cy = (sx - 0.5).abs()[:, None, :], (sy - 0.5).abs()
    red = ((cx <= 0.05) & (cy <= 0.011)) | ((cx <= 0.011) & (cy <= 0.05))
    code = torch.where(red & (drawn & (phase == 0))[:, None, None], 3, code)
    tx = (sx * T).long().clamp(0, T - 1)[:, None, :]
    ty = (sy * T).long().clamp(0, T - 1)
    code = torch.where(on & (drawn & (phase == 1))[:, None, None], 4 + ty * T + tx, code)
    rows = table.shape[1]
    pixels = F.embedding(code + (torch.arange(B, device=ok.device) * rows)[:, None, None], table.reshape(-1, 3))
    return pixels.permute(0, 3, 1, 2).contiguous()
