"""Messenger games, splits, movement variants and start layouts (``specs/ldd_messenger.md`` C.1, C.3, C.4, C.7).

A *game* assigns three distinct NPCs to the roles (enemy, message, goal). ``games.json`` of
``ahjwang/messenger-emma`` (Hanjie et al., ICML 2021) splits the games into ``train_multi_comb`` (40),
``train_single_comb`` (4), ``val`` (32) and ``test`` (32); :data:`BUILTIN_GAMES` is a copy of that file
(MIT licence, (c) 2021 H. J. Austin Wang) so that template manuals work with no data folder at all.

Split names (``-`` or ``_`` both accepted): ``train-mc`` (multi-combination games), ``train-sc``
(single-combination games), ``train`` (each episode multi-combination with probability ``mc_prob``, else
single-combination: the ``msgr-train-v{s}`` mixture, 0.75 upstream, 0.5 in LDD), ``val``, ``test`` and, in
stage 2 only, ``test-se`` (test games with the training dynamics, "state estimation"). Manual pools: both
training splits draw from ``text_train.json``, ``val`` from ``text_val.json``, ``test``/``test-se`` from
``text_test.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations, product
from typing import Any

import numpy as np

from lexiq.envs.messenger.entities import CHASER, FLEEING, IMMOVABLE, NAME_TO_ID, entity_id

STAGES = (1, 2, 3)
SPLITS = ("train", "train-mc", "train-sc", "val", "test", "test-se")
GAME_KEYS = ("train_multi_comb", "train_single_comb", "val", "test")
N_NPCS = {1: 3, 2: 3, 3: 5}
"""NPC slots per stage: enemy, message, goal (+ decoy_message, decoy_goal in stage 3)."""
N_LAYERS = {1: 1, 2: 3, 3: 5}
"""Layers of the ``entities`` observation per stage."""
DEFAULT_MAX_STEPS = {1: 4, 2: 64, 3: 128}
"""Episode caps of EMMA's training runs (``max_steps`` of ``training/train.py`` per stage); the games themselves
have no step limit."""


@dataclass(frozen=True)
class SplitSpec:
    """A resolved split: which ``games.json`` lists to draw from, which manual pool, which dynamics."""

    name: str
    game_keys: tuple[str, ...]
    """One ``games.json`` key, or ``(train_multi_comb, train_single_comb)`` for the ``train`` mixture."""
    text_split: str
    """``train``, ``val`` or ``test``: the manual pool ``texts/text_{text_split}.json``."""
    new_dynamics: bool
    """Stage 2 ``test``: movement types drawn from all 27 assignments instead of the 6 permutations."""


def check_stage(stage: Any) -> int:
    """``stage`` as an int in (1, 2, 3); a one-line ValueError otherwise."""
    if isinstance(stage, bool) or not isinstance(stage, (int, np.integer)) or int(stage) not in STAGES:
        raise ValueError(f"unknown Messenger stage {stage!r}; expected 1, 2 or 3")
    return int(stage)


def resolve_split(stage: int, split: str) -> SplitSpec:
    """The :class:`SplitSpec` of ``split`` in ``stage``; a one-line ValueError for an unknown split."""
    name = split.replace("_", "-").lower() if isinstance(split, str) else split
    if name not in SPLITS:
        raise ValueError(f"unknown Messenger split {split!r}; expected one of {', '.join(SPLITS)}")
    if name == "test-se" and stage != 2:
        raise ValueError(f"split 'test-se' (test games, training dynamics) exists only in stage 2, not stage {stage}")
    if name == "train":
        return SplitSpec(name, ("train_multi_comb", "train_single_comb"), "train", False)
    if name.startswith("train"):
        return SplitSpec(name, ("train_multi_comb" if name == "train-mc" else "train_single_comb",), "train", False)
    if name == "val":
        return SplitSpec(name, ("val",), "val", False)
    return SplitSpec(name, ("test",), "test", name == "test" and stage == 2)


def parse_games(data: Any, where: str) -> dict[str, np.ndarray]:
    """``games.json`` content -> ``{key: int array (n_games, 3) of [enemy, message, goal] ids}``.

    A malformed file raises a one-line ValueError naming ``where`` and the offending key or game.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with keys {', '.join(GAME_KEYS)}")
    out: dict[str, np.ndarray] = {}
    for key in GAME_KEYS:
        games = data.get(key)
        if not isinstance(games, list) or not games:
            raise ValueError(f"{where}: expected {key!r} to be a non-empty list of [enemy, message, goal] games")
        rows = []
        for k, game in enumerate(games):
            if (not isinstance(game, list) or len(game) != 3 or len(set(map(str, game))) != 3
                    or any(name not in NAME_TO_ID for name in game)):
                raise ValueError(f"{where}: {key}[{k}] = {game!r} is not three distinct entity names "
                                 f"(expected names from {', '.join(NAME_TO_ID)})")
            rows.append([entity_id(name) for name in game])
        out[key] = np.array(rows, dtype=np.int64)
    return out


def _parse(text: str) -> list[list[str]]:
    return [game.split() for game in text.replace("\n", " ").split(",") if game.strip()]


