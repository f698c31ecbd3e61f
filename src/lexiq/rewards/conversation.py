"""Per-chat rewards of Jaques et al. 2019, "Way Off-Policy Batch Deep Reinforcement Learning of Implicit Human
Preferences in Dialog" (arXiv 1907.00456): rewards that need the whole chat (rows in order) and return one value
per row.

- ``conversation_length``: a terminal reward ``n`` (the chat's number of rows) on row ``n − 2``, discounted
  backwards (see :func:`conversation_length`). Default normalisation ``z``.
- Emotion over the chat, computed from the per-row sentiment ``s_t`` (``reduced_deepmoji`` in the original; here the
  raw VADER score :func:`lexiq.rewards.vader.sentiment`) or the per-row emotional transition ``d_t``
  (:func:`lexiq.rewards.vader.emotional_transition`); each puts the same value on every row of the chat and is
  not normalised:

  - ``min_max_emotion_transition = (min_t s_t − max_t s_t) / (argmin_t s_t − argmax_t s_t)``, 0 if not finite;
  - ``var_emotion = Var_t(s_t)`` (population variance);
  - ``auc_emotion_transition = Σ_t d_t``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lexiq.rewards.exchange import Exchange
from lexiq.rewards.vader import emotional_transition, sentiment


def conversation_length(chat: Sequence[Exchange], discount: float = 0.95) -> list[float]:
    """``reward_conversation_length`` for a chat of ``n`` rows.

    Immediate rewards ``r_t = 0`` except ``r_{n−2} = n`` when ``n > 1``; returns the discounted returns
    ``R_t = r_t + γ_d·R_{t+1}`` computed backwards with ``R_{n−1} = r_{n−1} = 0``. For ``n = 4``, ``γ_d = 0.95``:
    ``[4·0.95², 4·0.95, 4, 0]``; a one-row chat gives ``[0]``. Default normalisation: ``z`` over the buffer.
    """
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount must be in [0, 1], got {discount}")
    n = len(chat)
    immediate = [0.0] * n
    if n > 1:
        immediate[n - 2] = float(n)
    returns = [0.0] * n
    running = 0.0
    for t in range(n - 1, -1, -1):
        running = immediate[t] + discount * running
        returns[t] = running
    return returns


def min_max_emotion_transition(emotions: Sequence[float]) -> list[float]:
    """``(min_emo − max_emo) / (idx_min − idx_max)`` of the per-row sentiments, on every row.

    ``idx_min``/``idx_max`` are the first indices of the minimum/maximum. The value is 0 when it is not finite
    (``idx_min == idx_max``, e.g. a one-row chat or constant sentiment, or non-finite inputs).
    """
    n = len(emotions)
    if n == 0:
        return []
    lo, hi = min(emotions), max(emotions)
    idx_lo, idx_hi = list(emotions).index(lo), list(emotions).index(hi)
    value = (lo - hi) / (idx_lo - idx_hi) if idx_lo != idx_hi else math.nan
    if not math.isfinite(value):
        value = 0.0
    return [float(value)] * n


def var_emotion(emotions: Sequence[float]) -> list[float]:
    """Population variance ``mean_t (s_t − mean(s))²`` of the per-row sentiments, on every row."""
    n = len(emotions)
    if n == 0:
        return []
    mean = sum(emotions) / n
    value = sum((s - mean) ** 2 for s in emotions) / n
    return [float(value)] * n


def auc_emotion_transition(transitions: Sequence[float]) -> list[float]:
    """``Σ_t d_t``, the sum of the per-row emotional transitions, on every row."""
    return [float(sum(transitions))] * len(transitions)


def user_min_max_emotion_transition(chat: Sequence[Exchange]) -> list[float]:
    """:func:`min_max_emotion_transition` of the chat's raw sentiments ``sentiment(ex)``."""
    return min_max_emotion_transition([sentiment(ex) for ex in chat])


def user_var_emotion(chat: Sequence[Exchange]) -> list[float]:
    """:func:`var_emotion` of the chat's raw sentiments ``sentiment(ex)``."""
    return var_emotion([sentiment(ex) for ex in chat])


def user_auc_emotion_transition(chat: Sequence[Exchange]) -> list[float]:
    """:func:`auc_emotion_transition` of the chat's ``emotional_transition(ex)`` values."""
    return auc_emotion_transition([emotional_transition(ex) for ex in chat])
