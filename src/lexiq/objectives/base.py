"""What every objective provides, and the pieces they share.

An objective turns a collated token-MDP batch (``docs/data-format.md``) into a scalar loss plus a dict of
namespaced metrics (``losses/...``, ``values/...``). It may filter the episodes it trains on
(:meth:`Objective.prepare_episodes`), attach heads to the model (:meth:`Objective.setup_model`) and act after
each optimizer step (:meth:`Objective.after_optimizer_step`, e.g. a Polyak target update).

Token counts used as loss normalisers are summed over all processes (``count_tokens``) and the loss multiplied
by the world size, so that DDP's gradient averaging yields exactly the gradient of the global per-token mean:
two processes with half the batch each train identically to one process with the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from lexiq.data.episode import Episode
from lexiq.models.model import LexiqModel

Batch = dict[str, torch.Tensor]


_LOCAL_ONLY = [False]


@contextmanager
def local_normalisers() -> Iterator[None]:
    """Inside this block loss normalisers count this process's tokens only: evaluation that runs on the main
    process alone must not wait for the other processes' all-reduce."""
    _LOCAL_ONLY[0] = True
    try:
        yield
    finally:
        _LOCAL_ONLY[0] = False


def distributed() -> bool:
    """Whether normalisers are summed over processes right now."""
    return (torch.distributed.is_available() and torch.distributed.is_initialized()) and not _LOCAL_ONLY[0]


def count_tokens(mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(Σ mask over all processes, clamped to ≥ 1; world size). Differentiable-free normaliser."""
    n = mask.sum().detach().float()
    world = 1
    if distributed():
        world = torch.distributed.get_world_size()
        n = n.clone()
        torch.distributed.all_reduce(n)
    return n.clamp(min=1.0), world


def next_tokens(input_ids: torch.Tensor) -> torch.Tensor:
    """Token j+1 for every position j (the action emitted from position j); the last column is 0 (never an action)."""
    return torch.cat([input_ids[:, 1:], torch.zeros_like(input_ids[:, :1])], dim=1)


def action_cross_entropy(model: LexiqModel, hidden: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-action negative log-likelihood ``−log π(a_j | s_j)`` at action positions only.

    Returns ``(nll [N], flat action index [N])``: logits are computed only for the N action rows.
    """
    mask = batch["action_mask"] > 0
    targets = next_tokens(batch["input_ids"])[mask]
    logits = model.logits(hidden[mask])
    return F.cross_entropy(logits.float(), targets, reduction="none"), mask.nonzero(as_tuple=False)


def observation_mask(batch: Batch) -> torch.Tensor:
    """Positions j whose next token is an environment token: not an action, not padding, not past the end."""
    attn = batch["attention_mask"] > 0
    next_real = torch.cat([attn[:, 1:], torch.zeros_like(attn[:, :1])], dim=1)
    return attn & next_real & (batch["action_mask"] <= 0)


def observation_term(model: LexiqModel, hidden: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
    """Auxiliary observation-modelling loss: the model also learns to predict what the environment says.

        L_obs = (1/n_obs) Σ_j o_j · [−log p_θ(x_{j+1} | x_{≤j})],      n_obs = Σ_j o_j

    ``o_j`` marks positions whose next token is an environment token (:func:`observation_mask`). The original
    ILQL code has the same knob as ``transition_weight`` inside its policy term (0 in every shipped config,
    specs/ilql.md §3); lexiq keeps it a separate term with its own normaliser. Predicting observations is a
    dynamics (world-model) loss on the shared backbone, as in language dynamics distillation (Zhong et al.
    2022, arXiv 2208.01174); it adds no information beyond the logged episodes.
    """
    mask = observation_mask(batch)
    targets = next_tokens(batch["input_ids"])[mask]
    n, _ = count_tokens(mask)
    nll = F.cross_entropy(model.logits(hidden[mask]).float(), targets, reduction="sum") / n
    return nll, {"losses/observation": nll.item()}


@dataclass
class ObjectiveConfig:
    """Fields shared by every objective."""

    gamma: float = 0.99
    """Discount per action token (used by the token-MDP returns and by value-based objectives)."""
    observation_weight: float = 0.0
    """Weight of an auxiliary loss that predicts the environment's tokens (observations, feedback) from the
    history: a world-model signal on the shared backbone (0 = off; the original ILQL code's transition_weight)."""


class Objective:
    """Base class: subclasses set ``name``, ``config_class`` and implement :meth:`loss`."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = ObjectiveConfig
    uses_heads: ClassVar[bool] = False
    artifact: ClassVar[str] = "policy"
    """Sub-directory of the run directory the trained model is saved to."""
    uses_environment: ClassVar[bool] = True
    """Whether the trained model is a policy that can be rolled out in an environment."""

    def __init__(self, config: Any | None = None):
        self.config = config if config is not None else self.config_class()
        self.global_step = 0
        """Optimizer steps taken so far (the trainer sets it before every step, also after a resume)."""

    def build_model(self, model_cfg: Any, tokenizer: Any) -> Any:
        """The model this objective trains (default: a causal-LM policy, :func:`lexiq.models.presets.build_model`)."""
        from lexiq.models.presets import build_model

        return build_model(model_cfg, tokenizer)

    def extend_format(self, fmt: Any) -> Any:
        """The episode format this objective trains with (default: unchanged; DT adds return tokens)."""
        return fmt

    def model_meta(self) -> dict[str, Any]:
        """Entries for the saved model's ``lexiq.json`` that decoding needs (default: none)."""
        return {}

    @torch.no_grad()
    def evaluate(self, model: Any, batches: Any) -> dict[str, float]:
        """Held-out metrics over collated batches: by default the mean of the loss metrics (``losses/...``)."""
        sums: dict[str, float] = {}
        count = 0
        was_training = model.training
        model.eval()
        with local_normalisers():
            for batch in batches:
                _, metrics = self.loss(model, batch)
                for k, v in metrics.items():
                    if k.startswith("losses/"):
                        sums[k] = sums.get(k, 0.0) + float(v)
                count += 1
        if was_training:
            model.train()
        return {k: v / max(count, 1) for k, v in sums.items()}

    def prepare_episodes(self, episodes: list[Episode]) -> list[Episode]:
        """Select/transform the training episodes (identity by default): return a subset of the input objects,
        or one transformed copy per input episode in the same order (error messages name records that way)."""
        return episodes

    def prepare_validation(self, episodes: list[Episode]) -> list[Episode]:
        """The held-out episodes as the objective scores them (``data.validation``; called after
        :meth:`prepare_episodes`): the same transformation as training, without refitting anything on them
        (identity by default)."""
        return episodes

    def setup_model(self, model: LexiqModel) -> None:
        """Attach whatever the objective needs (heads); called once before training."""

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def loss_tokens(self, batch: Batch) -> torch.Tensor:
        """How many tokens this process's loss averages over in ``batch`` (the action tokens unless overridden).
        The trainer weights the micro-batches of an accumulated step by it (``lexiq.train``)."""
        return (batch["action_mask"] > 0).sum()

    def after_optimizer_step(self, model: LexiqModel) -> None:
        """Called after every optimizer step (target updates)."""

    def decoding_defaults(self) -> dict[str, Any]:
        """Decoding settings this objective's policy is meant to be evaluated with."""
        return {"beta": 0.0}
