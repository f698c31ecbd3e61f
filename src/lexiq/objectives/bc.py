"""Behaviour cloning (BC): maximum likelihood of the logged agent tokens.

    L_BC = (1/n) Σ_j m_j · [−log π_θ(a_j | s_j)],      n = Σ_j m_j

``m_j`` is the action mask (agent text tokens and the end-of-turn token), ``a_j`` the token at position j+1.
Environment tokens are context only, unless ``observation_weight > 0`` adds the observation-modelling term
``w_obs·L_obs`` (:func:`lexiq.objectives.base.observation_term`). Note: the original ILQL code's ``BC_LM``
divides by the number of all non-pad tokens (environment tokens included); lexiq normalises by the number of
action tokens.

Reference: Snell et al., "Offline RL for Natural Language Generation with Implicit Language Q Learning",
arXiv 2206.11871 (the BC baseline, §5 of specs/ilql.md).

Logged metrics: ``losses/bc`` (mean negative log-likelihood per action token), ``charts/action_tokens``,
``losses/observation`` (when ``observation_weight > 0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lexiq.models.model import LexiqModel
from lexiq.objectives.base import (
    Batch,
    Objective,
    ObjectiveConfig,
    action_cross_entropy,
    count_tokens,
    observation_term,
)


@dataclass
class BCConfig(ObjectiveConfig):
    """Behaviour cloning has no settings beyond the shared ones."""


class BC(Objective):
    """Plain behaviour cloning on agent tokens."""

    name = "bc"
    config_class = BCConfig

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        hidden = model.hidden(batch["input_ids"], batch["attention_mask"])
        nll, _ = action_cross_entropy(model, hidden, batch)
        n, world = count_tokens(batch["action_mask"])
        loss = nll.sum() / n
        metrics = {"losses/bc": loss.item(), "charts/action_tokens": float(nll.numel())}
        if self.config.observation_weight > 0:
            obs, obs_metrics = observation_term(model, hidden, batch)
            loss = loss + self.config.observation_weight * obs
            metrics.update(obs_metrics)
        return loss * world, metrics
