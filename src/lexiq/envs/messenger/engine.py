"""The vectorised Messenger engine: N independent games stepped with NumPy (``specs/ldd_messenger.md`` Part C).

Messenger (Hanjie, Zhong & Narasimhan, ICML 2021) as used by LDD (Zhong et al., NeurIPS 2022). One
:class:`MessengerEngine` holds the state of ``n`` games as arrays (NPC slots: enemy, message, goal and in stage 3
decoy_message, decoy_goal):

``pos (n, k, 2)`` top-left pixels, ``alive (n, k)``, ``types (n, k)`` movement types, ``ids (n, k)`` entity ids,
``avatar (n, 2)``, ``carrying (n,)``, ``avatar_alive (n,)``, ``t (n,)`` steps taken, ``manual_ids (n, s)`` rows of
the split's sentence table, ``done (n,)``, ``won (n,)``.

:meth:`step` applies one action per game (one py-vgdl tick, :mod:`~lexiq.envs.messenger.physics`);
:meth:`reset` starts new episodes for some or all games (the vector env resets finished games itself, right after
the step that ended them). Randomness is counter-based (:mod:`~lexiq.envs.messenger.rng`): game ``i`` seeded ``s``
plays the same episodes whatever ``n`` is and whichever other games share the batch; the stage and split are mixed
into the stream, so seed ``s`` of ``val`` and seed ``s`` of ``train-mc`` share no layouts or moves.

Episode cap: ``max_steps`` (default :data:`~lexiq.envs.messenger.games.DEFAULT_MAX_STEPS`, EMMA's 4 / 64 / 128;
0 = none). As in the training loops of EMMA and LDD, the step that reaches the cap without a win has its reward
replaced by -1 and ends the episode (``terminated``, with ``timeout`` set; it is part of the task's reward, so
it is not a Gymnasium truncation).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lexiq.envs.messenger import physics, rng
from lexiq.envs.messenger.data import find_data_folder, load_games, load_texts, resolve_data_folder
from lexiq.envs.messenger.entities import (
    AVATAR_NO_MESSAGE,
    AVATAR_WITH_MESSAGE,
    BLOCK,
    ENTITY_NAMES,
    GOAL,
    GRID,
    MESSAGE,
)
from lexiq.envs.messenger.games import (
    BUILTIN_GAMES,
    DEFAULT_MAX_STEPS,
    N_LAYERS,
    N_NPCS,
    SPLITS,
    check_stage,
    layouts,
    resolve_split,
    variants,
)
from lexiq.envs.messenger.manuals import MANUAL_LENGTH, MANUAL_SLOTS, ManualPool
from lexiq.envs.messenger.templates import template_pool

MANUAL_KINDS = ("human", "template", "auto")
CARRY_PROB = 0.2
"""Stage 1: probability that the avatar starts with the message."""
_PERM_SLOT, _MOVE_SLOT, _RESET_SLOT = 0, 16, 32  # uniform ranges per (episode, step), see rng.uniforms


@dataclass
class StepResult:
    """Per-game outcome of :meth:`MessengerEngine.step`."""

    reward: np.ndarray
    terminated: np.ndarray
    won: np.ndarray
    timeout: np.ndarray
    """The episode hit ``max_steps`` without a win (reward forced to -1)."""


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def random_seed() -> int:
    """A fresh 62-bit seed from OS entropy (used when no seed is given; room left for ``seed + i``)."""
    return int(np.random.SeedSequence().entropy % (1 << 62))


class MessengerEngine:
    """``n`` Messenger games of one stage and split (see the module docstring).

    Args:
        stage: 1, 2 or 3.
        split: ``train``, ``train-mc``, ``train-sc``, ``val``, ``test`` or (stage 2) ``test-se``.
        n: number of games.
        seed: game ``i`` is seeded ``seed + i`` (None: fresh entropy).
        root: Messenger data folder (``games.json``, ``texts/``); default ``$LEXIQ_DATA_MIRROR/messenger``.
        manual: ``human`` (the human-written pools; data required), ``template`` (built-in templates, no data
            needed; games from ``root`` if given, else the built-in copy of ``games.json``) or ``auto`` (human if
            the data is found, else template with a warning).
        max_steps: episode cap (None: the stage's EMMA cap 4/64/128; 0: no cap).
        mc_prob: split ``train`` only: probability that an episode draws a multi-combination game.
    """

    def __init__(self, stage: int = 2, split: str = "train-mc", n: int = 1, *, seed: int | None = None,
                 root: str | None = None, manual: str = "human", max_steps: int | None = None,
                 mc_prob: float = 0.75) -> None:
        self.stage = check_stage(stage)
        self.split = resolve_split(self.stage, split)
        self.n = _check_int("n", n, 1)
        if manual not in MANUAL_KINDS:
            raise ValueError(f"unknown manual kind {manual!r}; expected one of {', '.join(MANUAL_KINDS)}")
        self.max_steps = DEFAULT_MAX_STEPS[self.stage] if max_steps is None else _check_int("max_steps", max_steps, 0)
        if isinstance(mc_prob, bool) or not isinstance(mc_prob, (int, float)) or not 0.0 <= mc_prob <= 1.0:
            raise ValueError(f"mc_prob must be a probability in [0, 1], got {mc_prob!r}")
        self.mc_prob = float(mc_prob)
        folder = None
        if manual == "human":
            folder = resolve_data_folder(root)
        elif manual == "auto":
            folder = find_data_folder(root)
            if folder is None:
                where = root if root is not None else "$LEXIQ_DATA_MIRROR/messenger"
                warnings.warn(f"Messenger data not found ({where}): using the built-in template manuals and games "
                              "(manual='auto')", stacklevel=2)
        elif root is not None:
            folder = resolve_data_folder(root)
        self.manual_kind = "human" if folder is not None and manual != "template" else "template"
        self.data_folder = folder
        games = load_games(folder) if folder is not None else BUILTIN_GAMES
        self.game_tables = [games[key] for key in self.split.game_keys]
        if self.manual_kind == "human":
            source = str(folder / "texts" / f"text_{self.split.text_split}.json")
            self.pool = ManualPool.from_dict(load_texts(folder, self.split.text_split), source)
        else:
            self.pool = ManualPool.from_dict(template_pool(self.split.text_split),
                                             f"template:{self.split.text_split}")
        self.variants = variants(self.stage, self.split.new_dynamics)
        self.layouts = layouts(self.stage)
        self.pool.check(np.concatenate(self.game_tables), self.stage, self.variants,
                        f"stage {self.stage} split {self.split.name!r}")

        k, n = N_NPCS[self.stage], self.n
        self.n_npcs, self.n_layers = k, N_LAYERS[self.stage]
        self.seeds = np.zeros(n, dtype=np.int64)
        self.keys = np.zeros(n, dtype=np.uint64)
        self.episode = np.full(n, -1, dtype=np.int64)
        self.t = np.zeros(n, dtype=np.int64)
        self.game = np.zeros((n, 3), dtype=np.int64)
        self.ids = np.zeros((n, k), dtype=np.int64)
        self.types = np.zeros((n, k), dtype=np.int64)
        self.pos = np.zeros((n, k, 2), dtype=np.int64)
        self.alive = np.zeros((n, k), dtype=bool)
        self.avatar = np.zeros((n, 2), dtype=np.int64)
        self.carrying = np.zeros(n, dtype=bool)
        self.avatar_alive = np.zeros(n, dtype=bool)
        self.done = np.ones(n, dtype=bool)
        self.won = np.zeros(n, dtype=bool)
        self.manual_ids = np.zeros((n, MANUAL_LENGTH[self.stage]), dtype=np.int64)
        self.layer_order = np.zeros((n, self.n_layers), dtype=np.int64)
        self.seed(seed)

    # ------------------------------------------------------------------ seeding and reset
    def _index(self, index: Any) -> np.ndarray:
        if index is None:
            return np.arange(self.n)
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (self.n,):
                raise ValueError(f"a boolean index must have shape ({self.n},), got {idx.shape}")
            return np.flatnonzero(idx)
        idx = np.atleast_1d(idx).astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"game index out of range 0..{self.n - 1}: {idx.tolist()}")
        return idx

    def seed(self, seed: int | Sequence[int] | None, index: Any = None) -> None:
        """Seed games ``index`` (all by default): an int ``s`` gives game ``index[j]`` the seed ``s + j``, a
        sequence gives one seed per game, None draws fresh entropy. The next :meth:`reset` of a game starts its
        episode 0."""
        idx = self._index(index)
        if seed is None:
            seeds = random_seed() + np.arange(len(idx))
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = int(seed) + np.arange(len(idx))
        else:
            seeds = np.asarray(list(seed))
            if seeds.shape != (len(idx),) or seeds.dtype.kind not in "iu":
                raise ValueError(f"expected an int seed or {len(idx)} int seeds, got {seed!r}")
        self.seeds[idx] = seeds.astype(np.int64)
        self.keys[idx] = rng.seed_keys(self.seeds[idx], salt=self.stage * len(SPLITS) + SPLITS.index(self.split.name))
        self.episode[idx] = -1
        self.done[idx] = True

    def reset(self, index: Any = None) -> None:
        """Start the next episode of games ``index`` (all by default)."""
        idx = self._index(index)
        if not idx.size:
            return
        stage = self.stage
        self.episode[idx] += 1
        self.t[idx] = 0
        u = rng.uniforms(self.keys[idx], self.episode[idx], self.t[idx], _RESET_SLOT, 5 + MANUAL_SLOTS[stage])
        tables = self.game_tables
        if len(tables) == 1:
            game = tables[0][rng.choose(u[:, 1], len(tables[0]))]
        else:  # the train mixture: multi-combination with probability mc_prob
            multi = u[:, 0] < self.mc_prob
            game = np.where(multi[:, None], tables[0][rng.choose(u[:, 1], len(tables[0]))],
                            tables[1][rng.choose(u[:, 1], len(tables[1]))])
        types = self.variants[rng.choose(u[:, 2], len(self.variants))]
        layout = self.layouts[rng.choose(u[:, 3], len(self.layouts))]
        self.game[idx] = game
        self.ids[idx] = game if stage < 3 else game[:, [0, 1, 2, 1, 2]]
        self.types[idx] = types
        self.avatar[idx] = layout[:, 0] * BLOCK
        self.pos[idx] = layout[:, 1:] * BLOCK
        self.alive[idx] = True
        self.carrying[idx] = (u[:, 4] < CARRY_PROB) if stage == 1 else False
        self.avatar_alive[idx] = True
        self.done[idx] = False
        self.won[idx] = False
        self.manual_ids[idx] = self.pool.sample(stage, game, types, u[:, 5:])
        self._draw_layer_order(idx)

    def _draw_layer_order(self, idx: np.ndarray) -> None:
        if self.n_layers > 1:
            u = rng.uniforms(self.keys[idx], self.episode[idx], self.t[idx], _PERM_SLOT, self.n_layers)
            self.layer_order[idx] = rng.permutation(u)

    # ------------------------------------------------------------------ stepping
    def step(self, actions: Any) -> StepResult:
        """One tick of every game with ``actions (n,)`` in 0..4 (up, down, left, right, stay)."""
        a = np.asarray(actions)
        if a.shape != (self.n,) or a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() > 4)):
            raise ValueError(f"expected {self.n} actions in 0..4 (up, down, left, right, stay), got {actions!r}")
        if self.done.any():
            over = np.flatnonzero(self.done)[:8].tolist()
            raise RuntimeError(f"game(s) {over} are over or not started; reset them before stepping")
        self.t += 1
        u = rng.uniforms(self.keys, self.episode, self.t, 0, _MOVE_SLOT + self.n_npcs)
        if self.stage == 1:
            self.avatar = physics.move_avatar(self.avatar, a)
            res = physics.interact_stage1(self.avatar, self.carrying, self.pos)
        else:
            moved = physics.move_npcs(self.pos, self.types, self.avatar, u[:, _MOVE_SLOT:])
            self.pos = np.where(self.alive[..., None], moved, self.pos)
            self.avatar = physics.move_avatar(self.avatar, a)
            res = physics.interact(self.avatar, self.carrying, self.pos, self.alive)
            self.carrying |= res.picked
            self.alive[:, MESSAGE] &= ~res.message_consumed
            self.alive[:, GOAL] &= ~res.goal_taken
            self.avatar_alive &= ~res.died
        reward, terminated = res.reward, res.died | res.won
        timeout = np.zeros(self.n, dtype=bool)
        if self.max_steps:
            last = (self.t >= self.max_steps) & ~res.won
            reward = np.where(last, -1.0, reward)
            timeout = last & ~terminated
            terminated = terminated | last
        self.done = terminated.copy()
        self.won = res.won.copy()
        if self.n_layers > 1:
            self.layer_order = rng.permutation(u[:, _PERM_SLOT:_PERM_SLOT + self.n_layers])
        return StepResult(reward, terminated, res.won.copy(), timeout)

    # ------------------------------------------------------------------ observations
    def observe(self, index: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``entities (m, 10, 10, L)`` and ``avatar (m, 10, 10, 1)`` int64 id grids of games ``index``.

        Entity slot ``k`` is drawn in layer ``layer_order[k]`` (a fresh permutation every step; stage 1 has one
        layer), at cell ``(y, x) = pos // 2``; a consumed message or delivered goal is not drawn and its layer
        stays empty. The avatar grid holds 15 (no message) or 16 (with it), all zeros once the avatar is dead.
        """
        idx = self._index(index)
        m = len(idx)
        entities = np.zeros((m, GRID, GRID, self.n_layers), dtype=np.int64)
        cells = self.pos[idx] // BLOCK
        layer = self.layer_order[idx] if self.n_layers > 1 else np.zeros((m, self.n_npcs), dtype=np.int64)
        r, k = np.nonzero(self.alive[idx])
        entities[r, cells[r, k, 1], cells[r, k, 0], layer[r, k]] = self.ids[idx][r, k]
        avatar = np.zeros((m, GRID, GRID, 1), dtype=np.int64)
        live = np.flatnonzero(self.avatar_alive[idx])
        a = self.avatar[idx][live] // BLOCK
        avatar[live, a[:, 1], a[:, 0], 0] = np.where(self.carrying[idx][live], AVATAR_WITH_MESSAGE, AVATAR_NO_MESSAGE)
        return entities, avatar

    def manual(self, i: int) -> tuple[str, ...]:
        """The manual of game ``i`` (its current episode) as sentences."""
        return self.pool.texts(self.manual_ids[i])

    def game_names(self, i: int) -> tuple[str, str, str]:
        """(enemy, message, goal) entity names of game ``i``."""
        e, m, g = self.game[i].tolist()
        return ENTITY_NAMES[e], ENTITY_NAMES[m], ENTITY_NAMES[g]
