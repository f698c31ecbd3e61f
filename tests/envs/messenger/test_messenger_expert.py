"""The scripted expert wins Messenger games at a high rate (a demonstrator for LDD, Zhong et al., NeurIPS 2022)."""

from __future__ import annotations

import numpy as np
import pytest

from lexiq.envs.messenger import MessengerEnv, MessengerExpert, MessengerVectorEnv, evaluate_expert
from lexiq.envs.messenger.entities import CHASER, FLEEING
from lexiq.envs.messenger.expert import next_positions


@pytest.mark.parametrize(("stage", "split", "episodes", "floor"), [
    (1, "test", 100, 1.0), (2, "test", 100, 0.95), (2, "train-mc", 50, 0.95), (3, "test", 60, 0.9)])
def test_expert_wins(stage, split, episodes, floor):
    result = evaluate_expert(stage, split, episodes=episodes, seed=1000, manual="template")
    assert result["win_rate"] >= floor, result
    assert result["episodes"] == episodes and result["manual"] == "template"


def test_expert_drives_single_and_vector_envs():
    expert = MessengerExpert(seed=0)
    env = MessengerEnv(2, "val", seed=3, manual="template")
    env.reset()
    done, won, steps = False, False, 0
    while not done:
        action = expert(env)
        assert isinstance(action, int)
        _, _, done, _, info = env.step(action)
        won, steps = info["won"], steps + 1
    assert won and steps < 64
    venv = MessengerVectorEnv(4, 3, "val", seed=3, manual="template")
    venv.reset()
    assert expert(venv).shape == (4,)


def test_next_positions_follow_the_movement_rules():
    avatar = np.array([4, 4])
    assert {tuple(p) for p in next_positions(np.array([10, 10]), CHASER, avatar).tolist()} == {(10, 9), (9, 10)}
    assert {tuple(p) for p in next_positions(np.array([18, 18]), FLEEING, avatar).tolist()} == {(18, 18)}
