"""Hand-computed values for the string, conversation and normalisation rewards of lexiq.rewards."""

from __future__ import annotations

import math

import pytest

from lexiq.config import ConfigError
from lexiq.rewards import (
    CHAT_REWARDS,
    NORMALISATION,
    REWARDS,
    Exchange,
    answer_length_chars,
    answer_length_words,
    auc_emotion_transition,
    cheerful,
    compliments,
    compute_rewards,
    conversation_length,
    get_reward,
    keyword_reward,
    laughter,
    manual_rating,
    min_max_emotion_transition,
    minmax,
    normalise,
    politeness,
    question,
    supportive,
    var_emotion,
    zscore,
)


def ex(prev: str = "hi", bot: str = "hello", nxt: str = "ok", done: bool = False, chat: str = "c", i: int = 0,
       rating: float | None = None) -> Exchange:
    return Exchange(previous_user=prev, bot=bot, next_user=nxt, done=done, chat_id=chat, index=i, rating=rating)


def make_chat(bots: list[str], users: list[str], chat: str = "c") -> list[Exchange]:
    """users[i] is the message answered by bots[i]; users has one fewer next message at the end."""
    n = len(bots)
    return [ex(users[i], bots[i], users[i + 1] if i + 1 < n else "", i == n - 1, chat, i) for i in range(n)]


def test_exchange_is_frozen() -> None:
    e = ex()
    with pytest.raises(AttributeError):
        e.bot = "x"  # type: ignore[misc]


def test_laughter() -> None:
    assert laughter(ex(nxt="hahaha")) == 3.0
    assert laughter(ex(nxt="hahahahaha")) == 4.0
    assert laughter(ex(nxt="hahaha", done=True)) == 0.0
    assert laughter(ex(nxt="what a chat")) == 2.0  # "what" and "chat" each contain "ha"
    assert laughter(ex(nxt="HAHA")) == 0.0  # not lower-cased
    assert laughter(ex(nxt="no")) == 0.0


def test_answer_length() -> None:
    assert answer_length_words(ex(nxt="i like it")) == 3.0
    assert answer_length_words(ex(nxt="i  like")) == 3.0  # split(' ') keeps the empty piece
    assert answer_length_words(ex(nxt=" ".join(["w"] * 40))) == 30.0
    assert answer_length_words(ex(nxt="i like it", done=True)) == 0.0
    assert answer_length_chars(ex(nxt="i like it")) == 9.0
    assert answer_length_chars(ex(nxt="i like it", done=True)) == 0.0


@pytest.mark.parametrize(("bot", "value"), [
    ("What is it?", 1.0), ("really?", 0.5), ("I see what you mean", 0.5), ("ok.", 0.0),
    ("Somehow it works", 0.0), ("HOW", 0.5), ("who's there", 0.5), ("when?", 1.0),
])
def test_question(bot: str, value: float) -> None:
    assert question(ex(bot=bot)) == value


def test_manual_rating() -> None:
    assert manual_rating(ex(rating=-1)) == -1.0
    assert manual_rating(ex(rating=None)) == 0.0


def test_keyword_rewards() -> None:
    assert compliments(ex(bot="Honestly, You're The Best!")) == 1.0
    assert compliments(ex(bot="you are nice")) == 0.0
    assert politeness(ex(bot="Thanks a lot")) == 1.0
    assert politeness(ex(bot="thank you")) == 0.0
    assert supportive(ex(bot="Keep your head up, friend")) == 1.0
    assert supportive(ex(bot="you're wrong")) == 0.0
    assert cheerful(ex(bot="I am so HAPPY")) == 1.0
    assert cheerful(ex(bot="meh")) == 0.0
    custom = keyword_reward(["Blue Sky", "rain"])
    assert custom(ex(bot="the blue sky is nice")) == 1.0
    assert custom(ex(bot="sunny")) == 0.0
    with pytest.raises(ValueError):
        keyword_reward([])
    with pytest.raises(ValueError):
        keyword_reward(["a", ""])


def test_conversation_length() -> None:
    chat = make_chat(["b0", "b1", "b2", "b3"], ["u0", "u1", "u2", "u3"])
    assert conversation_length(chat) == pytest.approx([4 * 0.95**2, 4 * 0.95, 4.0, 0.0])
    assert conversation_length(chat, discount=0.5) == pytest.approx([1.0, 2.0, 4.0, 0.0])
    assert conversation_length(chat[:1]) == [0.0]
    assert conversation_length(make_chat(["a", "b"], ["x", "y"])) == pytest.approx([2.0, 0.0])
    assert conversation_length([]) == []
    with pytest.raises(ValueError):
        conversation_length(chat, discount=1.5)


