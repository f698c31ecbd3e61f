"""A learned reward model: a transformer backbone and a scalar head, ``r_φ(context, response)``.

The input is an episode serialised exactly as a policy sees it (:mod:`lexiq.data.token_mdp`), usually a one-step
episode: the dialogue so far as environment turns and the scored reply as the agent turn. The score is read from
one pooled hidden vector ``h``::

    s_φ = w·h + b                      (a linear head on the backbone's final hidden states)
    classifier: r_φ = σ(s_φ), the probability that a human accepts the reply;   regressor: r_φ = s_φ

Pooling: ``last`` reads the state that has read the whole reply (the reply's end marker; for a causal LM the
only position that sees everything), ``mean`` averages every real token (the usual choice for a bidirectional
encoder such as MiniLM). ``auto`` picks ``mean`` for encoders and ``last`` for causal LMs.

Checkpoint layout (one directory)::

    config.json, model.safetensors, tokenizer files    ← ``AutoModel.from_pretrained(dir)`` (the backbone)
    lexiq_reward_head.safetensors                      ← the scalar head
    lexiq.json                                         ← {"reward_model": {kind, pooling, ...}, "episode_format"}

As in the reward models of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human Preferences",
arXiv 1909.08593) the head sits on a pretrained LM; here it is trained on absolute 0/1 labels (the Taskmaster
reward files) rather than on comparisons.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from lexiq.models.model import ModelLoadError, atomic_directory, check_model_dir

HEAD_FILE = "lexiq_reward_head.safetensors"
META_FILE = "lexiq.json"
Pooling = Literal["auto", "last", "mean"]
Kind = Literal["classifier", "regressor"]


def is_encoder(config: Any) -> bool:
    """True for a bidirectional encoder checkpoint (its architectures name no causal-LM class)."""
    archs = getattr(config, "architectures", None) or []
    return bool(archs) and not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)


def build_backbone(model_cfg: Any, tokenizer: Any) -> nn.Module:
    """The bare transformer (no LM head) named by a :class:`~lexiq.models.presets.ModelConfig`: a from-scratch
    preset sized to ``tokenizer``, or a local / offline-model directory loaded with ``AutoModel``."""
    from lexiq.models.presets import PRESETS, build_model
    from lexiq.models.pretrained import OFFLINE_MODELS, resolve

    if model_cfg.path in PRESETS:
        lm = build_model(model_cfg, tokenizer).lm
        return lm.base_model
    from transformers import AutoModel

    path = resolve(model_cfg.path) if model_cfg.path in OFFLINE_MODELS else Path(model_cfg.path)
    check_model_dir(path)
    backbone = AutoModel.from_pretrained(path)
    if backbone.get_input_embeddings().weight.shape[0] < len(tokenizer):
        backbone.resize_token_embeddings(len(tokenizer))
    return backbone


def last_positions(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per row, the position of the token emitted by the last action (the reply's end marker): the first state
    that has read the whole reply."""
    mask = batch["action_mask"] > 0
    idx = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last_action = torch.where(mask, idx, torch.full_like(idx, -1)).max(dim=1).values
    if bool((last_action < 0).any()):
        raise ValueError("reward model: a sequence has no agent token to score")
    return last_action + 1


