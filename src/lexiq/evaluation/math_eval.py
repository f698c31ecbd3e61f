"""Evaluation of a policy on GSM8K-style problems: accuracy, diversity, entropy, ROUGE and the implicit reward.

For each problem (a one-step episode: prompt turn(s), reference solution ending in ``#### N``) the policy writes
a greedy solution and ``samples`` sampled ones (temperature ``temperature``). Reported (``specs/irl.md`` §6.2):

* ``accuracy`` — exact match of the greedy solution's answer (:mod:`lexiq.evaluation.gsm8k`);
  ``accuracy_sampled`` — the same averaged over all samples;
* ``self_bleu`` — Self-BLEU of each problem's samples (:mod:`lexiq.evaluation.diversity`; lower = more diverse);
* ``entropy`` — mean per-token entropy ``H(π(·|s_t))`` of the policy along its sampled solutions (teacher forced,
  the end-of-turn token included);
* ``rouge_1``, ``rouge_2``, ``rouge_l`` — F-measures of the greedy solution against the reference (``rouge-score``);
* ``reward_accuracy_spearman`` — Spearman's ρ between each sample's implicit reward
  ``Σ_t r̂_t = Σ_t [Q(s_t, a_t) − γ(1 − d_t)·V(s_{t+1})]`` (Q = the logits; Wulfmeier et al. 2024) and whether
  it is correct.

Each metric but the correlation has a mean and a standard error over problems; ``entropy`` also has
``per_token`` (weighted by the samples' lengths); ``answered`` is the fraction of greedy solutions with a
``#### N`` line.

:func:`temperature_sweep` samples at several temperatures and reports ``accuracy_sampled`` and ``self_bleu`` at
each: the accuracy / diversity curve on which Wulfmeier et al. compare methods at equal diversity.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from typing import Any

import torch

from lexiq.data.episode import AGENT, Episode, Turn
from lexiq.evaluation.metrics import mean_with_stderr


@torch.no_grad()
def completion_scores(model: Any, tokenizer: Any, fmt: Any, prompts: Sequence[Sequence[Turn]],
                      completions: Sequence[str], gamma: float = 1.0, max_length: int | None = None,
                      batch_size: int = 16) -> list[dict[str, float]]:
    """Per completion (teacher forced after its prompt, closed by the end-of-turn token): ``entropy`` (mean over
    its tokens of H(π)), ``tokens``, ``logprob`` (Σ log π) and ``implicit_reward`` (Σ r̂, module docstring)."""
    from lexiq.evaluation.candidates import episode_batches
    from lexiq.objectives.base import next_tokens
    from lexiq.objectives.iq_learn import iq_learn_terms

    if len(prompts) != len(completions):
        raise ValueError(f"completion_scores: {len(prompts)} prompts for {len(completions)} completions")
    episodes = [Episode([*p, Turn(AGENT, c, 0.0)], terminated=True) for p, c in zip(prompts, completions,
                                                                                      strict=True)]
    device = next(model.parameters()).device
    out: list[dict[str, float]] = []
    for batch in episode_batches(episodes, tokenizer, fmt, max_length, batch_size):
        ids, attn = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        mask = batch["action_mask"].to(device) > 0
        logits = model.lm(input_ids=ids, attention_mask=attn).logits.float()
        rows = torch.arange(ids.shape[0], device=device)[:, None].expand_as(mask)[mask]
        v_next = torch.logsumexp(logits[rows, batch["next_state"].to(device)[mask]], dim=-1)
        t = iq_learn_terms(logits[mask], next_tokens(ids)[mask], v_next,
                           1.0 - batch["next_terminal"].to(device)[mask].float(), gamma)
        logp = torch.log_softmax(logits[mask], dim=-1)
        entropy = -(logp.exp() * logp).sum(-1)
        for b in range(ids.shape[0]):
            sel = rows == b
            n = int(sel.sum())
            out.append({"entropy": float(entropy[sel].mean()) if n else 0.0, "tokens": float(n),
                        "logprob": float(t["logpi"][sel].sum()), "implicit_reward": float(t["reward"][sel].sum())})
    return out


@functools.lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)


def evaluate_math(model: Any, tokenizer: Any, fmt: Any, episodes: Sequence[Episode], *, samples: int = 5,
                  temperature: float = 1.0, max_new_tokens: int = 256, max_prompt_tokens: int | None = None,
                  gamma: float = 1.0, batch_size: int = 16, seed: int = 0, progress: bool = False
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(summary, rows)``: the metrics of the module docstring, and one row per problem (prompt, reference,
    greedy solution, samples, correctness)."""
    from lexiq.decoding import DecodingConfig
    from lexiq.evaluation.candidates import generate_replies, split_reply
    from lexiq.evaluation.diversity import self_bleu, spearman
    from lexiq.evaluation.gsm8k import extract_answer, is_correct

    if samples < 2:
        raise ValueError(f"evaluate_math: samples={samples}; Self-BLEU needs at least 2 samples per problem")
    if not episodes:
        raise ValueError("evaluate_math: no problems")
    contexts, refs = [], []
    for ep in episodes:
        context, reply = split_reply(ep)
        contexts.append(context)
        refs.append(reply.text)
    greedy_cfg = DecodingConfig(strategy="greedy", beta=0.0, max_new_tokens=max_new_tokens)
    greedy = [r[0] for r in generate_replies(model, tokenizer, fmt, contexts, greedy_cfg, batch_size=batch_size,
                                             max_prompt_tokens=max_prompt_tokens, progress=progress)]
    sampled = _sample(model, tokenizer, fmt, contexts, samples, temperature, max_new_tokens, max_prompt_tokens,
                      batch_size, seed, progress)
    correct_greedy = [float(is_correct(g, r)) for g, r in zip(greedy, refs, strict=True)]
    correct_samples = [[float(is_correct(s, r)) for s in ss] for ss, r in zip(sampled, refs, strict=True)]
    flat_prompts = [c for c, ss in zip(contexts, sampled, strict=True) for _ in ss]
    flat_samples = [s for ss in sampled for s in ss]
    was_training = model.training
    model.eval()
    scores = completion_scores(model, tokenizer, fmt, flat_prompts, flat_samples, gamma=gamma, batch_size=batch_size)
    model.train(was_training)
    rouge = [_rouge().score(r, g) for g, r in zip(greedy, refs, strict=True)]
    sb_mean, sb_se = self_bleu(sampled)
    token_weighted = sum(s["entropy"] * s["tokens"] for s in scores) / max(1.0, sum(s["tokens"] for s in scores))
    summary: dict[str, Any] = {
        "accuracy": mean_with_stderr(correct_greedy),
        "accuracy_sampled": mean_with_stderr([statistics.fmean(c) for c in correct_samples]),
        "self_bleu": {"mean": sb_mean, "stderr": sb_se},
        "entropy": {**mean_with_stderr([s["entropy"] for s in scores]), "per_token": token_weighted},
        "rouge_1": mean_with_stderr([x["rouge1"].fmeasure for x in rouge]),
        "rouge_2": mean_with_stderr([x["rouge2"].fmeasure for x in rouge]),
        "rouge_l": mean_with_stderr([x["rougeL"].fmeasure for x in rouge]),
        "answered": mean_with_stderr([float(extract_answer(g) is not None) for g in greedy]),
        "reward_accuracy_spearman": spearman([s["implicit_reward"] for s in scores],
                                             [c for cs in correct_samples for c in cs]),
        "problems": len(episodes), "samples": samples, "temperature": temperature,
    }
    rows = [{"prompt": contexts[i][-1].text if contexts[i] else "", "reference": refs[i], "greedy": greedy[i],
             "greedy_correct": correct_greedy[i], "samples": sampled[i], "samples_correct": correct_samples[i]}
            for i in range(len(episodes))]
    return summary, rows


