"""Value and Q heads for value-based objectives (ILQL, MC returns).

Shapes (h = backbone hidden size, d = ``head_hidden``, |V| = vocabulary size)::

    V(s)      = w_v · relu(A_v h + a_v) + c_v                   Linear(h→d) → ReLU → Linear(d→1)
    Q_i(s, ·) = W_i  relu(A_i h + a_i) + b_i          i=1,2     Linear(h→d) → ReLU → Linear(d→|V|)
    Q̄_i      = Polyak-averaged copies of Q_i, never trained by gradient

This is the MLP head of Snell et al. (ILQL, arXiv 2206.11871, §2.1 of ``specs/ilql.md``) with a narrower hidden
layer: the paper uses d = 2h; lexiq defaults to ``d = clamp(h // 4, 32, 256)``. With a large vocabulary the
``d×|V|`` output layer dominates the cost of a Q head, so a narrow d keeps Q-guided decoding and the CQL term
cheap (see ``docs/benchmarks.md``). Set ``head_hidden`` to 2h for the paper's shape.

The first layers of V, Q1 and Q2 are stored as one ``Linear(h → 3d)`` (mathematically three separate MLP
trunks, computed with one matmul); likewise the two target trunks as ``Linear(h → 2d)``. The output layers of
the Q heads are stacked as a ``[n_q, |V|, d]`` tensor so both heads are evaluated with one batched matmul.

Q values are computed only where they are needed: :meth:`ILQLHeads.q_at` gathers the output rows of the data
actions (``O(N·d)`` instead of ``O(N·d·|V|)``); the full vocabulary is touched only by :meth:`q_all`
(decoding) and by the CQL term (:func:`lexiq.models.ops.linear_logsumexp`, chunked).
"""

from __future__ import annotations

import torch
from torch import nn


def default_head_hidden(hidden_size: int) -> int:
    """lexiq's default head width: ``clamp(h // 4, 32, 256)``."""
    return int(min(256, max(32, hidden_size // 4)))


class ILQLHeads(nn.Module):
    """V, Q_1..Q_n and target Q̄_1..Q̄_n heads on top of backbone hidden states ``h`` of size ``hidden_size``."""

    def __init__(self, hidden_size: int, vocab_size: int, head_hidden: int | None = None, double_q: bool = True):
        super().__init__()
        d = head_hidden or default_head_hidden(hidden_size)
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        self.head_hidden = d
        self.n_q = 2 if double_q else 1
        # online trunks: [V | Q1 | Q2]
        self.trunk = nn.Linear(hidden_size, d * (1 + self.n_q))
        self.v_out = nn.Linear(d, 1)
        self.q_weight = nn.Parameter(torch.empty(self.n_q, vocab_size, d))
        self.q_bias = nn.Parameter(torch.zeros(self.n_q, vocab_size))
        # target trunks and output layers (buffers-like parameters with requires_grad=False)
        self.target_trunk = nn.Linear(hidden_size, d * self.n_q)
        self.target_q_weight = nn.Parameter(torch.empty(self.n_q, vocab_size, d), requires_grad=False)
        self.target_q_bias = nn.Parameter(torch.zeros(self.n_q, vocab_size), requires_grad=False)
        for p in self.target_trunk.parameters():
            p.requires_grad_(False)
        nn.init.normal_(self.q_weight, std=d**-0.5 * 0.1)
        self.hard_update_targets()

    # ----------------------------------------------------------------- features
    def online_features(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.relu(self.trunk(h))
        d = self.head_hidden
        zv = z[..., :d]
        zq = z[..., d:].unflatten(-1, (self.n_q, d)).movedim(-2, 0)  # [n_q, ..., d]
        return zv, zq

    def target_features(self, h: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.target_trunk(h))
        return z.unflatten(-1, (self.n_q, self.head_hidden)).movedim(-2, 0)  # [n_q, ..., d]

    def features(self, h: torch.Tensor, target_h: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Trunk features for V, Q (online, with grad) and Q̄ (target, no grad; from ``target_h`` if given)."""
        zv, zq = self.online_features(h)
        with torch.no_grad():
            zt = self.target_features(h if target_h is None else target_h)
        return {"v": zv, "q": zq, "target_q": zt}

    # ----------------------------------------------------------------- outputs
    def value_from(self, zv: torch.Tensor) -> torch.Tensor:
        return self.v_out(zv).squeeze(-1)

    def values(self, h: torch.Tensor) -> torch.Tensor:
        """V(s) at every position: ``[...]`` for hidden states ``[..., h]``."""
        return self.value_from(self.online_features(h)[0])

    def q_at_from(self, zq: torch.Tensor, actions: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Q_i(s, a) gathered at ``actions`` (``[...]`` ints) from trunk features ``zq`` (``[n_q, ..., d]``)."""
        weight = self.target_q_weight if target else self.q_weight
        bias = self.target_q_bias if target else self.q_bias
        a = actions.clamp(min=0)
        rows = weight[:, a]  # [n_q, ..., d]
        return (zq * rows).sum(-1) + bias[:, a]

    def q_all_from(self, zq: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Q_i(s, ·) over the whole vocabulary: ``[n_q, ..., |V|]``."""
        weight = self.target_q_weight if target else self.q_weight
        bias = self.target_q_bias if target else self.q_bias
        flat = zq.reshape(self.n_q, -1, self.head_hidden)
        out = torch.baddbmm(bias.unsqueeze(1), flat, weight.transpose(1, 2))
        return out.reshape(*zq.shape[:-1], self.vocab_size)

    def q_at(self, h: torch.Tensor, actions: torch.Tensor, target: bool = False) -> torch.Tensor:
        zq = self.target_features(h) if target else self.online_features(h)[1]
        return self.q_at_from(zq, actions, target)

    def q_all(self, h: torch.Tensor, target: bool = False) -> torch.Tensor:
        zq = self.target_features(h) if target else self.online_features(h)[1]
        return self.q_all_from(zq, target)

    def target_q_min_all(self, h: torch.Tensor) -> torch.Tensor:
        """min_i Q̄_i(s, ·) over the vocabulary (what Q-guided decoding adds to the logits)."""
        return self.q_all(h, target=True).amin(0)

    # ----------------------------------------------------------------- targets
    def _pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        d, n = self.head_hidden, self.n_q
        return [
            (self.target_trunk.weight, self.trunk.weight[d : d * (1 + n)]),
            (self.target_trunk.bias, self.trunk.bias[d : d * (1 + n)]),
            (self.target_q_weight, self.q_weight),
            (self.target_q_bias, self.q_bias),
        ]

    @torch.no_grad()
    def polyak_update(self, alpha: float) -> None:
        """θ̄ ← α·θ + (1−α)·θ̄ for every target Q parameter (ILQL §4; α = 0.005 per optimizer step)."""
        targets = [t for t, _ in self._pairs()]
        sources = [s.detach() for _, s in self._pairs()]
        torch._foreach_lerp_(targets, sources, alpha)

    @torch.no_grad()
    def hard_update_targets(self) -> None:
        for t, s in self._pairs():
            t.copy_(s.detach())
