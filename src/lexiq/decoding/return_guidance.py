"""Return guidance: classifier-free guidance on a Decision Transformer's return token.

A return-conditioned policy (``dt``) knows π(a | s, R=high) and π(a | s, R=low); the two prompts differ only in
the return token before the reply. Classifier-free guidance (Ho & Salimans 2022, arXiv 2207.12598; for language
models Sanchez et al. 2023, "Stay on topic with Classifier-Free Guidance", arXiv 2306.17806) decodes from
scores that move further in the direction the high-return token moves the policy::

    s(a) = log π(a | s, R=high) + w · [log π(a | s, R=high) − log π(a | s, R=low)]

``w = 0`` is plain DT decoding; ``w > 0`` sharpens the return conditioning (Sanchez et al.'s γ is ``1 + w``).
Temperature / top-k / top-p act on ``s``; greedy search takes its argmax, sampling draws from ``softmax(s)`` and
beam search scores beams with ``log_softmax(s)``.

Both prompts run as one batch of twice the rows (high-return prompts first). At every step the processor
computes ``s`` for each high-return row and gives its low-return twin the same scores, so greedy and beam search
pick the same tokens in both halves and the low-return rows always hold the same reply so far; for sampling
the processor draws the token itself (``generator``) and hands back a one-hot score. The cost is one extra
forward per step, batched with the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import LogitsProcessor

from lexiq.decoding.config import DecodingConfig
from lexiq.decoding.guided import _generation_config, warpers
from lexiq.models.model import LexiqModel

__all__ = ["ReturnGuidanceProcessor", "generate_return_guided", "guided_scores"]


def guided_scores(high_logits: torch.Tensor, low_logits: torch.Tensor, weight: float) -> torch.Tensor:
    """``(1 + w) · log_softmax(high) − w · log_softmax(low)`` over the last dimension (module docstring)."""
    high = torch.log_softmax(high_logits.float(), dim=-1)
    if weight == 0:
        return high
    low = torch.log_softmax(low_logits.float(), dim=-1)
    return (1.0 + weight) * high - weight * low


class ReturnGuidanceProcessor(LogitsProcessor):
    """Scores of a batch whose first half are high-return rows and second half their low-return twins."""

    def __init__(self, cfg: DecodingConfig, generator: torch.Generator | None = None):
        self.cfg = cfg
        self.generator = generator
        self.filters = warpers(cfg)

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        rows = scores.shape[0] // 2
        s = guided_scores(scores[:rows], scores[rows:], self.cfg.return_guidance)
        ids = input_ids[:rows]
        for f in self.filters:
            s = f(ids, s)
        if self.cfg.strategy == "sample":
            token = torch.multinomial(torch.softmax(s, dim=-1), 1, generator=self.generator)
            s = torch.full_like(s, -torch.inf).scatter_(1, token, 0.0)
        elif self.cfg.strategy == "beam":
            s = torch.log_softmax(s, dim=-1)
        return torch.cat([s, s]).to(scores.dtype)


@torch.no_grad()
def generate_return_guided(model: LexiqModel, input_ids: torch.Tensor, low_input_ids: torch.Tensor,
                           attention_mask: torch.Tensor, cfg: DecodingConfig,
                           eos_token_id: int | Sequence[int] | None = None, pad_token_id: int | None = None,
                           generator: torch.Generator | None = None) -> torch.LongTensor:
    """Return-guided decodes of left-padded high-return prompts ``input_ids`` whose low-return twins
    ``low_input_ids`` have the same shape and padding. Returns the new tokens, ``[B · num_return_sequences, T]``
    (a prompt's rows consecutive), as :func:`lexiq.decoding.guided.generate` does."""
    if low_input_ids.shape != input_ids.shape:
        raise ValueError(f"return guidance: the low-return prompts {tuple(low_input_ids.shape)} must have the "
                         f"shape of the high-return prompts {tuple(input_ids.shape)}")
    if cfg.strategy not in ("greedy", "sample", "beam"):
        raise ValueError(f"return guidance: decoding.strategy={cfg.strategy!r} is not supported "
                         "(greedy, sample or beam)")
    k = cfg.num_return_sequences
    gen_cfg = _generation_config(cfg, eos_token_id, pad_token_id)
    if cfg.strategy == "sample":  # the processor samples; generate only follows its one-hot scores
        gen_cfg.do_sample, gen_cfg.num_return_sequences = False, 1
        input_ids, low_input_ids, attention_mask = (x.repeat_interleave(k, 0)
                                                    for x in (input_ids, low_input_ids, attention_mask))
    ids = torch.cat([input_ids, low_input_ids])
    mask = torch.cat([attention_mask, attention_mask])
    kwargs: dict[str, Any] = {"attention_mask": mask, "generation_config": gen_cfg}
    out = model.lm.generate(ids, logits_processor=[ReturnGuidanceProcessor(cfg, generator)], **kwargs)
    rows = input_ids.shape[0] * (1 if cfg.strategy == "sample" else k)
    return out[:rows, input_ids.shape[1]:]
