"""Gymnasium API, seeding, vector/single equivalence and the text environment of Messenger."""

from __future__ import annotations

import numpy as np
import pytest

import lexiq.envs
from lexiq.data.episode import validate_episode
from lexiq.envs import TextEnv, make
from lexiq.envs.messenger import (
    ExpertTextPolicy,
    MessengerEnv,
    MessengerTextEnv,
    MessengerVectorEnv,
    parse_action,
)


def rollout(env: MessengerEnv, actions: np.ndarray) -> list:
    """(entities, avatar, manual, reward, terminated) per step, resetting after each episode."""
    obs, _ = env.reset()
    out = [(obs["entities"], obs["avatar"], obs["manual"], 0.0, False)]
    for a in actions:
        obs, r, term, trunc, _ = env.step(int(a))
        assert not trunc
        out.append((obs["entities"], obs["avatar"], obs["manual"], r, term))
        if term:
            obs, _ = env.reset()
            out.append((obs["entities"], obs["avatar"], obs["manual"], 0.0, False))
    return out


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) and x[2:] == y[2:]
                                    for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_same_seed_same_trajectory(fixture_root, stage):
    actions = np.random.default_rng(0).integers(0, 5, 150)
    a = rollout(MessengerEnv(stage, "train-mc", seed=7, root=str(fixture_root)), actions)
    b = rollout(MessengerEnv(stage, "train-mc", seed=7, root=str(fixture_root)), actions)
    c = rollout(MessengerEnv(stage, "train-mc", seed=8, root=str(fixture_root)), actions)
    assert same(a, b) and not same(a, c)


def test_reset_seed_restarts_the_stream(fixture_root):
    env = MessengerEnv(2, "val", seed=3, root=str(fixture_root))
    first, _ = env.reset()
    second, _ = env.reset()
    again, _ = env.reset(seed=3)
    assert np.array_equal(first["entities"], again["entities"]) and first["manual"] == again["manual"]
    assert first["manual"] != second["manual"] or not np.array_equal(first["entities"], second["entities"])


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_vector_game_i_equals_single_game_seeded_seed_plus_i(fixture_root, stage):
    n, steps = 4, 120
    actions = np.random.default_rng(stage).integers(0, 5, (steps, n))
    venv = MessengerVectorEnv(n, stage, "train", seed=40, root=str(fixture_root))
    envs = [MessengerEnv(stage, "train", seed=40 + i, root=str(fixture_root), text_obs=False) for i in range(n)]
    vobs, _ = venv.reset()
    for i, env in enumerate(envs):
        obs, _ = env.reset()
        assert np.array_equal(vobs["entities"][i], obs["entities"]) and vobs["manual"][i] == obs["manual"]
    ends = 0
    for t in range(steps):
        vobs, vr, vterm, vtrunc, infos = venv.step(actions[t])
        assert not vtrunc.any()
        for i, env in enumerate(envs):
            obs, r, term, _, info = env.step(int(actions[t, i]))
            assert (r, term, info["won"]) == (vr[i], vterm[i], infos["won"][i])
            if term:
                ends += 1
                final = infos["final_obs"][i]
                assert infos["_final_obs"][i] and np.array_equal(final["entities"], obs["entities"])
                assert np.array_equal(final["avatar"], obs["avatar"]) and final["manual"] == obs["manual"]
                obs, _ = env.reset()
            assert np.array_equal(vobs["entities"][i], obs["entities"]), (t, i)
            assert np.array_equal(vobs["avatar"][i], obs["avatar"]) and vobs["manual"][i] == obs["manual"]
    assert ends >= n


def test_spaces_and_observations(fixture_root):
    env = MessengerEnv(3, "val", seed=0, root=str(fixture_root))
    obs, info = env.reset()
    assert env.action_space.n == 5 and env.observation_space.contains(obs)
    assert set(info) >= {"won", "timeout", "steps", "game", "movement"}
    assert "Manual:" in obs["text"] and obs["manual"][0] in obs["text"]
    obs, *_ = env.step(4)
    assert env.observation_space.contains(obs)
    venv = MessengerVectorEnv(3, 2, "val", seed=0, root=str(fixture_root), text_obs=True)
    vobs, _ = venv.reset()
    assert venv.observation_space.contains(vobs) and venv.action_space.shape == (3,)
    assert len(vobs["text"]) == 3 and vobs["entities"].shape == (3, 10, 10, 3)
    assert venv.metadata["autoreset_mode"].name == "SAME_STEP"


def test_gymnasium_env_checker(fixture_root):
    from gymnasium.utils.env_checker import check_env

    check_env(MessengerEnv(2, "val", seed=0, root=str(fixture_root)), skip_render_check=True)


def test_step_after_the_end_and_before_reset(fixture_root):
    env = MessengerEnv(1, "val", seed=0, root=str(fixture_root))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    for _ in range(4):
        *_, term, _, _ = env.step(4)
    assert term
    with pytest.raises(RuntimeError, match="over"):
        env.step(4)


def test_text_env_is_registered_and_plays(fixture_root):
    assert "messenger" in lexiq.envs.ENV_NAMES
    env = make("messenger", stage=2, split="val", seed=0, root=str(fixture_root))
    assert isinstance(env, MessengerTextEnv) and isinstance(env, TextEnv)
    text, info = env.reset()
    assert text.startswith("Manual:") and "You are at (x=" in text and info["steps"] == 0
    before = env.engine.avatar[0].copy()
    text, reward, term, trunc, info = env.step("I will go LEFT now")
    assert info["valid"] and info["action"] == "left" and not trunc
    assert env.engine.avatar[0][0] == max(before[0] - 2, 0)
    _, _, _, _, info = env.step("jump!")
    assert not info["valid"] and info["action"] == "stay"
    policy = ExpertTextPolicy(seed=0)
    while not env.engine.done[0]:
        text, reward, term, _, info = env.step(policy.act([env.episode()], [env])[0])
    ep = validate_episode(env.episode())
    assert ep.terminated and ep.turns[0].role == "environment" and len(ep.agent_turns) == info["steps"]
    assert info["won"] and info["success"] and "won" in text  # success: what lexiq's rollout evaluator reads


def test_parse_action():
    assert parse_action("Up") == 0 and parse_action("go down") == 1 and parse_action("left, then right") == 2
    assert parse_action("STAY") == 4 and parse_action("upward") is None and parse_action("") is None
