"""The A2C-LSTM agent of Wang et al. 2016 / 2018: LSTM -> softmax policy + scalar value.

The input at step ``t`` is ``[obs_t, onehot(a_{t-1}), r_{t-1}]`` (Wang et al. 2018, Methods; Wang et al.
2016, Sec. 2). At the first step of an episode the previous action is "none" (an all-zero one-hot) and the
previous reward 0.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

__all__ = ["A2CLSTM", "ConvA2CLSTM", "lstm_over", "shared_lstm"]


class A2CLSTM(nn.Module):
    """LSTM actor-critic.

    Parameters
    ----------
    obs_dim : int
        Size of the task observation.
    n_actions : int
        Number of discrete actions.
    hidden_size : int
        LSTM units. Default 48 (Wang et al. 2018, Methods, two-step task).

    Notes
    -----
    Acting uses ``nn.LSTMCell`` stepped once per environment step: on CPU with torch 2.13 it was faster than
    ``nn.LSTM`` stepped one step at a time (DESIGN.md, performance notes). Training recomputes a whole unroll
    with :meth:`forward_sequence`, one ``nn.LSTM`` call per stretch without an episode start, on the cell's own
    parameters (issue 14: forward and backward of a 100 x 32 unroll 6 ms instead of 28 ms step by step).
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden_size: int = 48):
        super().__init__()
        self.obs_dim, self.n_actions, self.hidden_size = int(obs_dim), int(n_actions), int(hidden_size)
        self.cell = nn.LSTMCell(self.obs_dim + self.n_actions + 1, self.hidden_size)
        self.policy = nn.Linear(self.hidden_size, self.n_actions)
        self.value = nn.Linear(self.hidden_size, 1)

    def initial_state(self, batch_size: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Zero LSTM state ``(h, c)``, each ``(batch_size, hidden_size)`` float32."""
        z = torch.zeros(batch_size, self.hidden_size, device=device)
        return z, z.clone()

    def forward(
        self,
        obs: torch.Tensor,
        prev_action: torch.Tensor,
        prev_reward: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One step.

        Parameters
        ----------
        obs : torch.Tensor
            ``(B, obs_dim)`` float32.
        prev_action : torch.Tensor
            ``(B,)`` int64 previous action, ``-1`` for none (episode start).
        prev_reward : torch.Tensor
            ``(B,)`` float32 previous reward.
        state : tuple of torch.Tensor
            ``(h, c)``, each ``(B, hidden_size)``.

        Returns
        -------
        logits : torch.Tensor
            ``(B, n_actions)`` policy logits.
        value : torch.Tensor
            ``(B,)`` state value ``V(s_t)``.
        state : tuple of torch.Tensor
            New ``(h, c)``.
        """
        h, c = self.cell(_lstm_input(obs, prev_action, prev_reward, self.n_actions), state)
        return self.policy(h), self.value(h).squeeze(-1), (h, c)

    def forward_sequence(
        self,
        obs: torch.Tensor,
        prev_action: torch.Tensor,
        prev_reward: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        reset: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """A whole unroll at once: what :meth:`forward` gives step by step, to float rounding.

        Parameters
        ----------
        obs : torch.Tensor
            ``(T, B, obs_dim)`` float32.
        prev_action, prev_reward : torch.Tensor
            ``(T, B)`` int64 (``-1``: none) and float32, as :meth:`forward` takes them at each step.
        state : tuple of torch.Tensor
            ``(h, c)`` before step 0, each ``(B, hidden_size)``.
        reset : torch.Tensor
            ``(T, B)`` bool, True where the state is zeroed before step ``t`` (an episode starts there).

        Returns
        -------
        logits : torch.Tensor
            ``(T, B, n_actions)``.
        value : torch.Tensor
            ``(T, B)``.
        state : tuple of torch.Tensor
            ``(h, c)`` after the last step.
        """
        x = _lstm_input(obs, prev_action, prev_reward, self.n_actions)
        H, state = lstm_over(self._sequence_lstm(), x, state, reset)
        return self.policy(H), self.value(H).squeeze(-1), state

    def _sequence_lstm(self) -> nn.LSTM:
        """An ``nn.LSTM`` whose parameters are the cell's own (:func:`shared_lstm`)."""
        return shared_lstm(self, self.cell, "_lstm")


def shared_lstm(owner: nn.Module, cell: nn.LSTMCell, key: str) -> nn.LSTM:
    """An ``nn.LSTM`` whose parameters are ``cell``'s own: shared, not copied, and not a submodule of ``owner``
    (kept in its ``__dict__`` under ``key``), so the state dict and the optimiser see only the cell."""
    lstm = owner.__dict__.get(key)
    if lstm is None or lstm.weight_ih_l0 is not cell.weight_ih:
        lstm = nn.LSTM(cell.input_size, cell.hidden_size)
        for mine, cells in (("weight_ih_l0", "weight_ih"), ("weight_hh_l0", "weight_hh"), ("bias_ih_l0", "bias_ih"),
                            ("bias_hh_l0", "bias_hh")):
            setattr(lstm, mine, getattr(cell, cells))
        owner.__dict__[key] = lstm
    return lstm


def lstm_over(lstm: nn.LSTM, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], reset: torch.Tensor):
    """Run ``lstm`` over ``x`` ``(T, B, n_in)`` from ``state`` ``(h, c)`` (each ``(B, H)``), zeroing the state of
    slot ``b`` before step ``t`` where ``reset[t, b]``: one ``nn.LSTM`` call per stretch without an episode start.
    Returns the outputs ``(T, B, H)`` and the last ``(h, c)``."""
    T = x.shape[0]
    starts = [0, *(t for t in torch.nonzero(reset[1:].any(1)).flatten().add(1).tolist()), T]
    h, c = state
    outs = []
    for s, e in itertools.pairwise(starts):
        keep = (~reset[s]).unsqueeze(-1).to(h.dtype)
        out, (h, c) = lstm(x[s:e], ((h * keep)[None], (c * keep)[None]))
        h, c = h[0], c[0]
        outs.append(out)
    return (torch.cat(outs) if len(outs) > 1 else outs[0]), (h, c)


def step_sequence(step, x, prev_action, prev_reward, state, reset):
    """An unroll step by step: ``step(x[t], prev_action[t], prev_reward[t], state) -> (logits, value, state)``
    for each ``t`` of the ``(T, B, ...)`` inputs, the state zeroed where ``reset[t]``; returns logits
    ``(T, B, A)``, values ``(T, B)`` and the last state (as :meth:`A2CLSTM.forward_sequence`)."""
    logits, values = [], []
    for t in range(x.shape[0]):
        keep = (~reset[t]).unsqueeze(-1).to(state[0].dtype)
        lg, v, state = step(x[t], prev_action[t], prev_reward[t], (state[0] * keep, state[1] * keep))
        logits.append(lg)
        values.append(v)
    return torch.stack(logits), torch.stack(values), state


def _onehot(action: torch.Tensor, n_actions: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot ``(..., n_actions)`` of int64 ``action`` (any leading shape); ``-1`` ("none") gives all zeros."""
    return (action.unsqueeze(-1) == torch.arange(n_actions, device=action.device)).to(dtype)


def _lstm_input(obs: torch.Tensor, prev_action: torch.Tensor, prev_reward: torch.Tensor, n_actions: int) -> torch.Tensor:
    """``[obs, onehot(prev_action), prev_reward]`` along the last axis; ``prev_action`` ``-1`` gives an all-zero
    one-hot. Any leading shape (``(B,)`` or ``(T, B)``)."""
    onehot = _onehot(prev_action, n_actions, obs.dtype)
    return torch.cat([obs, onehot, prev_reward.unsqueeze(-1).to(obs.dtype)], dim=-1)


class ConvA2CLSTM(nn.Module):
    """Conv-LSTM actor-critic for pixel observations (Wang et al. 2016, Fig. 1c; Wang et al. 2018, Sim. 5).

    Encoder: 16 filters 8 x 8 stride 4 -> ReLU -> 32 filters 4 x 4 stride 2 -> ReLU -> 256 fully connected ->
    ReLU (Wang et al. 2016, Fig. 1c); the code, the one-hot previous action and the previous reward feed an
    LSTM of ``hidden_size`` units (256, Wang et al. 2018 Sim. 5), read out by linear policy and value heads.
    Same call as :class:`A2CLSTM`, so the training loop and the frozen evaluation serve both. It has no sequence
    pass: training builds the graph while acting (:func:`~metarl_neuro.agents.collect_rollout`), because
    recomputing the unroll would run the encoder twice while the LSTM steps cell by cell either way (issue 29:
    401 ms per update with a sequence pass, 292 ms without, batch 32, unroll 20, one thread,
    ``benchmarks/update_breakdown.py``).

    Parameters
    ----------
    obs_shape : tuple of int
        ``(channels, height, width)`` of the float32 observations (values in [0, 1]).
    n_actions : int
        Number of discrete actions.
    hidden_size : int
        LSTM units (of each LSTM when ``stacked``).
    stacked : bool
        The stacked two-LSTM form of Wang et al. 2016, Fig. 1d: a first LSTM receives the code and the previous
        reward, a second one the first's output, the code and the one-hot previous action; the heads read the
        second. The recurrent state then packs both: ``h = [h_1, h_2]``, ``c = [c_1, c_2]``, each
        ``(B, 2 * hidden_size)``.
    reward_head : bool
        Add the auxiliary head :meth:`reward_logits` (``--reward-coef``; default off, as in W16 / W18): a linear
        read-out of the heads' LSTM state and the action just taken that predicts the sign of the reward the action
        will be paid. It only adds a loss; acting never reads it.

    Raises
    ------
    ValueError
        If the image is too small for the encoder (under 36 pixels on a side).
    """

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, hidden_size: int = 256, stacked: bool = False,
                 reward_head: bool = False):
        super().__init__()
        c, h, w = (int(x) for x in obs_shape)
        if min(h, w) < 36:
            raise ValueError(f"images of {h} x {w} are too small for the 8x8/4 + 4x4/2 encoder (need >= 36)")
        self.obs_shape, self.n_actions, self.hidden_size = (c, h, w), int(n_actions), int(hidden_size)
        self.conv = nn.Sequential(nn.Conv2d(c, 16, 8, stride=4), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
                                  nn.Flatten())
        with torch.no_grad():
            n_flat = self.conv(torch.zeros(1, c, h, w)).shape[1]
        self.fc = nn.Sequential(nn.Linear(n_flat, 256), nn.ReLU())
        self.stacked = bool(stacked)
        self.units = self.hidden_size
        if self.stacked:
            self.cell = nn.LSTMCell(256 + 1, self.units)
            self.cell2 = nn.LSTMCell(self.units + 256 + self.n_actions, self.units)
            self.hidden_size = 2 * self.units  # size of the packed state
        else:
            self.cell = nn.LSTMCell(256 + self.n_actions + 1, self.units)
        self.policy = nn.Linear(self.units, self.n_actions)
        self.value = nn.Linear(self.units, 1)
        self.reward_head = nn.Linear(self.units + self.n_actions, 3) if reward_head else None

    def reward_logits(self, h: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Logits of the sign of the reward that ``action``, taken from the state ``h``, will be paid.

        Parameters
        ----------
        h : torch.Tensor
            ``(B, hidden_size)`` float32 hidden state after the step that chose ``action`` (packed when stacked:
            the heads' LSTM, the second, is read).
        action : torch.Tensor
            ``(B,)`` int64 actions taken.

        Returns
        -------
        torch.Tensor
            ``(B, 3)`` float32 logits of (negative, zero, positive); the loss is
            :func:`~metarl_neuro.agents.losses.reward_sign_loss`.

        Raises
        ------
        RuntimeError
            If the network was built without the head (``reward_head=False``).
        """
        if self.reward_head is None:
            raise RuntimeError("this network has no reward head (built with reward_head=False)")
        return self.reward_head(torch.cat([h[:, -self.units:], _onehot(action, self.n_actions, h.dtype)], -1))

    def initial_state(self, batch_size: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Zero LSTM state ``(h, c)``, each ``(batch_size, hidden_size)`` float32 (``2 * units`` stacked)."""
        z = torch.zeros(batch_size, self.hidden_size, device=device)
        return z, z.clone()

    def forward(self, obs, prev_action, prev_reward, state):
        """One step: ``obs`` ``(B, C, H, W)`` float32; otherwise as :meth:`A2CLSTM.forward`."""
        return self._recur(self.fc(self.conv(obs)), prev_action, prev_reward, state)

    def _recur(self, code, prev_action, prev_reward, state):
        """The LSTM(s) and heads on the encoder's ``(B, 256)`` code."""
        onehot = _onehot(prev_action, self.n_actions, code.dtype)
        r = prev_reward.unsqueeze(-1).to(code.dtype)
        if not self.stacked:
            h, c = self.cell(torch.cat([code, onehot, r], -1), state)
            return self.policy(h), self.value(h).squeeze(-1), (h, c)
        U = self.units
        h, c = state
        h1, c1 = self.cell(torch.cat([code, r], -1), (h[:, :U], c[:, :U]))
        h2, c2 = self.cell2(torch.cat([h1, code, onehot], -1), (h[:, U:], c[:, U:]))
        return self.policy(h2), self.value(h2).squeeze(-1), (torch.cat([h1, h2], -1), torch.cat([c1, c2], -1))
