"""Build or load the backbone language model.

``ModelConfig.path`` is a local Hugging Face directory (any causal LM ``AutoModelForCausalLM`` loads), the name
of an offline model converted once by ``lexiq models prepare`` (``smollm2``; :mod:`lexiq.models.pretrained`), or
the name of a from-scratch preset:

======== ===================================================================================
preset   GPT-2 shape (layers × width, heads)
======== ===================================================================================
tiny     2 × 64, 2 heads   (tests, smoke runs)
small    4 × 256, 4 heads  (laptop experiments)
wordle   4 × 128, 4 heads  (the char-level Wordle benchmark; its tokenizer is ``wordle-char``)
======== ===================================================================================

Tokenizers: ``tokenizer`` is a local directory, ``wordle-char`` (the 35-token Wordle character tokenizer of
the ILQL paper) or ``bytes`` (one token per UTF-8 byte, :mod:`lexiq.models.byte_tokenizer`: real text with no
pretrained vocabulary); for a local model directory it defaults to that directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lexiq.models.model import LexiqModel, ModelLoadError, check_model_dir
from lexiq.models.pretrained import OFFLINE_MODELS, resolve

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 2, "n_embd": 64, "n_head": 2},
    "small": {"n_layer": 4, "n_embd": 256, "n_head": 4},
    "wordle": {"n_layer": 4, "n_embd": 128, "n_head": 4},
}


@dataclass
class ModelConfig:
    """Which backbone to train."""

    path: str = "tiny"
    """A local HF model directory, an offline model prepared with `lexiq models prepare` (smollm2), or a
    from-scratch preset: tiny, small, wordle."""
    tokenizer: str | None = None
    """A local tokenizer directory, 'wordle-char' (Wordle's 35 characters) or 'bytes' (any text, one token per
    UTF-8 byte); default: the model directory (or wordle-char for presets)."""
    n_positions: int = 256
    """Context length of from-scratch presets."""
    n_layer: int | None = None
    """Override the preset's number of layers."""
    n_embd: int | None = None
    """Override the preset's width."""
    n_head: int | None = None
    """Override the preset's number of attention heads."""
    dropout: float = 0.0
    """Dropout of from-scratch presets."""
    arch: Literal["gpt2", "llama"] = "gpt2"
    """Architecture of from-scratch presets: gpt2 (learned absolute positions) or llama (rotary positions,
    RMSNorm, SwiGLU; same layers/width/heads, MLP width 4×)."""
    lora_r: int = 0
    """LoRA rank (peft; `pip install 'lexiq[lora]'`): 0 trains every weight; r > 0 trains only rank-r adapters
    on the linear layers, merged into the weights when the policy is saved."""
    lora_alpha: float = 16.0
    """LoRA scale numerator: the adapter update is (lora_alpha / lora_r) * B A."""
    lora_dropout: float = 0.0
    """Dropout on the adapters' input."""
    lora_targets: str = "all-linear"
    """Linear layers that get adapters: comma-separated module names (e.g. q_proj,v_proj) or all-linear (every
    linear layer except the output layer)."""


def load_tokenizer(cfg: ModelConfig) -> Any:
    """The tokenizer named by ``cfg`` (see module docstring)."""
    name = cfg.tokenizer
    if name is None:
        name = "wordle-char" if cfg.path in PRESETS else cfg.path
    if name == "wordle-char":
        from lexiq.models.char_tokenizer import wordle_char_tokenizer

        return wordle_char_tokenizer()
    if name == "bytes":
        from lexiq.models.byte_tokenizer import byte_tokenizer

        return byte_tokenizer()
    from transformers import AutoTokenizer

    path = Path(name)
    if not path.exists():
        if name not in OFFLINE_MODELS:
            raise ModelLoadError(f"{path}: tokenizer directory does not exist (expected a local directory, "
                                 f"'wordle-char', 'bytes' or an offline model name: {', '.join(OFFLINE_MODELS)})")
        path = resolve(name)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def build_model(cfg: ModelConfig, tokenizer: Any) -> LexiqModel:
    """A fresh preset model sized to ``tokenizer``, or a loaded local directory (heads included if saved); with
    ``cfg.lora_r > 0`` its backbone carries LoRA adapters (:mod:`lexiq.models.lora`)."""
    if cfg.lora_r < 0:
        from lexiq.config import ConfigError

        raise ConfigError(f"model.lora_r={cfg.lora_r}: expected 0 (train every weight) or a positive rank")
    model = _backbone(cfg, tokenizer)
    if cfg.lora_r > 0:
        from lexiq.models.lora import add_lora, trainable_fraction

        model.lm = add_lora(model.lm, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_targets)
        model.meta["lora"] = {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "targets": cfg.lora_targets,
                              **trainable_fraction(model.lm)}
    return model


def _backbone(cfg: ModelConfig, tokenizer: Any) -> LexiqModel:
    if cfg.path in PRESETS:
        from transformers import GPT2Config, GPT2LMHeadModel

        shape = dict(PRESETS[cfg.path])
        for key in ("n_layer", "n_embd", "n_head"):
            if getattr(cfg, key) is not None:
                shape[key] = getattr(cfg, key)
        ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
               "pad_token_id": tokenizer.pad_token_id}
        if cfg.arch == "llama":
            from transformers import LlamaConfig, LlamaForCausalLM

            config = LlamaConfig(
                vocab_size=len(tokenizer), hidden_size=shape["n_embd"], num_hidden_layers=shape["n_layer"],
                num_attention_heads=shape["n_head"], num_key_value_heads=shape["n_head"],
                intermediate_size=4 * shape["n_embd"], max_position_embeddings=cfg.n_positions,
                attention_dropout=cfg.dropout, tie_word_embeddings=True, **ids,
            )
            return LexiqModel(LlamaForCausalLM(config), meta={"preset": cfg.path, "arch": "llama"})
        config = GPT2Config(
            vocab_size=len(tokenizer), n_positions=cfg.n_positions, resid_pdrop=cfg.dropout,
            embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, **ids, **shape,
        )
        return LexiqModel(GPT2LMHeadModel(config), meta={"preset": cfg.path, "arch": "gpt2"})
    path = resolve(cfg.path) if cfg.path in OFFLINE_MODELS else cfg.path
    check_model_dir(path)
    model = LexiqModel.from_pretrained(path)
    if model.vocab_size < len(tokenizer):
        model.lm.resize_token_embeddings(len(tokenizer))
    return model


def is_preset(name: str) -> bool:
    return name in PRESETS


__all__ = ["ModelConfig", "PRESETS", "build_model", "load_tokenizer", "is_preset", "ModelLoadError"]
