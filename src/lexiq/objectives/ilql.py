"""Implicit Language Q-Learning (ILQL).

For action positions t (mask m_t, n = Σ m_t), data action a_t, reward r_t, next-state position s_{t+1} and
next-terminal flag d_{t+1}::

    Q̄_t   = min_i Q̄_i(s_t, a_t)                                    (target heads, no gradient)
    L_V    = (1/n) Σ_t m_t · |τ − 1[Q̄_t < V(s_t)]| · (Q̄_t − V(s_t))²                 expectile regression
    L_Q    = Σ_i (1/n) Σ_t m_t · (r_t + γ·(1 − d_{t+1})·sg[V(s_{t+1})] − Q_i(s_t, a_t))²   TD, online V bootstrap
    L_CQL  = Σ_i (1/n) Σ_t m_t · [log Σ_a exp(Q_i(s_t, a)/T) − Q_i(s_t, a_t)/T]            conservative term
    L_π    = (1/n) Σ_t m_t · ω_t · [−log π_β(a_t | s_t)],  ω_t = min(exp(β_awac·(Q̄_t − V(s_t))), clip)
    L      = w_π·L_π + w_V·L_V + w_Q·L_Q + w_CQL·L_CQL (+ w_obs·L_obs, lexiq.objectives.base.observation_term)
             (+ w_vlm·L_vlm: with separate_policy, BC on the value transformer's own LM head)
    after every optimizer step:  θ̄ ← α·θ + (1 − α)·θ̄   (target Q heads, and target backbone if separate)

γ is applied per action token; environment tokens are skipped by the next-state index (specs/ilql.md §1.3).
With β_awac = 0 (default, as every configuration of the paper effectively used) ω ≡ 1 and π_β is trained by
plain BC on the shared backbone (or, with ``separate_policy``, on its own transformer while V/Q read a second
one, the paper's layout, specs/ilql.md §2.2); policy improvement happens at decoding time (Q-guided decoding,
``lexiq.decoding``): π(a|s) ∝ π_β(a|s)·exp(β·(Q̄(s,a) − V(s))). With β_awac > 0 the policy term is AWAC /
advantage-weighted regression (Nair et al. 2020, arXiv 2006.09359; Peng et al. 2019, arXiv 1910.00177): the
policy transformer itself moves toward exp(β_awac·A)-reweighted data, and guidance acts on top of it.

Cost: Q is gathered at the data actions for L_Q / L_V (``O(N·d)``); the full vocabulary is touched only by
L_CQL, through a chunked fused log-sum-exp (``lexiq.models.ops.linear_logsumexp``). With ``cql_weight: 0`` it is
skipped entirely. Heads and losses are computed in fp32.

Reference: Snell, Kostrikov, Su, Yang, Levine, "Offline RL for Natural Language Generation with Implicit
Language Q Learning", ICLR 2023, arXiv 2206.11871.

Logged metrics: ``losses/total``, ``losses/q``, ``losses/v``, ``losses/cql``, ``losses/policy``,
``losses/observation`` (with ``observation_weight > 0``), ``losses/value_lm`` (with ``separate_policy``),
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
    separate_policy: bool = False
    """π_β and the values in different transformers (paper layout): the policy is trained by its policy term
    only (plain BC, or advantage-weighted BC with ILQL's ``awac_beta``) and the V/Q heads read a value
    transformer of the same shape, so the value losses cannot move π_β (about twice the training cost of the
    shared layout)."""
    value_lm_weight: float = 1.0
    """With ``separate_policy``: weight of a next-token (BC) loss on the value transformer's own LM head, an
    auxiliary task that shapes the representation the heads read (0 = value losses only)."""


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
    still move the representation π_β reads; with ``separate_policy`` it freezes π_β (e.g. a BC policy given
    as ``model.path``) and skips its forward pass."""
    awac_beta: float = 0.0
    """β_awac of the advantage weights ω = exp(β_awac·(Q̄−V)); 0 = plain BC for π_β."""
    awac_clip: float | None = None
    """Upper clip of ω (None = no clip)."""
    polyak_alpha: float = 0.005
    """Soft target update rate α per optimizer step."""


def heads_config(cfg: ValueHeadsFields) -> HeadsConfig:
    return HeadsConfig(head_hidden=cfg.head_hidden, double_q=cfg.double_q, separate_target=cfg.separate_target,
                       separate_policy=cfg.separate_policy)


def action_features(model: LexiqModel, batch: Batch, with_target: bool = True,
                    with_policy: bool = True) -> dict[str, torch.Tensor]:
    """Everything value-based losses need, gathered at the N action positions of the batch.

    Returns ``v_all [B,L]`` (V at every position), ``mask [B,L]``, ``actions [N]``, ``zq [n_q,N,d]``
    (online Q features), ``q [n_q,N]`` (online Q at the data actions), ``target_q [N]`` (min_i Q̄_i at the data
    actions, no grad), ``hidden_actions [N,h]`` and ``hidden [B,L,h]`` (the policy's hidden states) and, with a
    separate value transformer, ``value_hidden_actions [N,h]`` (its hidden states at the actions).
    ``with_policy=False`` skips the policy's forward pass when it is a separate transformer (no policy entries).
    """
    heads = model.heads
    if heads is None:
        raise RuntimeError("this objective needs value heads: call objective.setup_model(model) first")
    ids, attn = batch["input_ids"], batch["attention_mask"]
    separate = model.value_lm is not None
    hidden = model.hidden(ids, attn) if with_policy or not separate else None
    value_hidden = model.value_hidden(ids, attn) if separate else hidden
    assert value_hidden is not None
    mask = batch["action_mask"] > 0
    actions = next_tokens(ids)[mask]
    with torch.autocast(device_type=value_hidden.device.type, enabled=False):  # heads and losses stay fp32
        zv, zq = heads.online_features(value_hidden.float())
        v_all = heads.value_from(zv)
        zq_a = zq[:, mask]
        q = heads.q_at_from(zq_a, actions)
        target_q = torch.zeros_like(actions, dtype=torch.float32)
        if with_target:
            with torch.no_grad():
                target_hidden = model.target_hidden(ids, attn)
                th = (value_hidden if target_hidden is None else target_hidden)[mask].detach().float()
                target_q = heads.q_at_from(heads.target_features(th), actions, target=True).amin(0)
    out = {"v_all": v_all, "mask": mask, "actions": actions, "zq": zq_a, "q": q, "target_q": target_q}
    if hidden is not None:
        out.update(hidden_actions=hidden[mask], hidden=hidden)
    if separate:
        out["value_hidden_actions"] = value_hidden[mask]
    return out


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
                         batch: Batch | None = None, observation_weight: float = 0.0,
                         value_lm_weight: float = 0.0) -> tuple[torch.Tensor | float, dict[str, float]]:
    """``w_CQL·L_CQL + w_π·L_π + w_obs·L_obs (+ w_vlm·L_vlm)`` (each skipped at weight 0) from
    :func:`action_features` output ``f``.

    ``L_π = (1/n) Σ_t ω_t·[−log π_β(a_t|s_t)]`` with ``ω ≡ 1`` unless ``omega`` is given; ``L_obs`` is
    :func:`lexiq.objectives.base.observation_term` (needs ``batch``); with a separate value transformer,
    ``L_vlm = (1/n) Σ_t −log p_value_lm(a_t|s_t)`` is plain BC on its own LM head (an auxiliary task).
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
    if value_lm_weight > 0 and "value_hidden_actions" in f:
        assert model.value_lm is not None
        value_logits = model.value_lm.get_output_embeddings()(f["value_hidden_actions"]).float()
        loss_vlm = F.cross_entropy(value_logits, f["actions"], reduction="sum") / n
        total = total + value_lm_weight * loss_vlm
        metrics["losses/value_lm"] = loss_vlm.item()
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
        if model.value_lm is not None and not self.trains_policy:
            model.lm.requires_grad_(False)  # π_β frozen (e.g. a BC policy loaded from model.path)

    @property
    def trains_policy(self) -> bool:
        """Whether any loss term reads π_β's transformer (else, with a separate value transformer, it is frozen
        and its forward pass is skipped, as the original code does with ``awac_weight = 0``)."""
        return self.config.policy_weight > 0 or self.config.observation_weight > 0


class ILQL(ValueObjective):
    """Implicit Language Q-Learning: one shared transformer (default), or separate policy / target transformers."""

    name = "ilql"
    config_class = ILQLConfig

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, Any]]:
        cfg: ILQLConfig = self.config
        f = action_features(model, batch, with_policy=self.trains_policy)
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
                                              cfg.policy_weight, omega, batch, cfg.observation_weight,
                                              cfg.value_lm_weight)
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
