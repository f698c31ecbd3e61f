"""The lexiq policy: a Hugging Face causal LM plus optional value/Q heads, saved as a plain HF directory.

Checkpoint layout (one directory)::

    config.json, model.safetensors, generation_config.json   ← ``AutoModelForCausalLM.from_pretrained(dir)``
    tokenizer files                                          ← ``AutoTokenizer.from_pretrained(dir)``
    lexiq_heads.safetensors                                  ← V / Q / target-Q heads (if any)
    lexiq_value/                                             ← separate value transformer (if configured)
    lexiq_target/                                            ← separate target backbone (if configured)
    lexiq.json                                               ← lexiq metadata (heads shape, episode format, ...)

A plain causal LM loader ignores the ``lexiq_*`` files, so the policy drops into any HF pipeline unchanged.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lexiq.models.heads import ILQLHeads

HEADS_FILE = "lexiq_heads.safetensors"
META_FILE = "lexiq.json"
TARGET_DIR = "lexiq_target"
VALUE_DIR = "lexiq_value"


@contextmanager
def atomic_directory(directory: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``directory`` to fill; on success it replaces ``directory``, on any error it
    is removed and ``directory`` is left as it was (no half-written checkpoint)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        yield tmp
        if directory.exists():
            shutil.rmtree(directory)
        tmp.rename(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class ModelLoadError(ValueError):
    """A model directory is missing or not a causal LM checkpoint."""


@dataclass
class HeadsConfig:
    """Shape of the value/Q heads (ILQL, MC returns)."""

    head_hidden: int | None = None
    """Hidden width d of each head MLP; None = clamp(h // 4, 32, 256)."""
    double_q: bool = True
    """Two Q heads (Q1, Q2) and their targets; the target value is min(Q̄1, Q̄2)."""
    separate_target: bool = False
    """Keep a separate Polyak-averaged target backbone (original ILQL paper layout) instead of reading the online
    hidden states (trlx layout, default, lighter)."""
    separate_policy: bool = False
    """Keep π_β and the values in different transformers (original ILQL paper layout): ``lm`` stays the
    policy, trained by its own policy term only, and the V/Q heads read a second transformer (``value_lm``, a copy of
    the initial ``lm``). The value losses then cannot move π_β. Default: one shared transformer (trlx)."""


def hidden_states(lm: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Final hidden states (after the final norm) of a HF causal LM, without computing vocabulary logits."""
    from lexiq.models.lora import base_model as unwrap_lora

    lm = unwrap_lora(lm)  # a peft model: its wrapped LM, whose layers carry the adapters
    base = lm.base_model if getattr(lm, "base_model", None) is not lm else None
    if base is None:
        out = lm(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.hidden_states[-1]
    out = base(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    return out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]


class LexiqModel(nn.Module):
    """A causal LM (``self.lm``, the policy π_β) with optional ILQL heads (``self.heads``), a separate value
    transformer the heads read (``self.value_lm``) and a target backbone (``self.target_lm``)."""

    def __init__(self, lm: nn.Module, heads: ILQLHeads | None = None, target_lm: nn.Module | None = None,
                 meta: dict[str, Any] | None = None, value_lm: nn.Module | None = None):
        super().__init__()
        self.lm = lm
        self.heads = heads
        self.value_lm = value_lm
        self.target_lm = target_lm
        if target_lm is not None:
            for p in target_lm.parameters():
                p.requires_grad_(False)
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def hidden_size(self) -> int:
        return int(self.lm.get_output_embeddings().weight.shape[1])

    @property
    def vocab_size(self) -> int:
        return int(self.lm.get_output_embeddings().weight.shape[0])

    def add_heads(self, cfg: HeadsConfig) -> None:
        """Attach fresh ILQL heads (and copies of the backbone for ``cfg.separate_policy`` /
        ``cfg.separate_target``)."""
        self.heads = ILQLHeads(self.hidden_size, self.vocab_size, cfg.head_hidden, cfg.double_q)
        self.heads.to(next(self.lm.parameters()).device)
        if cfg.separate_policy:
            self.value_lm = copy.deepcopy(self.lm)
        if cfg.separate_target:
            self.target_lm = copy.deepcopy(self.value_backbone)
            for p in self.target_lm.parameters():
                p.requires_grad_(False)
        self.meta["heads"] = asdict(cfg) | {"head_hidden": self.heads.head_hidden}

    def forward(self, batch: dict[str, torch.Tensor], objective: Any) -> Any:
        """``objective.loss(self, batch)``: routing the loss through ``forward`` lets DDP/FSDP wrappers see it."""
        return objective.loss(self, batch)

    @property
    def value_backbone(self) -> nn.Module:
        """The transformer whose hidden states the online V/Q heads read (``value_lm`` if separate, else ``lm``)."""
        return self.lm if self.value_lm is None else self.value_lm

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states of the policy ``lm``."""
        return hidden_states(self.lm, input_ids, attention_mask)

    def value_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states of the value transformer (the policy's own when there is no separate one)."""
        return hidden_states(self.value_backbone, input_ids, attention_mask)

    @torch.no_grad()
    def target_hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor | None:
        """Hidden states of the target backbone, or None when targets read the online states."""
        if self.target_lm is None:
            return None
        return hidden_states(self.target_lm, input_ids, attention_mask)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Policy logits from hidden states (the LM's own output layer)."""
        return self.lm.get_output_embeddings()(hidden)

    @torch.no_grad()
    def polyak_update(self, alpha: float) -> None:
        """Soft target update θ̄ ← α·θ + (1−α)·θ̄ for the target Q heads and, if present, the target backbone
        (a Polyak copy of the value transformer)."""
        if self.heads is not None:
            self.heads.polyak_update(alpha)
        if self.target_lm is not None:
            tgt = [p for p in self.target_lm.parameters()]
            src = [p.detach() for p in self.value_backbone.parameters()]
            torch._foreach_lerp_(tgt, src, alpha)

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | os.PathLike, tokenizer: Any = None) -> Path:
        """Write the checkpoint atomically: a temporary sibling directory renamed into place when complete."""
        from safetensors.torch import save_file

        from lexiq.models.lora import merged_copy

        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            merged_copy(self.lm).save_pretrained(tmp)  # LoRA adapters merged: always a plain HF directory
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
            if self.heads is not None:
                state = {k: v.detach().contiguous().cpu() for k, v in self.heads.state_dict().items()}
                save_file(state, str(tmp / HEADS_FILE))
            if self.value_lm is not None:
                self.value_lm.save_pretrained(tmp / VALUE_DIR)
            if self.target_lm is not None:
                self.target_lm.save_pretrained(tmp / TARGET_DIR)
            meta = dict(self.meta)
            if self.heads is not None:
                meta.setdefault("heads", {})
                meta["heads"].update({"head_hidden": self.heads.head_hidden, "double_q": self.heads.n_q == 2,
                                      "separate_target": self.target_lm is not None,
                                      "separate_policy": self.value_lm is not None})
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, with_heads: bool = True) -> LexiqModel:
        """Load a lexiq checkpoint or any local HF causal-LM directory (heads are loaded when present)."""
        from safetensors.torch import load_file
        from transformers import AutoModelForCausalLM

        directory = Path(directory)
        check_model_dir(directory)
        lm = AutoModelForCausalLM.from_pretrained(directory)
        meta: dict[str, Any] = {}
        if (directory / META_FILE).exists():
            meta = json.loads((directory / META_FILE).read_text())
        model = cls(lm, meta=meta)
        if with_heads and (directory / HEADS_FILE).exists():
            hcfg = meta.get("heads", {})
            cfg = HeadsConfig(head_hidden=hcfg.get("head_hidden"), double_q=hcfg.get("double_q", True),
                              separate_target=False)
            model.add_heads(cfg)
            assert model.heads is not None
            model.heads.load_state_dict(load_file(str(directory / HEADS_FILE)))
            if (directory / VALUE_DIR).exists():
                model.value_lm = AutoModelForCausalLM.from_pretrained(directory / VALUE_DIR)
            if (directory / TARGET_DIR).exists():
                model.target_lm = AutoModelForCausalLM.from_pretrained(directory / TARGET_DIR)
                for p in model.target_lm.parameters():
                    p.requires_grad_(False)
            model.meta = meta
        return model


def check_model_dir(directory: str | os.PathLike) -> Path:
    """Raise a one-line :class:`ModelLoadError` unless ``directory`` looks like a HF model directory."""
    path = Path(directory)
    if not path.exists():
        raise ModelLoadError(f"{path}: model directory does not exist (expected a save_pretrained directory "
                             "with config.json, or a preset name such as 'tiny', 'small', 'wordle-char')")
    if not path.is_dir() or not (path / "config.json").exists():
        raise ModelLoadError(f"{path}: not a model directory (expected config.json from save_pretrained)")
    return path
