"""`lexiq rewards compute` end to end: CSV in, processed buffer out (hand-checked columns), JSONL out, errors."""

import csv
import json

import pytest

from lexiq.cli import main

HEADER = ["Datetime", "Chat ID", "Message", "Response", "Response Rating"]
ROWS = [["2019-03-01 10:00:00", "a", "hi there", "hello! how are you?", "1"],
        ["2019-03-01 10:00:05", "a", "hahaha good", "glad to hear", ""],
        ["2019-03-01 10:00:09", "a", "bye now friend", "bye", "-1"],
        ["2019-03-01 11:00:00", "b", "yo", "what's up?", ""]]


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([HEADER, *ROWS])
    return path


def test_csv_buffer_with_raw_columns_and_weighted_sum(log, tmp_path, capsys):
    out = tmp_path / "buffer.csv"
    assert main(["rewards", "compute", str(log), str(out), "--rewards", "laughter,question,answer_length_words",
                 "--weights", "1,2,0.5", "--raw", "--history", "4"]) == 0
    rows = list(csv.DictReader(open(out)))
    assert [r["chat_id"] for r in rows] == ["a", "a", "a", "b"]
    # laughter of the next user message ("hahaha good": 3; then "bye now friend": 0; last rows: done)
    assert [float(r["reward_laughter"]) for r in rows] == [3.0, 0.0, 0.0, 0.0]
    assert [float(r["reward_question"]) for r in rows] == [1.0, 0.0, 0.0, 1.0]
    assert [float(r["reward_answer_length_words"]) for r in rows] == [2.0, 3.0, 0.0, 0.0]
    assert [float(r["reward"]) for r in rows] == [3 + 2 + 1.0, 1.5, 0.0, 2.0]
    assert json.loads(rows[1]["state"]) == ["hello! how are you?", "hahaha good"]
    assert json.loads(rows[1]["next_state"]) == ["hello! how are you?", "hahaha good", "glad to hear",
                                                 "bye now friend"]
    assert [r["done"] for r in rows] == ["0", "0", "1", "1"] and rows[2]["rating"] == "-1.0"
    assert json.loads(capsys.readouterr().out)["mean"]["laughter"] == pytest.approx(0.75)


def test_jsonl_episodes_and_normalised_columns(log, tmp_path):
    out = tmp_path / "episodes.jsonl"
    assert main(["rewards", "compute", str(log), str(out), "--rewards", "laughter"]) == 0
    eps = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(eps) == 2
    z = eps[0]["meta"]["rewards"]["laughter"] + eps[1]["meta"]["rewards"]["laughter"]
    assert sum(z) == pytest.approx(0.0, abs=1e-9)  # z-scored over the buffer
    assert [t["reward"] for t in eps[0]["turns"] if t["role"] == "agent"] == eps[0]["meta"]["rewards"]["laughter"]
    # the scored episodes read back as chats with the same exchanges
    again = tmp_path / "again.csv"
    assert main(["rewards", "compute", str(out), str(again), "--rewards", "question", "--raw"]) == 0
    assert [float(r["reward_question"]) for r in csv.DictReader(open(again))] == [1.0, 0.0, 0.0, 1.0]


def test_bad_input_is_one_line_and_leaves_nothing(log, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["rewards", "compute", str(log), str(out), "--rewards", "nope"]) == 2
    assert "unknown reward 'nope'" in capsys.readouterr().err and not out.exists()
    assert main(["rewards", "compute", str(log), str(out), "--rewards", "laughter", "--weights", "1,2"]) == 2
    assert "2 reward weights for 1 rewards" in capsys.readouterr().err and not out.exists()
    assert main(["rewards", "compute", str(log), str(tmp_path / "x.txt"), "--rewards", "laughter"]) == 2
    assert "expected an output ending in .csv or .jsonl" in capsys.readouterr().err
