"""Candidate replies and their rewards: the offline RL data set of dialogue response generation.

Sodhi et al. 2023 (arXiv 2307.12425; ``specs/dialogue_offline_rl.md`` A.6) build it in three steps, for every
(context, gold reply) pair of a split:

1. generate ``N`` candidates from the fine-tuned LM (beam search, ``num_beams = num_return_sequences = 5``; prompt =
   the last 96 tokens of the context, at most 32 new tokens): :func:`generate_replies`;
2. score each candidate — against the gold reply with a similarity metric and a threshold (the paper: rescaled
   BERTScore F1 > 0.6), or with a learned reward model: :func:`score_replies`;
3. write one one-step episode per reply: the gold reply with reward 1 and every candidate with its reward
   (:func:`offline_rl_episodes`), so each context gives ``N + 1`` episodes.

The reward sources are interchangeable: ``metric:<name>`` (any :func:`lexiq.evaluation.text_metrics.get_metric`
name, thresholded with ``threshold``; ``threshold=None`` keeps the raw score) or ``model:<dir>`` (a saved
:class:`lexiq.models.reward_model.RewardModel`; its probability, thresholded when ``threshold`` is set).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from lexiq.config import ConfigError
from lexiq.data.episode import AGENT, Episode, Turn


def split_reply(episode: Episode) -> tuple[list[Turn], Turn]:
    """(context turns, final agent turn) of a one-step reply episode."""
    if not episode.turns or episode.turns[-1].role != AGENT:
        raise ConfigError("expected one-step reply episodes ending with the agent's reply "
                          "(lexiq.data.dialogue.reply_episodes)")
    return list(episode.turns[:-1]), episode.turns[-1]


def generate_replies(model: Any, tokenizer: Any, fmt: Any, contexts: Sequence[Sequence[Turn]], decoding: Any,
                     batch_size: int = 16, max_prompt_tokens: int | None = 96, progress: bool = False,
                     ) -> list[list[str]]:
    """``decoding.num_return_sequences`` replies per context (beams best first), ``batch_size`` contexts at a time.

    Prompts keep their last ``max_prompt_tokens`` tokens; a return-conditioned policy (``dt``) is asked for a high
    return (:class:`lexiq.evaluation.rollout.LMPolicy`)."""
    from lexiq.evaluation.rollout import LMPolicy

    policy = LMPolicy(model, tokenizer, fmt, decoding, max_prompt_tokens=max_prompt_tokens)
    k = decoding.num_return_sequences
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(contexts), desc="generating replies", dynamic_ncols=True)
    out: list[list[str]] = []
    was_training = model.training
    model.eval()
    for start in range(0, len(contexts), batch_size):
        chunk = [Episode(list(c), terminated=False) for c in contexts[start:start + batch_size]]
        texts = policy.act(chunk)
        out += [texts[i * k:(i + 1) * k] for i in range(len(chunk))]
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    if was_training:
        model.train()
    return out


def parse_reward_source(source: str) -> tuple[str, str]:
    """``metric:<name>`` or ``model:<dir>`` → (kind, value); one-line error otherwise."""
    kind, sep, value = source.partition(":")
    if not sep or kind not in ("metric", "model") or not value:
        raise ConfigError(f"reward source {source!r}: expected metric:<name> (e.g. metric:bertscore_f1) or "
                          "model:<reward model directory>")
    return kind, value


def score_replies(contexts: Sequence[Sequence[Turn]], replies: Sequence[Sequence[str]], golds: Sequence[str],
                  source: str, threshold: float | None = None, speaker: str | None = "agent") -> list[list[float]]:
    """The reward of every reply (module docstring): ``1[score > threshold]``, or the raw score without one."""
    kind, value = parse_reward_source(source)
    flat = [(i, r) for i, rs in enumerate(replies) for r in rs]
    if kind == "metric":
        from lexiq.evaluation.text_metrics import get_metric

        try:
            metric = get_metric(value)
        except ValueError as exc:
            raise ConfigError(f"reward source {source!r}: {exc}") from None
        scores = metric.score([r for _, r in flat], [golds[i] for i, _ in flat])
    else:
        from lexiq.models.reward_model import RewardScorer

        scorer = RewardScorer(value)
        scores = scorer([Episode([*contexts[i], Turn(AGENT, r, 0.0, speaker=speaker)]) for i, r in flat])
    rewards = [float(s > threshold) if threshold is not None else float(s) for s in scores]
    out: list[list[float]] = [[] for _ in replies]
    for (i, _), r in zip(flat, rewards, strict=True):
        out[i].append(r)
    return out


def offline_rl_episodes(episodes: Sequence[Episode], replies: Sequence[Sequence[str]],
                        rewards: Sequence[Sequence[float]], gold_reward: float = 1.0) -> list[Episode]:
    """For every gold reply episode: itself with ``gold_reward``, then one episode per candidate with its reward.

    ``meta`` keeps the source's and adds ``candidate`` (0 = gold, 1..N = the candidates in generation order)."""
    out: list[Episode] = []
    for ep, rs, ws in zip(episodes, replies, rewards, strict=True):
        context, gold = split_reply(ep)
        out.append(Episode([*context, dataclasses.replace(gold, reward=float(gold_reward), token_rewards=None)],
                           meta={**ep.meta, "candidate": 0}))
        for j, (text, w) in enumerate(zip(rs, ws, strict=True), start=1):
            out.append(Episode([*context, Turn(AGENT, text, float(w), speaker=gold.speaker)],
                               meta={**ep.meta, "candidate": j}))
    return out


