"""Monte-Carlo returns (MC Returns): regress Q on the logged discounted reward-to-go, decode like ILQL.

With the per-action-token return G_t = Σ_{k≥t} γ^{k−t} r_k over action positions (no bootstrap)::

    L_Q   = Σ_i (1/n) Σ_t m_t · (Q_i(s_t, a_t) − G_t)²
    L_V   = (1/n) Σ_t m_t · (V(s_t) − G_t)²                 (V^β, so Q − V is a Monte-Carlo advantage)
    L_CQL = as in ILQL (optional)
    L_π   = (1/n) Σ_t m_t · [−log π_β(a_t | s_t)]           (behaviour cloning on the shared backbone)
    L     = w_π·L_π + w_Q·L_Q + w_V·L_V + w_CQL·L_CQL (+ w_obs·L_obs, lexiq.objectives.base.observation_term)

The target heads are hard copies of the online heads after every step (α = 1), so decoding uses the same
Q-guided rule as ILQL: π(a|s) ∝ π_β(a|s)·exp(β·(Q(s,a) − V(s))). Because V(s) is constant across actions it
only matters when advantages are clipped (LMRL-Gym decodes with π_β logits + β·Q, the same distribution).

References: Abdulhai et al., "LMRL Gym: Benchmarks for Multi-Turn Reinforcement Learning with Language Models"
(MC Returns baseline); Snell et al., arXiv 2206.11871 (MC-returns ablation of ILQL).

Logged metrics: ``losses/total``, ``losses/q``, ``losses/v``, ``losses/cql``, ``losses/policy``,
``values/q``, ``values/v``, ``values/return``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lexiq.models.model import LexiqModel
from lexiq.objectives.base import Batch, count_tokens
from lexiq.objectives.ilql import ValueHeadsFields, ValueObjective, action_features, cql_and_policy_terms


@dataclass
class MCReturnsConfig(ValueHeadsFields):
    """MC-returns loss weights."""

    double_q: bool = False
    """One Q head is enough for a regression target (set true for two)."""
    q_weight: float = 1.0
    """Weight of the Q regression onto the return-to-go."""
    v_weight: float = 1.0
    """Weight of the V regression onto the return-to-go."""
    cql_weight: float = 0.01
    """Weight of the conservative log-sum-exp term (0 skips it)."""
    cql_temperature: float = 1.0
    """Temperature of the CQL log-sum-exp."""
    policy_weight: float = 1.0
    """Weight of the behaviour-cloning term for π_β."""


class MCReturns(ValueObjective):
    """Q and V regression onto Monte-Carlo returns-to-go plus BC; decoded with Q-guidance."""

    name = "mc_returns"
    config_class = MCReturnsConfig

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, Any]]:
        cfg: MCReturnsConfig = self.config
        f = action_features(model, batch, with_target=False, with_policy=self.trains_policy)
        mask, q = f["mask"], f["q"]
        n, world = count_tokens(batch["action_mask"])
        returns = batch["returns"][mask]
        v = f["v_all"][mask]
        loss_q = ((q - returns.unsqueeze(0)) ** 2).sum() / n
        loss_v = ((v - returns) ** 2).sum() / n
        extra, metrics = cql_and_policy_terms(model, f, n, cfg.cql_weight, cfg.cql_temperature, cfg.policy_weight,
                                              batch=batch, observation_weight=cfg.observation_weight,
                                              value_lm_weight=cfg.value_lm_weight)
        total = cfg.q_weight * loss_q + cfg.v_weight * loss_v + extra
        with torch.no_grad():
            metrics.update({
                "losses/total": total.item(), "losses/q": loss_q.item(), "losses/v": loss_v.item(),
                "values/q": (q.mean(0).sum() / n).item(), "values/v": (v.sum() / n).item(),
                "values/return": (returns.sum() / n).item(),
            })
        return total * world, metrics

    def after_optimizer_step(self, model: LexiqModel) -> None:
        model.polyak_update(1.0)  # targets (heads and a separate target backbone, if any) = online copy

    def decoding_defaults(self) -> dict[str, Any]:
        return {"beta": 4.0}
