"""Messenger constants: entity ids, roles, movement types and actions (``specs/ldd_messenger.md`` Part B).

Messenger is the grid game of Hanjie, Zhong & Narasimhan, "Grounding Language to Entities and Dynamics for
Generalization in Reinforcement Learning" (ICML 2021); LDD (Zhong et al., "Improving Policy Learning via Language
Dynamics Distillation", NeurIPS 2022) pretrains on its demonstrations. The ids below are the upstream ids, so
observations of this implementation and of ``ahjwang/messenger-emma`` index the same embedding rows.
"""

from __future__ import annotations

import numpy as np

GRID = 10
"""The board is ``GRID x GRID`` cells, no walls."""
BLOCK = 2
"""Pixels per cell of the emulated py-vgdl screen (``block_size = 2``): 20 x 20 px, sprites are 2 x 2 px."""
MAX_PX = (GRID - 1) * BLOCK
"""Largest top-left pixel coordinate that keeps a sprite on the screen (18)."""

BACKGROUND = 0
DIRT = 1
WALL = 14
AVATAR_NO_MESSAGE = 15
AVATAR_WITH_MESSAGE = 16

ENTITY_NAMES: dict[int, str] = {
    2: "airplane", 3: "mage", 4: "dog", 5: "bird", 6: "fish", 7: "scientist",
    8: "thief", 9: "ship", 10: "ball", 11: "robot", 12: "queen", 13: "sword",
}
"""Non-player characters (NPCs), ids 2-13."""
NAME_TO_ID: dict[str, int] = {name: i for i, name in ENTITY_NAMES.items()}
N_IDS = AVATAR_WITH_MESSAGE + 1
"""Number of distinct ids (0-16); an embedding table needs at least this many rows."""

ROLES = ("enemy", "message", "goal")
ENEMY, MESSAGE, GOAL = 0, 1, 2
SLOT_NAMES = ("enemy", "message", "goal", "decoy_message", "decoy_goal")
"""NPC slots of the engine, in update (and observation insertion) order; stage 3 uses all five."""

TYPES = ("chaser", "fleeing", "immovable", "unknown")
"""Movement types as named in the manual pools; ``unknown`` sentences say nothing about movement."""
CHASER, FLEEING, IMMOVABLE, UNKNOWN = 0, 1, 2, 3

ACTION_NAMES = ("up", "down", "left", "right", "stay")
UP, DOWN, LEFT, RIGHT, STAY = 0, 1, 2, 3, 4
ACTION_DELTAS = np.array([(0, -1), (0, 1), (-1, 0), (1, 0), (0, 0)], dtype=np.int64)
"""``(dx, dy)`` per action, in cells; ``up`` decreases ``y`` (row)."""
NPC_DIRECTIONS = np.array([(0, -1), (-1, 0), (0, 1), (1, 0)], dtype=np.int64)
"""py-vgdl's ``BASEDIRS`` order (up, left, down, right), the directions a chaser / fleeing NPC picks from."""


def entity_id(name: str) -> int:
    """The id of an NPC name; a one-line ValueError for an unknown name."""
    try:
        return NAME_TO_ID[name]
    except KeyError:
        raise ValueError(f"unknown Messenger entity {name!r}; expected one of {', '.join(NAME_TO_ID)}") from None
