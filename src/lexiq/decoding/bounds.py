"""Exact greedy Q-guided decoding that often evaluates only one Q head over the vocabulary (CPU).

Greedy search needs only ``argmax_a ℓ(a) + A(a)`` with ``A = A(Q̄)``, ``Q̄ = min_i Q_i``. A is monotone in Q̄,
so ``ℓ + A(min_i Q_i) = min_i (ℓ + A(Q_i))`` and ``u = ℓ + A(Q_1)`` bounds it from above. It is enough to
compute the exact score of the k tokens with the largest ``u`` (gathered rows of every Q head): when the best
of them reaches the largest ``u`` of every other token, no other token can win and Q_2.. are never evaluated
over the vocabulary. Otherwise the other heads follow (exactly the full computation). The check is tried
while it pays off (:class:`Gate`); the chosen tokens are always those of the full computation.
"""

from __future__ import annotations

import math

import torch

BOUND_MIN_VOCAB = 4096
"""Greedy decoding on CPU evaluates the Q heads one at a time with the bound check from this vocabulary size
on (below it the extra small operations cost more than the Q head they save)."""
BOUND_CANDIDATES = 16
"""Tokens whose exact guided score is computed to check the bound."""
BOUND_GROUP = 32
"""Tokens per group in the candidate search (the best BOUND_CANDIDATES groups are searched)."""
PROBE_EVERY = 8
"""A check that stopped paying off is still tried once every this many steps."""


def top_tokens(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids of the k largest entries of each row of ``x`` ([rows, k]) and an upper bound of the other entries.

    Found through group maxima (groups of ``BOUND_GROUP`` tokens; the k best groups hold the k best tokens),
    which is cheaper on CPU than a top-k over the whole vocabulary.
    """
    rows, vocab = x.shape
    size = BOUND_GROUP
    n_full = vocab // size
    group_max = x[:, : n_full * size].view(rows, n_full, size).amax(-1)  # [rows, groups]
    if n_full * size < vocab:
        group_max = torch.cat([group_max, x[:, n_full * size :].amax(-1, keepdim=True)], 1)
    n_pick = min(k, group_max.shape[1])
    top_groups = group_max.topk(min(n_pick + 1, group_max.shape[1]), dim=-1)
    tokens = (top_groups.indices[:, :n_pick, None] * size  # [rows, n_pick·size]
              + torch.arange(size, device=x.device)).flatten(1).clamp_(max=vocab - 1)
    values = x.gather(1, tokens)
    kk = min(k, values.shape[1])
    top_values, pos = values.topk(kk, dim=-1)
    outside = top_values[:, -1] if kk < values.shape[1] else torch.full_like(top_values[:, -1], -math.inf)
    if top_groups.values.shape[1] > n_pick:  # the best group not searched
        outside = torch.maximum(outside, top_groups.values[:, n_pick])
    return tokens.gather(1, pos), outside


class Gate:
    """Tries a shortcut while its recent success rate (optimistic start, decaying counts) is at least
    ``break_even`` (its cost over what it saves), else once every ``PROBE_EVERY`` steps."""

    def __init__(self, break_even: float, decay: float = 0.9):
        self.break_even = break_even
        self.decay = decay
        self.tries = 0.0
        self.wins = 0.0
        self.skipped = 0

    def open(self) -> bool:
        if (self.wins + 1.0) / (self.tries + 1.0) >= self.break_even or self.skipped + 1 >= PROBE_EVERY:
            self.skipped = 0
            return True
        self.skipped += 1
        return False

    def record(self, won: bool) -> None:
        self.tries = self.decay * self.tries + 1.0
        self.wins = self.decay * self.wins + float(won)