@torch.no_grad()
def episode_batches(episodes: Sequence[Episode], tokenizer: Any, fmt: Any, max_length: int | None = None,
                    batch_size: int = 32) -> Iterator[dict[str, torch.Tensor]]:
    """Collated token-MDP batches of ``episodes`` in order, ``batch_size`` at a time; with ``max_length`` set each
    sequence keeps its last ``max_length`` tokens (``left_tokens``)."""
    from lexiq.data.collate import collate_mdp
    from lexiq.data.token_mdp import TokenizedDataset

    data = TokenizedDataset(list(episodes), tokenizer, fmt, max_length=max_length, truncation="left_tokens")
    for start in range(0, len(data), batch_size):
        yield collate_mdp([data[j] for j in range(start, min(start + batch_size, len(data)))], tokenizer.pad_token_id)


def value_scores(model: Any, tokenizer: Any, fmt: Any, contexts: Sequence[Sequence[Turn]],
                 replies: Sequence[Sequence[str]], kind: str = "v", max_length: int | None = None,
                 batch_size: int = 32) -> list[list[float]]:
    """Value-model scores of candidate replies, for reranking (Sodhi et al.'s ``ilql_scorer``, A.9).

    Each (context, reply) is serialised as a one-step episode; the score is read at the reply's last action (the
    state that has read the whole reply and predicts the end marker ``e``): ``kind="v"`` gives ``V(s)`` (the
    paper's choice), ``kind="q"`` gives ``min_i Q̄_i(s, e)``, the value of ending the reply there. With
    ``max_length`` set each sequence keeps its last ``max_length`` tokens (``left_tokens``)."""
    from lexiq.models.reward_model import last_positions

    if getattr(model, "heads", None) is None:
        raise ConfigError("value_scores: this policy has no value heads (train it with ilql or mc_returns)")
    if kind not in ("v", "q"):
        raise ConfigError(f"value_scores: kind={kind!r}, expected 'v' or 'q'")
    flat = [Episode([*contexts[i], Turn(AGENT, r, 0.0)]) for i, rs in enumerate(replies) for r in rs]
    device = next(model.parameters()).device
    scores: list[float] = []
    for batch in episode_batches(flat, tokenizer, fmt, max_length, batch_size):
        ids, attn = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        pos = last_positions(batch).to(device) - 1  # the last action: its state predicts the end marker
        rows = torch.arange(ids.shape[0], device=device)
        h = model.value_hidden(ids, attn)[rows, pos].float()
        if kind == "v":
            s = model.heads.values(h)
        else:
            target_h = model.target_hidden(ids, attn)
            th = h if target_h is None else target_h[rows, pos].float()
            s = model.heads.q_at(th, ids[rows, pos + 1], target=True).amin(0)
        scores += s.tolist()
    out: list[list[float]] = []
    k = 0
    for rs in replies:
        out.append(scores[k:k + len(rs)])
        k += len(rs)
    return out


def rerank(replies: Sequence[Sequence[str]], scores: Sequence[Sequence[float]]) -> list[list[str]]:
    """Each context's replies sorted by score, highest first (ties keep generation order)."""
    return [[r for _, _, r in sorted(zip((-s for s in ss), range(len(rs)), rs, strict=True))]
            for rs, ss in zip(replies, scores, strict=True)]
