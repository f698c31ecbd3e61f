"""VADER-based sentiment rewards (the DeepMoji substitute)."""

from __future__ import annotations

import pytest

pytest.importorskip("vaderSentiment")

from lexiq.rewards import (  # noqa: E402
    Exchange,
    compound,
    compute_rewards,
    emotional_transition,
    sentiment,
    sentiment_coherence,
)
from lexiq.rewards.conversation import user_auc_emotion_transition, user_var_emotion  # noqa: E402

POS = "I love this, it is wonderful and great!"
NEG = "I hate this, it is terrible and awful."


def ex(prev: str, bot: str, nxt: str, done: bool = False, i: int = 0) -> Exchange:
    return Exchange(previous_user=prev, bot=bot, next_user=nxt, done=done, chat_id="c", index=i)


def test_sentiment_signs() -> None:
    assert sentiment(ex("hi", "hello", POS)) > 0.5
    assert sentiment(ex("hi", "hello", NEG)) < -0.5
    assert sentiment(ex("hi", "hello", "", done=True)) == 0.0
    assert compound("") == 0.0


def test_emotional_transition_and_coherence() -> None:
    assert emotional_transition(ex(NEG, "hm", POS)) == pytest.approx(compound(POS) - compound(NEG))
    assert emotional_transition(ex(NEG, "hm", POS)) > 1.0
    assert emotional_transition(ex(POS, "hm", "", done=True)) == pytest.approx(-compound(POS))
    assert sentiment_coherence(ex(POS, POS, "")) == pytest.approx(0.5)
    opposite = sentiment_coherence(ex(POS, NEG, ""))
    assert opposite == pytest.approx(0.5 - abs(compound(POS) - compound(NEG)) / 2)
    assert -0.5 <= opposite < 0.0


def test_chat_emotion_rewards() -> None:
    chat = [ex("a", "b", POS, i=0), ex(POS, "c", NEG, i=1), ex(NEG, "d", "", done=True, i=2)]
    s = [compound(POS), compound(NEG), 0.0]
    mean = sum(s) / 3
    assert user_var_emotion(chat) == pytest.approx([sum((v - mean) ** 2 for v in s) / 3] * 3)
    # transitions telescope: sum = c("") - c("a") = 0 - 0
    assert user_auc_emotion_transition(chat) == pytest.approx([0.0] * 3)
    cols, _ = compute_rewards([chat], ["sentiment", "min_max_emotion_transition"], normalise=False)
    assert cols["sentiment"] == pytest.approx(s)
    # min at 1, max at 0
    assert cols["min_max_emotion_transition"] == pytest.approx([(s[1] - s[0]) / (1 - 0)] * 3)
