"""Discrete BCQ decoding: at every step sample n tokens from a prior, keep the one with the highest Q.

Batch-constrained Q-learning keeps the policy on actions the data's behaviour would take (Fujimoto et al.,
"Benchmarking Batch Deep Reinforcement Learning Algorithms", arXiv 1910.01708); Jaques et al. 2019 ("Way
Off-Policy Batch Deep Reinforcement Learning of Implicit Human Preferences in Dialog", arXiv 1907.00456) decode
their dialogue Q networks this way (``specs/kl_control.md`` §6)::

    a_1 … a_n ~ p(· | s)   (with replacement; temperature / top-k / top-p of the decoding config act on p)
    a*        = argmax_{a ∈ {a_1 … a_n}}  Q(s, a)      (ties: the first sample)

Q and the prior come from any lexiq model:

* a model with Q heads (``ilql``, ``mc_returns``): ``Q = min_i Q_i`` of the target or online heads
  (``q_source``), computed as Q-guided decoding computes it (:mod:`lexiq.decoding.guided`);
* a model without heads (``kl_q``, whose LM logits are Q; or any LM): ``Q`` = the LM's logits.

The prior is ``decoding.prior`` (a causal LM directory with the same tokenizer, run step by step with its own KV
cache) or, for a model with heads, its own LM head π_β. ``num_return_sequences`` gives independent BCQ decodes of
each prompt (the upstream's five "beams" are such independent decodes, not a beam search). With ``bcq_samples=1``
BCQ is sampling from the prior; as ``bcq_samples`` grows it approaches ``argmax Q`` over the prior's support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import torch
from torch import nn
from transformers import GenerationConfig, LogitsProcessor

from lexiq.config import ConfigError
from lexiq.decoding.config import DecodingConfig
from lexiq.decoding.guided import GuidedLogitsProcessor, _HiddenCapture, _TargetStream, warpers
from lexiq.models.model import LexiqModel

__all__ = ["BCQLogitsProcessor", "generate_bcq", "load_prior"]


@lru_cache(maxsize=4)
def load_prior(path: str) -> nn.Module:
    """The causal LM in ``path`` (a lexiq policy or Hugging Face directory), frozen and in eval mode."""
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    if not (Path(path) / "config.json").is_file():
        raise ConfigError(f"decoding.prior: {path} is not a model directory (expected config.json there)")
    prior = AutoModelForCausalLM.from_pretrained(path)
    prior.requires_grad_(False)
    return prior.eval()


class BCQLogitsProcessor(LogitsProcessor):
    """Scores that are 0 at the BCQ choice of each row and −∞ elsewhere (greedy search then takes it).

    Use as a context manager around ``model.lm.generate`` (greedy, one row per decode): entering registers the
    hooks and resets the prior's cache, leaving removes them. ``generator`` makes the prior's samples
    reproducible."""

    def __init__(self, model: LexiqModel, cfg: DecodingConfig, prior: nn.Module | None = None,
                 generator: torch.Generator | None = None):
        if prior is None and model.heads is None:
            raise ConfigError("decoding.strategy=bcq: a policy without Q heads (kl_q, bc, ...) needs "
                              "decoding.prior=DIR, the prior LM to sample from (e.g. the model kl_q started from)")
        if prior is not None:
            n_prior = int(prior.get_output_embeddings().weight.shape[0])
            if n_prior != model.vocab_size:
                raise ConfigError(f"decoding.prior: the prior has a vocabulary of {n_prior} tokens, the policy "
                                  f"{model.vocab_size}; they must share the tokenizer")
        self.model = model
        self.cfg = cfg
        self.prior = prior
        self.generator = generator
        # min_i Q_i over the vocabulary = the advantage of Q-guided decoding with β = 1 and V left out
        self._q = None if model.heads is None else GuidedLogitsProcessor(
            model, replace(cfg, strategy="greedy", beta=1.0, exp_adv=True, adv_clip=None, temperature=1.0,
                           top_k=0, top_p=1.0, num_return_sequences=1), renormalize=False)
        self._capture = _HiddenCapture(model.lm, keep_inputs=True) if prior is not None else None
        self._prior = _TargetStream(prior, logits=True) if prior is not None else None
        self.filters = warpers(cfg)  # they shape the prior's distribution

    def __enter__(self) -> BCQLogitsProcessor:
        if self._q is not None:
            self._q.__enter__()
        if self._capture is not None:
            self._capture.attach()
        if self._prior is not None:
            self._prior.reset()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._q is not None:
            self._q.__exit__(*exc)
        if self._capture is not None:
            self._capture.detach()
        if self._prior is not None:
            self._prior.reset()

    def choose(self, prior_logits: torch.Tensor, q: torch.Tensor, input_ids: torch.Tensor | None = None
               ) -> torch.Tensor:
        """The BCQ token of each row (``[rows]``) from the prior's logits and Q (both ``[rows, |V|]``)."""
        scores = prior_logits.float()
        for f in self.filters:
            scores = f(input_ids, scores)
        probs = torch.softmax(scores, dim=-1)
        samples = torch.multinomial(probs, self.cfg.bcq_samples, replacement=True, generator=self.generator)
        best = q.float().gather(1, samples).argmax(1, keepdim=True)  # argmax keeps the first of tied samples
        return samples.gather(1, best).squeeze(1)

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        q = scores if self._q is None else self._q(input_ids, torch.zeros_like(scores))
        if self._prior is not None:
            assert self._capture is not None
            prior_logits = self._prior.step(input_ids, self._capture.args, self._capture.kwargs)
            self._capture.hidden = None
        else:
            prior_logits = scores  # the model's own LM head π_β (a model with Q heads)
        token = self.choose(prior_logits, q, input_ids)
        out = torch.full_like(scores, -torch.inf)
        return out.scatter_(1, token[:, None], 0.0)


@torch.no_grad()
def generate_bcq(model: LexiqModel, input_ids: torch.Tensor, attention_mask: torch.Tensor, cfg: DecodingConfig,
                 eos_token_id: int | Sequence[int] | None = None, pad_token_id: int | None = None,
                 prior: nn.Module | None = None, generator: torch.Generator | None = None) -> torch.LongTensor:
    """BCQ decodes of left-padded prompts: ``[B · num_return_sequences, T]`` new tokens (a prompt's rows
    consecutive). ``prior`` overrides ``cfg.prior``."""
    if prior is None and cfg.prior is not None:
        prior = load_prior(cfg.prior)
    device = input_ids.device
    if prior is not None:
        prior.to(device=device, dtype=next(model.lm.parameters()).dtype)
    k = cfg.num_return_sequences
    if k > 1:
        input_ids = input_ids.repeat_interleave(k, 0)
        attention_mask = attention_mask.repeat_interleave(k, 0)
    gen_cfg = GenerationConfig(max_new_tokens=cfg.max_new_tokens, eos_token_id=eos_token_id,
                               pad_token_id=pad_token_id, do_sample=False, num_beams=1, use_cache=True)
    kwargs: dict[str, Any] = {"attention_mask": attention_mask, "generation_config": gen_cfg}
    with BCQLogitsProcessor(model, cfg, prior, generator) as proc:
        out = model.lm.generate(input_ids, logits_processor=[proc], **kwargs)
    return out[:, input_ids.shape[1]:]
