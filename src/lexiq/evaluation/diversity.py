"""Diversity of sampled completions, and rank correlation.

**Self-BLEU** (Zhu et al. 2018, "Texygen", arXiv 1802.01886; the diversity measure of Wulfmeier et al. 2024,
``specs/irl.md`` §6.2): for each prompt with K samples, every sample is scored by sentence BLEU against the other
K − 1 samples as references; the score of a prompt is the mean over its samples, and Self-BLEU the mean over
prompts. Lower is more diverse; identical samples give 1. lexiq uses sacrebleu's BLEU with 4-gram order, 13a
tokens and exponential smoothing (Chen & Cherry 2014 method 3, sacrebleu's default for sentence BLEU), on a
0–1 scale; empty samples score 0.

**Spearman's ρ** between two score lists (the implicit reward against a task metric) comes from
``scipy.stats.spearmanr`` (average ranks for ties); NaN when either list is constant.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from typing import Any


@functools.lru_cache(maxsize=1)
def _scorer() -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU(max_ngram_order=4, smooth_method="exp", tokenize="13a", effective_order=True)


def _bleu(hyp: str, refs: Sequence[str]) -> float:
    if not hyp.strip() or not any(r.strip() for r in refs):
        return 0.0
    return min(1.0, _scorer().sentence_score(hyp, list(refs)).score / 100.0)


def self_bleu_of(samples: Sequence[str]) -> float:
    """Self-BLEU of one prompt's samples (K ≥ 2): mean over samples of BLEU(sample, the other samples)."""
    if len(samples) < 2:
        raise ValueError(f"self-BLEU needs at least 2 samples per prompt, got {len(samples)}")
    return statistics.fmean(_bleu(s, [*samples[:i], *samples[i + 1:]]) for i, s in enumerate(samples))


def self_bleu(samples_per_prompt: Sequence[Sequence[str]]) -> tuple[float, float]:
    """(mean, standard error) over prompts of :func:`self_bleu_of`."""
    from lexiq.evaluation.metrics import mean_with_stderr

    per_prompt = [self_bleu_of(s) for s in samples_per_prompt]
    if not per_prompt:
        raise ValueError("self-BLEU: no prompts")
    cell = mean_with_stderr(per_prompt)
    return cell["mean"], cell["stderr"]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (NaN if either is constant)."""
    from scipy.stats import spearmanr

    if len(x) != len(y):
        raise ValueError(f"spearman: {len(x)} values against {len(y)}")
    if len(set(x)) < 2 or len(set(y)) < 2:
        return float("nan")
    return float(spearmanr(x, y).statistic)
