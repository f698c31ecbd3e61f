"""Drawing Messenger manuals from a sentence pool (``specs/ldd_messenger.md`` C.2, C.3, C.4, C.7).

A pool maps ``entity -> role -> type -> [sentences]`` (``texts/text_{split}.json`` of Hanjie et al., ICML 2021, or
the built-in templates). :class:`ManualPool` flattens it into one sentence table plus ``start``/``count`` index
arrays, so manuals of many games are drawn with a few NumPy operations; a manual is a row of sentence indices.

* Stage 1: per role one sentence uniform over the entity's ``immovable`` + ``unknown`` sentences of that role.
* Stage 2: per role, with probability 0.15 an ``unknown`` sentence, else one of the entity's true movement type.
* Stage 3: typed sentences (never ``unknown``) for enemy, message, goal; for the message entity and the goal
  entity in the **enemy** role with the decoys' types; plus a misleading sentence about the enemy entity: type
  uniform among the two types that are not its true type, role message or goal in random order, the first whose
  list is non-empty.

The sentences of a manual are shuffled in every stage (spec C.3, C.4, C.7; a fixed order would leak the roles).
Stage 3 draws from the same ``text_{split}.json`` pools as stages 1-2: upstream stage 3 reads ``*_s3.json`` files
that are not part of the released data mirror.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lexiq.envs.messenger.entities import (
    ENEMY,
    ENTITY_NAMES,
    GOAL,
    IMMOVABLE,
    MESSAGE,
    N_IDS,
    NAME_TO_ID,
    ROLES,
    TYPES,
    UNKNOWN,
)
from lexiq.envs.messenger.rng import choose, permutation

UNKNOWN_PROB = 0.15
"""Stage 2: probability that a role's sentence is an ``unknown`` (movement-free) one (``no_type_p``)."""
MANUAL_SLOTS = {1: 6, 2: 9, 3: 14}
"""Uniforms one manual consumes per stage."""
MANUAL_LENGTH = {1: 3, 2: 3, 3: 6}


