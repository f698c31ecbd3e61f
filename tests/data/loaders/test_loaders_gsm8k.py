"""GSM8K: the reference prompt and chat renderings, the reference's 90/10 split rule, malformed records named by
file and line, the answer rule, and the shared mirror's counts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lexiq.data.episode import EpisodeFormatError
from lexiq.data.loaders import load, stats
from lexiq.evaluation.gsm8k import accuracy, extract_answer, is_correct

MIRROR = next((p for p in (Path(__file__).resolve().parents[4] / "shared" / "data", Path("/work/shared/data"))
               if (p / "gsm8k").is_dir()), None)


def write_folder(root: Path, n_train: int = 23, n_test: int = 4) -> Path:
    folder = root / "gsm8k"
    folder.mkdir(parents=True)
    for name, n in (("train.jsonl", n_train), ("test.jsonl", n_test)):
        lines = [json.dumps({"question": f"{name} q{i}?", "answer": f"{i}+1=<<{i}+1={i + 1}>>{i + 1}\n#### {i + 1:,}"})
                 for i in range(n)]
        (folder / name).write_text("\n".join(lines) + "\n")
    return root


def test_episodes_splits_and_prompt_format(tmp_path):
    root = write_folder(tmp_path, n_train=23)
    train, val, test = (load("gsm8k", s, root=root) for s in ("train", "validation", "test"))
    n_val = math.ceil(0.1 * 23)
    assert (len(train), len(val), len(test)) == (23 - n_val, n_val, 4)
    perm = np.random.default_rng(42).permutation(23).tolist()
    assert [e.meta["index"] for e in val] == perm[:n_val]
    assert [e.meta["index"] for e in train] == perm[n_val:]
    ep = test[2]
    assert ep.terminated and [t.role for t in ep.turns] == ["environment", "agent"]
    assert ep.turns[0].text == "QUESTION: test.jsonl q2?\n\nSOLUTION:"
    assert ep.turns[1].text == " 2+1=<<2+1=3>>3\n#### 3"
    assert ep.meta == {"dataset": "gsm8k", "split": "test", "index": 2, "answer": "3"}
    chat = load("gsm8k_chat", "test", root=root)[2]
    assert chat.turns[0].text == "test.jsonl q2?" and chat.turns[1].text == "2+1=<<2+1=3>>3\n#### 3"
    assert len(load("gsm8k", "all", root=root)) == 27


def test_malformed_records_name_file_and_line(tmp_path):
    root = write_folder(tmp_path)
    path = root / "gsm8k" / "test.jsonl"
    lines = path.read_text().splitlines()
    for bad, message in (('{"question": "x"', "not valid JSON"), ('{"question": "x", "answer": 3}', "string fields"),
                         ('{"question": "x", "answer": "no final line"}', "no final '#### N'")):
        path.write_text("\n".join([*lines[:2], bad, *lines[2:]]) + "\n")
        with pytest.raises(EpisodeFormatError, match=rf"test.jsonl:3: .*{message}"):
            load("gsm8k", "test", root=root)
    path.write_bytes(b'{"question": "\xff", "answer": "#### 1"}\n')
    with pytest.raises(EpisodeFormatError, match=r"test.jsonl: cannot be read as UTF-8"):
        load("gsm8k", "test", root=root)


def test_answer_rule():
    assert extract_answer("so 3 + 4 = 7\n#### 1,234") == "1234"
    assert extract_answer("#### -0.5 and then #### 9") == "-0.5"
    assert extract_answer("the answer is 7") is None
    assert is_correct("... #### 12", "x\n#### 12") and not is_correct("#### 12.0", "#### 12")
    assert not is_correct("no answer", "#### 12")
    assert accuracy(["#### 1", "#### 2", "3"], ["#### 1", "#### 3", "#### 3"]) == pytest.approx(1 / 3)


@pytest.mark.skipif(MIRROR is None, reason="the shared data mirror is absent")
def test_mirror_counts_match_the_data_readme():
    s = stats("gsm8k", root=MIRROR)
    assert s["records"] == 7473 + 1319
    assert s["splits"] == {"train": 6725, "validation": 748, "test": 1319}
    assert all(e.meta["answer"] is not None for e in load("gsm8k", "test", root=MIRROR))
