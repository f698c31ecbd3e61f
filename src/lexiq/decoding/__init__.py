"""Decoding strategies: plain and Q-guided (ILQL) generation through Hugging Face ``generate``."""

from lexiq.decoding.config import DecodingConfig
from lexiq.decoding.guided import GuidedLogitsProcessor, beta_sweep, generate, guided_logits_processor

__all__ = ["DecodingConfig", "GuidedLogitsProcessor", "beta_sweep", "generate", "guided_logits_processor"]
