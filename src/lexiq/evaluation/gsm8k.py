"""GSM8K answers: the official extraction rule and exact-match accuracy.

The rule of ``openai/grade-school-math`` (``grade_school_math/dataset.py``; Cobbe et al. 2021, arXiv 2110.14168):
take the first match of ``#### (-?[0-9.,]+)`` in the text, strip it and remove its commas; a text without a
match has no answer (``[invalid]`` upstream) and is wrong. A completion is correct iff its extracted answer
equals the reference's extracted answer as strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

ANSWER_RE = re.compile(r"#### (\-?[0-9\.\,]+)")


def extract_answer(text: str) -> str | None:
    """The final answer of a GSM8K rationale or completion (``"#### 1,234"`` → ``"1234"``), None without one."""
    match = ANSWER_RE.search(text)
    if match is None:
        return None
    return match.group(1).strip().replace(",", "")


def is_correct(completion: str, reference: str) -> bool:
    """Exact match of the extracted answers; a completion (or reference) without ``#### N`` is wrong."""
    got, want = extract_answer(completion), extract_answer(reference)
    return got is not None and want is not None and got == want


def accuracy(completions: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of completions whose answer matches the reference's (:func:`is_correct`)."""
    if len(completions) != len(references):
        raise ValueError(f"accuracy: {len(completions)} completions for {len(references)} references")
    if not completions:
        raise ValueError("accuracy: no completions")
    return sum(is_correct(c, r) for c, r in zip(completions, references, strict=True)) / len(completions)
