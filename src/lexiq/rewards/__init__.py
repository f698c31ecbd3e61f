"""Implicit-preference rewards for dialogue (Jaques et al. 2019, "Way Off-Policy Batch Deep Reinforcement Learning
of Implicit Human Preferences in Dialog", arXiv 1907.00456), as pure functions over logged exchanges.

:data:`REWARDS` maps each reward name to its function. Most take one :class:`Exchange` and return a float; the
names in :data:`CHAT_REWARDS` take a whole chat (its rows in order) and return one value per row. :data:`BATCHED`
gives a batched implementation for rewards that run a neural encoder. Raw values are normalised separately
(:mod:`lexiq.rewards.normalise`); :func:`compute_rewards` computes, normalises and combines columns.
See ``docs/rewards.md``.
"""

from __future__ import annotations

from lexiq.config import ConfigError
from lexiq.rewards.conversation import (
    auc_emotion_transition,
    conversation_length,
    min_max_emotion_transition,
    user_auc_emotion_transition,
    user_min_max_emotion_transition,
    user_var_emotion,
    var_emotion,
)
from lexiq.rewards.exchange import BatchReward, ChatReward, Exchange, ExchangeReward, RewardFn
from lexiq.rewards.normalise import NORMALISATION, minmax, normalise, zscore
from lexiq.rewards.semantic import semantic_coherence, semantic_coherence_batch
from lexiq.rewards.text import (
    answer_length_chars,
    answer_length_words,
    cheerful,
    compliments,
    keyword_reward,
    laughter,
    manual_rating,
    politeness,
    question,
    supportive,
)
from lexiq.rewards.vader import compound, emotional_transition, sentiment, sentiment_coherence

REWARDS: dict[str, RewardFn] = {
    "sentiment": sentiment,
    "laughter": laughter,
    "answer_length_words": answer_length_words,
    "answer_length_chars": answer_length_chars,
    "conversation_length": conversation_length,
    "question": question,
    "manual_rating": manual_rating,
    "sentiment_coherence": sentiment_coherence,
    "semantic_coherence": semantic_coherence,
    "emotional_transition": emotional_transition,
    "min_max_emotion_transition": user_min_max_emotion_transition,
    "var_emotion": user_var_emotion,
    "auc_emotion_transition": user_auc_emotion_transition,
    "compliments": compliments,
    "politeness": politeness,
    "supportive": supportive,
    "cheerful": cheerful,
}
"""Reward name → function (``(Exchange) -> float``, or ``(chat) -> list[float]`` for :data:`CHAT_REWARDS`)."""

CHAT_REWARDS: frozenset[str] = frozenset(
    {"conversation_length", "min_max_emotion_transition", "var_emotion", "auc_emotion_transition"})
"""Names whose function takes a whole chat and returns one value per row."""

BATCHED: dict[str, BatchReward] = {"semantic_coherence": semantic_coherence_batch}
"""Batched implementations (``(exchanges) -> list[float]``) of per-exchange rewards."""


def get_reward(name: str) -> RewardFn:
    """The reward function registered as ``name``; :class:`ConfigError` for an unknown name."""
    try:
        return REWARDS[name]
    except KeyError:
        raise ConfigError(f"unknown reward {name!r}; valid: {', '.join(sorted(REWARDS))}") from None


from lexiq.rewards.compute import compute_rewards  # noqa: E402  (compute uses the registry above)

__all__ = [
    "BATCHED", "CHAT_REWARDS", "NORMALISATION", "REWARDS", "BatchReward", "ChatReward", "Exchange", "ExchangeReward",
    "RewardFn", "answer_length_chars", "answer_length_words", "auc_emotion_transition", "cheerful", "compliments",
    "compound", "compute_rewards", "conversation_length", "emotional_transition", "get_reward", "keyword_reward",
    "laughter", "manual_rating", "min_max_emotion_transition", "minmax", "normalise", "politeness", "question",
    "semantic_coherence", "semantic_coherence_batch", "sentiment", "sentiment_coherence", "supportive",
    "var_emotion", "zscore",
]