def _sample(model: Any, tokenizer: Any, fmt: Any, contexts: list[Any], samples: int, temperature: float,
            max_new_tokens: int, max_prompt_tokens: int | None, batch_size: int, seed: int, progress: bool
            ) -> list[list[str]]:
    """``samples`` solutions per context at ``temperature`` (torch's generator seeded with ``seed`` first)."""
    from lexiq.decoding import DecodingConfig
    from lexiq.evaluation.candidates import generate_replies

    cfg = DecodingConfig(strategy="sample", beta=0.0, temperature=temperature, max_new_tokens=max_new_tokens,
                         num_return_sequences=samples)
    torch.manual_seed(seed)
    return generate_replies(model, tokenizer, fmt, contexts, cfg, batch_size=max(1, batch_size // samples),
                            max_prompt_tokens=max_prompt_tokens, progress=progress)


def temperature_sweep(model: Any, tokenizer: Any, fmt: Any, episodes: Sequence[Episode], temperatures: Sequence[float],
                      *, samples: int = 5, max_new_tokens: int = 256, max_prompt_tokens: int | None = None,
                      batch_size: int = 16, seed: int = 0) -> list[dict[str, Any]]:
    """One entry per temperature: ``{"temperature", "accuracy_sampled", "self_bleu"}`` (mean and standard error
    over problems) of ``samples`` solutions per problem — the sampled-accuracy / diversity curve of a policy."""
    from lexiq.evaluation.candidates import split_reply
    from lexiq.evaluation.diversity import self_bleu
    from lexiq.evaluation.gsm8k import is_correct

    if samples < 2:
        raise ValueError(f"temperature_sweep: samples={samples}; Self-BLEU needs at least 2 samples per problem")
    if not episodes or not temperatures or any(t <= 0 for t in temperatures):
        raise ValueError(f"temperature_sweep: needs problems and positive temperatures, got {list(temperatures)}")
    pairs = [split_reply(ep) for ep in episodes]
    contexts, refs = [c for c, _ in pairs], [r.text for _, r in pairs]
    out = []
    for temperature in temperatures:
        sampled = _sample(model, tokenizer, fmt, contexts, samples, temperature, max_new_tokens, max_prompt_tokens,
                          batch_size, seed, False)
        correct = [statistics.fmean(float(is_correct(s, r)) for s in ss) for ss, r in zip(sampled, refs, strict=True)]
        sb_mean, sb_se = self_bleu(sampled)
        out.append({"temperature": temperature, "accuracy_sampled": mean_with_stderr(correct),
                    "self_bleu": {"mean": sb_mean, "stderr": sb_se}})
    return out
