"""EMMA, the text-conditioned Messenger policy (Hanjie et al., ICML 2021; ``specs/ldd_messenger.md`` C.12).

Input: ``frames (B, 3, 10, 10, L + 1)`` ids (the last 3 frames, :mod:`~lexiq.agents.messenger.history`) and
``manual (B, S)`` rows of a :class:`~lexiq.agents.messenger.text_encoder.SentenceTable`. With ``E`` the id
embedding (``d`` = ``embed_dim``, row 0 fixed at zero) and ``T_s`` the token states of sentence ``s``:

    avatar cell    a = nonzero_mean_layers E(avatar ids)                      (B, 3, 10, 10, d)
    query cell     q = nonzero_mean_layers E(entity ids)   (0 where empty)    (B, 3, 10, 10, d)
    key, value     K_s = Σ_t softmax_t(w_k·T_s,t) · W_K T_s,t,   V_s likewise with its own parameters
    attention      α_s = softmax_s(q·K_s / √d), set to 0 on empty cells
    cell           c = (1/S) Σ_s α_s V_s
    history        (c + a)/2 permuted (B, 3, 10, 10, d) -> (B, 10, 10, 3d)   [upstream: reshaped, no permute]
    features       h = flatten(LeakyReLU(Conv2d_{3d -> C, k=2}))              (B, C·9·9)
    actor          logits = W_3 σ(W_s σ(W_1 h)),   critic  V = w_4 σ(W_s σ(W_2 h))   (W_s shared, σ = LeakyReLU)

:meth:`Emma.features` returns ``h`` (the representation LDD distils), :meth:`Emma.forward` ``(logits, value)``,
:meth:`Emma.attention` the weights α. ``history_layout`` picks the recommended permute or the released reshape.
Other differences from upstream: the token softmax of the key/value pooling skips pads (upstream pools over all 36
BERT positions); attention is computed at the occupied cells only (upstream computes it everywhere and zeroes the
scores that equal 0, which are exactly the empty cells'; same result, about half the CPU time). Weights are
initialised Xavier-uniform (every matrix), as in the LDD code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from lexiq.agents.messenger.history import HISTORY
from lexiq.agents.messenger.text_encoder import SentenceTable, build_token_states

N_ACTIONS = 5
Obs = Mapping[str, torch.Tensor]
"""A policy input: ``{"frames": (B, 3, 10, 10, L + 1) ids, "manual": (B, S) sentence rows}``."""


@dataclass
class EmmaConfig:
    """Sizes of an EMMA policy; the defaults are the paper's (C.12) except the text encoder."""

    entity_layers: int = 3
    """Entity layers L of the observation (1, 3, 5 for stages 1, 2, 3); the avatar layer comes on top."""
    embed_dim: int = 256
    """Width d of the id embedding, keys and values (paper: 256)."""
    conv_channels: int = 64
    """Output channels C of the 2x2 convolution (paper: 64, so h has 64·9·9 = 5,184 features)."""
    hidden: int = 128
    """Width of the actor and critic hidden layers (paper: 128)."""
    n_ids: int = 25
    """Rows of the id embedding (paper: 25; Messenger uses ids 0-16)."""
    text: Literal["learned", "minilm"] = "learned"
    """Sentence token states: learned word embeddings over the training vocabulary, or frozen cached MiniLM
    states (384-d; the paper used frozen BERT-base, 768-d, unavailable offline)."""
    word_dim: int = 128
    """Width of the learned word embeddings (text=learned)."""
    text_lstm: bool = False
    """Run a BiLSTM over the learned word embeddings before pooling (text=learned)."""
    history_layout: Literal["permute", "upstream"] = "permute"
    """permute: stack the 3 frames per cell (B,3,10,10,d) -> (B,10,10,3d); upstream: reshape without a permute,
    which mixes cells across positions and frames (for replication only)."""


