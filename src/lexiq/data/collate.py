"""Batching token MDPs: right padding with values that keep padded slots out of every loss.

For a batch of :class:`~lexiq.data.token_mdp.TokenMDP` of lengths ``L_b``, every ``[B, Lmax]`` tensor is right
padded (ILQL collation, Snell et al. 2022, arXiv 2206.11871, ``ilql.md`` §1.4):

=============== ======= =====================================================================
key             pad     why
=============== ======= =====================================================================
input_ids       pad_id  any id; never attended to, never an action
attention_mask  0       1 on the ``L_b`` real tokens (built from lengths, not ``!= pad_id``:
                        GPT-2 uses eos as pad)
action_mask     0       padded slots are not actions
rewards         0.0
next_state      0       a valid index, masked by ``action_mask``
next_terminal   1       padded slots are terminal: no bootstrap, even if a mask is forgotten
returns         0.0
turn_index      -1
=============== ======= =====================================================================

plus ``episode_return`` ``[B]`` (float32, the whole episode's undiscounted return).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from lexiq.data.token_mdp import TokenMDP

PAD_VALUES: dict[str, float] = {
    "action_mask": 0.0,
    "rewards": 0.0,
    "next_state": 0,
    "next_terminal": 1.0,
    "returns": 0.0,
    "turn_index": -1,
}
"""Padding value of every per-position array except ``input_ids`` (``pad_id``) and ``attention_mask`` (0)."""

_DTYPES = {
    "input_ids": np.int64,
    "attention_mask": np.int64,
    "action_mask": np.float32,
    "rewards": np.float32,
    "next_state": np.int64,
    "next_terminal": np.float32,
    "returns": np.float32,
    "turn_index": np.int64,
}


def collate_mdp(items: Sequence[TokenMDP], pad_id: int) -> dict[str, torch.Tensor]:
    """Stack token MDPs into ``[B, Lmax]`` tensors, right padded as in the module docstring."""
    if len(items) == 0:
        raise ValueError("collate_mdp: empty batch")
    if pad_id is None:
        raise ValueError("collate_mdp: pad_id is None; set tokenizer.pad_token (e.g. to the eos token)")
    lengths = [it.length for it in items]
    bsz, lmax = len(items), max(lengths)
    out: dict[str, np.ndarray] = {
        "input_ids": np.full((bsz, lmax), int(pad_id), np.int64),
        "attention_mask": np.zeros((bsz, lmax), np.int64),
    }
    for key, value in PAD_VALUES.items():
        out[key] = np.full((bsz, lmax), value, _DTYPES[key])
    for b, (it, n) in enumerate(zip(items, lengths, strict=True)):
        out["input_ids"][b, :n] = it.input_ids
        out["attention_mask"][b, :n] = 1
        for key in PAD_VALUES:
            out[key][b, :n] = getattr(it, key)
    batch = {k: torch.from_numpy(v) for k, v in out.items()}
    batch["episode_return"] = torch.tensor([it.episode_return for it in items], dtype=torch.float32)
    return batch


class MDPCollator:
    """Picklable ``collate_fn`` for a ``DataLoader`` over a ``TokenizedDataset``."""

    def __init__(self, pad_id: int):
        self.pad_id = int(pad_id)

    def __call__(self, items: Sequence[TokenMDP]) -> dict[str, torch.Tensor]:
        return collate_mdp(items, self.pad_id)

    def __repr__(self) -> str:
        return f"MDPCollator(pad_id={self.pad_id})"


__all__ = ["MDPCollator", "PAD_VALUES", "collate_mdp"]
