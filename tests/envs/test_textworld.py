"""TextWorld adapter: generated games are deterministic, walkthroughs win with the maximum score, admissible
commands come with every observation, data sets round-trip through JSONL (skipped without lexiq[textworld])."""

from __future__ import annotations

import pytest

from lexiq.data.jsonl import read_episodes, write_episodes
from lexiq.envs import make
from lexiq.envs.extras import MissingExtraError, require
from lexiq.envs.textworld import (
    GameSpec,
    TextWorldEnv,
    WalkthroughPlayer,
    collect_episodes,
    dataset_stats,
    generate_game,
    generate_pool,
)
from lexiq.envs.textworld.env import clean_feedback, play_command
from lexiq.envs.textworld.games import pool_records


def test_clean_feedback_strips_terminal_decoration():
    raw = ("\n\n   ________  __  \n  |  \\  |  $$\\ \n\nWelcome! Your task is to open the box.\n\n\n\n-= Attic =-\n"
           "You are in an attic.\n\n>                    -= Attic =-0/1")
    assert clean_feedback(raw) == "Welcome! Your task is to open the box.\n\n-= Attic =-\nYou are in an attic."
    end = ("\nYou open the box.\n\n\nYour score has just gone up by one point.\n\n\n       *** The End ***\n\n"
           "You scored 1 out of a possible 1, in 2 turns.\n\n\nWould you like to RESTART, RESTORE a saved game, QUIT "
           "or UNDO the last command?\n>          -= Attic =-0/2")
    assert clean_feedback(end).endswith("*** The End ***\n\nYou scored 1 out of a possible 1, in 2 turns.")
    assert play_command("  take\nkey \t from box ") == "take key from box"


def test_missing_extra_is_one_clear_line():
    with pytest.raises(MissingExtraError, match=r"pip install 'lexiq\[demo\]'") as err:
        require("lexiq_no_such_module", "demo", "demo>=1")
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)



SPEC = GameSpec(min_rooms=1, max_rooms=2, objects=3, min_quest_length=1, max_quest_length=3)


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    pytest.importorskip("textworld")  # the tests above run without the extra, the ones below need it
    directory = tmp_path_factory.mktemp("tw") / "train"
    return generate_pool(directory, SPEC, "train", 3)


def _walkthrough(env: TextWorldEnv, game: int) -> tuple[list[str], float, bool]:
    obs, info = env.reset(options={"game": game})
    texts, total, terminated = [obs], 0.0, False
    for command in info["walkthrough"]:
        assert command in info["admissible_commands"], (command, info["admissible_commands"])
        obs, reward, terminated, truncated, info = env.step(command)
        texts.append(obs)
        total += reward
        assert not truncated
    return texts, total, terminated


def test_generation_is_deterministic(pool, tmp_path):
    record = generate_game(SPEC, 0, tmp_path / "again.z8")  # the pool's first game is TextWorld seed 0
    first = pool_records(pool[0].parent)[0]
    assert (record["objective"], record["walkthrough"]) == (first["objective"], first["walkthrough"])
    a, b = TextWorldEnv(pool[0]), TextWorldEnv(tmp_path / "again.z8")
    assert _walkthrough(a, 0) == _walkthrough(b, 0)
    stamp = pool[0].stat().st_mtime_ns
    assert generate_pool(pool[0].parent, SPEC, "train", 3) == pool and pool[0].stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="other games"):
        generate_pool(pool[0].parent, GameSpec(objects=9), "train", 3)


def test_walkthrough_wins_with_the_maximum_score(pool):
    env = TextWorldEnv(pool, max_steps=20)
    for game in range(len(pool)):
        texts, total, terminated = _walkthrough(env, game)
        assert terminated and env.info["won"] and env.info["success"] and not env.info["lost"]
        assert total == env.info["max_score"] >= 1
        ep = env.episode()
        assert ep.terminated and not ep.truncated and ep.total_reward == total
        assert [t.text for t in ep.turns if not t.is_agent] == texts
        assert "*** The End ***" in texts[-1] and ">" not in texts[-1].splitlines()[-1]
    with pytest.raises(RuntimeError, match="over"):
        env.step("look")


def test_observations_and_admissible_commands(pool):
    env = make("textworld", games=str(pool[0].parent), max_steps=2)
    obs, info = env.reset(seed=4)  # 4 mod 3 games -> game 1
    assert info["game"] == pool[1].name and obs and "$$" not in obs
    assert info["objective"] and info["objective"].split("!")[-1].strip()[:20] in obs
    assert info["admissible_commands"] == sorted(info["admissible_commands"]) and "look" in info["admissible_commands"]
    _, reward, terminated, truncated, info = env.step("look")
    assert reward == 0.0 and not terminated and not truncated and info["admissible_commands"]
    _, _, terminated, truncated, _ = env.step("dance wildly")
    assert truncated and not terminated and env.episode().truncated


def test_episode_data_round_trip(pool, tmp_path):
    episodes = collect_episodes(pool, "mixed", 12, seed=1, max_steps=6)
    again = collect_episodes(pool, "mixed", 12, seed=1, max_steps=6)
    assert [e.to_dict() for e in episodes] == [e.to_dict() for e in again]
    stats = dataset_stats(episodes)
    assert stats["n"] == 12 and stats["games"] == 3
    for ep in episodes:
        assert ep.meta["kind"] in ("walkthrough", "noisy", "random") and len(ep.agent_turns) <= 6
        assert ep.terminated == ep.meta["won"] and (ep.total_reward >= 1) == ep.meta["won"]
    walk = collect_episodes(pool, "walkthrough", 3, max_steps=6)
    assert all(e.meta["won"] and e.total_reward == e.meta["max_score"] for e in walk)
    path = tmp_path / "tw.jsonl"
    write_episodes(path, episodes)
    assert [e.to_dict() for e in read_episodes(path)] == [e.to_dict() for e in episodes]


def test_walkthrough_player_follows_the_rollout_protocol(pool):
    from lexiq.evaluation.rollout import rollout

    eps = rollout(lambda: TextWorldEnv(pool, max_steps=10), WalkthroughPlayer(), 3, seed=0)
    assert [e.meta["success"] for e in eps] == [True] * 3 and [e.meta["game"] for e in eps] == [p.name for p in pool]
