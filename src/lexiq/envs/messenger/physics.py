"""One Messenger tick for a batch of games: NPC moves, avatar move, interactions (``specs/ldd_messenger.md`` C.3, C.5).

Stages 2 and 3 emulate the py-vgdl game of Hanjie et al. (ICML 2021) pixel by pixel: a 20 x 20 px screen, 2 x 2
px sprites, NPCs (speed 0.5) move 1 px per tick, the avatar (speed 1) 2 px. Positions are ``(x, y)`` top-left
pixels, ``int64`` arrays with a leading batch axis. Everything here is a pure function of arrays.

Interactions follow the rule order and scoring of ``specs/ldd_messenger.md`` C.5: every overlapping pair scores,
even when an earlier rule of the same tick already removed one of its sprites, while a rule's *effect* (removal,
the avatar taking the message) applies only to a sprite that is still there. Consequences:

* avatar without the message touching the enemy (or a decoy) and the message at once: −1 + 0.5, loss (C.10);
* avatar without the message touching the goal and the message at once: −1 + 0.5, loss (the goal kills before
  the pickup can happen, so a pickup is never delivered in the same tick);
* avatar without the message touching the enemy and the goal: −2, loss;
* avatar with the message touching the enemy and the goal: −1 + 1 = 0, loss (the goal is taken, but the avatar
  is gone: not a win);
* stage 3, touching the enemy and a decoy at once: −2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lexiq.envs.messenger.entities import (
    ACTION_DELTAS,
    BLOCK,
    CHASER,
    FLEEING,
    GOAL,
    MAX_PX,
    MESSAGE,
    NPC_DIRECTIONS,
)


def overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Do 2 x 2 px sprites at top-left ``a`` and ``b`` intersect in area (``|dx| < 2`` and ``|dy| < 2``)?
    ``a (n, 2)`` against ``b (n, 2)`` or ``b (n, k, 2)``."""
    if b.ndim == 3:
        a = a[:, None, :]
    d = np.abs(a - b)
    return (d[..., 0] < BLOCK) & (d[..., 1] < BLOCK)


def npc_candidates(pos: np.ndarray, mtype: np.ndarray, avatar: np.ndarray) -> np.ndarray:
    """Candidate directions ``(n, k, 4)`` (py-vgdl order up, left, down, right) of every NPC.

    Chaser / fleeing: the directions whose 1-px move makes the Manhattan pixel distance to the avatar's top-left
    strictly smaller / strictly larger; if there is none, all four. Immovable NPCs get no candidate.
    """
    d0 = np.abs(pos - avatar[:, None, :]).sum(-1)
    moved = pos[:, :, None, :] + NPC_DIRECTIONS[None, None, :, :]
    d1 = np.abs(moved - avatar[:, None, None, :]).sum(-1)
    chase = (mtype == CHASER)[..., None]
    flee = (mtype == FLEEING)[..., None]
    cand = (chase & (d1 < d0[..., None])) | (flee & (d1 > d0[..., None]))
    mobile = (mtype == CHASER) | (mtype == FLEEING)
    none = mobile & ~cand.any(-1)
    return cand | none[..., None]


def move_npcs(pos: np.ndarray, mtype: np.ndarray, avatar: np.ndarray, u: np.ndarray) -> np.ndarray:
    """NPC positions after one tick: each mobile NPC takes a uniform candidate direction (from ``u (n, k)``) and
    moves 1 px; a move off the screen is undone (py-vgdl ``EOS > stepBack``)."""
    cand = npc_candidates(pos, mtype, avatar)
    n_cand = cand.sum(-1)
    pick = np.minimum((u * n_cand).astype(np.int64), np.maximum(n_cand - 1, 0))
    # index of the pick-th True along the last axis
    rank = np.cumsum(cand, axis=-1) - 1
    chosen = (rank == pick[..., None]) & cand
    step = (chosen[..., None] * NPC_DIRECTIONS[None, None, :, :]).sum(-2)
    new = pos + step
    off = ((new < 0) | (new > MAX_PX)).any(-1, keepdims=True)
    return np.where(off, pos, new)


def move_avatar(avatar: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Avatar after its action (2 px = one cell); a move off the board is undone."""
    new = avatar + BLOCK * ACTION_DELTAS[actions]
    off = ((new < 0) | (new > MAX_PX)).any(-1, keepdims=True)
    return np.where(off, avatar, new)


@dataclass
class TickResult:
    """What one tick's interactions did, per game."""

    reward: np.ndarray
    died: np.ndarray
    won: np.ndarray
    """The message was delivered and the avatar survived the tick."""
    picked: np.ndarray
    """The avatar took the message this tick (stage 2/3: +0.5)."""
    message_consumed: np.ndarray
    goal_taken: np.ndarray
    """The goal was removed (delivered to, possibly by an avatar that died in the same tick)."""


def interact(avatar: np.ndarray, carrying: np.ndarray, pos: np.ndarray, alive: np.ndarray) -> TickResult:
    """Stage 2/3 interaction rules after all moves (module docstring). ``pos``/``alive`` are the NPC slots
    (enemy, message, goal[, decoy_message, decoy_goal]); slot 0 and slots 3+ are deadly."""
    touch = overlap(avatar, pos) & alive
    deadly = touch[:, [0, *range(3, pos.shape[1])]]
    reward = -deadly.sum(-1).astype(np.float64)  # rule 2 (+ stage 3's decoys): each touch scores -1
    died = deadly.any(-1)
    hit_goal = ~carrying & touch[:, GOAL]  # rule 3 scores even if the avatar is already gone
    reward -= hit_goal
    died = died | hit_goal
    reach_message = ~carrying & touch[:, MESSAGE]  # rule 4 scores; the avatar takes the message only if alive
    reward += 0.5 * reach_message
    picked = reach_message & ~died
    # rule 6: an avatar that picked the message up this tick cannot also touch the goal (rule 3 removed it), so
    # only an avatar that carried it already delivers; it scores even if rule 2 removed it
    delivered = carrying & touch[:, GOAL]
    reward += delivered
    return TickResult(reward, died, delivered & ~died, picked, touch[:, MESSAGE], delivered)


def interact_stage1(avatar: np.ndarray, carrying: np.ndarray, pos: np.ndarray) -> TickResult:
    """Stage 1 (no engine, spec C.3): enemy -> -1; message -> +1 without the message, -1 with it; goal -> +1 with
    the message, -1 without it; whichever is first in that order ends the episode."""
    touch = overlap(avatar, pos)
    enemy, message, goal = touch[:, 0], touch[:, MESSAGE] & ~touch[:, 0], touch[:, GOAL] & ~touch[:, 0]
    goal = goal & ~message
    good = (message & ~carrying) | (goal & carrying)
    bad = enemy | (message & carrying) | (goal & ~carrying)
    reward = good.astype(np.float64) - bad
    false = np.zeros(len(avatar), dtype=bool)
    return TickResult(reward, bad, good, false, false, good)
