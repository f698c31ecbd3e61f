"""The interaction CSV of Jaques et al. 2019 (specs/kl_control.md §1) by hand: ordering, emoji stripping,
state / next-state windows, episodes both ways, and clear errors."""

import csv

import pytest

from lexiq.data.episode import Episode, EpisodeFormatError, Turn
from lexiq.data.interaction import chat_episode, episode_chat, read_interaction_csv, strip_emojis, transitions

HEADER = ["Study Key", "Datetime", "Chat ID", "Message", "Response", "Chatbot ID", "Response Rating"]


def write(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


ROWS = [  # chat b is logged out of order; chat c belongs to another study
    ["s1", "2019-03-01 10:00:02", "b", "second", "  reply two \U0001F600", "bot1", "1"],
    ["s1", "2019-03-01 10:00:01", "b", "first", "reply one", "bot1", ""],
    ["s1", "2019-03-01 10:00:03", "b", "third", "reply three", "bot1", "-1"],
    ["s1", "2019-03-01 09:00:00", "a", "hi", "hello \u2764\ufe0f there", "bot2", ""],
    ["s2", "2019-03-01 09:00:00", "c", "other", "study", "bot2", ""],
]


def test_chats_are_sorted_by_time_with_next_user_messages_and_done(tmp_path):
    chats = read_interaction_csv(write(tmp_path / "log.csv", ROWS), study_key="s1")
    assert [c[0].chat_id for c in chats] == ["b", "a"]
    b = chats[0]
    assert [e.previous_user for e in b] == ["first", "second", "third"]
    assert [e.bot for e in b] == ["reply one", "reply two ", "reply three"]
    assert [e.next_user for e in b] == ["second", "third", ""]
    assert [e.done for e in b] == [False, False, True]
    assert [e.rating for e in b] == [None, 1.0, -1.0]
    assert chats[1][0].bot == "hello  there" and chats[1][0].done
    assert len(read_interaction_csv(tmp_path / "log.csv")) == 3
    assert len(read_interaction_csv(tmp_path / "log.csv", exclude_bots=("bot2",))) == 1


def test_state_and_next_state_windows_match_the_spec_by_hand(tmp_path):
    b = read_interaction_csv(write(tmp_path / "log.csv", ROWS), study_key="s1")[0]
    rows = transitions(b, history=4)  # states keep 2 sentences, next states 4
    assert rows[0].state == ["first"] and rows[0].next_state == ["first", "reply one", "second"]
    assert rows[1].state == ["reply one", "second"]
    assert rows[1].next_state == ["reply one", "second", "reply two ", "third"]  # the last 4 of 5, ends with m_2
    assert rows[2].state == ["reply two ", "third"] and rows[2].action == "reply three"
    assert rows[2].next_state == ["reply two ", "third", "reply three", ""] and rows[2].done
    with pytest.raises(ValueError, match="history"):
        transitions(b, history=2)


def test_episodes_both_ways(tmp_path):
    b = read_interaction_csv(write(tmp_path / "log.csv", ROWS), study_key="s1")[0]
    ep = chat_episode(b, rewards=[0.5, 1.0, -2.0])
    assert [(t.role, t.text) for t in ep.turns][:2] == [("environment", "first"), ("agent", "reply one")]
    assert [t.reward for t in ep.agent_turns] == [0.5, 1.0, -2.0] and ep.terminated
    back = episode_chat(ep)
    assert [(e.previous_user, e.bot, e.next_user, e.done) for e in back] == [
        (e.previous_user, e.bot, e.next_user, e.done) for e in b]
    with pytest.raises(ValueError, match="2 rewards for 3"):
        chat_episode(b, rewards=[1.0, 2.0])
    # a task dialogue: API traffic is not conversation
    task = Episode([Turn("environment", "a latte", speaker="customer"),
                    Turn("agent", '{"name":"get_menu_items"}', 0.0, speaker="api_call"),
                    Turn("environment", '{"response":[]}', speaker="api"),
                    Turn("agent", "what size?", 0.0, speaker="agent"),
                    Turn("environment", "large", speaker="customer"),
                    Turn("agent", "done", 0.0)], meta={"conversation_id": "c1"})
    ex = episode_chat(task)
    assert [(e.previous_user, e.bot, e.next_user, e.done) for e in ex] == [("a latte", "what size?", "large", False),
                                                                  ("large", "done", "", True)]
    assert ex[0].chat_id == "c1"


def test_emojis_and_bad_input(tmp_path):
    assert strip_emojis(" \U0001F44D\U0001F3FD ok \U0001F468\u200d\U0001F469 \u2600\ufe0f") == "ok  "
    with pytest.raises(EpisodeFormatError, match=r"log\.csv: missing column\(s\) Response"):
        read_interaction_csv(write(tmp_path / "log.csv", [["1", "x", "y"]], ["Datetime", "Chat ID", "Message"]))
    bad = [["s1", "yesterday", "a", "hi", "hello", "bot", ""]]
    with pytest.raises(EpisodeFormatError, match=r"bad\.csv:2: Datetime 'yesterday'"):
        read_interaction_csv(write(tmp_path / "bad.csv", bad))
    bad = [["s1", "2019-03-01 09:00:00", "a", "hi", "hello", "bot", "up"]]
    with pytest.raises(EpisodeFormatError, match=r"bad2\.csv:2: Response Rating 'up'"):
        read_interaction_csv(write(tmp_path / "bad2.csv", bad))
