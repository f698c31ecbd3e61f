"""Compute, normalise and combine reward columns over a buffer of chats (Jaques et al. 2019, "Way Off-Policy Batch
Deep Reinforcement Learning of Implicit Human Preferences in Dialog", arXiv 1907.00456).

Rows are flattened in chat order. Each named reward becomes a column over all rows; with ``normalise=True`` each
column is normalised over the whole buffer with its default normalisation (:data:`lexiq.rewards.NORMALISATION`).
The combined reward of a row is ``r = Σ_k w_k · column_k`` (weights default to 1).
"""

from __future__ import annotations

from collections.abc import Sequence

from tqdm.auto import tqdm

from lexiq.config import ConfigError
from lexiq.rewards.exchange import Exchange
from lexiq.rewards.normalise import NORMALISATION
from lexiq.rewards.normalise import normalise as apply_normalisation


def _column(name: str, chats: Sequence[Sequence[Exchange]], progress: bool) -> list[float]:
    from lexiq.rewards import BATCHED, CHAT_REWARDS, get_reward

    fn = get_reward(name)
    if name in BATCHED:
        rows = [ex for chat in chats for ex in chat]
        return [float(v) for v in BATCHED[name](rows)]
    values: list[float] = []
    for chat in tqdm(chats, desc=f"reward {name}", unit="chat", disable=not progress):
        if name in CHAT_REWARDS:
            out = fn(chat)  # type: ignore[arg-type]
            if len(out) != len(chat):
                raise ValueError(f"reward {name} returned {len(out)} values for a chat of {len(chat)} rows")
            values.extend(float(v) for v in out)
        else:
            values.extend(float(fn(ex)) for ex in chat)  # type: ignore[arg-type]
    return values


def compute_rewards(chats: list[list[Exchange]], names: list[str], weights: list[float] | None = None,
                    normalise: bool = True, progress: bool = False) -> tuple[dict[str, list[float]], list[float]]:
    """Reward columns and their weighted sum over all rows of ``chats`` (flattened in chat order).

    Args:
        chats: the buffer, each chat a list of exchanges in order.
        names: registered reward names (:data:`lexiq.rewards.REWARDS`); unknown or repeated names raise
            :class:`ConfigError`.
        weights: one weight ``w_k`` per name (default all 1); a length mismatch raises :class:`ConfigError`.
        normalise: normalise each column over the buffer with its default normalisation (``z``, ``01`` or none).
        progress: show a tqdm progress bar per reward.

    Returns:
        ``(columns, total)``: ``columns[name]`` is the (normalised if requested) column, ``total[i] =
        Σ_k w_k · columns[names[k]][i]``.
    """
    from lexiq.rewards import get_reward

    for name in names:
        get_reward(name)
    if len(set(names)) != len(names):
        raise ConfigError(f"reward names must be distinct, got {names}")
    if weights is None:
        weights = [1.0] * len(names)
    if len(weights) != len(names):
        raise ConfigError(f"got {len(weights)} reward weights for {len(names)} rewards {names}; give one per reward")
    n_rows = sum(len(chat) for chat in chats)
    columns: dict[str, list[float]] = {}
    for name in names:
        column = _column(name, chats, progress)
        if normalise:
            column = apply_normalisation(column, NORMALISATION[name])
        columns[name] = column
    total = [0.0] * n_rows
    for name, w in zip(names, weights, strict=True):
        for i, v in enumerate(columns[name]):
            total[i] += float(w) * v
    return columns, total
