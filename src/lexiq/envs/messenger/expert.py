"""A scripted Messenger expert that reads the true game state (a demonstrator, not a language agent).

LDD (Zhong et al., NeurIPS 2022) pretrains a dynamics model on expert demonstrations of Messenger (Hanjie et al.,
ICML 2021); upstream the expert is a trained EMMA policy. This planner plays from the ground truth instead (roles,
movement types, exact pixel positions), so demonstrations need no trained policy.

Each step, for game state (avatar ``A``, NPC pixels, types):

1. Target: the message if the avatar does not carry it, else the goal. Dangers: the enemy, both decoys (stage 3),
   the goal while the message is not carried (touching it then loses), and in stage 1 the message once carried.
2. Exact one-tick safety: NPCs move before the avatar, from their candidate directions towards / away from ``A``
   (:func:`~lexiq.envs.messenger.physics.npc_candidates`); an action is *safe* if no reachable position of any
   danger overlaps the avatar's new cell.
3. Beyond one tick, a time-expanded breadth-first search over avatar cells: a cell reached ``tau`` ticks from now
   is blocked if a chasing danger could overlap it within ``tau`` pixel moves, an immovable danger overlaps it, or
   a fleeing danger is within one pixel move of it. The search distance to any cell overlapping the target scores
   each safe action; ties go to the action farthest (in pixel moves) from the nearest danger, then at random.
4. No path: among the safe actions whose search stays alive longest (up to :data:`SAFE_TICKS` ticks) the one
   closest to the target (this also herds NPCs that flee into a corner beside a decoy apart), then the largest
   usable area; no safe action: the action with the fewest deadly outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import (
    ACTION_DELTAS,
    ACTION_NAMES,
    BLOCK,
    CHASER,
    FLEEING,
    GOAL,
    GRID,
    IMMOVABLE,
    MAX_PX,
    MESSAGE,
    NPC_DIRECTIONS,
)
from lexiq.envs.messenger.games import check_stage

_INF = 1 << 30
HORIZON = 16
"""Ticks the survival search looks ahead when no safe path to the target exists."""
SAFE_TICKS = 6
"""With no safe path, actions that stay usable this many ticks are equally safe; the closest to the target wins
(approaching NPCs that flee into a corner next to a danger makes them move apart)."""
_CELLS = np.stack(np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="xy"), -1).reshape(-1, 2) * BLOCK
"""Top-left pixels of the 100 avatar cells, flat index ``y * 10 + x``."""
_NEIGHBOURS = [[(y + dy) * GRID + x + dx for dx, dy in ((0, -1), (0, 1), (-1, 0), (1, 0))
                if 0 <= x + dx < GRID and 0 <= y + dy < GRID] for y in range(GRID) for x in range(GRID)]


def next_positions(p: np.ndarray, mtype: int, avatar: np.ndarray) -> np.ndarray:
    """Every pixel position an NPC at ``p`` can occupy after the coming tick (``(m, 2)``)."""
    if mtype == IMMOVABLE:
        return p[None, :]
    d0 = np.abs(p - avatar).sum()
    moved = p[None, :] + NPC_DIRECTIONS
    d1 = np.abs(moved - avatar[None, :]).sum(-1)
    cand = d1 < d0 if mtype == CHASER else d1 > d0
    if not cand.any():
        cand[:] = True
    moved = moved[cand]
    off = ((moved < 0) | (moved > MAX_PX)).any(-1)
    moved[off] = p
    return moved


def _moves_to_overlap(p: np.ndarray) -> np.ndarray:
    """Pixel moves an NPC at ``p`` needs before it overlaps each avatar cell (flat, 100)."""
    d = np.abs(_CELLS - p[None, :])
    return (np.maximum(d[:, 0] - 1, 0) + np.maximum(d[:, 1] - 1, 0)).astype(np.int64)


def _overlaps(a: np.ndarray, ps: np.ndarray) -> np.ndarray:
    d = np.abs(ps - a[None, :])
    return (d[:, 0] < BLOCK) & (d[:, 1] < BLOCK)


def _search(start: int, blocked_from: list[int], targets: set[int], horizon: int = HORIZON) -> tuple[int, int, int]:
    """Breadth-first search from cell ``start`` (reached at tick 1); a cell is usable at tick ``tau`` only while
    ``tau < blocked_from[cell]``. Returns (ticks to the nearest target cell or a huge number, the last tick some
    cell is still usable, capped at ``horizon``, and the number of usable cells seen)."""
    if start in targets:
        return 0, horizon, 1
    seen = {start}
    frontier = [start]
    tau = 1
    while frontier and tau < horizon:
        nxt_frontier = []
        for cell in frontier:
            for nxt in _NEIGHBOURS[cell]:
                if nxt in seen or tau + 1 >= blocked_from[nxt]:
                    continue
                if nxt in targets:
                    return tau, horizon, len(seen)
                seen.add(nxt)
                nxt_frontier.append(nxt)
        if not nxt_frontier:
            # waiting in place is also a move: a frontier cell still usable next tick keeps the search alive
            nxt_frontier = [c for c in frontier if tau + 1 < blocked_from[c]]
        frontier = nxt_frontier
        tau += 1
    return _INF, tau if frontier else tau - 1, len(seen)


def plan(stage: int, avatar: np.ndarray, carrying: bool, pos: np.ndarray, alive: np.ndarray, types: np.ndarray,
         rng: np.random.Generator) -> int:
    """The expert's action for one game (module docstring). ``pos (k, 2)`` pixels of the NPC slots (enemy,
    message, goal[, decoy_message, decoy_goal]), ``alive (k,)``, ``types (k,)``."""
    target = GOAL if carrying else MESSAGE
    dangers = [0, *range(3, len(pos))]
    if not carrying:
        dangers.append(GOAL)
    elif stage == 1:
        dangers.append(MESSAGE)
    dangers = [k for k in dangers if alive[k]]
    reach = [next_positions(pos[k], int(types[k]), avatar) for k in dangers]
    target_next = next_positions(pos[target], int(types[target]), avatar)

    blocked = np.full(GRID * GRID, _INF, dtype=np.int64)
    margin = np.full(GRID * GRID, _INF, dtype=np.int64)
    for k in dangers:
        need = _moves_to_overlap(pos[k])
        margin = np.minimum(margin, need)
        if types[k] == CHASER:
            blocked = np.minimum(blocked, need)
        elif types[k] == FLEEING:
            blocked = np.where(need <= 1, 0, blocked)
        else:
            blocked = np.where(need == 0, 0, blocked)
    blocked_from = blocked.tolist()
    targets = {int(c) for q in target_next for c in np.flatnonzero(_moves_to_overlap(q) == 0)}

    scores = []
    for a in range(len(ACTION_NAMES)):
        new = avatar + BLOCK * ACTION_DELTAS[a]
        if (new < 0).any() or (new > MAX_PX).any():
            new = avatar
        deaths = sum(int(_overlaps(new, r).sum()) / len(r) for r in reach)
        cell = int(new[1] // BLOCK * GRID + new[0] // BLOCK)
        if deaths:
            scores.append((1, deaths, 0, 0, 0, rng.random()))
            continue
        dist, survive, area = (0, HORIZON, 1) if _overlaps(new, target_next).all() else _search(
            cell, blocked_from, targets)
        closeness = int(np.abs(new - pos[target]).sum())
        if dist >= _INF:
            scores.append((0, 1, -min(survive, SAFE_TICKS), closeness, -area, rng.random()))
        else:
            scores.append((0, 0, dist, -int(margin[cell]), 0, rng.random()))
    return int(min(range(len(scores)), key=scores.__getitem__))


class MessengerExpert:
    """The scripted expert over an engine's games: ``expert.act(engine)`` -> ``(n,)`` actions.

    ``seed`` drives only tie-breaking, so a seeded expert in a seeded engine is reproducible.
    """

    def __init__(self, seed: int | None = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, engine: MessengerEngine, index: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Actions for games ``index`` (all by default); finished games get ``stay``."""
        idx = np.arange(engine.n) if index is None else np.asarray(index, dtype=np.int64)
        out = np.full(len(idx), 4, dtype=np.int64)
        for j, i in enumerate(idx.tolist()):
            if not engine.done[i]:
                out[j] = plan(engine.stage, engine.avatar[i], bool(engine.carrying[i]), engine.pos[i],
                              engine.alive[i], engine.types[i], self.rng)
        return out

    def __call__(self, env: Any) -> Any:
        """The action(s) for a :class:`MessengerEnv` (an int) or :class:`MessengerVectorEnv` (an array)."""
        actions = self.act(env.engine)
        return int(actions[0]) if env.engine.n == 1 and not hasattr(env, "num_envs") else actions


