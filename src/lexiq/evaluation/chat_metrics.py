"""Surface statistics of generated chat replies: distinct-n, question rate, length (with standard errors).

distinct-n (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural Conversation Models",
arXiv 1510.03055) is the number of distinct word n-grams over all replies divided by the number of n-grams: a
corpus statistic, so its standard error is a bootstrap over replies. Words are the lower-cased ``[a-z0-9]+``
tokens of :func:`lexiq.rewards.text.word_tokens` (the tokens the reward functions use).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence

from lexiq.evaluation.metrics import mean_with_stderr
from lexiq.rewards.text import word_tokens


def ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """The word n-grams of one reply, in order."""
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def distinct_n(replies: Sequence[str], n: int) -> float:
    """distinct-n = |distinct n-grams| / |n-grams| over all replies (0.0 when there are no n-grams)."""
    grams = [g for r in replies for g in ngrams(word_tokens(r), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def bootstrap(replies: Sequence[str], statistic: Callable[[Sequence[str]], float], resamples: int = 200,
              seed: int = 0) -> dict[str, float]:
    """``{"mean", "stderr"}``: the statistic on all replies and the s.d. of it over bootstrap resamples."""
    rng = random.Random(seed)
    draws = [statistic([replies[rng.randrange(len(replies))] for _ in replies]) for _ in range(resamples)]
    return {"mean": statistic(replies), "stderr": statistics.stdev(draws) if resamples > 1 else 0.0}


def reply_statistics(replies: Sequence[str]) -> dict[str, dict[str, float]]:
    """distinct_1, distinct_2, question_rate (a ``?`` in the reply), mean_length (words) of ``replies``."""
    if not replies:
        raise ValueError("reply_statistics: no replies")
    return {
        "distinct_1": bootstrap(replies, lambda rs: distinct_n(rs, 1)),
        "distinct_2": bootstrap(replies, lambda rs: distinct_n(rs, 2)),
        "question_rate": mean_with_stderr([float("?" in r) for r in replies]),
        "mean_length": mean_with_stderr([float(len(word_tokens(r))) for r in replies]),
    }
