"""Sentiment rewards: the offline substitute for the DeepMoji rewards of Jaques et al. 2019, "Way Off-Policy Batch
Deep Reinforcement Learning of Implicit Human Preferences in Dialog" (arXiv 1907.00456).

**Substitution.** The original scores a sentence ``s`` as ``e(s) · W``, the dot product of DeepMoji's 64-way emoji
distribution ``e(s)`` with a hand-set emoji weight vector ``W`` (weights in [−1, 1]). Here that
"weighted emotion-probability dot product" is replaced by VADER's compound score ``c(s) ∈ [−1, 1]``
(Hutto & Gilbert 2014, package ``vaderSentiment``); ``c("") = 0``. The coherence reward, a cosine between two
emoji distributions in the original, becomes a closeness of two compound scores mapped to [0, 1].

Rewards (raw values; default normalisation in :mod:`lexiq.rewards.normalise`):

- ``sentiment(ex) = c(u_next)``, 0 if ``u_next == ""`` (``reward_deepmoji``; normalisation ``z``);
- ``emotional_transition(ex) = c(u_next) − c(u_prev)`` (``reward_user_emotional_transition``; none);
- ``sentiment_coherence(ex) = 1 − |c(u_prev) − c(b)| / 2 − 0.5`` ∈ [−0.5, 0.5]
  (``reward_deepmoji_coherence`` = ``cos(e(u_prev), e(b)) − 0.5``; none).

The VADER analyser is created once, on first use (module-level lazy singleton); ``vaderSentiment`` is imported only
then, so importing this module does not need it.
"""

from __future__ import annotations

from typing import Any

from lexiq.rewards.exchange import Exchange

_ANALYSER: Any = None


def _analyser() -> Any:
    global _ANALYSER
    if _ANALYSER is None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError:
            raise ModuleNotFoundError("the sentiment rewards need the `vaderSentiment` package: "
                                      "pip install vaderSentiment") from None
        _ANALYSER = SentimentIntensityAnalyzer()
    return _ANALYSER


def compound(text: str) -> float:
    """VADER compound score of ``text`` in [−1, 1]; 0 for the empty string."""
    if text == "":
        return 0.0
    return float(_analyser().polarity_scores(text)["compound"])


def sentiment(ex: Exchange) -> float:
    """``c(u_next)``, the VADER compound score of the user's reply; 0 if ``u_next == ""``.
    Default normalisation: ``z`` (like ``reward_deepmoji``)."""
    return compound(ex.next_user)


def emotional_transition(ex: Exchange) -> float:
    """``c(u_next) − c(u_prev)``: change of the user's sentiment across the bot reply (``c("") = 0``, so on the
    last row this is ``−c(u_prev)``). Default normalisation: none."""
    return compound(ex.next_user) - compound(ex.previous_user)


def sentiment_coherence(ex: Exchange) -> float:
    """``1 − |c(u_prev) − c(b)| / 2 − 0.5`` ∈ [−0.5, 0.5]: closeness of the bot's sentiment to the user's, shifted
    by −0.5 like the original ``cos(e(u_prev), e(b)) − 0.5``. Default normalisation: none."""
    return 1.0 - abs(compound(ex.previous_user) - compound(ex.bot)) / 2.0 - 0.5
