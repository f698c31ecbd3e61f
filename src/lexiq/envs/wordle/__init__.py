"""Wordle as in the ILQL paper (Snell et al. 2022, arXiv 2206.11871; ``specs/wordle.md``).

``game`` (NumPy core: patterns, vocabularies, game state), ``env`` (Gymnasium text environment), ``policies``
(scripted policies, §6) and ``datasets`` (synthetic datasets, §8). Word lists ship as package data in ``words/``.
"""

from __future__ import annotations

from lexiq.envs.wordle.datasets import KINDS, dataset_stats, generate_dataset
from lexiq.envs.wordle.env import WordleEnv
from lexiq.envs.wordle.game import (
    ALL_GREEN,
    COLOR_TOKENS,
    FEEDBACK_RULES,
    GameOverError,
    GameState,
    WordList,
    colors_to_pattern,
    feedback_colors,
    feedback_pattern,
    is_valid_guess,
    pattern_matrix_of,
    pattern_to_colors,
)
from lexiq.envs.wordle.policies import (
    START_WORDS,
    MixturePolicy,
    OptimalPolicy,
    RandomMixturePolicy,
    RepeatPolicy,
    StartWordPolicy,
    SwitchPolicy,
    UniformWordPolicy,
    WordlePolicy,
    WrongPolicy,
    information_gain,
    rollout,
)

__all__ = [
    "ALL_GREEN", "COLOR_TOKENS", "FEEDBACK_RULES", "KINDS", "START_WORDS", "GameOverError", "GameState",
    "MixturePolicy", "OptimalPolicy", "RandomMixturePolicy", "RepeatPolicy", "StartWordPolicy", "SwitchPolicy",
    "UniformWordPolicy", "WordList", "WordleEnv", "WordlePolicy", "WrongPolicy", "colors_to_pattern",
    "dataset_stats", "feedback_colors", "feedback_pattern", "generate_dataset", "information_gain",
    "is_valid_guess", "pattern_matrix_of", "pattern_to_colors", "rollout",
]
