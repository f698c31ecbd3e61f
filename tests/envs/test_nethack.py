"""NetHack adapter: the text rendering (message + 24 terminal rows), the named action vocabulary and its NLE
actions, seeded replays and recorded episodes (skipped without lexiq[nethack])."""

from __future__ import annotations

import pytest

from lexiq.data.jsonl import read_episodes, write_episodes
from lexiq.envs import make
from lexiq.envs.nethack import NetHackTextEnv, record_episodes
from lexiq.envs.nethack.text import ACTION_NAMES, nle_actions, parse_action


def test_parse_action_reads_the_first_vocabulary_word():
    assert parse_action("I go north") == ACTION_NAMES.index("north")
    assert parse_action("NorthEast, then north") == ACTION_NAMES.index("northeast")
    assert parse_action("press MORE") == ACTION_NAMES.index("more")
    assert parse_action("northern lights") is None and parse_action("") is None


@pytest.fixture
def nle():
    return pytest.importorskip("nle")  # parse_action above runs without the extra, the tests below need it


def test_action_mapping(nle):
    from nle.nethack.actions import Command, CompassDirection, MiscAction, MiscDirection

    table = dict(zip(ACTION_NAMES, nle_actions(), strict=True))
    assert len(table) == len(ACTION_NAMES) == 17
    assert table["north"] == CompassDirection.N == ord("k") and table["southwest"] == CompassDirection.SW
    assert table["down"] == MiscDirection.DOWN == ord(">") and table["search"] == Command.SEARCH == ord("s")
    assert table["more"] == MiscAction.MORE and table["pickup"] == Command.PICKUP == ord(",")


def test_text_observation_shape_and_messages(nle):
    env = make("nethack", task="score", max_steps=5)
    obs, info = env.reset(seed=7)
    lines = obs.split("\n")
    assert lines[0].startswith("Message: Hello Agent, welcome to NetHack!")
    assert len(lines) == 1 + 24 and max(len(x) for x in lines[1:]) <= 80
    assert "@" in obs and "Dlvl:1" in lines[-1] and lines[1].startswith("Hello Agent")
    assert info["action"] is None and len(info["blstats"]) >= 25
    _, reward, terminated, truncated, info = env.step("move north please")
    assert info["valid"] and info["action"] == "north" and isinstance(reward, float)
    _, _, _, _, info = env.step("dance")
    assert not info["valid"] and info["action"] == "wait"
    for _ in range(3):
        _, _, terminated, truncated, _ = env.step("search")
    assert truncated or terminated
    ep = env.episode()
    assert len(ep.agent_turns) == 5 and ep.truncated != ep.terminated
    env.close()


def test_seeded_replay_and_recorded_episodes(nle, tmp_path):
    def play(seed: int) -> list[str]:
        env = NetHackTextEnv(max_steps=10)
        out = [env.reset(seed=seed)[0]]
        out += [env.step(word)[0] for word in ("west", "south", "search", "east")]
        env.close()
        return out

    assert play(3) == play(3)
    episodes = record_episodes(2, seed=5, max_steps=8)
    assert [e.meta["seed"] for e in episodes] == [5, 6]
    assert all(len(e.agent_turns) <= 8 and t.text in ACTION_NAMES for e in episodes for t in e.agent_turns)
    write_episodes(tmp_path / "nh.jsonl", episodes)
    assert [e.to_dict() for e in read_episodes(tmp_path / "nh.jsonl")] == [e.to_dict() for e in episodes]