class RewardModel(nn.Module):
    """Backbone + scalar head; ``meta`` holds ``kind``, ``pooling`` and the episode format."""

    def __init__(self, backbone: nn.Module, kind: Kind = "classifier", pooling: Pooling = "auto",
                 meta: dict[str, Any] | None = None, label_threshold: float = 0.5):
        super().__init__()
        self.backbone = backbone
        self.label_threshold = float(label_threshold)
        """A classifier was trained on labels 1[return > label_threshold]."""
        if pooling == "auto":
            pooling = "mean" if is_encoder(backbone.config) else "last"
        self.kind: Kind = kind
        self.pooling: Pooling = pooling
        hidden = int(backbone.get_input_embeddings().weight.shape[1])
        self.head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.meta: dict[str, Any] = dict(meta or {})

    def forward(self, batch: dict[str, torch.Tensor], objective: Any) -> Any:
        """``objective.loss(self, batch)`` (the trainer calls every model this way)."""
        return objective.loss(self, batch)

    def logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Raw scores ``s_φ`` ``[B]`` of a collated token-MDP batch."""
        extra = {} if self.pooling == "mean" and is_encoder(self.backbone.config) else {"use_cache": False}
        out = self.backbone(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **extra)
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        if self.pooling == "mean":
            m = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        else:
            pos = last_positions(batch)
            pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), pos]
        return self.head(pooled.float()).squeeze(-1)

    def rewards(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``r_φ``: σ(s) for a classifier, s for a regressor."""
        s = self.logits(batch)
        return torch.sigmoid(s) if self.kind == "classifier" else s

    # ------------------------------------------------------------------ persistence
    def save_pretrained(self, directory: str | Path, tokenizer: Any = None) -> Path:
        """Write the checkpoint atomically (a temporary sibling directory renamed into place)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            self.backbone.save_pretrained(tmp)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
            save_file({k: v.detach().contiguous().cpu() for k, v in self.head.state_dict().items()},
                      str(tmp / HEAD_FILE))
            meta = dict(self.meta) | {"reward_model": {"kind": self.kind, "pooling": self.pooling,
                                                       "label_threshold": self.label_threshold}}
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> RewardModel:
        """Load a directory written by :meth:`save_pretrained`."""
        from safetensors.torch import load_file
        from transformers import AutoModel

        directory = Path(directory)
        check_model_dir(directory)
        meta_path = directory / META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        if "reward_model" not in meta or not (directory / HEAD_FILE).exists():
            raise ModelLoadError(f"{directory}: not a lexiq reward model (no {HEAD_FILE} / reward_model entry in "
                                 f"{META_FILE})")
        rm = meta["reward_model"]
        model = cls(AutoModel.from_pretrained(directory), kind=rm["kind"], pooling=rm["pooling"], meta=meta,
                    label_threshold=rm.get("label_threshold", 0.5))
        model.head.load_state_dict(load_file(str(directory / HEAD_FILE)))
        return model


def is_reward_model_dir(directory: str | Path) -> bool:
    """Whether ``directory`` holds a lexiq reward model (rather than a policy)."""
    return (Path(directory) / HEAD_FILE).exists()


class RewardScorer:
    """A saved reward model as a reward function: ``scorer(episodes) -> [r_φ per episode]``.

    Episodes are serialised with the episode format the model was trained with and keep their last ``max_length``
    tokens (``left_tokens``, as the dialogue presets train: scoring never fails on a long generated reply), scored
    in batches without gradients.
    """

    def __init__(self, directory: str | Path, batch_size: int = 32, max_length: int | None = None,
                 device: str | None = None):
        from transformers import AutoTokenizer

        from lexiq.data.token_mdp import EpisodeFormat
        from lexiq.models.device import default_device

        self.model = RewardModel.from_pretrained(directory).eval().to(device or default_device())
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        fmt = self.model.meta.get("episode_format")
        self.fmt = EpisodeFormat.from_dict(fmt) if fmt else EpisodeFormat.for_tokenizer(self.tokenizer)
        self.batch_size = batch_size
        self.max_length = max_length if max_length is not None else self.model.meta.get("max_length")


    @torch.no_grad()
    def raw_scores(self, episodes: list[Any]) -> list[float]:
        """``s_φ`` per episode."""
        from lexiq.data.collate import collate_mdp
        from lexiq.data.token_mdp import TokenizedDataset

        data = TokenizedDataset(episodes, self.tokenizer, self.fmt, max_length=self.max_length,
                                truncation="left_tokens")
        device = next(self.model.parameters()).device
        out: list[float] = []
        for i in range(0, len(data), self.batch_size):
            batch = collate_mdp([data[j] for j in range(i, min(i + self.batch_size, len(data)))],
                                self.tokenizer.pad_token_id)
            out += self.model.logits({k: v.to(device) for k, v in batch.items()}).float().tolist()
        return out

    def __call__(self, episodes: list[Any]) -> list[float]:
        """``r_φ`` per episode: σ(s) for a classifier, s for a regressor."""
        s = torch.tensor(self.raw_scores(episodes))
        return (torch.sigmoid(s) if self.model.kind == "classifier" else s).tolist()
