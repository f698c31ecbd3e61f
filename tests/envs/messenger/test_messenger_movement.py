"""NPC movement types and the pixel (half-cell) collision rule of Messenger stage 2/3 (specs/ldd_messenger.md C.5,
C.6, C.10; py-vgdl Chaser / Fleeing / Immovable with speed 0.5 on a 2-px grid)."""

from __future__ import annotations

import numpy as np

from lexiq.envs.messenger import physics
from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import CHASER, ENEMY, FLEEING, GOAL, IMMOVABLE, LEFT, RIGHT, STAY

N = 64


def batch(avatar, npcs, types) -> MessengerEngine:
    """N games (different seeds) in the same hand-made stage-2 state."""
    engine = MessengerEngine(2, "train-mc", N, seed=0, manual="template", max_steps=0)
    engine.reset()
    engine.avatar[:] = avatar
    engine.pos[:] = npcs
    engine.types[:] = types
    return engine


def enemy_after_one_tick(avatar, enemy, mtype) -> set[tuple[int, int]]:
    engine = batch(avatar, [enemy, (18, 18), (18, 0)], [mtype, IMMOVABLE, IMMOVABLE])
    res = engine.step(np.full(N, STAY))
    assert not res.terminated.any()
    return {tuple(p) for p in engine.pos[:, ENEMY].tolist()}


def test_chaser_aligned_has_one_move():
    assert enemy_after_one_tick((4, 4), (10, 4), CHASER) == {(9, 4)}


def test_chaser_diagonal_picks_among_the_two_closer_moves():
    assert enemy_after_one_tick((4, 4), (10, 10), CHASER) == {(10, 9), (9, 10)}


def test_fleeing_aligned_never_moves_closer():
    # up and down also increase |dy| from 0: three candidates
    assert enemy_after_one_tick((4, 4), (10, 4), FLEEING) == {(11, 4), (10, 3), (10, 5)}


def test_fleeing_in_a_corner_stays_because_off_screen_moves_are_undone():
    assert enemy_after_one_tick((4, 4), (18, 18), FLEEING) == {(18, 18)}


def test_immovable_never_moves():
    engine = batch((4, 4), [(10, 10), (16, 2), (2, 16)], [IMMOVABLE] * 3)
    start = engine.pos.copy()
    for _ in range(10):
        engine.step(np.full(N, STAY))
    assert (engine.pos == start).all()


def test_no_closer_move_means_all_four():
    cand = physics.npc_candidates(np.array([[[6, 6]]]), np.array([[CHASER]]), np.array([[6, 6]]))
    assert cand.all()
    assert not physics.npc_candidates(np.array([[[6, 6]]]), np.array([[IMMOVABLE]]), np.array([[0, 0]])).any()


def test_speeds_npc_one_pixel_avatar_two():
    engine = batch((8, 8), [(2, 16), (16, 2), (16, 16)], [CHASER, FLEEING, CHASER])
    before, avatar = engine.pos.copy(), engine.avatar.copy()
    engine.step(np.full(N, RIGHT))
    assert (np.abs(engine.pos - before).sum(-1) == 1).all()
    assert (engine.avatar - avatar == [2, 0]).all()


def test_head_on_avatar_and_chaser_collide_instead_of_swapping_cells():
    """Avatar at cell 2 moves right, a chaser at cell 3 moves left by 1 px: they overlap (a cell simulation would
    let them swap cells and pass through each other)."""
    engine = batch((4, 4), [(6, 4), (18, 18), (18, 0)], [CHASER, IMMOVABLE, IMMOVABLE])
    res = engine.step(np.full(N, RIGHT))
    assert (res.reward == -1).all() and res.terminated.all()
    assert (engine.pos[:, ENEMY] == [5, 4]).all()


def test_an_npc_between_two_cells_touches_both():
    for start, action, hit in [((8, 4), LEFT, True), ((2, 4), RIGHT, True), ((10, 4), LEFT, False)]:
        engine = batch(start, [(5, 4), (18, 18), (18, 0)], [IMMOVABLE] * 3)
        res = engine.step(np.full(N, action))
        assert bool(res.terminated.all()) is hit and bool(res.terminated.any()) is hit


def test_an_npc_between_cells_is_reported_at_the_left_cell():
    engine = batch((18, 18), [(5, 7), (0, 0), (18, 0)], [IMMOVABLE] * 3)
    engine.layer_order[:] = [0, 1, 2]
    entities, _ = engine.observe()
    assert entities[0, 3, 2, 0] == engine.ids[0, ENEMY]  # (x, y) = (5, 7) px -> cell (2, 3) -> [y=3, x=2]


def test_npcs_pass_through_each_other():
    """An aligned chaser walks through an immovable goal on its way to the avatar: no interaction, both stay."""
    engine = batch((18, 10), [(2, 10), (0, 0), (6, 10)], [CHASER, IMMOVABLE, IMMOVABLE])
    for _ in range(8):
        res = engine.step(np.full(N, STAY))
        assert (res.reward == 0).all() and not res.terminated.any()
    assert (engine.pos[:, ENEMY] == [10, 10]).all() and (engine.pos[:, GOAL] == [6, 10]).all()
    assert engine.alive.all()