BUILTIN_GAMES: dict[str, np.ndarray] = parse_games({
    "train_multi_comb": _parse("""
        robot airplane scientist, robot airplane queen, robot ship airplane, robot ship scientist,
        robot ship queen, robot scientist airplane, robot scientist queen, robot thief airplane,
        robot thief scientist, robot thief queen, ship airplane robot, ship airplane scientist,
        ship airplane queen, ship scientist airplane, ship scientist robot, ship scientist queen,
        ship thief airplane, ship thief robot, ship thief scientist, ship thief queen,
        queen airplane robot, queen airplane scientist, queen ship airplane, queen ship robot,
        queen ship scientist, queen scientist airplane, queen scientist robot, queen thief airplane,
        queen thief robot, queen thief scientist, thief airplane robot, thief airplane scientist,
        thief airplane queen, thief ship airplane, thief ship robot, thief ship scientist,
        thief ship queen, thief scientist airplane, thief scientist robot, thief scientist queen
    """),
    "train_single_comb": _parse("""
        dog fish bird, fish bird dog, sword ball mage, ball mage sword
    """),
    "val": _parse("""
        airplane robot thief, airplane robot ball, airplane queen ship, airplane queen fish,
        airplane dog thief, airplane dog ball, airplane sword ship, airplane sword fish,
        scientist robot thief, scientist robot ball, scientist queen ship, scientist queen fish,
        scientist dog thief, scientist dog ball, scientist sword ship, scientist sword fish,
        bird robot ship, bird robot fish, bird queen thief, bird queen ball, bird dog ship, bird dog fish,
        bird sword thief, bird sword ball, mage robot ship, mage robot fish, mage queen thief,
        mage queen ball, mage dog ship, mage dog fish, mage sword thief, mage sword ball
    """),
    "test": _parse("""
        airplane robot ship, airplane robot fish, airplane queen thief, airplane queen ball,
        airplane dog ship, airplane dog fish, airplane sword thief, airplane sword ball,
        scientist robot ship, scientist robot fish, scientist queen thief, scientist queen ball,
        scientist dog ship, scientist dog fish, scientist sword thief, scientist sword ball,
        bird robot thief, bird robot ball, bird queen ship, bird queen fish, bird dog thief, bird dog ball,
        bird sword ship, bird sword fish, mage robot thief, mage robot ball, mage queen ship,
        mage queen fish, mage dog thief, mage dog ball, mage sword ship, mage sword fish
    """),
}, "built-in games table")

_TYPE = {"C": CHASER, "F": FLEEING, "I": IMMOVABLE}
STAGE3_VARIANTS = np.array([[_TYPE[c] for c in v.split(",")] for v in (
    "C,F,I,C,F C,F,I,I,F C,F,I,I,C C,I,F,C,I C,I,F,F,C C,I,F,F,I F,C,I,F,C F,C,I,I,C F,C,I,I,F "
    "F,I,C,C,F F,I,C,C,I F,I,C,F,I I,C,F,F,I I,C,F,F,C I,C,F,I,C I,F,C,C,F I,F,C,C,I I,F,C,I,F").split()],
    dtype=np.int64)
"""The 18 stage-3 movement variants (enemy, message, goal, decoy_message, decoy_goal), spec C.7."""


def variants(stage: int, new_dynamics: bool = False) -> np.ndarray:
    """Movement-type assignments ``(n_variants, n_npcs)`` drawn uniformly at reset (spec C.3, C.4, C.7).

    Stage 1: all immovable. Stage 2: the 6 permutations of (chaser, fleeing, immovable) over (enemy, message,
    goal), or with ``new_dynamics`` (stage 2 ``test``) all 27 assignments with repetition. Stage 3: the 18 variants.
    """
    if stage == 1:
        return np.full((1, 3), IMMOVABLE, dtype=np.int64)
    if stage == 2:
        types = (CHASER, FLEEING, IMMOVABLE)
        rows = product(types, repeat=3) if new_dynamics else permutations(types)
        return np.array(list(rows), dtype=np.int64)
    return STAGE3_VARIANTS.copy()


STAGE1_AVATAR = (5, 5)
STAGE1_POSITIONS = ((5, 3), (3, 5), (7, 5), (5, 7))
STAGE2_CORNERS = ((2, 2), (7, 2), (2, 7), (7, 7))
STAGE3_POSITIONS = ((2, 1), (8, 1), (5, 4), (1, 6), (9, 6), (5, 9))


def layouts(stage: int) -> np.ndarray:
    """Start layouts ``(n_layouts, 1 + n_npcs, 2)`` of ``(x, y)`` cells: avatar first, then the NPC slots.

    Stage 1: avatar at (5, 5), enemy/message/goal on 3 of the 4 cells two steps up/left/right/down (24 ordered
    choices, the same distribution as shuffling the four and taking the first three). Stage 2: the four corners
    (2,2), (7,2), (2,7), (7,7) given to avatar, enemy, message, goal in all 4! = 24 ways. Stage 3: the six cells of
    spec C.7 given to avatar, enemy, message, goal, decoy_message, decoy_goal in all 6! = 720 ways.
    """
    if stage == 1:
        rows = [[STAGE1_AVATAR, *(STAGE1_POSITIONS[i] for i in p)] for p in permutations(range(4), 3)]
    elif stage == 2:
        rows = [[STAGE2_CORNERS[i] for i in p] for p in permutations(range(4))]
    else:
        rows = [[STAGE3_POSITIONS[i] for i in p] for p in permutations(range(6))]
    return np.array(rows, dtype=np.int64)
