"""IQLearn for language models: maximum likelihood plus a temporal-difference regulariser on the LM's own logits.

Wulfmeier et al. 2024, "Imitating Language via Scalable Inverse Reinforcement Learning" (NeurIPS 2024, arXiv
2409.01369; ``specs/irl.md`` §2), after Garg et al. 2021, "IQ-Learn: Inverse soft-Q Learning for Imitation"
(arXiv 2106.12142). The logits are a soft Q-function over tokens::

    Q(s, a) = logit(s)[a],    V(s) = log Σ_a exp Q(s, a),    log π(a|s) = Q(s, a) − V(s)
    r̂(s, a, s') = Q(s, a) − γ·(1 − d)·V(s')            implicit reward; d = 1 when a ends the episode (EOS)

Offline χ²-IQLearn on expert tokens (the action tokens of the data: the response and its end token, never the
prompt), with n the number of those tokens::

    L = (1/n) Σ_t [ −log π(a_t|s_t) + λ_td · r̂_t² ]  +  λ_kl · L_KL

``λ_td = 0`` is MLE (``bc``) exactly. The gradient flows through ``V(s')`` as in IQ-Learn (``td_grad_next``
turns that off). ``L_KL`` is a penalty toward a frozen copy of the starting model π_ref, either the true KL
under the policy at every response state, ``Σ_a π(a|s)(log π(a|s) − log π_ref(a|s))`` (``kl_estimator: exact``),
or the reference code's log-ratio at the data token, ``log π(a_t|s_t) − log π_ref(a_t|s_t)`` (``log_ratio``;
minimising it only rescales the MLE term). For the first ``mle_warmup_steps`` optimizer steps the loss is MLE
alone (``charts/mle_only`` logs the switch).

**Online variant** (``online_fraction`` α > 0): IQ-Learn's value term ``(1 − γ)·E[V(s_0)]`` is estimated on a
mixture of expert states and states of replies sampled from the current policy (no gradient through the
sampling), and the χ² regulariser is taken on the same mixture::

    L = E_D[ −r̂ ] + (1 − α)·E_D[ V(s) − γ(1 − d)V(s') ] + α·E_π[ V(s) − γ(1 − d)V(s') ]
        + λ_td·[ (1 − α)·E_D[ r̂² ] + α·E_π[ r̂² ] ]  +  λ_kl · L_KL

With α = 0 the first two terms add up to ``E_D[V(s) − Q(s, a)] = E_D[−log π]``: the offline loss. Each step
samples one reply per batch row (its first agent turn's prompt), up to ``online_max_new_tokens`` tokens at
``online_temperature``.

Logged metrics: ``losses/total``, ``losses/mle`` (mean −log π on the data), ``losses/td`` (mean r̂² on the data),
``losses/kl``; monitors at the data's action states: ``values/entropy`` (mean entropy of π), ``values/q_mean``
and ``values/q_std`` (Q at the data tokens), ``values/logpi_mean``, ``values/v_mean``; implicit reward
``reward/mean``, ``reward/std`` (per token) and ``reward/sequence_mean`` (mean over rows of Σ_t r̂_t);
``charts/mle_only``; online: ``losses/online_td``, ``values/online_v_mean``, ``charts/online_tokens``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from lexiq.config import ConfigError
from lexiq.models.model import LexiqModel, hidden_states
from lexiq.objectives.base import Batch, Objective, ObjectiveConfig, count_tokens, next_tokens


@dataclass
class IQLearnConfig(ObjectiveConfig):
    """Offline (and online) χ²-IQLearn settings (``specs/irl.md`` §2.5: λ_td swept over {0.01, 0.1, 1})."""

    gamma: float = 1.0
    """Discount γ of the TD term (1: episodes end at EOS)."""
    td_weight: float = 0.1
    """λ_td: weight of the squared implicit reward (Q(s,a) − γV(s'))²; 0 = MLE exactly."""
    td_grad_next: bool = True
    """Let the gradient flow through V(s') (IQ-Learn; false = a stop-gradient on the next state's value)."""
    kl_weight: float = 0.0
    """λ_kl: weight of a penalty toward a frozen copy of the starting model (0 = off; the paper found little
    benefit)."""
    kl_estimator: Literal["exact", "log_ratio"] = "exact"
    """exact: Σ_a π(log π − log π_ref) at each response state; log_ratio: log π − log π_ref at the data token
    (the reference code's form)."""
    mle_warmup_steps: int = 0
    """Optimizer steps of MLE alone before the TD (and online) terms switch on."""
    online_fraction: float = 0.0
    """α: weight of states from replies sampled from the current policy in the value and χ² terms (0 =
    offline)."""
    online_max_new_tokens: int = 64
    """Longest sampled reply of the online variant."""
    online_temperature: float = 1.0
    """Sampling temperature of the online variant's replies."""


def iq_learn_terms(q_all: torch.Tensor, actions: torch.Tensor, v_next: torch.Tensor, not_done: torch.Tensor,
                   gamma: float) -> dict[str, torch.Tensor]:
    """Per-action terms from plain tensors (testable by hand): ``q_all [N, V]`` the logits at the action
    states, ``actions [N]``, ``v_next [N]`` = V at each action's next state, ``not_done [N]`` = 1 − d.

    Returns ``q``, ``v``, ``logpi``, ``reward`` (r̂) and ``value_diff`` (V(s) − γ(1 − d)V(s')), each ``[N]``."""
    v = torch.logsumexp(q_all, dim=-1)
    q = q_all.gather(1, actions[:, None]).squeeze(1)
    bootstrap = gamma * not_done * v_next
    return {"q": q, "v": v, "logpi": q - v, "reward": q - bootstrap, "value_diff": v - bootstrap}


def _action_values(model: LexiqModel, ids: torch.Tensor, attn: torch.Tensor, mask: torch.Tensor,
                   next_pos: torch.Tensor, not_done: torch.Tensor, gamma: float, grad_next: bool
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """:func:`iq_learn_terms` of the actions in ``mask`` and the logits at their states."""
    hidden = model.hidden(ids, attn)
    q_all = model.logits(hidden[mask]).float()
    rows = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(mask)[mask]
    v_next = torch.logsumexp(model.logits(hidden[rows, next_pos]).float(), dim=-1)
    if not grad_next:
        v_next = v_next.detach()
    actions = next_tokens(ids)[mask]
    return iq_learn_terms(q_all, actions, v_next, not_done, gamma), q_all


class IQLearn(Objective):
    """χ²-IQLearn on the LM's logits (module docstring)."""

    name = "iq_learn"
    config_class = IQLearnConfig

    def __init__(self, config: Any | None = None):
        super().__init__(config)
        cfg: IQLearnConfig = self.config
        for field_name in ("td_weight", "kl_weight"):
            if getattr(cfg, field_name) < 0:
                raise ConfigError(f"objective.{field_name}: {getattr(cfg, field_name)}, expected >= 0")
        if not 0.0 <= cfg.online_fraction <= 1.0:
            raise ConfigError(f"objective.online_fraction: {cfg.online_fraction}, expected a value in [0, 1]")
        if cfg.mle_warmup_steps < 0:
            raise ConfigError(f"objective.mle_warmup_steps: {cfg.mle_warmup_steps}, expected >= 0")
        if cfg.kl_estimator not in ("exact", "log_ratio"):
            raise ConfigError(f"objective.kl_estimator: expected 'exact' or 'log_ratio', got {cfg.kl_estimator!r}")
        if cfg.online_max_new_tokens < 1 or cfg.online_temperature <= 0:
            raise ConfigError("objective.online_max_new_tokens must be >= 1 and online_temperature > 0")
        self.reference: torch.nn.Module | None = None

    def setup_model(self, model: LexiqModel) -> None:
        """A frozen copy of the starting LM when the KL penalty is on."""
        if self.config.kl_weight > 0 and self.reference is None:
            self.reference = copy.deepcopy(model.lm).eval()
            self.reference.requires_grad_(False)

    def in_warmup(self) -> bool:
        return self.global_step < self.config.mle_warmup_steps

    def _kl(self, ids: torch.Tensor, attn: torch.Tensor, mask: torch.Tensor, q_all: torch.Tensor,
            actions: torch.Tensor) -> torch.Tensor:
        """Per-action KL terms toward the reference model ``[N]``."""
        if self.reference is None:
            raise RuntimeError("iq_learn with kl_weight > 0 needs objective.setup_model(model) first")
        if next(self.reference.parameters()).device != ids.device:
            self.reference.to(ids.device)
        with torch.no_grad():
            h = hidden_states(self.reference, ids, attn)[mask]
            ref = F.log_softmax(self.reference.get_output_embeddings()(h).float(), dim=-1)
        logp = F.log_softmax(q_all, dim=-1)
        if self.config.kl_estimator == "log_ratio":
            return (logp - ref).gather(1, actions[:, None]).squeeze(1)
        return (logp.exp() * (logp - ref)).sum(-1)

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        cfg: IQLearnConfig = self.config
        ids, attn = batch["input_ids"], batch["attention_mask"]
        mask = batch["action_mask"] > 0
        not_done = 1.0 - batch["next_terminal"][mask].float()
        t, q_all = _action_values(model, ids, attn, mask, batch["next_state"][mask], not_done, cfg.gamma,
                                  cfg.td_grad_next)
        n, world = count_tokens(batch["action_mask"])
        warm = self.in_warmup()
        alpha = 0.0 if warm else cfg.online_fraction
        mle = -t["logpi"].sum() / n
        td = (t["reward"] ** 2).sum() / n
        metrics: dict[str, float] = {}
        if alpha > 0:
            s = self._policy_samples(model, batch, cfg)
            if s is None:  # nothing sampled (every reply empty): the offline loss
                alpha = 0.0
        if alpha > 0:
            ps, _ = _action_values(model, s["input_ids"], s["attention_mask"], s["mask"], s["next_pos"],
                                   s["not_done"], cfg.gamma, cfg.td_grad_next)
            n_pi, _ = count_tokens(s["mask"])
            loss = (-t["reward"].sum() + (1 - alpha) * t["value_diff"].sum()) / n \
                + alpha * ps["value_diff"].sum() / n_pi \
                + cfg.td_weight * ((1 - alpha) * td + alpha * (ps["reward"] ** 2).sum() / n_pi)
            metrics.update({"losses/online_td": ((ps["reward"] ** 2).sum() / n_pi).item(),
                            "values/online_v_mean": (ps["v"].sum() / n_pi).item(),
                            "charts/online_tokens": float(ps["v"].numel())})
        else:
            loss = mle if warm else mle + cfg.td_weight * td
        kl = torch.zeros((), device=ids.device)
        if cfg.kl_weight > 0:
            kl = self._kl(ids, attn, mask, q_all, next_tokens(ids)[mask]).sum() / n
            loss = loss + cfg.kl_weight * kl
        with torch.no_grad():
            logp = F.log_softmax(q_all.detach(), dim=-1)
            entropy = -(logp.exp() * logp).sum(-1)
            row_of = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(mask)[mask]
            per_row = torch.zeros(ids.shape[0], device=ids.device).index_add_(0, row_of, t["reward"].detach())
            has_actions = mask.any(1)
            metrics.update({
                "losses/total": loss.item(), "losses/mle": mle.item(), "losses/td": td.item(),
                "losses/kl": kl.item(), "values/entropy": (entropy.sum() / n).item(),
                "values/q_mean": t["q"].mean().item(), "values/q_std": t["q"].std().item() if t["q"].numel() > 1
                else 0.0, "values/logpi_mean": t["logpi"].mean().item(), "values/v_mean": t["v"].mean().item(),
                "reward/mean": t["reward"].mean().item(),
                "reward/std": t["reward"].std().item() if t["reward"].numel() > 1 else 0.0,
                "reward/sequence_mean": per_row[has_actions].mean().item() if has_actions.any() else 0.0,
                "charts/mle_only": float(warm), "charts/action_tokens": float(t["q"].numel())})
        return loss * world, metrics

    @torch.no_grad()
    def _policy_samples(self, model: LexiqModel, batch: Batch, cfg: IQLearnConfig) -> dict[str, torch.Tensor] | None:
        """One reply per row sampled from the current policy after the prompt of the row's first agent turn:
        right-padded ``input_ids``/``attention_mask``, the action ``mask``, ``next_pos`` and ``not_done`` of the
        sampled tokens (done at the end-of-turn token), or None when no row has an agent turn."""
        ids, attn, amask = batch["input_ids"], batch["attention_mask"], batch["action_mask"] > 0
        rows = [b for b in range(ids.shape[0]) if bool(amask[b].any())]
        if not rows:
            return None
        first = [int(amask[b].nonzero()[0]) for b in rows]  # the position that emits the first action
        # the end-of-turn token: the token after the last action of the first row's first turn
        turn = batch["turn_index"][rows[0]]
        last = int((amask[rows[0]] & (turn == turn[first[0]])).nonzero()[-1])
        end_id = int(ids[rows[0], last + 1])
        width = max(first) + 1
        prompt = torch.full((len(rows), width), end_id, dtype=ids.dtype, device=ids.device)
        prompt_mask = torch.zeros((len(rows), width), dtype=attn.dtype, device=ids.device)
        for i, (b, p) in enumerate(zip(rows, first, strict=True)):  # left padding for generation
            prompt[i, width - p - 1:] = ids[b, : p + 1]
            prompt_mask[i, width - p - 1:] = 1
        was_training = model.training
        model.eval()
        out = model.lm.generate(prompt, attention_mask=prompt_mask, do_sample=True, top_k=0, top_p=1.0,
                                temperature=cfg.online_temperature, max_new_tokens=cfg.online_max_new_tokens,
                                eos_token_id=end_id, pad_token_id=end_id)
        model.train(was_training)
        new = out[:, width:]
        is_end = new == end_id
        real = (torch.cumsum(is_end.long(), 1) - is_end.long()) == 0  # up to and including the first end token
        lengths = real.sum(1).tolist()
        if not any(lengths):
            return None
        # right-padded prompt + reply rows (position ids start at 0 for every row, as in training)
        total = max(p + 1 + k for p, k in zip(first, lengths, strict=True))
        seq = torch.full((len(rows), total), end_id, dtype=ids.dtype, device=ids.device)
        seq_mask = torch.zeros((len(rows), total), dtype=attn.dtype, device=ids.device)
        mask = torch.zeros((len(rows), total), dtype=torch.bool, device=ids.device)
        done = torch.zeros((len(rows), total), dtype=torch.bool, device=ids.device)
        for i, (b, p, k) in enumerate(zip(rows, first, lengths, strict=True)):
            seq[i, : p + 1] = ids[b, : p + 1]
            seq[i, p + 1: p + 1 + k] = new[i, :k]
            seq_mask[i, : p + 1 + k] = 1
            mask[i, p: p + k] = True  # position j emits the token at j + 1
            if k and bool(is_end[i, k - 1]):
                done[i, p + k - 1] = True
        pos = torch.arange(total, device=ids.device)[None].expand_as(mask)
        return {"input_ids": seq, "attention_mask": seq_mask, "mask": mask, "next_pos": (pos + 1)[mask],
                "not_done": 1.0 - done[mask].float()}