class ExpertTextPolicy:
    """The expert as a lexiq rollout policy for :class:`~lexiq.envs.messenger.text.MessengerTextEnv`:
    ``act(episodes, envs)`` returns one action name per environment."""

    def __init__(self, seed: int | None = 0) -> None:
        self.expert = MessengerExpert(seed)

    def act(self, episodes: Sequence[Any], envs: Sequence[Any]) -> list[str]:
        return [ACTION_NAMES[int(self.expert.act(env.engine)[0])] for env in envs]


def evaluate_expert(stage: int, split: str = "test", episodes: int = 1000, seed: int = 0, *,
                    root: str | None = None, manual: str = "human", max_steps: int | None = None,
                    expert_seed: int = 0) -> dict[str, Any]:
    """Play episode 0 of ``episodes`` games seeded ``seed .. seed + episodes - 1`` with the expert.

    Returns ``win_rate``, ``mean_return``, ``mean_steps``, ``timeouts`` (fraction), ``episodes``.
    """
    engine = MessengerEngine(check_stage(stage), split, episodes, seed=seed, root=root, manual=manual,
                             max_steps=max_steps)
    engine.reset()
    expert = MessengerExpert(expert_seed)
    live = np.ones(episodes, dtype=bool)
    returns = np.zeros(episodes)
    steps = np.zeros(episodes, dtype=np.int64)
    won = np.zeros(episodes, dtype=bool)
    timeout = np.zeros(episodes, dtype=bool)
    while live.any():
        actions = np.full(episodes, 4, dtype=np.int64)
        idx = np.flatnonzero(live)
        actions[idx] = expert.act(engine, idx)
        res = engine.step(actions)
        returns[live] += res.reward[live]
        steps[live] = engine.t[live]
        ended = live & res.terminated
        won[ended], timeout[ended] = res.won[ended], res.timeout[ended]
        live &= ~res.terminated
        engine.reset(np.flatnonzero(res.terminated))  # finished games keep playing (ignored) so all step together
    return {"stage": engine.stage, "split": engine.split.name, "episodes": episodes, "win_rate": float(won.mean()),
            "mean_return": float(returns.mean()), "mean_steps": float(steps.mean()),
            "timeouts": float(timeout.mean()), "max_steps": engine.max_steps, "manual": engine.manual_kind}

