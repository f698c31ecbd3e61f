"""TextWorld text games (Côté et al. 2018, arXiv 1806.11532) as lexiq environments and offline data.

``games`` (offline generation of game pools per split with TextWorld's own generator), ``env`` (a game or a pool
as a text environment: feedback in, commands out, score changes as rewards), ``play`` (walkthrough, random and
noisy-expert players; mixed-quality episode data sets) and ``cli`` (``lexiq data textworld``). Everything that
touches TextWorld needs the optional extra: ``pip install 'lexiq[textworld]'``. See ``docs/textworld_nethack.md``.
"""

from __future__ import annotations

from lexiq.envs.textworld.env import TextWorldEnv, clean_feedback, play_command, resolve_games
from lexiq.envs.textworld.games import SPLIT_SEEDS, GameSpec, generate_game, generate_pool, require_textworld
from lexiq.envs.textworld.play import (
    KINDS,
    MIXTURE,
    NoisyExpertPlayer,
    RandomPlayer,
    WalkthroughPlayer,
    collect_episodes,
    dataset_stats,
)

__all__ = [
    "KINDS", "MIXTURE", "SPLIT_SEEDS", "GameSpec", "NoisyExpertPlayer", "RandomPlayer", "TextWorldEnv",
    "WalkthroughPlayer", "clean_feedback", "collect_episodes", "dataset_stats", "generate_game", "generate_pool",
    "play_command", "require_textworld", "resolve_games",
]
