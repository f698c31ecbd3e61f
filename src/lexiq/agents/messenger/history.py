"""The policy's view of Messenger: the last 3 frames of ids (``specs/ldd_messenger.md`` C.9).

A *frame* is ``entities`` and ``avatar`` concatenated along the layer axis, ``(10, 10, L + 1)`` ids (the avatar
layer last). EMMA reads the last :data:`HISTORY` frames; at the start of an episode the history holds copies of
its first frame. :class:`FrameHistory` keeps that window for ``n`` games of a vector environment whose finished
games restart inside ``step`` (Gymnasium's same-step autoreset).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

HISTORY = 3


def frame(obs: Mapping[str, Any]) -> np.ndarray:
    """``(..., 10, 10, L + 1)`` uint8 ids: ``obs["entities"]`` then ``obs["avatar"]`` along the last axis."""
    return np.concatenate([np.asarray(obs["entities"]), np.asarray(obs["avatar"])], axis=-1).astype(np.uint8)


class FrameHistory:
    """The last ``history`` frames of ``n`` games: ``frames`` is ``(n, history, 10, 10, C)``, oldest first."""

    def __init__(self, n: int, history: int = HISTORY) -> None:
        self.n, self.history = n, history
        self.frames: np.ndarray | None = None

    def reset(self, first: np.ndarray) -> np.ndarray:
        """Start every game with ``history`` copies of its first frame ``first (n, 10, 10, C)``."""
        if first.shape[0] != self.n:
            raise ValueError(f"expected frames of {self.n} games, got shape {first.shape}")
        self.frames = np.repeat(first[:, None], self.history, axis=1)
        return self.frames

    def push(self, new: np.ndarray, restarted: np.ndarray) -> np.ndarray:
        """Append ``new (n, 10, 10, C)``; games with ``restarted[i]`` (their previous episode just ended, ``new[i]``
        is the first frame of the next one) are refilled with copies instead."""
        if self.frames is None:
            return self.reset(new)
        self.frames = np.concatenate([self.frames[:, 1:], new[:, None]], axis=1)
        idx = np.flatnonzero(restarted)
        if idx.size:
            self.frames[idx] = new[idx, None]
        return self.frames


def episode_histories(n_frames: int, history: int = HISTORY) -> np.ndarray:
    """Frame indices ``(n_frames, history)`` of the window ending at each frame of one episode (copies of frame 0
    at the start): row ``t`` is ``[max(t - history + 1, 0), ..., t]``."""
    t = np.arange(n_frames)[:, None] + np.arange(-history + 1, 1)[None, :]
    return np.maximum(t, 0)
