"""A stand-in for DeepMind Lab's Python module ``deepmind_lab``, for tests only.

It implements the documented ``deepmind_lab.Lab`` API (docs/users/python_api.md of
https://github.com/google-deepmind/lab: ``reset(episode=-1, seed=None)``, ``step(action, num_steps=1)``,
``observations()``, ``is_running()``, ``events()``, ``action_spec()``, ``observation_spec()``, ``num_steps()``,
``fps()``, ``close()``) for one level, ``contributed/psychlab/harlow``, with that level's trial logic
(game_scripts/levels/contributed/psychlab/factories/harlow_factory.lua): a red fixation cross of 0.1 of the
screen at the centre; fixating it (1 frame) pays +1 and shows two images of 0.4 of the screen centred at
x = 0.25 and 0.75, the correct one on the side given by a shuffled {1, 1, 1, 2, 2, 2}; looking at an
image's central button (half its size, 1 frame) pays +5 or -5 and publishes the trial as an
``xdata:psychlab`` event in PsychLab's ``helpers.tostring`` format; 5 frames later the cross returns; the
episode ends after 6 trials. The gaze moves ``LOOK_LEFT_RIGHT_PIXELS_PER_FRAME / 1000`` screen widths per
frame (the real level's camera geometry is not modelled). The image is a simple rendering of the screen.
Every event it publishes is also kept in ``Lab.published`` for the tests.
"""

import numpy as np

_ACTIONS = ("LOOK_LEFT_RIGHT_PIXELS_PER_FRAME", "LOOK_DOWN_UP_PIXELS_PER_FRAME", "STRAFE_LEFT_RIGHT",
            "MOVE_BACK_FORWARD", "FIRE", "JUMP", "CROUCH")
_LEVEL = "contributed/psychlab/harlow"


def _tostring(table: dict) -> str:
    lines = ["{"] + [f"  ['{k}'] = {v}" for k, v in table.items()] + ["}"]
    return "\n".join(lines) + "\n"


class Lab:
    def __init__(self, level, observations, config=None, renderer="software", level_cache=None):
        if level != _LEVEL:
            raise ValueError(f"the stand-in only has {_LEVEL!r}, not {level!r}")
        if list(observations) != ["RGB_INTERLEAVED"]:
            raise ValueError(f"unsupported observations {observations}")
        config = dict(config or {})
        if not all(isinstance(v, str) for v in config.values()):
            raise TypeError("config values must be strings (as DeepMind Lab requires)")
        self.width, self.height = int(config.get("width", 320)), int(config.get("height", 240))
        self._fps = int(config.get("fps", 60))
        self.published = []  # (episode, event payload) of every event, for the tests
        self._running, self._episode, self._frames = False, -1, 0
        self._events = []
        self._closed = False

    # -- documented API
    def action_spec(self):
        return [{"name": n, "min": -512 if i < 2 else -1, "max": 512 if i < 2 else 1} for i, n in enumerate(_ACTIONS)]

    def observation_spec(self):
        return [{"name": "RGB_INTERLEAVED", "shape": (self.height, self.width, 3), "dtype": np.uint8}]

    def fps(self):
        return self._fps

    def num_steps(self):
        return self._frames

    def is_running(self):
        return self._running

    def events(self):
        return list(self._events)

    def close(self):
        self._closed = True
        self._running = False

    def reset(self, episode=-1, seed=None):
        self._rng = np.random.default_rng(seed)
        self._episode += 1
        self._running, self._frames = True, 0
        self._events = []
        self._positions = self._rng.permutation([1, 1, 1, 2, 2, 2])
        self._correct_id = int(self._rng.integers(1, 3))
        self._trial, self._done_trials = 0, 0
        self._phase, self._delay = "fixation", 0
        self._gaze = 0.5
        return True

    def step(self, action, num_steps=1):
        if not self._running:
            raise RuntimeError("step() on a level that is not running: call reset()")
        action = np.asarray(action)
        if action.shape != (7,) or action.dtype != np.intc:
            raise ValueError("action must be a (7,) numpy.intc array")
        self._events = []
        reward = 0.0
        for _ in range(int(num_steps)):
            reward += self._frame(int(action[0]))
            if not self._running:
                break
        return reward

    def observations(self):
        img = np.zeros((self.height, self.width, 3), np.uint8)
        # the screen seen through a window of half its width centred on the gaze
        xs = self._gaze - 0.25 + 0.5 * (np.arange(self.width) + 0.5) / self.width
        ys = (np.arange(self.height) + 0.5) / self.height
        X, Y = np.meshgrid(xs, ys)
        if self._phase == "fixation":
            cross = (np.abs(X - 0.5) < 0.05) & (np.abs(Y - 0.5) < 0.05)
            img[cross] = (255, 0, 0)
        elif self._phase == "targets":
            for centre, image_id in ((0.25, self._left_id()), (0.75, self._right_id())):
                box = (np.abs(X - centre) < 0.2) & (np.abs(Y - 0.5) < 0.2)
                img[box] = (40 * image_id, 200, 255 - 60 * image_id)
        return {"RGB_INTERLEAVED": img}

    # -- the level's logic
    def _left_id(self):
        side = self._positions[self._trial - 1]
        return self._correct_id if side == 1 else 3 - self._correct_id

    def _right_id(self):
        return 3 - self._left_id()

    def _frame(self, look):
        self._frames += 1
        self._gaze = float(np.clip(self._gaze + look / 1000.0, 0.0, 1.0))
        if self._phase == "fixation":
            if abs(self._gaze - 0.5) < 0.05:
                self._trial += 1
                self._phase = "targets"
                return 1.0
            return 0.0
        if self._phase == "targets":
            side = 1 if abs(self._gaze - 0.25) < 0.1 else 2 if abs(self._gaze - 0.75) < 0.1 else 0
            if side == 0:
                return 0.0
            correct_side = int(self._positions[self._trial - 1])
            ok = side == correct_side
            data = {"trial": self._trial, "trialId": self._trial, "correctResponse": correct_side,
                    "response": "correct_image" if ok else "incorrect_image", "correct": int(ok),
                    "reactionTime": 0.1, "stepCount": self._frames}
            payload = _tostring(data)
            self._events.append(("xdata:psychlab", [payload]))
            self.published.append((self._episode, payload))
            self._done_trials += 1
            self._phase, self._delay = "delay", 5
            if self._done_trials >= 6:
                self._running = False
            return 5.0 if ok else -5.0
        self._delay -= 1
        if self._delay <= 0:
            self._phase = "fixation"
        return 0.0
