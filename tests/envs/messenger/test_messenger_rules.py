"""Rewards and endings of Messenger (specs/ldd_messenger.md C.3, C.5, A.5 episode cap; Hanjie et al., ICML 2021).

States are placed by hand in pixels (2 px per cell); all NPCs immovable unless a test says otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import (
    AVATAR_NO_MESSAGE,
    AVATAR_WITH_MESSAGE,
    DOWN,
    GOAL,
    IMMOVABLE,
    LEFT,
    MESSAGE,
    RIGHT,
    STAY,
    UP,
)

I3 = [IMMOVABLE] * 3
FAR = [(0, 0), (18, 18), (18, 0)]  # enemy, message, goal out of the way


def step1(engine: MessengerEngine, action: int):
    res = engine.step(np.array([action]))
    return float(res.reward[0]), bool(res.terminated[0]), bool(res.won[0]), bool(res.timeout[0])


def test_reach_goal_with_message_wins(engine2, place):
    place(engine2, (8, 8), [(0, 0), (18, 18), (10, 8)], I3, carrying=True)
    engine2.alive[0, MESSAGE] = False  # already picked up
    assert step1(engine2, RIGHT) == (1.0, True, True, False)
    assert not engine2.alive[0, GOAL]
    entities, avatar = engine2.observe()
    assert engine2.ids[0, GOAL] not in entities and avatar[0, 4, 5, 0] == AVATAR_WITH_MESSAGE


def test_reach_goal_without_message_loses(engine2, place):
    place(engine2, (8, 8), [(0, 0), (18, 18), (10, 8)], I3)
    assert step1(engine2, RIGHT) == (-1.0, True, False, False)
    assert not engine2.avatar_alive[0] and not engine2.observe()[1].any()  # the avatar is removed
    assert engine2.alive[0, GOAL]


def test_touch_enemy_loses(engine2, place):
    place(engine2, (8, 8), [(8, 10), (18, 18), (18, 0)], I3)
    assert step1(engine2, DOWN) == (-1.0, True, False, False)
    assert not engine2.avatar_alive[0]


def test_pick_up_message(engine2, place):
    place(engine2, (8, 8), [(0, 0), (8, 6), (18, 0)], I3)
    assert step1(engine2, UP) == (0.5, False, False, False)
    assert engine2.carrying[0] and not engine2.alive[0, MESSAGE]
    entities, avatar = engine2.observe()
    assert avatar[0, 3, 4, 0] == AVATAR_WITH_MESSAGE and engine2.ids[0, MESSAGE] not in entities
    assert step1(engine2, STAY) == (0.0, False, False, False)  # the message is consumed: nothing happens again


def test_avatar_without_message_is_drawn_as_15(engine2, place):
    place(engine2, (8, 8), FAR, I3)
    step1(engine2, STAY)
    assert engine2.observe()[1][0, 4, 4, 0] == AVATAR_NO_MESSAGE


def test_enemy_and_message_in_one_tick_scores_both_and_loses(engine2, place):
    """C.5/C.10: every overlapping pair scores, even after an earlier rule removed the avatar: -1 + 0.5, loss;
    the dead avatar does not take the message, which is consumed all the same."""
    place(engine2, (8, 8), [(10, 8), (11, 8), (18, 0)], I3)
    assert step1(engine2, RIGHT) == (-0.5, True, False, False)
    assert not engine2.alive[0, MESSAGE] and not engine2.carrying[0]


def test_goal_and_message_in_one_tick_without_message_loses(engine2, place):
    """Rule 3 (goal without the message) removes the avatar before rule 4 can hand it the message: -1 + 0.5."""
    place(engine2, (8, 8), [(0, 0), (11, 8), (10, 8)], I3)
    assert step1(engine2, RIGHT) == (-0.5, True, False, False)
    assert engine2.alive[0, GOAL] and not engine2.carrying[0]


def test_enemy_and_goal_in_one_tick_without_message_costs_two(engine2, place):
    place(engine2, (8, 8), [(10, 8), (18, 18), (11, 8)], I3)
    assert step1(engine2, RIGHT) == (-2.0, True, False, False)


def test_enemy_and_goal_in_one_tick_with_message_scores_zero_and_loses(engine2, place):
    place(engine2, (8, 8), [(10, 8), (18, 18), (11, 8)], I3, carrying=True)
    engine2.alive[0, MESSAGE] = False
    assert step1(engine2, RIGHT) == (0.0, True, False, False)  # -1 (enemy) + 1 (delivery); no avatar: not a win
    assert not engine2.alive[0, GOAL] and not engine2.avatar_alive[0]


def test_stage3_enemy_and_decoy_each_cost_one():
    engine = MessengerEngine(3, "train-mc", 1, seed=0, manual="template", max_steps=0)
    engine.reset()
    engine.avatar[0] = (8, 8)
    engine.pos[0] = [(10, 8), (18, 18), (18, 0), (11, 8), (0, 18)]
    engine.types[0] = IMMOVABLE
    assert step1(engine, RIGHT) == (-2.0, True, False, False)
    engine.reset()
    engine.avatar[0] = (8, 8)
    engine.pos[0] = [(0, 0), (18, 18), (18, 0), (0, 18), (8, 10)]  # decoy_goal alone
    engine.types[0] = IMMOVABLE
    assert step1(engine, DOWN) == (-1.0, True, False, False)


def test_step_limit_replaces_a_non_winning_last_reward():
    engine = MessengerEngine(2, "train-mc", 1, seed=0, manual="template", max_steps=3)
    engine.reset()
    engine.types[0] = IMMOVABLE
    engine.avatar[0], engine.pos[0] = (8, 8), FAR
    assert step1(engine, STAY) == (0.0, False, False, False)
    assert step1(engine, STAY) == (0.0, False, False, False)
    assert step1(engine, STAY) == (-1.0, True, False, True)
    engine.reset()  # a pickup on the last step is not a win: -1
    engine.types[0], engine.t[0] = IMMOVABLE, 2
    engine.avatar[0], engine.pos[0] = (8, 8), [(0, 0), (10, 8), (18, 0)]
    assert step1(engine, RIGHT) == (-1.0, True, False, True)
    engine.reset()  # a win on the last step keeps its +1
    engine.types[0], engine.t[0], engine.carrying[0] = IMMOVABLE, 2, True
    engine.alive[0, MESSAGE] = False
    engine.avatar[0], engine.pos[0] = (8, 8), [(0, 0), (18, 18), (10, 8)]
    assert step1(engine, RIGHT) == (1.0, True, True, False)


def test_default_caps_and_no_cap():
    assert MessengerEngine(1, "val", manual="template").max_steps == 4
    assert MessengerEngine(2, "val", manual="template").max_steps == 64
    assert MessengerEngine(3, "val", manual="template").max_steps == 128
    engine = MessengerEngine(1, "val", manual="template", max_steps=0, seed=3)
    engine.reset()
    engine.avatar[0] = (0, 0)
    for _ in range(50):  # stage 1 has no limit of its own
        assert step1(engine, UP) == (0.0, False, False, False)


@pytest.mark.parametrize(("carrying", "slot", "expected"), [
    (False, 0, (-1.0, True, False)), (True, 0, (-1.0, True, False)),
    (False, 1, (1.0, True, True)), (True, 1, (-1.0, True, False)),
    (False, 2, (-1.0, True, False)), (True, 2, (1.0, True, True)),
])
def test_stage1_rewards(carrying, slot, expected):
    engine = MessengerEngine(1, "train-mc", 1, seed=0, manual="template")
    engine.reset()
    engine.carrying[0] = carrying
    engine.avatar[0] = (10, 10)
    others = iter([(10, 6), (6, 10)])
    engine.pos[0] = [(14, 10) if k == slot else next(others) for k in range(3)]  # the slot two cells right
    assert step1(engine, RIGHT)[:3] == (0.0, False, False)  # one cell on: not there yet
    assert step1(engine, RIGHT)[:3] == expected


def test_stage1_avatar_start_and_moves_off_the_board_are_ignored():
    engine = MessengerEngine(1, "train-mc", 500, seed=0, manual="template", max_steps=0)
    engine.reset()
    assert (engine.avatar == 10).all()  # cell (5, 5)
    assert 0.1 < engine.carrying.mean() < 0.3  # starts with the message with probability 0.2
    cells = {tuple(c) for c in (engine.pos // 2).reshape(-1, 2).tolist()}
    assert cells == {(5, 3), (3, 5), (7, 5), (5, 7)}
    one = MessengerEngine(1, "train-mc", 1, seed=0, manual="template", max_steps=0)
    one.reset()
    one.avatar[0] = (0, 0)
    step1(one, LEFT)
    step1(one, UP)
    assert one.avatar[0].tolist() == [0, 0]
