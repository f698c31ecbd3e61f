"""Configuration of (Q-guided) decoding: search strategy, advantage weight β and the filters around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lexiq.config import ConfigError

Strategy = Literal["greedy", "sample", "beam", "bcq"]
FilterOrder = Literal["before", "after"]
QSource = Literal["target", "online"]


@dataclass
class DecodingConfig:
    """How to decode from a :class:`~lexiq.models.model.LexiqModel`: π(a|s) ∝ π_β(a|s)·exp(β(Q̄(s,a) − V(s))).

    Per step, with ℓ the policy logits of the current position (see :mod:`lexiq.decoding.guided` for the full
    order): ``filter_order="before"`` → ``ℓ' = top_p(top_k(ℓ / temperature)) + A``;
    ``filter_order="after"`` → ``ℓ' = top_p(top_k((ℓ + A) / temperature))``; then greedy argmax, sampling from
    ``softmax(ℓ')`` or beam search over ``log_softmax(ℓ')``. ``strategy="bcq"`` is discrete BCQ instead
    (:mod:`lexiq.decoding.bcq`): per step ``bcq_samples`` tokens from the prior (temperature/top-k/top-p act on the
    prior), the one with the highest Q kept.
    """

    strategy: Strategy = "greedy"
    """Search: "greedy" (argmax), "sample" (multinomial), "beam" (beam search over guided log-probs) or "bcq"
    (sample bcq_samples tokens from the prior, keep the one with the highest Q)."""
    beta: float = 1.0
    """Advantage weight β at inference (original `adv_weight`); 0 = the plain policy π_β (no heads
    evaluated). Sweep it ({1, 2, 4, 8, 16}) rather than trusting one value."""
    adv_clip: float | None = None
    """Upper bound on the advantage term A = min(A, adv_clip); None = no clipping; 0.0 = only penalise tokens
    judged worse than V (the Wordle setting)."""
    exp_adv: bool = True
    """True: A = β·(Q̄ − V). False: A = log(β·1[Q̄−V>0] + (1−β)·1[Q̄−V≤0]) (needs 0 < β ≤ 1)."""
    filter_order: FilterOrder = "before"
    """"before": temperature/top-k/top-p act on π_β's logits and THEN A is added (original ILQL);
    "after": A is added to the raw logits, then temperature/top-k/top-p (trlx, LMRL)."""
    q_source: QSource = "target"
    """Which Q heads give Q̄: "target" (min over the Polyak target heads; original, trlx) or "online"
    (min over the trained Q heads; LMRL)."""
    temperature: float = 1.0
    """Softmax temperature (position relative to A set by filter_order; also applies to greedy and beam)."""
    top_k: int = 0
    """Keep only the k highest-scoring tokens (0 = off)."""
    top_p: float = 1.0
    """Nucleus filter: keep the smallest set of tokens whose probability mass reaches top_p (1.0 = off)."""
    num_beams: int = 4
    """Beam width for strategy "beam" (1 = greedy)."""
    length_penalty: float = 0.0
    """Beam score = sum of guided log-probs / length**length_penalty; 0 = plain sum (original ILQL;
    Hugging Face's default is 1.0)."""
    max_new_tokens: int = 32
    """Maximum number of generated tokens per prompt."""
    num_return_sequences: int = 1
    """Samples per prompt ("sample"), best beams per prompt ("beam", ≤ num_beams) or independent BCQ decodes
    ("bcq", the upstream's five BCQ "beams"); rows of a prompt are consecutive in the output."""
    bcq_samples: int = 10
    """bcq: tokens sampled (with replacement) from the prior per step; the one with the highest Q is kept
    (Jaques et al. 2019 use 10; 1 = sampling from the prior)."""
    return_guidance: float = 0.0
    """dt: classifier-free guidance weight w on the return token, scores = (1 + w)·log π(a|s, R=high) −
    w·log π(a|s, R=low) (:mod:`lexiq.decoding.return_guidance`); 0 = plain return-conditioned decoding."""
    prior: str | None = None
    """bcq: the prior LM's directory (a lexiq policy or a Hugging Face causal LM with the policy's tokenizer);
    None = the model's own LM head π_β, which needs a model with Q heads (ilql, mc_returns)."""

    def __post_init__(self) -> None:
        if self.strategy not in ("greedy", "sample", "beam", "bcq"):
            raise ConfigError(f"decoding.strategy: expected 'greedy', 'sample', 'beam' or 'bcq', "
                             f"got {self.strategy!r}")
        if self.return_guidance < 0:
            raise ConfigError(f"decoding.return_guidance: expected a value >= 0, got {self.return_guidance}")
        if self.return_guidance > 0 and self.strategy == "bcq":
            raise ConfigError("decoding.return_guidance: not available with strategy=bcq (greedy, sample or beam)")
        if self.bcq_samples < 1:
            raise ConfigError(f"decoding.bcq_samples: expected an integer >= 1, got {self.bcq_samples}")
        if self.filter_order not in ("before", "after"):
            raise ConfigError(f"decoding.filter_order: expected 'before' or 'after', "
                             f"got {self.filter_order!r}")
        if self.q_source not in ("target", "online"):
            raise ConfigError(f"decoding.q_source: expected 'target' or 'online', got {self.q_source!r}")
        if self.beta < 0:
            raise ConfigError(f"decoding.beta: expected a value >= 0, got {self.beta}")
        if not self.exp_adv and self.beta > 1:
            raise ConfigError(f"decoding.beta: with exp_adv=false β weighs good vs bad tokens and must lie in "
                             f"[0, 1], got {self.beta}")
        if self.temperature <= 0:
            raise ConfigError(f"decoding.temperature: expected a value > 0, got {self.temperature}")
        if self.top_k < 0:
            raise ConfigError(f"decoding.top_k: expected an integer >= 0 (0 = off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"decoding.top_p: expected a value in (0, 1], got {self.top_p}")
        if self.num_beams < 1:
            raise ConfigError(f"decoding.num_beams: expected an integer >= 1, got {self.num_beams}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"decoding.max_new_tokens: expected an integer >= 1, got {self.max_new_tokens}")
        if self.num_return_sequences < 1:
            raise ConfigError(f"decoding.num_return_sequences: expected an integer >= 1, got "
                             f"{self.num_return_sequences}")
        if self.strategy == "greedy" and self.num_return_sequences != 1:
            raise ConfigError("decoding.num_return_sequences: greedy decoding returns one sequence per prompt")
        if self.strategy == "beam" and self.num_return_sequences > self.num_beams:
            raise ConfigError(f"decoding.num_return_sequences: at most num_beams ({self.num_beams}) with beam "
                             f"search, got {self.num_return_sequences}")

    @property
    def has_filters(self) -> bool:
        """Whether temperature, top-k or top-p change the scores."""
        return self.temperature != 1.0 or self.top_k > 0 or self.top_p < 1.0
