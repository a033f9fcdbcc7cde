"""The A2C-LSTM agent of Wang et al. 2016 / 2018: LSTM -> softmax policy + scalar value.

The input at step ``t`` is ``[obs_t, onehot(a_{t-1}), r_{t-1}]`` (Wang et al. 2018, Methods; Wang et al.
2016, Sec. 2). At the first step of an episode the previous action is "none" (an all-zero one-hot) and the
previous reward 0.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["A2CLSTM"]


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
    Uses ``nn.LSTMCell`` stepped once per environment step: on CPU with torch 2.13 it was faster than
    ``nn.LSTM`` stepped one step at a time (DESIGN.md, performance notes).
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
        onehot = nn.functional.one_hot(prev_action.clamp(min=0), self.n_actions).to(obs.dtype)
        onehot = onehot * (prev_action >= 0).unsqueeze(-1).to(obs.dtype)
        x = torch.cat([obs, onehot, prev_reward.unsqueeze(-1).to(obs.dtype)], dim=-1)
        h, c = self.cell(x, state)
        return self.policy(h), self.value(h).squeeze(-1), (h, c)