def nonzero_mean(embed: nn.Embedding, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``embed`` over the non-zero ids of the last axis, and whether any id was non-zero (row 0 of
    ``embed`` is zero, so summing all layers adds only the present ids)."""
    present = ids > 0
    if ids.shape[-1] == 1:
        return embed(ids[..., 0]), present[..., 0]
    count = present.sum(-1, keepdim=True)
    return embed(ids).sum(-2) * (1.0 / count.clamp(min=1)), count.squeeze(-1) > 0


class Emma(nn.Module):
    """The EMMA policy (module docstring) over the sentences of ``table``."""

    def __init__(self, cfg: EmmaConfig, table: SentenceTable, cache_dir: str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.table = table
        d, c, hdim = cfg.embed_dim, cfg.conv_channels, cfg.hidden
        self.text = build_token_states(cfg.text, table, cfg.word_dim, cfg.text_lstm, cache_dir)
        t = self.text.dim
        self.sprite = nn.Embedding(cfg.n_ids, d, padding_idx=0)
        self.key_score, self.key_proj = nn.Linear(t, 1), nn.Linear(t, d)
        self.value_score, self.value_proj = nn.Linear(t, 1), nn.Linear(t, d)
        self.conv = nn.Conv2d(HISTORY * d, c, kernel_size=2)
        self.feature_dim = c * 9 * 9
        self.actor_in, self.critic_in = nn.Linear(self.feature_dim, hdim), nn.Linear(self.feature_dim, hdim)
        self.shared = nn.Linear(hdim, hdim)
        self.actor_out, self.critic_out = nn.Linear(hdim, N_ACTIONS), nn.Linear(hdim, 1)
        self.reset_parameters()

    @property
    def device(self) -> torch.device:
        return self.sprite.weight.device

    def reset_parameters(self) -> None:
        """Xavier-uniform init of every weight matrix (LDD's ``stage_two_emma.py``), then the id-0 rows zeroed."""
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.xavier_uniform_(p)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
        self.zero_padding()

    @torch.no_grad()
    def zero_padding(self) -> None:
        """Row 0 of the id embedding (and of learned word embeddings) back to zero."""
        self.sprite.weight[0].zero_()
        if isinstance(getattr(self.text, "embed", None), nn.Embedding):
            self.text.embed.weight[0].zero_()

    def manual_keys_values(self, manual: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``(B, S, d)`` of the manual rows (each distinct sentence encoded once)."""
        rows, inverse = torch.unique(manual, return_inverse=True)
        states, mask = self.text(rows)
        neg = torch.finfo(states.dtype).min

        def pool(score: nn.Linear, proj: nn.Linear) -> torch.Tensor:
            w = torch.softmax(score(states).squeeze(-1).masked_fill(~mask, neg), dim=-1)
            return (w.unsqueeze(-1) * proj(states)).sum(1)

        return pool(self.key_score, self.key_proj)[inverse], pool(self.value_score, self.value_proj)[inverse]

    def _check(self, frames: torch.Tensor) -> torch.Tensor:
        layers = self.cfg.entity_layers
        if frames.dim() != 5 or frames.shape[-1] != layers + 1:
            raise ValueError(f"EMMA built for {layers} entity layers expects frames (B, 3, 10, 10, {layers + 1}), "
                             f"got shape {tuple(frames.shape)}")
        return frames.permute(0, 2, 3, 1, 4).long()  # (B, 10, 10, 3, L + 1): the frames of a cell side by side

    def _cells(self, frames: torch.Tensor, manual: torch.Tensor
               ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
        """Attention at the occupied cells only (index tuple into ``(B, 10, 10, 3)``, weights ``(M, S)``, cell
        vectors ``(M, d)``): empty cells get no query, hence zero weights and a zero vector."""
        layers = self.cfg.entity_layers
        where = torch.nonzero((frames[..., :layers] > 0).any(-1), as_tuple=True)
        query, _ = nonzero_mean(self.sprite, frames[..., :layers][where])
        keys, values = self.manual_keys_values(manual)
        b = where[0]
        scores = torch.einsum("md,msd->ms", query, keys[b]) * (1.0 / math.sqrt(self.cfg.embed_dim))
        weights = torch.softmax(scores, dim=-1)
        return where, weights, torch.einsum("ms,msd->md", weights, values[b]) * (1.0 / keys.shape[1])

    def attention(self, obs: Obs) -> torch.Tensor:
        """Attention weights ``(B, 3, 10, 10, S)`` of every cell of every frame over the manual's sentences (all
        zero on empty cells)."""
        frames = self._check(obs["frames"])
        where, weights, _ = self._cells(frames, obs["manual"])
        dense = weights.new_zeros((*frames.shape[:4], weights.shape[-1]))
        dense[where] = weights
        return dense.permute(0, 3, 1, 2, 4)

    def features(self, obs: Obs) -> torch.Tensor:
        """The conv feature vector ``h (B, C·9·9)`` (what LDD distils)."""
        frames = self._check(obs["frames"])
        layers, d = self.cfg.entity_layers, self.cfg.embed_dim
        where, _, cells = self._cells(frames, obs["manual"])
        at = torch.nonzero((frames[..., layers:] > 0).any(-1), as_tuple=True)
        avatar, _ = nonzero_mean(self.sprite, frames[..., layers:][at])
        b, gy, gx, hist = frames.shape[:4]
        x = cells.new_zeros((b, gy, gx, hist, d))
        x = x.index_put(where, 0.5 * cells, accumulate=True).index_put(at, 0.5 * avatar, accumulate=True)
        if self.cfg.history_layout == "upstream":  # frame-major memory order, read as if it were cell-major
            x = x.permute(0, 3, 1, 2, 4).reshape(b, hist, gy, gx, d)
        x = x.reshape(b, gy, gx, hist * d).permute(0, 3, 1, 2)
        return F.leaky_relu(self.conv(x)).flatten(1)

    def heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actor logits ``(B, 5)`` and critic value ``(B,)`` from features ``h``."""
        a = F.leaky_relu(self.shared(F.leaky_relu(self.actor_in(h))))
        v = F.leaky_relu(self.shared(F.leaky_relu(self.critic_in(h))))
        return self.actor_out(a), self.critic_out(v).squeeze(-1)

    def forward(self, obs: Obs) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.features(obs))


def save_emma(path: str, model: Emma, extra: dict[str, object] | None = None) -> None:
    """Write ``model`` (config, sentence table, weights) and ``extra`` to ``path`` (written whole or not at all)."""
    from dataclasses import asdict
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    torch.save({"emma": asdict(model.cfg), "table": model.table.state(), "state_dict": model.state_dict(),
                **(extra or {})}, tmp)
    tmp.replace(target)


def load_emma(path: str, cache_dir: str | None = None) -> tuple[Emma, dict[str, object]]:
    """An :class:`Emma` saved by :func:`save_emma` (or the trunk of a saved dynamics model), and the whole record."""
    record = torch.load(path, weights_only=False, map_location="cpu")
    model = Emma(EmmaConfig(**record["emma"]), SentenceTable.from_state(record["table"]), cache_dir)
    model.load_state_dict(record["state_dict"])
    return model, record