@dataclass(frozen=True)
class ManualPool:
    """A sentence pool as one table: sentences of ``(entity id, role, type)`` are
    ``sentences[start[e, r, t] : start[e, r, t] + count[e, r, t]]``; types in :data:`TYPES` order, so the
    ``immovable`` and ``unknown`` sentences of an (entity, role) are contiguous."""

    sentences: tuple[str, ...]
    start: np.ndarray
    count: np.ndarray
    source: str
    """Where the pool came from (a file path or ``template:<split>``), for error messages."""

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, dict[str, list[str]]]], source: str) -> ManualPool:
        sentences: list[str] = []
        start = np.zeros((N_IDS, len(ROLES), len(TYPES)), dtype=np.int64)
        count = np.zeros_like(start)
        for name, e in NAME_TO_ID.items():
            for r, role in enumerate(ROLES):
                for t, typ in enumerate(TYPES):
                    items = data.get(name, {}).get(role, {}).get(typ, [])
                    start[e, r, t], count[e, r, t] = len(sentences), len(items)
                    sentences.extend(items)
        return cls(tuple(sentences), start, count, source)

    def _draw(self, ids: np.ndarray, role: int | np.ndarray, typ: np.ndarray, u: np.ndarray,
              span: int = 1) -> np.ndarray:
        """Sentence index per row: uniform over ``span`` consecutive type lists starting at ``typ``."""
        n = self.count[ids, role, typ]
        for extra in range(1, span):
            n = n + self.count[ids, role, typ + extra]
        if np.any(n == 0):
            k = int(np.argmax(n == 0))
            r = int(np.broadcast_to(role, ids.shape)[k])
            raise ValueError(f"{self.source}: no sentence for {ENTITY_NAMES[int(ids[k])]} as {ROLES[r]} with type "
                             f"{TYPES[int(typ[k])]}")
        return self.start[ids, role, typ] + choose(u, n)

    def has(self, entity: int, role: int, typ: int) -> bool:
        return bool(self.count[entity, role, typ] > 0)

    def check(self, games: np.ndarray, stage: int, variants: np.ndarray, what: str) -> None:
        """Every sentence list some reset of ``games`` x ``variants`` may need is non-empty, else one-line
        ValueError naming the pool, the entity, role and type (checked once, at construction)."""
        missing: list[str] = []

        def need(e: int, r: int, *types: int) -> None:
            if sum(int(self.count[e, r, t]) for t in types) == 0:
                missing.append(f"{ENTITY_NAMES[e]} as {ROLES[r]} with type {'/'.join(TYPES[t] for t in types)}")

        for game in games.tolist():
            for v in variants.tolist():
                for r in (ENEMY, MESSAGE, GOAL):
                    if stage == 1:
                        need(game[r], r, IMMOVABLE, UNKNOWN)
                    elif stage == 2:
                        need(game[r], r, v[r])
                        need(game[r], r, UNKNOWN)
                    else:
                        need(game[r], r, v[r])
                if stage == 3:
                    need(game[MESSAGE], ENEMY, v[3])
                    need(game[GOAL], ENEMY, v[4])
                    for t in _other_types(v[0]):
                        if not (self.has(game[0], MESSAGE, t) or self.has(game[0], GOAL, t)):
                            missing.append(f"{ENTITY_NAMES[game[0]]} as message or goal with type {TYPES[t]}")
        if missing:
            unique = list(dict.fromkeys(missing))
            more = f" (and {len(unique) - 1} more)" if len(unique) > 1 else ""
            raise ValueError(f"{self.source}: no sentence for {unique[0]}{more}, needed by {what}")

    def sample(self, stage: int, ids: np.ndarray, types: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Manuals ``(m, MANUAL_LENGTH[stage])`` of sentence indices for games ``ids (m, 3)`` with movement types
        ``types (m, n_npcs)``, from uniforms ``u (m, MANUAL_SLOTS[stage])``; the order within a manual is shuffled."""
        rows = np.arange(len(ids))
        if stage == 1:
            cols = [self._draw(ids[:, r], r, np.full(len(ids), IMMOVABLE), u[:, r], span=2) for r in range(3)]
            order = permutation(u[:, 3:6])
        elif stage == 2:
            cols = []
            for r in range(3):
                typ = np.where(u[:, r] < UNKNOWN_PROB, UNKNOWN, types[:, r])
                cols.append(self._draw(ids[:, r], r, typ, u[:, 3 + r]))
            order = permutation(u[:, 6:9])
        else:
            triples = ((ids[:, 0], ENEMY, types[:, 0]), (ids[:, 1], MESSAGE, types[:, 1]),
                       (ids[:, 2], GOAL, types[:, 2]), (ids[:, 1], ENEMY, types[:, 3]), (ids[:, 2], ENEMY, types[:, 4]))
            cols = [self._draw(e, r, t, u[:, k]) for k, (e, r, t) in enumerate(triples)]
            others = np.array([_other_types(t) for t in range(3)], dtype=np.int64)
            wrong_type = others[types[:, 0], choose(u[:, 5], 2)]
            first = np.where(u[:, 6] < 0.5, MESSAGE, GOAL)
            role = np.where(self.count[ids[:, 0], first, wrong_type] > 0, first, MESSAGE + GOAL - first)
            cols.append(self._draw(ids[:, 0], role, wrong_type, u[:, 7]))
            order = permutation(u[:, 8:14])
        table = np.stack(cols, axis=1)
        return table[rows[:, None], order]

    def texts(self, manual: np.ndarray) -> tuple[str, ...]:
        """The sentences of one manual (a row of indices)."""
        return tuple(self.sentences[i] for i in manual.tolist())


def _other_types(t: int) -> tuple[int, int]:
    return tuple(x for x in range(3) if x != t)  # type: ignore[return-value]
