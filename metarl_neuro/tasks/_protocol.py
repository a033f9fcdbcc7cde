"""Shared pieces of the batched task protocol (see DESIGN.md, "Tasks: one batched protocol").

A task simulates ``B`` episodes at once as torch tensors on one device:

- ``reset() -> obs`` with ``obs`` ``(B, obs_dim)`` float32;
- ``step(action) -> (obs, reward, done, log)`` with ``action`` ``(B,)`` long, ``reward`` ``(B,)`` float32,
  ``done`` ``(B,)`` bool and ``log`` a dict of ``(B,)`` tensors whose keys and dtypes are declared by the
  task's ``log_schema``.

An episode that ends is replaced at once by a fresh one in the same slot (``done`` marks the step that
ended it and the returned observation is the first of the new episode), so slots never wait for each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LogField:
    """One field of a task's per-step log.

    Attributes
    ----------
    name : str
        Key in the ``log`` dict returned by ``step``.
    dtype : torch.dtype
        dtype of the ``(B,)`` tensor.
    meaning : str
        What the value is, with its index convention.
    """

    name: str
    dtype: torch.dtype
    meaning: str


def step_doc(summary: str, action: str, obs: str, reward: str, done: str, log: str = ""):
    """Decorator giving a task's ``step`` the protocol's docstring, with what is particular to the task.

    Every batched task's ``step(action) -> (obs, reward, done, log)`` documents the same four results and the same
    error; ``summary``, ``action`` (what the ``(B,)`` int64 actions are), ``obs`` (the observation's shape),
    ``reward`` and ``done`` (what they mean in this task) and ``log`` (anything added about the log) fill it in.
    """
    doc = f"""{summary}

    Parameters
    ----------
    action : torch.Tensor
        ``(B,)`` int64: {action}.

    Returns
    -------
    obs : torch.Tensor
        {obs} float32 next observation (of a new episode where ``done``).
    reward : torch.Tensor
        ``(B,)`` float32: {reward}.
    done : torch.Tensor
        ``(B,)`` bool: {done} (its slot then starts a new episode).
    log : dict of str to torch.Tensor
        ``(B,)`` tensors described by ``log_schema``{log}.

    Raises
    ------
    ValueError
        If ``action`` has the wrong shape, dtype or an out-of-range value.
    """

    def decorate(step):
        step.__doc__ = doc
        return step

    return decorate


def make_generator(seed: int, device: torch.device | str) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (all of a task's randomness comes from it)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def check_actions(action: torch.Tensor, batch_size: int, n_actions: int, check_range: bool = True) -> None:
    """Raise ``ValueError`` unless ``action`` is a ``(batch_size,)`` integer tensor with values in range.

    The range check reads the tensor back to the host (a device sync); training loops whose actions come
    from a categorical sample pass ``check_range=False``.
    """
    if action.shape != (batch_size,):
        raise ValueError(f"action must have shape ({batch_size},), got {tuple(action.shape)}")
    if action.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"action must be an integer tensor, got dtype {action.dtype}")
    if check_range and bool(((action < 0) | (action >= n_actions)).any()):
        raise ValueError(f"action values must lie in [0, {n_actions - 1}]")


def tensor_state(task, names: tuple[str, ...]) -> dict:
    """Checkpoint state of a batched task: copies of its tensors ``names`` and its generator's state.

    Every task's ``state_dict`` is this; :func:`load_tensor_state` restores it, so a resumed simulation
    continues exactly where it stopped.
    """
    state = {k: getattr(task, k).clone() for k in names}
    state["generator"] = task.generator.get_state()
    return state


def load_tensor_state(task, state: dict) -> None:
    """Restore a :func:`tensor_state` onto ``task`` (tensors moved to ``task.device``)."""
    for k, v in state.items():
        if k == "generator":
            task.generator.set_state(v.cpu())  # generator states are CPU byte tensors
        else:
            setattr(task, k, v.to(task.device))


class compiled_or_eager:  # noqa: N801 (used as a function)
    """``fn`` through ``torch.compile`` (inductor, static shapes), or ``fn`` itself where compiling fails.

    For a task's pure tensor functions whose compiled form must give what the eager one gives (each use is tested
    bitwise). Compiling happens at the first call of each input shape; if it raises (e.g. no C++ compiler), a
    ``RuntimeWarning`` names the function and the error, and this call and every later one run ``fn`` eagerly.

    Parameters
    ----------
    fn : callable
        A function of tensors (and of keyword constants) without side effects.

    Examples
    --------
    >>> import torch
    >>> double = compiled_or_eager(lambda x: 2 * x)
    >>> double.__wrapped__(torch.ones(2))  # the eager function
    tensor([2., 2.])
    """

    def __init__(self, fn):
        self.__wrapped__ = fn
        self._compiled = torch.compile(fn, dynamic=False)

    def __call__(self, *args, **kwargs):
        if self._compiled is not None:
            try:
                return self._compiled(*args, **kwargs)
            except Exception as err:  # inductor's failures have no common public base class
                import warnings

                warnings.warn(f"torch.compile of {getattr(self.__wrapped__, '__name__', self.__wrapped__)} failed "
                              f"({type(err).__name__}: {str(err)[:200]}); running it eagerly", RuntimeWarning,
                              stacklevel=2)
                self._compiled = None
        return self.__wrapped__(*args, **kwargs)
