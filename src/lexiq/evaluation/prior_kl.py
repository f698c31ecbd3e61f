"""KL divergence of a policy from a prior along replies: how far KL-control (or its absence) moved the policy.

For a reply a_1..a_T generated in context s_0 (states s_t = context + a_<t, the reply's end marker included as
its last action), with π = softmax of the policy's logits (for a Q-learning policy, softmax Q) and p the prior::

    KL_t = Σ_a π(a|s_t) · (log π(a|s_t) − log p(a|s_t))        kl_to_prior(reply) = (1/T) Σ_t KL_t

the exact per-token KL over the vocabulary, averaged over the reply's tokens (per token, so that a long reply is
not "far" only for its length; the length has its own column). Jaques et al. 2019 (arXiv 1907.00456) report
KL(π‖p) of their dialogue policies in the same spirit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lexiq.data.episode import AGENT, Episode, Turn


@torch.no_grad()
def kl_to_prior(policy_lm: Any, prior_lm: Any, tokenizer: Any, fmt: Any, contexts: Sequence[Sequence[Turn]],
                replies: Sequence[str], max_length: int | None = None, batch_size: int = 16) -> list[float]:
    """Per-token mean KL(π‖p) of each (context, reply), serialised as a one-step episode (module docstring).

    ``max_length`` keeps each sequence's last tokens (``left_tokens``), as at training time."""
    from lexiq.data.dialogue import as_context
    from lexiq.evaluation.candidates import episode_batches

    if len(contexts) != len(replies):
        raise ValueError(f"kl_to_prior: {len(contexts)} contexts for {len(replies)} replies")
    # earlier agent turns are context (as_context): only the reply's tokens are averaged over
    episodes = [Episode([*map(as_context, c), Turn(AGENT, r, 0.0)]) for c, r in zip(contexts, replies, strict=True)]
    device = next(policy_lm.parameters()).device
    out: list[float] = []
    for batch in episode_batches(episodes, tokenizer, fmt, max_length, batch_size):
        ids, attn = batch["input_ids"].to(device), batch["attention_mask"].to(device)
        mask = batch["action_mask"].to(device) > 0
        log_pi = F.log_softmax(policy_lm(input_ids=ids, attention_mask=attn).logits.float(), dim=-1)
        log_p = F.log_softmax(prior_lm(input_ids=ids, attention_mask=attn).logits.float(), dim=-1)
        kl = (log_pi.exp() * (log_pi - log_p)).sum(-1)  # [B, L]
        per_reply = (kl * mask).sum(1) / mask.sum(1).clamp(min=1)
        out += per_reply.tolist()
    return out
