"""Low-rank adapters (LoRA) on a lexiq policy, through the maintained ``peft`` library.

Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models" (arXiv 2106.09685): every adapted linear
layer computes ``W x + (α / r) · B A x`` with ``A ∈ R^{r×d_in}``, ``B ∈ R^{d_out×r}``, ``B`` initialised to 0, so
training starts from the pretrained function exactly; only ``A`` and ``B`` are trained. With ``model.lora_r > 0``
:func:`lexiq.models.presets.build_model` wraps the backbone ``model.lm`` in a ``peft`` model; every objective
reads logits and hidden states through it unchanged. The saved policy is always a plain Hugging Face directory:
:meth:`lexiq.models.model.LexiqModel.save_pretrained` merges the adapters into a copy of the weights
(``W ← W + (α / r)·B A``), so decoding, evaluation and any HF pipeline load it with no ``peft`` installed.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

from torch import nn

from lexiq.config import ConfigError


class LoraUnavailableError(ConfigError):
    """``model.lora_r > 0`` without the ``peft`` package."""


def is_lora(lm: nn.Module) -> bool:
    """Whether ``lm`` is a ``peft`` model (adapters attached)."""
    return hasattr(lm, "get_base_model") and hasattr(lm, "peft_config")


def add_lora(lm: nn.Module, r: int, alpha: float, dropout: float, targets: str) -> nn.Module:
    """``lm`` wrapped with rank-``r`` adapters on the linear layers named by ``targets`` (comma-separated module
    names, or ``all-linear``: every linear layer except the output layer); every other weight is frozen."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:  # pragma: no cover - depends on the environment
        raise LoraUnavailableError("model.lora_r > 0 needs the peft package: pip install 'lexiq[lora]'") from None
    if r < 1:
        raise ConfigError(f"model.lora_r={r}: expected a rank of at least 1 (0 trains every weight)")
    names = targets.strip()
    target_modules: str | list[str] = names if names == "all-linear" else [n.strip() for n in names.split(",")
                                                                          if n.strip()]
    if not target_modules:
        raise ConfigError(f"model.lora_targets={targets!r}: expected module names or 'all-linear'")
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules,
                        task_type="CAUSAL_LM")
    try:
        with warnings.catch_warnings():  # GPT-2's Conv1D layers: peft sets fan_in_fan_out itself and says so
            warnings.filterwarnings("ignore", message="fan_in_fan_out is set to False")
            return get_peft_model(lm, config)
    except ValueError as err:  # peft names the modules it could not find
        raise ConfigError(f"model.lora_targets={targets!r}: {str(err).splitlines()[0]}") from None


def merged_copy(lm: nn.Module) -> nn.Module:
    """A plain model whose weights include the adapters (``W + (α/r)·B A``); ``lm`` itself is left untouched."""
    if not is_lora(lm):
        return lm
    return copy.deepcopy(lm).merge_and_unload()


def base_model(lm: nn.Module) -> nn.Module:
    """The wrapped causal LM of a ``peft`` model (its layers carry the adapters), else ``lm``."""
    return lm.get_base_model() if is_lora(lm) else lm


def trainable_fraction(lm: nn.Module) -> dict[str, Any]:
    """``{"trainable", "total", "fraction"}`` parameter counts of ``lm``."""
    total = sum(p.numel() for p in lm.parameters())
    trainable = sum(p.numel() for p in lm.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total, "fraction": trainable / max(total, 1)}
