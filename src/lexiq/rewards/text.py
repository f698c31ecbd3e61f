"""Exact string rewards of Jaques et al. 2019, "Way Off-Policy Batch Deep Reinforcement Learning of Implicit Human
Preferences in Dialog" (arXiv 1907.00456): raw values per exchange, before any normalisation (see
:mod:`lexiq.rewards.normalise` for the default normalisation of each).

Notation: ``u_prev`` = :attr:`Exchange.previous_user`, ``b`` = :attr:`Exchange.bot`, ``u_next`` =
:attr:`Exchange.next_user` (``""`` on the last row, ``done=True``).

Substitution: the question reward looks for question words among word tokens of ``lower(b)``. The original uses
NLTK's word tokenizer; here a regex tokenizer ``re.findall(r"[a-z0-9]+", lower(b))`` is used instead (no NLTK
dependency). Both split punctuation and contractions off words, so ``"what?"`` and ``"what's"`` contain the token
``"what"`` either way (NLTK: ``what`` + ``'s``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lexiq.rewards.exchange import Exchange, ExchangeReward

QUESTION_WORDS: frozenset[str] = frozenset({"who", "what", "why", "where", "how", "when"})
"""Question words of the question reward."""

_WORD = re.compile(r"[a-z0-9]+")

COMPLIMENTS: tuple[str, ...] = (
    "you are beautiful", "you are so beautiful", "you're beautiful", "you re beautiful", "you are the best",
    "you're the best", "i like you", "you're a good", "you re a good", "i love the way you",
)
POLITENESS: tuple[str, ...] = (
    "if i may", "may i", "please", "thanks", "no worries", "if you don't mind", "have a great day", "i'm sorry",
)
SUPPORTIVE: tuple[str, ...] = (
    "you're right", "you are right", "you re right", "you're not alone", "you are not alone", "you re not alone",
    "congrats", "that's a good idea", "that is a good idea", "you'll be fine", "you will be fine", "you ll be fine",
    "you'll be okay", "you will be okay", "you ll be okay", "it will get better", "sorry you're going through",
    "sorry you are going through this", "sorry you re going through this", "if it makes you feel better",
    "if it makes you feel any better", "keep your head up", "keep it up", "i'm in a similar situation",
    "i am in a similar situation", "i m in a similar situation", "you'll get it", "you will get it",
    "you ll get it", "happy for you", "i'm in the same boat", "i am in the same boat",
    "if you feel like you need to vent",
)
CHEERFUL: tuple[str, ...] = (
    "nice to hear", "happy", "excited", "really nice", "glad", "the best", "great", "good time", "looking forward",
    "beautiful",
)


def word_tokens(text: str) -> list[str]:
    """Regex word tokens of ``lower(text)``: maximal runs of ``[a-z0-9]`` (the NLTK tokenizer substitute)."""
    return _WORD.findall(text.lower())


def laughter(ex: Exchange) -> float:
    """``reward_user_ha``: ``clip(count(u_next, "ha"), 0, 4)``, 0 if done.

    ``count`` is Python's non-overlapping substring count; ``u_next`` is **not** lower-cased (as in the original),
    so ``"HAHA"`` scores 0. Default normalisation: ``z``.
    """
    if ex.done:
        return 0.0
    return float(min(ex.next_user.count("ha"), 4))


def answer_length_words(ex: Exchange) -> float:
    """``reward_answer_length_words``: ``clip(len(u_next.split(' ')), 0, 30)``, 0 if done.

    Pieces of a split on single spaces, so repeated spaces count empty pieces (as in the original).
    Default normalisation: ``01`` (min-max over the buffer).
    """
    if ex.done:
        return 0.0
    return float(min(len(ex.next_user.split(" ")), 30))


def answer_length_chars(ex: Exchange) -> float:
    """``reward_answer_length_chars``: ``len(u_next)`` characters, 0 if done (no clipping).
    Default normalisation: ``01``."""
    if ex.done:
        return 0.0
    return float(len(ex.next_user))


def question(ex: Exchange) -> float:
    """``reward_question``: ``0.5·["?" in b] + 0.5·[any of who/what/why/where/how/when is a word token of lower(b)]``.

    Word tokens from :func:`word_tokens` (regex, in place of NLTK). Values 0, 0.5 or 1. Default normalisation: none.
    """
    value = 0.5 if "?" in ex.bot else 0.0
    if QUESTION_WORDS.intersection(word_tokens(ex.bot)):
        value += 0.5
    return value


def manual_rating(ex: Exchange) -> float:
    """``reward_manual_ratings``: the logged rating of the bot reply, 0 if there is none.
    Default normalisation: ``z``."""
    return 0.0 if ex.rating is None else float(ex.rating)


def keyword_reward(phrases: Iterable[str]) -> ExchangeReward:
    """Reward ``1.0`` if any of ``phrases`` (lower-cased here) is a substring of ``lower(b)``, else ``0.0``.

    Raises ValueError for an empty phrase list or an empty phrase (which would match every reply).
    """
    lowered = tuple(p.lower() for p in phrases)
    if not lowered or any(p == "" for p in lowered):
        raise ValueError("keyword_reward needs a non-empty list of non-empty phrases")

    def reward(ex: Exchange) -> float:
        text = ex.bot.lower()
        return 1.0 if any(p in text for p in lowered) else 0.0

    reward.__doc__ = f"1.0 if any of {len(lowered)} key phrases is a substring of lower(b), else 0.0."
    return reward


compliments = keyword_reward(COMPLIMENTS)
compliments.__doc__ = "``reward_compliments``: 1.0 if a phrase of :data:`COMPLIMENTS` is in lower(b); not normalised."
politeness = keyword_reward(POLITENESS)
politeness.__doc__ = "``reward_politeness``: 1.0 if a phrase of :data:`POLITENESS` is in lower(b); not normalised."
supportive = keyword_reward(SUPPORTIVE)
supportive.__doc__ = "``reward_supportive``: 1.0 if a phrase of :data:`SUPPORTIVE` is in lower(b); not normalised."
cheerful = keyword_reward(CHEERFUL)
cheerful.__doc__ = "``reward_cheerful``: 1.0 if a phrase of :data:`CHEERFUL` is in lower(b); not normalised."
