"""Semantic coherence reward: the offline substitute for the InferSent (Jaques et al. 2019, "Way Off-Policy Batch
Deep Reinforcement Learning of Implicit Human Preferences in Dialog", arXiv 1907.00456) and Universal Sentence
Encoder (Jaques et al. 2020) sentence-embedding similarity rewards.

``semantic_coherence(ex) = cos(v(u_prev), v(b))`` where ``v`` is the sentence embedding of the local
all-MiniLM-L6-v2 encoder (:func:`lexiq.evaluation.bertscore.default_encoder_dir`, or any Hugging Face encoder
folder): the last hidden states mean-pooled over the attention mask (special tokens included, as in the
sentence-transformers pooling of this model), then L2-normalised, so the cosine is a dot product in [−1, 1].
Inputs are truncated to 256 tokens (the model's ``max_seq_length``). If ``u_prev`` or ``b`` is empty (after
stripping whitespace) the reward is 0. Default normalisation: ``z`` (like ``reward_infersent_coherence``).

**Substitution**: InferSent v1 (GloVe-840B) / USE-large are replaced by MiniLM; only the interface
("sentence-embedding cosine") is kept, so values are on a different scale than the original's.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from lexiq.rewards.exchange import Exchange

MAX_LENGTH = 256
"""Token limit per sentence (all-MiniLM-L6-v2's ``max_seq_length``)."""


@cache
def _load(model_dir: str, device: str) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    if not (Path(model_dir) / "config.json").is_file():
        raise FileNotFoundError(f"semantic_coherence: no config.json in {model_dir} (not a HF model folder)")
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).to(device).eval()
    return tokenizer, model


def embed(sentences: Sequence[str], model_dir: str | Path | None = None, batch_size: int = 64,
          device: str | None = None) -> Any:
    """L2-normalised mean-pooled sentence embeddings, a float tensor ``[len(sentences), hidden]``.

    Each distinct sentence is encoded once, in batches of ``batch_size``, under ``torch.no_grad()``.
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if model_dir is None:
        from lexiq.evaluation.bertscore import default_encoder_dir

        model_dir = default_encoder_dir()
    from lexiq.models.device import default_device

    device = device or default_device()
    tokenizer, model = _load(str(model_dir), device)
    distinct = list(dict.fromkeys(sentences))
    vectors: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for start in range(0, len(distinct), batch_size):
            batch = distinct[start:start + batch_size]
            enc = tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            enc = {k: v.to(device) for k, v in enc.items()}
            hidden = model(**enc).last_hidden_state.float()
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1).cpu()
            for sent, vec in zip(batch, pooled, strict=True):
                vectors[sent] = vec
    if not sentences:
        return torch.zeros(0, int(model.config.hidden_size))
    return torch.stack([vectors[s] for s in sentences])


def semantic_coherence_batch(exchanges: Sequence[Exchange], model_dir: str | Path | None = None,
                             batch_size: int = 64, device: str | None = None) -> list[float]:
    """``cos(v(u_prev), v(b))`` for every exchange, with one batched encoder pass over all distinct sentences;
    0 where ``u_prev`` or ``b`` is empty."""
    keep = [i for i, ex in enumerate(exchanges) if ex.previous_user.strip() and ex.bot.strip()]
    values = [0.0] * len(exchanges)
    if not keep:
        return values
    texts = [exchanges[i].previous_user for i in keep] + [exchanges[i].bot for i in keep]
    vecs = embed(texts, model_dir=model_dir, batch_size=batch_size, device=device)
    sims = (vecs[: len(keep)] * vecs[len(keep):]).sum(dim=-1).tolist()
    for i, sim in zip(keep, sims, strict=True):
        values[i] = float(sim)
    return values


def semantic_coherence(ex: Exchange) -> float:
    """``cos(v(u_prev), v(b))`` for one exchange (the default encoder); see :func:`semantic_coherence_batch`."""
    return semantic_coherence_batch([ex])[0]
