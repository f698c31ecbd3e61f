"""Reward and termination rules of ILQL's visual-dialogue episodes (``specs/visdial_protocol.md`` §2.3, mode
``env_stops``).

* Every question (agent turn) costs ``-1``; the question that ends the episode gets ``0`` instead.
* A yes/no penalty ``yn_reward`` (``-2``) is added when the A-bot's **answer** matches the reward mode:
  ``hard`` (lower-cased answer is exactly ``yes`` or ``no``), ``soft`` (it contains ``yes`` or ``no``),
  ``conservative`` (it contains one of :data:`CONSERVATIVE_PHRASES`), ``none`` (never). The paper's three settings
  are "standard" = ``none``, "y/n" = ``hard`` and "conservative y/n" = ``conservative``.
* Percentile cut-off (``PercentileCutoffRule(goal_value=1.0, percentile=0.5)``): after each answer
  ``progress = (sum of the percentile gains so far) / (goal - p_0)`` where ``p_0`` is the percentile after the
  caption alone; the episode ends when ``progress >= cutoff`` or after ``max_rounds`` (10) questions.

The return of an episode is therefore ``-(number of non-final questions) + penalties``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

REWARD_MODES = ("none", "hard", "soft", "conservative")
CONSERVATIVE_PHRASES = ("not", "don't", "can't", "don’t", "can’t", "cannot", "fairly", "could", "think so", "okay",
                        "maybe", "yes", "no", "looks", "appears", "tell", "mostly just")


def check_reward_mode(mode: str) -> str:
    if mode not in REWARD_MODES:
        raise ValueError(f"unknown reward_mode {mode!r}; expected one of {', '.join(REWARD_MODES)}")
    return mode


def is_yes_no(answer: str, mode: str) -> bool:
    """Whether ``answer`` earns the yes/no penalty under ``mode`` (matching is on the lower-cased answer)."""
    text = answer.lower()
    if check_reward_mode(mode) == "hard":
        return text in ("yes", "no")
    if mode == "soft":
        return "yes" in text or "no" in text
    if mode == "conservative":
        return any(phrase in text for phrase in CONSERVATIVE_PHRASES)
    return False


def progress(p0: float, gains: Sequence[float], goal: float = 1.0) -> float:
    """``sum(gains) / (goal - p0)``: the share of the way from the caption's percentile to the goal covered so far
    (``inf`` when the caption alone already reached the goal)."""
    room = goal - p0
    if room <= 0:
        return math.inf
    return math.fsum(gains) / room


def turn_reward(ends: bool, answer: str, mode: str, yn_reward: float = -2.0) -> float:
    """Reward of one question: ``0`` if it ends the episode else ``-1``, plus ``yn_reward`` for a yes/no answer."""
    return (0.0 if ends else -1.0) + (float(yn_reward) if is_yes_no(answer, mode) else 0.0)
