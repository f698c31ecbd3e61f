"""Normalisation of reward columns over the whole buffer, kept separate from the raw rewards, and the default
normalisation of each registered reward (Jaques et al. 2019, "Way Off-Policy Batch Deep Reinforcement Learning of
Implicit Human Preferences in Dialog", arXiv 1907.00456, ``BatchRL/rewards.py``).

- ``"z"``: ``z(x) = (x − mean) / std`` with the population std (ddof 0);
- ``"01"``: ``01(x) = (x − min) / (max − min)``;
- ``"none"``: raw values.

A constant column (std 0, or max = min) normalises to all zeros in both cases, as does an empty column (to ``[]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NORMALISATION: dict[str, str] = {
    "sentiment": "z",
    "laughter": "z",
    "answer_length_words": "01",
    "answer_length_chars": "01",
    "conversation_length": "z",
    "question": "none",
    "manual_rating": "z",
    "sentiment_coherence": "none",
    "semantic_coherence": "z",
    "emotional_transition": "none",
    "min_max_emotion_transition": "none",
    "var_emotion": "none",
    "auc_emotion_transition": "none",
    "compliments": "none",
    "politeness": "none",
    "supportive": "none",
    "cheerful": "none",
}
"""Default normalisation of each registered reward: ``"z"``, ``"01"`` or ``"none"``."""


def zscore(values: Sequence[float]) -> list[float]:
    """``(x − mean) / std`` with the population standard deviation; all zeros if all values are equal (std 0)."""
    n = len(values)
    if n == 0:
        return []
    if min(values) == max(values):
        return [0.0] * n
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / n)
    if std == 0.0:
        return [0.0] * n
    return [(v - mean) / std for v in values]


def minmax(values: Sequence[float]) -> list[float]:
    """``(x − min) / (max − min)``; all zeros if ``max == min``."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def normalise(values: Sequence[float], kind: str) -> list[float]:
    """Apply normalisation ``kind`` (``"z"``, ``"01"`` or ``"none"``) to a column."""
    if kind == "z":
        return zscore(values)
    if kind == "01":
        return minmax(values)
    if kind == "none":
        return [float(v) for v in values]
    raise ValueError(f"unknown normalisation {kind!r}; valid: z, 01, none")
