"""GSM8K grade-school math (Cobbe et al. 2021, arXiv 2110.14168; ``openai/grade-school-math``) as one-step episodes.

Each JSONL record ``{"question", "answer"}`` (the answer is a rationale with calculator annotations ``<<48/2=24>>``
and a final line ``#### N``) becomes an environment turn (the prompt) and an agent turn (the solution), the
episode terminated after it. Two renderings:

* ``gsm8k`` — the prompt format of the IRL reference code (``specs/irl.md`` §6.1): prompt
  ``"QUESTION: {question}\\n\\nSOLUTION:"``, reply ``" " + answer`` (the end-of-turn token closes it; with
  ``data.format: auto`` that is the tokenizer's EOS, as the reference appends ``<|endoftext|>``);
* ``gsm8k_chat`` — the bare question as the user message and the answer as the assistant reply, for
  ``data.format: chat_template`` with an instruction-tuned model.

Splits: upstream ``train.jsonl`` is split 90/10 into ``train`` (6,725) and ``validation`` (748) exactly as the
reference's ``datasets`` call ``train_test_split(test_size=0.1, seed=42)`` does it —
``p = numpy.random.default_rng(42).permutation(7473)``, validation = records ``p[:748]`` (748 = ⌈0.1·7473⌉),
train = ``p[748:]`` in that order; ``test`` is upstream ``test.jsonl`` (1,319). Every episode's ``meta`` holds
``dataset``, ``split``, ``index`` (line number in its file, from 0) and ``answer`` (the final number, see
:func:`lexiq.evaluation.gsm8k.extract_answer`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, EpisodeFormatError, Turn
from lexiq.data.loaders.common import LoadResult
from lexiq.data.loaders.splits import ALL, TEST, TRAIN, VALIDATION, canonical_split

FILES = {"train": "train.jsonl", "test": "test.jsonl"}
VALIDATION_FRACTION = 0.1
SPLIT_SEED = 42


def reference_prompt(question: str) -> str:
    """The IRL reference code's prompt: ``QUESTION: {question}\\n\\nSOLUTION:``."""
    return f"QUESTION: {question}\n\nSOLUTION:"


def _records(path: Path) -> list[dict[str, str]]:
    """The records of one GSM8K JSONL file; a malformed line is a one-line error naming the file and line."""
    from lexiq.evaluation.gsm8k import extract_answer

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected GSM8K's {path.name})")
    out = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: JSON strings may hold U+2028
    except UnicodeDecodeError as exc:
        raise EpisodeFormatError(f"{path}: cannot be read as UTF-8 ({exc.reason} at byte {exc.start})") from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EpisodeFormatError(f"{path}:{i}: not valid JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in ("question", "answer")):
            raise EpisodeFormatError(f"{path}:{i}: expected an object with string fields 'question' and "
                                     "'answer'")
        if extract_answer(rec["answer"]) is None:
            raise EpisodeFormatError(f"{path}:{i}: the answer has no final '#### N' line")
        out.append(rec)
    return out


def split_indices(n: int) -> dict[str, list[int]]:
    """``train`` / ``validation`` indices of upstream train.jsonl's ``n`` records (module docstring)."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_val = math.ceil(VALIDATION_FRACTION * n)
    return {VALIDATION: perm[:n_val].tolist(), TRAIN: perm[n_val:].tolist()}


def problem_episode(rec: dict[str, str], split: str, index: int, chat: bool) -> Episode:
    from lexiq.evaluation.gsm8k import extract_answer

    prompt = rec["question"] if chat else reference_prompt(rec["question"])
    reply = rec["answer"] if chat else " " + rec["answer"]
    return Episode([Turn(ENVIRONMENT, prompt, speaker="user"), Turn(AGENT, reply, 0.0)], terminated=True,
                   meta={"dataset": "gsm8k_chat" if chat else "gsm8k", "split": split, "index": index,
                         "answer": extract_answer(rec["answer"])})


def read_gsm8k(folder: Path, split: str, chat: bool = False) -> LoadResult:
    """The episodes of ``split`` (``train``, ``validation``, ``test`` or ``all``) from GSM8K's folder."""
    split = canonical_split(split, what="gsm8k")
    result = LoadResult()
    wanted = (TRAIN, VALIDATION, TEST) if split == ALL else (split,)
    if TRAIN in wanted or VALIDATION in wanted:
        train = _records(folder / FILES["train"])
        result.read += len(train)
        parts = split_indices(len(train))
        for name in (TRAIN, VALIDATION):
            if name in wanted:
                result.episodes += [problem_episode(train[i], name, i, chat) for i in parts[name]]
    if TEST in wanted:
        test = _records(folder / FILES["test"])
        result.read += len(test)
        result.episodes += [problem_episode(r, TEST, i, chat) for i, r in enumerate(test)]
    return result
