"""Implicit Language Q-Learning (ILQL).

For action positions t (mask m_t, n = Σ m_t), data action a_t, reward r_t, next-state position s_{t+1} and
next-terminal flag d_{t+1}::

    Q̄_t   = min_i Q̄_i(s_t, a_t)                                    (target heads, no gradient)
    L_V    = (1/n) Σ_t m_t · |τ − 1[Q̄_t < V(s_t)]| · (Q̄_t − V(s_t))²                 expectile regression
    L_Q    = Σ_i (1/n) Σ_t m_t · (r_t + γ·(1 − d_{t+1})·sg[V(s_{t+1})] − Q_i(s_t, a_t))²   TD, online V bootstrap
    L_CQL  = Σ_i (1/n) Σ_t m_t · [log Σ_a exp(Q_i(s_t, a)/T) − Q_i(s_t, a_t)/T]            conservative term
    L_π    = (1/n) Σ_t m_t · ω_t · [−log π_β(a_t | s_t)],  ω_t = min(exp(β_awac·(Q̄_t − V(s_t))), clip)
    L      = w_π·L_π + w_V·L_V + w_Q·L_Q + w_CQL·L_CQL (+ w_obs·L_obs, lexiq.objectives.base.observation_term)
    after every optimizer step:  θ̄ ← α·θ + (1 − α)·θ̄   (target Q heads, and target backbone if separate)

γ is applied per action token; environment tokens are skipped by the next-state index (specs/ilql.md §1.3).
With β_awac = 0 (default, as every configuration of the paper effectively used) ω ≡ 1 and π_β is trained by
plain BC on the shared backbone; policy improvement happens at decoding time (Q-guided decoding,
``lexiq.decoding``): π(a|s) ∝ π_β(a|s)·exp(β·(Q̄(s,a) − V(s))).

Cost: Q is gathered at the data actions for L_Q / L_V (``O(N·d)``); the full vocabulary is touched only by
L_CQL, through a chunked fused log-sum-exp (``lexiq.models.ops.linear_logsumexp``). With ``cql_weight: 0`` it is
skipped entirely. Heads and losses are computed in fp32.

Reference: Snell, Kostrikov, Su, Yang, Levine, "Offline RL for Natural Language Generation with Implicit
Language Q Learning", ICLR 2023, arXiv 2206.11871.

Logged metrics: ``losses/total``, ``losses/q``, ``losses/v``, ``losses/cql``, ``losses/policy``,
``losses/observation`` (with ``observation_weight > 0``),
``values/q``, ``values/target_q``, ``values/v``, ``values/advantage``, ``values/td_target``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lexiq.models.model import HeadsConfig, LexiqModel
from lexiq.models.ops import linear_logsumexp
from lexiq.objectives.base import Batch, Objective, ObjectiveConfig, count_tokens, next_tokens, observation_term


@dataclass
class ValueHeadsFields(ObjectiveConfig):
    """Head-shape fields shared by value-based objectives."""

    head_hidden: int | None = None
    """Hidden width of each V/Q head MLP (None = clamp(h//4, 32, 256))."""
    double_q: bool = True
    """Train two Q heads and use the minimum of their targets."""
    separate_target: bool = False
    """Polyak-averaged copy of the whole backbone for the targets (paper layout) instead of the shared one."""


@dataclass
class ILQLConfig(ValueHeadsFields):
    """ILQL loss weights and targets (defaults follow specs/ilql.md §6 where the sources agree)."""

    tau: float = 0.7
    """Expectile τ of the value loss (0.5 = mean regression; higher = closer to max_a Q)."""
    v_weight: float = 1.0
    """Weight w_V of the expectile value loss."""
    q_weight: float = 1.0
    """Weight w_Q of the TD loss (summed over Q heads)."""
    cql_weight: float = 0.01
    """Weight w_CQL of the conservative log-sum-exp term (0 skips the full-vocabulary computation)."""
    cql_temperature: float = 1.0
    """Temperature T of the CQL log-sum-exp."""
    policy_weight: float = 1.0
    """Weight w_π of the behaviour-policy term. 0 drops the term, but with the shared backbone the Q/V losses
    still move the representation π_β reads; freeze π_β only with a separate policy model."""
    awac_beta: float = 0.0
    """β_awac of the advantage weights ω = exp(β_awac·(Q̄−V)); 0 = plain BC for π_β."""
    awac_clip: float | None = None
    """Upper clip of ω (None = no clip)."""
    polyak_alpha: float = 0.005
    """Soft target update rate α per optimizer step."""


def heads_config(cfg: ValueHeadsFields) -> HeadsConfig:
    return HeadsConfig(head_hidden=cfg.head_hidden, double_q=cfg.double_q, separate_target=cfg.separate_target)


def action_features(model: LexiqModel, batch: Batch, with_target: bool = True) -> dict[str, torch.Tensor]:
    """Everything value-based losses need, gathered at the N action positions of the batch.

    Returns ``v_all [B,L]`` (V at every position), ``mask [B,L]``, ``actions [N]``, ``zq [n_q,N,d]``
    (online Q features), ``q [n_q,N]`` (online Q at the data actions), ``target_q [N]`` (min_i Q̄_i at the data
    actions, no grad), ``hidden_actions [N,h]``, ``hidden [B,L,h]``.
    """
    heads = model.heads
    if heads is None:
        raise RuntimeError("this objective needs value heads: call objective.setup_model(model) first")
    ids, attn = batch["input_ids"], batch["attention_mask"]
    hidden = model.hidden(ids, attn)
    mask = batch["action_mask"] > 0
    actions = next_tokens(ids)[mask]
    with torch.autocast(device_type=hidden.device.type, enabled=False):  # heads and losses stay fp32
        zv, zq = heads.online_features(hidden.float())
        v_all = heads.value_from(zv)
        zq_a = zq[:, mask]
        q = heads.q_at_from(zq_a, actions)
        target_q = torch.zeros_like(actions, dtype=torch.float32)
        if with_target:
            with torch.no_grad():
                target_hidden = model.target_hidden(ids, attn)
                th = (hidden if target_hidden is None else target_hidden)[mask].detach().float()
                target_q = heads.q_at_from(heads.target_features(th), actions, target=True).amin(0)
    return {"v_all": v_all, "mask": mask, "actions": actions, "zq": zq_a, "q": q, "target_q": target_q,
            "hidden_actions": hidden[mask], "hidden": hidden}


def cql_term(model: LexiqModel, zq: torch.Tensor, q: torch.Tensor, temperature: float) -> torch.Tensor:
    """Σ_i Σ_t [logsumexp_a Q_i(s_t,a)/T − Q_i(s_t,a_t)/T] (a sum over heads and action rows; divide by n)."""
    heads = model.heads
    assert heads is not None
    inv_t = 1.0 / temperature
    with torch.autocast(device_type=zq.device.type, enabled=False):
        lse = linear_logsumexp(zq.float() * inv_t, heads.q_weight, heads.q_bias * inv_t)
    return lse.sum() - (q * inv_t).sum()


def cql_and_policy_terms(model: LexiqModel, f: dict[str, torch.Tensor], n: torch.Tensor, cql_weight: float,
                         cql_temperature: float, policy_weight: float, omega: torch.Tensor | None = None,
                         batch: Batch | None = None,
                         observation_weight: float = 0.0) -> tuple[torch.Tensor | float, dict[str, float]]:
    """``w_CQL·L_CQL + w_π·L_π + w_obs·L_obs`` (each skipped at weight 0) from :func:`action_features` output ``f``.

    ``L_π = (1/n) Σ_t ω_t·[−log π_β(a_t|s_t)]`` with ``ω ≡ 1`` unless ``omega`` is given; ``L_obs`` is
    :func:`lexiq.objectives.base.observation_term` (needs ``batch``).
    """
    total: torch.Tensor | float = 0.0
    metrics: dict[str, float] = {}
    if cql_weight > 0:
        loss_cql = cql_term(model, f["zq"], f["q"], cql_temperature) / n
        total = total + cql_weight * loss_cql
        metrics["losses/cql"] = loss_cql.item()
    if policy_weight > 0:
        nll = F.cross_entropy(model.logits(f["hidden_actions"]).float(), f["actions"], reduction="none")
        loss_pi = (nll if omega is None else omega * nll).sum() / n
        total = total + policy_weight * loss_pi
        metrics["losses/policy"] = loss_pi.item()
    if observation_weight > 0:
        if batch is None:
            raise ValueError("observation_weight > 0 needs the batch")
        loss_obs, obs_metrics = observation_term(model, f["hidden"], batch)
        total = total + observation_weight * loss_obs
        metrics.update(obs_metrics)
    return total, metrics


class ValueObjective(Objective):
    """Shared set-up of objectives with V/Q heads (their config derives from :class:`ValueHeadsFields`)."""

    uses_heads = True

    def setup_model(self, model: LexiqModel) -> None:
        if model.heads is None:
            model.add_heads(heads_config(self.config))


class ILQL(ValueObjective):
    """Implicit Language Q-Learning with a shared (default) or separate target backbone."""

    name = "ilql"
    config_class = ILQLConfig

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, Any]]:
        cfg: ILQLConfig = self.config
        f = action_features(model, batch)
        mask, q, target_q = f["mask"], f["q"], f["target_q"]
        n, world = count_tokens(batch["action_mask"])
        v = f["v_all"][mask]
        v_next = f["v_all"].gather(1, batch["next_state"])[mask].detach()
        not_done = 1.0 - batch["next_terminal"][mask]
        td_target = batch["rewards"][mask] + cfg.gamma * not_done * v_next

        loss_q = ((q - td_target.unsqueeze(0)) ** 2).sum() / n
        diff = target_q - v
        expectile_w = torch.abs(cfg.tau - (diff < 0).float())
        loss_v = (expectile_w * diff**2).sum() / n

        omega = None
        if cfg.awac_beta or cfg.awac_clip is not None:
            with torch.no_grad():
                omega = torch.exp(cfg.awac_beta * diff.detach())
                if cfg.awac_clip is not None:
                    omega = omega.clamp(max=cfg.awac_clip)
        extra, metrics = cql_and_policy_terms(model, f, n, cfg.cql_weight, cfg.cql_temperature,
                                              cfg.policy_weight, omega, batch, cfg.observation_weight)
        total = cfg.q_weight * loss_q + cfg.v_weight * loss_v + extra
        with torch.no_grad():
            metrics.update({
                "losses/total": total.item(), "losses/q": loss_q.item(), "losses/v": loss_v.item(),
                "values/q": (q.mean(0).sum() / n).item(), "values/target_q": (target_q.sum() / n).item(),
                "values/v": (v.sum() / n).item(), "values/advantage": (diff.sum() / n).item(),
                "values/td_target": (td_target.sum() / n).item(),
            })
        return total * world, metrics

    def after_optimizer_step(self, model: LexiqModel) -> None:
        model.polyak_update(self.config.polyak_alpha)

    def decoding_defaults(self) -> dict[str, Any]:
        return {"beta": 4.0}