def test_emotion_over_chat() -> None:
    # min 0.0 at index 2, max 1.0 at index 0 -> (0 - 1) / (2 - 0) = -0.5
    assert min_max_emotion_transition([1.0, 0.5, 0.0]) == [-0.5] * 3
    # first occurrences: min -1 at 1, max 1 at 0 -> (-1 - 1)/(1 - 0) = -2
    assert min_max_emotion_transition([1.0, -1.0, 1.0, -1.0]) == [-2.0] * 4
    assert min_max_emotion_transition([0.3]) == [0.0]
    assert min_max_emotion_transition([0.2, 0.2]) == [0.0, 0.0]
    assert min_max_emotion_transition([]) == []
    # population variance of [1, 3] = 1
    assert var_emotion([1.0, 3.0]) == [1.0, 1.0]
    assert var_emotion([0.5]) == [0.0]
    assert auc_emotion_transition([0.5, -0.25, 1.0]) == [1.25] * 3


def test_zscore_minmax() -> None:
    # mean 2, population std sqrt(2/3)
    s = math.sqrt(2 / 3)
    assert zscore([1.0, 2.0, 3.0]) == pytest.approx([-1 / s, 0.0, 1 / s])
    assert zscore([0.1, 0.1, 0.1]) == [0.0, 0.0, 0.0]
    assert zscore([]) == []
    assert minmax([2.0, 4.0, 3.0]) == pytest.approx([0.0, 1.0, 0.5])
    assert minmax([5.0, 5.0]) == [0.0, 0.0]
    assert normalise([1.0, 2.0], "none") == [1.0, 2.0]
    with pytest.raises(ValueError):
        normalise([1.0], "max")


def test_registry() -> None:
    assert set(REWARDS) == set(NORMALISATION)
    assert CHAT_REWARDS <= set(REWARDS)
    assert set(NORMALISATION.values()) <= {"z", "01", "none"}
    assert NORMALISATION["sentiment"] == "z"
    assert NORMALISATION["answer_length_words"] == "01"
    assert NORMALISATION["question"] == "none"
    assert get_reward("laughter") is laughter
    with pytest.raises(ConfigError, match="unknown reward 'lol'; valid: .*laughter") as err:
        get_reward("lol")
    assert "\n" not in str(err.value)


def _buffer() -> list[list[Exchange]]:
    chat_a = make_chat(["What?", "ok", "fine"], ["hi", "haha yes", "no"], chat="a")
    chat_b = make_chat(["why not?", "sure"], ["hey", "hahaha"], chat="b")
    return [chat_a, chat_b]


def test_compute_rewards_raw_weighted_sum() -> None:
    chats = _buffer()
    cols, total = compute_rewards(chats, ["question", "laughter", "conversation_length"], weights=[2.0, 1.0, 0.5],
                                  normalise=False)
    assert cols["question"] == [1.0, 0.0, 0.0, 1.0, 0.0]
    # u_next per row: "haha yes", "no", "", "hahaha", ""
    assert cols["laughter"] == [2.0, 0.0, 0.0, 3.0, 0.0]
    assert cols["conversation_length"] == pytest.approx([3 * 0.95, 3.0, 0.0, 2.0, 0.0])
    expected = [2.0 * q + 1.0 * h + 0.5 * c for q, h, c in
                zip(cols["question"], cols["laughter"], cols["conversation_length"], strict=True)]
    assert total == pytest.approx(expected)
    assert total == pytest.approx([2 + 2 + 1.425, 1.5, 0.0, 2 + 3 + 1.0, 0.0])


def test_compute_rewards_normalised() -> None:
    chats = _buffer()
    cols, total = compute_rewards(chats, ["question", "laughter", "answer_length_words"])
    assert cols["question"] == [1.0, 0.0, 0.0, 1.0, 0.0]  # "none"
    assert cols["laughter"] == pytest.approx(zscore([2.0, 0.0, 0.0, 3.0, 0.0]))
    # word counts: 2, 1, 0 (done), 1, 0 (done) -> min-max
    assert cols["answer_length_words"] == pytest.approx([1.0, 0.5, 0.0, 0.5, 0.0])
    assert total == pytest.approx([sum(v) for v in zip(*cols.values(), strict=True)])
    cols, total = compute_rewards(chats, [])
    assert cols == {} and total == [0.0] * 5


def test_compute_rewards_errors() -> None:
    chats = _buffer()
    with pytest.raises(ConfigError, match="2 reward weights for 1 rewards"):
        compute_rewards(chats, ["question"], weights=[1.0, 2.0])
    with pytest.raises(ConfigError, match="unknown reward"):
        compute_rewards(chats, ["nope"])
    with pytest.raises(ConfigError, match="distinct"):
        compute_rewards(chats, ["question", "question"])


def test_sentiment_without_vader_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from lexiq.rewards import vader as sentiment_module
    monkeypatch.setattr(sentiment_module, "_ANALYSER", None)
    monkeypatch.setitem(sys.modules, "vaderSentiment", None)
    monkeypatch.setitem(sys.modules, "vaderSentiment.vaderSentiment", None)
    with pytest.raises(ModuleNotFoundError, match="pip install vaderSentiment"):
        sentiment_module.compound("hello")
    assert sentiment_module.compound("") == 0.0
