"""Wang et al. (2018) Simulation 6: the reward prediction error, not the reward, as the policy network's input.

Two separate LSTMs (48 units each, Wang 2018 Sim 6): a value network that sees ``[obs_t, onehot(a_{t-1}),
r_{t-1}]`` and outputs ``V(s_t)``, and a policy network that sees ``[obs_t, onehot(a_{t-1}), delta_{t-1}]``
with the temporal-difference error ``delta_{t-1} = r_{t-1} + gamma V(s_t) - V(s_{t-1})`` computed from the
value network's outputs (the "dopamine" signal). The policy therefore learns only through what the RPE tells
it, and an experimenter can change that signal without touching the reward: simulated optogenetic block
(decrement) or stimulation (increment) of the RPE input after chosen events (Stopper et al. 2014; Wang 2018
Fig. 7).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from metarl_neuro.agents.a2c_lstm import lstm_over, shared_lstm

__all__ = ["RPEInputA2C", "rpe_manipulation"]


class RPEInputA2C(nn.Module):
    """Separate value and policy LSTMs, the policy driven by the value network's RPE (Wang et al. 2018, Sim 6).

    Same call as :class:`~metarl_neuro.agents.A2CLSTM`, so the training loop and the frozen evaluation serve
    both. The recurrent state ``(h, c)`` packs both networks: ``h = [h_policy (H), h_value (H), delta_in (1)]``
    and ``c = [c_policy (H), c_value (H), V(s_{t-1}) (1)]``, each ``(B, 2H + 1)`` float32, so that the RPE the
    policy received is recorded with the activations (``h[..., -1]``). The RPE input carries no gradient to the
    value network (``V`` is detached in ``delta``): the value network learns from the value loss alone, the
    policy network from the policy loss alone.

    Parameters
    ----------
    obs_dim : int
        Size of the task observation.
    n_actions : int
        Number of actions.
    hidden_size : int
        Units of each LSTM. Default 48 (Wang 2018 Sim 6).
    gamma : float
        Discount of the RPE input. Default 0.9 (Wang 2018 Methods; the simulations pass their config's).

    Attributes
    ----------
    manipulation : callable or None
        ``manipulation(prev_action, prev_reward) -> (B,)`` float offset added to the RPE input (see
        :func:`rpe_manipulation`); ``None`` for the intact network.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden_size: int = 48, gamma: float = 0.9):
        super().__init__()
        self.obs_dim, self.n_actions, self.units = int(obs_dim), int(n_actions), int(hidden_size)
        self.hidden_size = 2 * self.units + 1  # size of the packed state
        self.gamma = float(gamma)
        n_in = self.obs_dim + self.n_actions + 1
        self.value_cell = nn.LSTMCell(n_in, self.units)
        self.policy_cell = nn.LSTMCell(n_in, self.units)
        self.policy = nn.Linear(self.units, self.n_actions)
        self.value = nn.Linear(self.units, 1)
        self.manipulation: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def initial_state(self, batch_size: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Zero packed state ``(h, c)``, each ``(batch_size, 2 * hidden_size + 1)`` float32."""
        z = torch.zeros(batch_size, self.hidden_size, device=device)
        return z, z.clone()

    def forward(self, obs, prev_action, prev_reward, state):
        """One step; arguments and returns as :meth:`A2CLSTM.forward` (``state`` packed, see the class)."""
        H = self.units
        h, c = state
        onehot = nn.functional.one_hot(prev_action.clamp(min=0), self.n_actions).to(obs.dtype)
        started = (prev_action >= 0).to(obs.dtype)
        onehot = onehot * started.unsqueeze(-1)
        r = prev_reward.to(obs.dtype)
        hv, cv = self.value_cell(torch.cat([obs, onehot, r.unsqueeze(-1)], -1), (h[:, H:2 * H], c[:, H:2 * H]))
        v = self.value(hv).squeeze(-1)
        delta = (r + self.gamma * v.detach() - c[:, -1]) * started
        if self.manipulation is not None:
            delta = delta + self.manipulation(prev_action, prev_reward).to(delta.dtype) * started
        hp, cp = self.policy_cell(torch.cat([obs, onehot, delta.unsqueeze(-1)], -1), (h[:, :H], c[:, :H]))
        new = (torch.cat([hp, hv, delta.unsqueeze(-1)], -1), torch.cat([cp, cv, v.detach().unsqueeze(-1)], -1))
        return self.policy(hp), v, new

    def forward_sequence(self, obs, prev_action, prev_reward, state, reset):
        """A whole unroll at once: what :meth:`forward` gives step by step, to float rounding (issue 24).

        The value network does not see the policy network, so it runs first over the whole unroll (one
        ``nn.LSTM`` call per stretch without an episode start); the RPE inputs ``delta_{t-1}`` follow from its
        values; then the policy network runs over the unroll. Arguments and returns as
        :meth:`A2CLSTM.forward_sequence` (``state`` packed, see the class).
        """
        H = self.units
        h, c = state
        keep = (~reset).to(obs.dtype)  # (T, B): 0 where the packed state is zeroed before step t
        onehot = nn.functional.one_hot(prev_action.clamp(min=0), self.n_actions).to(obs.dtype)
        started = (prev_action >= 0).to(obs.dtype)
        onehot = onehot * started.unsqueeze(-1)
        r = prev_reward.to(obs.dtype)
        hv_all, (hv, cv) = lstm_over(shared_lstm(self, self.value_cell, "_value_lstm"),
                                     torch.cat([obs, onehot, r.unsqueeze(-1)], -1), (h[:, H:2 * H], c[:, H:2 * H]),
                                     reset)
        v = self.value(hv_all).squeeze(-1)
        vd = v.detach()
        v_prev = torch.cat([c[None, :, -1], vd[:-1]]) * keep  # V(s_{t-1}) as the packed state carries it
        delta = (r + self.gamma * vd - v_prev) * started
        if self.manipulation is not None:
            delta = delta + self.manipulation(prev_action, prev_reward).to(delta.dtype) * started
        hp_all, (hp, cp) = lstm_over(shared_lstm(self, self.policy_cell, "_policy_lstm"),
                                     torch.cat([obs, onehot, delta.unsqueeze(-1)], -1), (h[:, :H], c[:, :H]), reset)
        new = (torch.cat([hp, hv, delta[-1].unsqueeze(-1)], -1), torch.cat([cp, cv, vd[-1].unsqueeze(-1)], -1))
        return self.policy(hp_all), v, new


def rpe_manipulation(action: int, offset: float, when: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """An RPE-input manipulation for :attr:`RPEInputA2C.manipulation` (Wang et al. 2018 Fig. 7).

    Parameters
    ----------
    action : int
        The action (lever) after whose outcome the offset is applied.
    offset : float
        Added to the RPE input: negative for a simulated optogenetic block, positive for a stimulation.
    when : {"win", "loss", "any"}
        After a rewarded choice of ``action`` (reward > 0), an unrewarded one (reward == 0), or both.
        Invalid actions (reward < 0) are never manipulated.

    Returns
    -------
    callable
        ``f(prev_action, prev_reward) -> (B,)`` offsets.

    Raises
    ------
    ValueError
        For an unknown ``when``.
    """
    if when not in ("win", "loss", "any"):
        raise ValueError(f"when must be 'win', 'loss' or 'any', got {when!r}")

    def f(prev_action: torch.Tensor, prev_reward: torch.Tensor) -> torch.Tensor:
        hit = prev_action == action
        if when == "win":
            hit = hit & (prev_reward > 0)
        elif when == "loss":
            hit = hit & (prev_reward == 0)
        else:
            hit = hit & (prev_reward >= 0)
        return hit.float() * offset

    return f
