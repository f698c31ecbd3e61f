"""``lexiq eval dialogue``: reference metrics of generated replies, the protocol of Sodhi et al. 2023.

For every test (context, gold reply) pair (``specs/dialogue_offline_rl.md`` Part B):

* candidates: candidate 1 = the **greedy** reply, candidates 2..5 = **beam search** with ``num_beams = 4``,
  ``num_return_sequences = 4`` (a policy's own decoding settings apply: Q-guided β for ``ilql``, the high-return
  prompt for ``dt``); prompts are the last 96 context tokens, replies at most 32 tokens;
* every candidate is scored against the gold reply with each metric (:mod:`lexiq.evaluation.text_metrics`);
* ``metric@top-k`` = mean over examples of the max over the first ``k`` candidates (k = 1, 5), with its standard
  error; ``click@k`` = the fraction of examples whose top-k BERTScore-style F1 exceeds ``click_threshold``
  (BERTClick; only when a threshold is given, since 0.6 belongs to rescaled roberta-large);
* ``reward_model_score``: a learned reward model's probability for (context, greedy reply), mean ± s.e.
* **reranking** (``reranker``, ``lexiq eval dialogue --rerank-with DIR``): a value model (an ``ilql`` or
  ``mc_returns`` policy) scores every candidate (:func:`lexiq.evaluation.candidates.value_scores`, ``V`` at the
  reply's last action by default) and the candidates are sorted by it, so top-1 is the value-best candidate of
  the generating policy (Sodhi et al.'s ILQL reranker) and the reward-model score is that reply's.

Writes ``predictions.csv`` (``context, true_response, response_1..5, {metric}_1..5``), ``summary.json`` and
``summary.md``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from lexiq.data.episode import AGENT, Episode, Turn

DEFAULT_METRICS = ("bleu", "chrf", "rouge_l", "bertscore_f1")


def render_context(turns: list[Turn]) -> str:
    """A readable one-line rendering of a context for the CSV: ``speaker: text`` joined by `` | ``."""
    return " | ".join(f"{t.speaker or t.role}: {t.text}" for t in turns)


def evaluate_dialogue(model: Any, tokenizer: Any, fmt: Any, golds: list[Episode], decoding: Any,
                      metrics: tuple[str, ...] = DEFAULT_METRICS, n_beams: int = 4,
                      reward_model: str | None = None, click_threshold: float | None = None,
                      max_prompt_tokens: int | None = 96, max_new_tokens: int = 32, batch_size: int = 16,
                      progress: bool = False, reranker: tuple[Any, Any, Any] | None = None,
                      rerank_kind: str = "v") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, CSV rows) of the protocol above for one-step gold reply episodes; ``reranker`` is a value model's
    ``(model, tokenizer, fmt)`` that reorders every example's candidates (module docstring)."""
    from lexiq.evaluation.candidates import generate_replies, rerank, split_reply, value_scores
    from lexiq.evaluation.metrics import mean_stderr
    from lexiq.evaluation.text_metrics import click_rate, rows, score_candidates, topk

    contexts = [split_reply(ep)[0] for ep in golds]
    refs = [split_reply(ep)[1].text for ep in golds]
    greedy = dataclasses.replace(decoding, strategy="greedy", num_return_sequences=1, max_new_tokens=max_new_tokens)
    first = generate_replies(model, tokenizer, fmt, contexts, greedy, batch_size, max_prompt_tokens, progress)
    candidates = [list(c) for c in first]
    if n_beams > 0:
        beam = dataclasses.replace(decoding, strategy="beam", num_beams=n_beams, num_return_sequences=n_beams,
                                   max_new_tokens=max_new_tokens)
        for c, more in zip(candidates, generate_replies(model, tokenizer, fmt, contexts, beam, batch_size,
                                                        max_prompt_tokens, progress), strict=True):
            c.extend(more)
    summary: dict[str, Any] = {"n": len(golds), "candidates": 1 + n_beams, "metrics": {}}
    if reranker is not None:
        r_model, r_tok, r_fmt = reranker
        window = None if max_prompt_tokens is None else max_prompt_tokens + max_new_tokens + 4
        values = value_scores(r_model, r_tok, r_fmt, contexts, candidates, kind=rerank_kind, max_length=window,
                              batch_size=batch_size)
        candidates = rerank(candidates, values)
        summary["reranked_by"] = {"kind": rerank_kind, "mean_best_value": sum(map(max, values)) / len(values)}
    tables = score_candidates(candidates, refs, list(metrics))
    k_max = 1 + n_beams
    for name, table in tables.items():
        entry = {}
        for k in sorted({1, k_max}):
            mean, se = topk(table, k)
            entry[f"top{k}"] = {"mean": mean, "stderr": se}
        summary["metrics"][name] = entry
    if click_threshold is not None and "bertscore_f1" in tables:
        summary["click"] = {f"top{k}": click_rate(tables["bertscore_f1"], k, click_threshold)
                            for k in sorted({1, k_max})} | {"threshold": click_threshold}
    if reward_model:
        from lexiq.models.reward_model import RewardScorer

        scorer = RewardScorer(reward_model)  # scores the first candidate: greedy, or value-best after reranking
        scored = scorer([Episode([*ctx, Turn(AGENT, c[0], 0.0, speaker=gold.turns[-1].speaker)])
                         for ctx, c, gold in zip(contexts, candidates, golds, strict=True)])
        mean, se = mean_stderr(scored)
        summary["reward_model_score"] = {"mean": mean, "stderr": se, "model": str(reward_model)}
    csv_rows = rows([render_context(c) for c in contexts], refs, candidates, tables)
    if reward_model:
        for row, s in zip(csv_rows, scored, strict=True):
            row["reward_model_1"] = s  # of the first candidate
    return summary, csv_rows


def summary_table(summary: dict[str, Any], name: str = "") -> str:
    """Markdown table of one summary (top-1 and top-k columns per metric)."""
    ks = [k for k in summary["metrics"][next(iter(summary["metrics"]))]]
    head = "| metric | " + " | ".join(ks) + " |"
    lines = [f"# Dialogue evaluation {name}".rstrip(), "", f"{summary['n']} test replies, "
             f"{summary['candidates']} candidates each (greedy + beams"
             f"{', reranked by a value model' if 'reranked_by' in summary else ''}).", "", head,
             "|---|" + "---|" * len(ks)]
    for metric, entry in summary["metrics"].items():
        cells = [f"{entry[k]['mean']:.4f} ± {entry[k]['stderr']:.4f}" for k in ks]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    if "reward_model_score" in summary:
        r = summary["reward_model_score"]
        lines.append(f"| reward_model_score (top-1) | {r['mean']:.4f} ± {r['stderr']:.4f} |" + " |" * (len(ks) - 1))
    if "click" in summary:
        c = summary["click"]
        lines.append(f"| click (F1 > {c['threshold']:g}) | " + " | ".join(f"{c[k]:.4f}" for k in ks) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(out: str | Path, summary: dict[str, Any], csv_rows: list[dict[str, Any]], name: str = "") -> Path:
    """``predictions.csv``, ``summary.json`` and ``summary.md`` in ``out``."""
    from lexiq.evaluation.text_metrics import write_rows_csv

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_rows_csv(out / "predictions.csv", csv_rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(summary_table(summary, name))
    return out
