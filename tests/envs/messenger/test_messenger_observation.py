"""Observation layout of Messenger (specs/ldd_messenger.md C.3, C.6, C.7): id grids, per-step layer shuffling,
the message slot left empty after pickup."""

from __future__ import annotations

from collections import Counter

import numpy as np

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import IMMOVABLE, MESSAGE, STAY, UP


def still_engine(stage: int) -> MessengerEngine:
    engine = MessengerEngine(stage, "train-mc", 1, seed=5, manual="template", max_steps=0)
    engine.reset()
    engine.types[0] = IMMOVABLE
    return engine


def slot_layers(engine: MessengerEngine, entities: np.ndarray) -> list[int | None]:
    """Which layer holds each NPC slot (None if not drawn)."""
    out = []
    for k in range(engine.n_npcs):
        x, y = (engine.pos[0, k] // 2).tolist()
        layers = np.flatnonzero(entities[0, y, x] == engine.ids[0, k])
        out.append(int(layers[0]) if engine.alive[0, k] and layers.size else None)
    return out


def test_layers_are_reshuffled_every_step():
    for stage in (2, 3):
        engine = still_engine(stage)
        engine.avatar[0] = (0, 0) if stage == 2 else (18, 18)
        engine.pos[0] = [(4, 4), (8, 8), (12, 12), (16, 16), (4, 16)][: engine.n_npcs]
        seen: Counter = Counter()
        orders = set()
        for _ in range(150):
            engine.step(np.array([STAY]))
            entities, _ = engine.observe()
            layers = slot_layers(engine, entities)
            assert sorted(layers) == list(range(engine.n_layers))  # one entity per layer, every layer used
            assert (entities != 0).sum() == engine.n_npcs
            seen.update(enumerate(layers))
            orders.add(tuple(layers))
        assert len(seen) == engine.n_npcs * engine.n_layers  # every slot visits every layer
        assert len(orders) > 5


def test_message_slot_is_skipped_after_pickup():
    engine = still_engine(2)
    engine.avatar[0] = (8, 8)
    engine.pos[0] = [(0, 0), (8, 6), (18, 18)]
    engine.step(np.array([UP]))
    assert not engine.alive[0, MESSAGE]
    empty = Counter()
    for _ in range(60):
        entities, _ = engine.observe()
        layer = int(engine.layer_order[0, MESSAGE])
        assert not entities[0, :, :, layer].any()  # the message's layer stays empty, not reused
        assert (entities != 0).sum() == 2
        empty[layer] += 1
        engine.step(np.array([STAY]))
    assert len(empty) == 3


def test_shapes_and_ids_per_stage():
    for stage, layers in ((1, 1), (2, 3), (3, 5)):
        engine = MessengerEngine(stage, "val", 3, seed=1, manual="template")
        engine.reset()
        entities, avatar = engine.observe()
        assert entities.shape == (3, 10, 10, layers) and avatar.shape == (3, 10, 10, 1)
        assert entities.dtype == np.int64
        for i in range(3):
            assert sorted(entities[i][entities[i] > 0].tolist()) == sorted(engine.ids[i].tolist())
            assert set(avatar[i].ravel().tolist()) - {0} <= {15, 16} and (avatar[i] > 0).sum() == 1
        if stage == 3:  # decoys are drawn with the message's and the goal's ids
            assert (engine.ids[:, 3] == engine.game[:, 1]).all() and (engine.ids[:, 4] == engine.game[:, 2]).all()


def test_start_layouts():
    engine = MessengerEngine(2, "train-mc", 300, seed=0, manual="template")
    engine.reset()
    corners = {(2, 2), (7, 2), (2, 7), (7, 7)}
    for i in range(300):
        cells = {tuple(engine.avatar[i] // 2), *(tuple(p) for p in (engine.pos[i] // 2).tolist())}
        assert cells == corners and not engine.carrying[i]
    engine3 = MessengerEngine(3, "train-mc", 50, seed=0, manual="template")
    engine3.reset()
    six = {(2, 1), (8, 1), (5, 4), (1, 6), (9, 6), (5, 9)}
    for i in range(50):
        assert {tuple(engine3.avatar[i] // 2), *(tuple(p) for p in (engine3.pos[i] // 2).tolist())} == six
