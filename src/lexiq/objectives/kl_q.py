"""KL-control batch Q-learning on the LM's own logits: Ψ-learning, KL-regularised Q-learning and the upstream form.

Jaques et al. 2019, "Way Off-Policy Batch Deep Reinforcement Learning of Implicit Human Preferences in Dialog"
(arXiv 1907.00456; ``specs/kl_control.md`` §3–5). Actions are tokens; ``Q(s, ·)`` is the trained LM's output
logits, ``π(a|s) = softmax(Q(s, ·))[a]``; ``Q̄`` is a Polyak copy of that LM (the target network) and ``p`` a
frozen prior (by default the starting model itself, or a weighted mixture of several checkpoints:
``p_MA(a|s) = Σ_j w_j·p_j(a|s)``, §4.5). For every action position t (data token a_t, reward r_t, next state
s' = the next action position, done d = the next state is terminal), with KL weight c and discount γ::

    B(s')  = min_m  max_a' Q̄_m(s', a')        or   min_m  log Σ_a' exp Q̄_m(s', a')
             (m = 1..M target passes with fresh dropout masks: the Monte-Carlo lower bound, §4.3)

    mode psi      y_t = r_t / c + log p(a_t|s_t) + γ·(1 − d)·B_lse(s')                    (Ψ-learning)
    mode kl_q     y_t = r_t / c + log p(a_t|s_t) − log π(a_t|s_t) + γ·(1 − d)·B_max(s')   (KL-regularised Q)
    mode upstream y_t = r_t + γ·(1 − d)·B(s') + c·k_t                                   (the released code)
                  k_t = log p(a_t|s_t) − log π(a_t|s_t)                    (kl_calc: sample)
                      = −Σ_a p(a|s_t)·(log p(a|s_t) − log π(a|s_t)) = −KL(p‖π)   (kl_calc: integral)
                      = min(0, log p_MA(a_t|s_t) − log π(a_t|s_t))           (sample, with several priors)
                      = 0                                                       (kl_calc: none: plain batch Q)

    L = (1/n) Σ_t smooth_L1(Q(s_t, a_t) − sg[y_t]),     after each step  θ̄ ← α·θ + (1 − α)·θ̄

**Normalised Q** (``q_normalizer: start``, lexiq's default for psi and kl_q): ``Q(s, a) = z(s, a) − ζ(s)`` with
``z`` the LM's logits and ``ζ(s) = log Σ_a exp z₀(s, a)`` the log-normaliser of the *starting* model's logits
(frozen, no gradient; the same shift for Q̄ at s'). A pretrained LM's logits carry an arbitrary per-state offset
(about 8.7 nats for the benchmark's byte-level prior), so with raw logits every non-final token bootstraps from
``γ·max Q̄(s') ≈ 8`` while the reply's end marker, whose next state is terminal, is pulled down to its reward:
the end marker loses every argmax and replies run to the length cap. With the shift, ``Q = log p`` at the start
(so ``log Σ exp Ψ̄ = 0``: the soft value of every state starts at the terminal value 0). ``ζ`` depends on the state
only, so ``softmax(Q) = softmax(z)`` and ``argmax Q = argmax z``: decoding with the saved model is unchanged.
``q_normalizer: none`` uses the raw logits as the paper's and the released code's Q.

``k_t``, ``log π`` and the targets carry no gradient. **Why psi is the default**: the paper's objective
``E_q[r]/c − KL(q‖p)`` has the per-step reward ``r/c + log p − log π``; its soft-optimal solution is Ψ-learning,
whose log-sum-exp backup already accounts for the policy's entropy, so ``−log π`` must not be added again. The
released code scales the reward by 1 and the KL term by c (the same optimum as ``r/c`` up to a scale of Q, but
then ``softmax(Q)`` is a different temperature), and with Ψ-learning *and* KL-control it counts the entropy twice.
``kl_q`` is the paper's KL-regularised Q-learning with a hard max; ``upstream`` replicates the code, including
its two data quirks: the utterance reward is added at **every** token of the utterance, and on a chat's last
utterance no token bootstraps (not only the last one); ``upstream_data_quirks: false`` turns them off, which
makes ``upstream`` with ``kl_calc: none`` plain batch Q-learning (``backup: max``) or Ψ-learning without KL
(``backup: logsumexp``) on the same reward placement as ``psi`` and ``kl_q``.

Logged metrics: ``losses/q``, ``values/q`` (mean Q at the data tokens), ``values/target`` (mean y),
``values/log_prior`` (mean log p at the data tokens), ``kl/sample`` (mean log π − log p at the data tokens, an
estimate of KL(π‖p) on the data), ``kl/prior_to_policy`` (mean KL(p‖π) over the action states).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F

from lexiq.config import ConfigError
from lexiq.models.model import LexiqModel, hidden_states
from lexiq.objectives.base import Batch, Objective, ObjectiveConfig, count_tokens, next_tokens


@dataclass
class KLQConfig(ObjectiveConfig):
    """KL-control Q-learning settings (``specs/kl_control.md`` §4.6: the README's best run is Ψ + KL + M = 5)."""

    mode: Literal["psi", "kl_q", "upstream"] = "psi"
    """Target formula: psi (Ψ-learning, r/c + log p + γ·logsumexp Ψ̄), kl_q (r/c + log p − log π + γ·max Q̄) or
    upstream (the released code: r + γ·backup + c·k)."""
    kl_weight: float = 0.5
    """c: the reward is divided by it (psi, kl_q) or the KL term multiplied by it (upstream)."""
    backup: Literal["max", "logsumexp"] = "max"
    """upstream only: max_a' Q̄ (batch Q) or log Σ exp Q̄ (the code's --psi_learning)."""
    kl_calc: Literal["sample", "integral", "none"] = "sample"
    """upstream only: the KL term k_t (none = plain batch Q-learning, no KL-control)."""
    upstream_data_quirks: bool = True
    """upstream only: the released code's reward on every token of the utterance and done on every token of a
    chat's last utterance; false = the reward on the utterance's last token only (a plain Q-learning target, as
    psi and kl_q use: the form for comparing batch Q with them)."""
    mc_passes: int = 1
    """M: target-network passes with fresh dropout masks; the target is their minimum (1 = one pass)."""
    prior_paths: list[str] = field(default_factory=list)
    """Prior checkpoints (lexiq or HF causal-LM directories); empty = a frozen copy of the starting model."""
    prior_weights: list[float] | None = None
    """Weights of the model-averaged prior (normalised to sum 1; None = equal)."""
    polyak_alpha: float = 0.005
    """α of the soft target update θ̄ ← α·θ + (1 − α)·θ̄ after every optimizer step."""
    huber_delta: float = 1.0
    """δ of the smooth-L1 (Huber) loss."""
    q_normalizer: Literal["auto", "start", "none"] = "auto"
    """start: Q = logits − the starting model's log-normaliser at the same state (module docstring); none: Q = the
    raw logits (the paper and the released code); auto: start for psi and kl_q, none for upstream."""


def kl_q_targets(cfg: KLQConfig, rewards: torch.Tensor, not_done: torch.Tensor, next_logits: torch.Tensor,
                 prior_logprobs: torch.Tensor, policy_logprobs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The targets ``y [N]`` of the module docstring from plain tensors (no models: testable by hand).

    ``rewards``, ``not_done`` ``[N]``; ``next_logits [M, N, V]``: the target network's logits at each action's next
    state for M dropout passes; ``prior_logprobs``, ``policy_logprobs`` ``[N, V]``: log p and log π at the action's
    own state; ``actions [N]``: the data tokens."""
    backup_kind = {"psi": "logsumexp", "kl_q": "max"}.get(cfg.mode, cfg.backup)
    if backup_kind == "logsumexp":
        per_pass = torch.logsumexp(next_logits, dim=-1)
    else:
        per_pass = next_logits.amax(dim=-1)
    backup = per_pass.amin(dim=0)  # the Monte-Carlo dropout lower bound
    log_p = prior_logprobs.gather(1, actions[:, None]).squeeze(1)
    log_pi = policy_logprobs.gather(1, actions[:, None]).squeeze(1)
    bootstrap = cfg.gamma * not_done * backup
    if cfg.mode == "psi":
        return rewards / cfg.kl_weight + log_p + bootstrap
    if cfg.mode == "kl_q":
        return rewards / cfg.kl_weight + log_p - log_pi + bootstrap
    if cfg.kl_calc == "none":
        k = torch.zeros_like(rewards)
    elif cfg.kl_calc == "integral":
        k = -(prior_logprobs.exp() * (prior_logprobs - policy_logprobs)).sum(-1)
    else:
        k = log_p - log_pi
        if len(cfg.prior_paths) > 1:  # the model-averaged prior's clipped form (§4.3)
            k = k.clamp(max=0.0)
    return rewards + bootstrap + cfg.kl_weight * k


def _upstream_rewards_and_dones(batch: Batch, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The released code's per-token reward and done flags at the action positions: every token of an utterance
    gets the utterance's reward, and every token of a terminated episode's last utterance is done."""
    turn = batch["turn_index"]
    rewards = batch["rewards"]
    n_turns = int(turn.max().item()) + 1 if turn.numel() else 0
    per_turn = torch.zeros(turn.shape[0], max(n_turns, 1), dtype=rewards.dtype, device=rewards.device)
    valid = turn >= 0
    per_turn.scatter_add_(1, turn.clamp(min=0), torch.where(valid, rewards, torch.zeros_like(rewards)))
    spread = per_turn.gather(1, turn.clamp(min=0))
    last_turn = torch.where(valid, turn, torch.full_like(turn, -1)).amax(dim=1, keepdim=True)
    terminated = ((batch["next_terminal"] > 0) & (batch["action_mask"] > 0)).any(dim=1, keepdim=True)
    done = (turn == last_turn) & terminated
    return spread[mask], done[mask].float()


class KLQ(Objective):
    """KL-control Q-learning: the LM's logits are Q; target network, frozen prior, Monte-Carlo dropout targets."""

    name = "kl_q"
    config_class = KLQConfig

    def __init__(self, config: Any | None = None):
        super().__init__(config)
        cfg: KLQConfig = self.config
        if cfg.kl_weight <= 0:
            raise ConfigError(f"objective.kl_weight: {cfg.kl_weight}, expected > 0")
        if cfg.mc_passes < 1:
            raise ConfigError(f"objective.mc_passes: {cfg.mc_passes}, expected at least 1")
        if cfg.prior_weights is not None and len(cfg.prior_weights) != len(cfg.prior_paths):
            raise ConfigError(f"objective.prior_weights: {len(cfg.prior_weights)} weights for "
                              f"{len(cfg.prior_paths)} prior_paths")
        if cfg.prior_weights is not None and (min(cfg.prior_weights) < 0 or sum(cfg.prior_weights) <= 0):
            raise ConfigError("objective.prior_weights: expected non-negative weights with a positive sum")
        self.priors: list[torch.nn.Module] = []
        self.prior_log_weights: torch.Tensor | None = None
        self.start_lm: torch.nn.Module | None = None  # the frozen starting model whose log-normaliser shifts Q

    @property
    def normalised(self) -> bool:
        cfg: KLQConfig = self.config
        return cfg.q_normalizer == "start" or (cfg.q_normalizer == "auto" and cfg.mode != "upstream")

    def setup_model(self, model: LexiqModel) -> None:
        """A target copy of the LM (Polyak-averaged) and the frozen prior(s)."""
        cfg: KLQConfig = self.config
        if model.target_lm is None:
            model.target_lm = copy.deepcopy(model.lm)
            model.target_lm.requires_grad_(False)
        if cfg.prior_paths:
            from transformers import AutoModelForCausalLM

            from lexiq.models.model import check_model_dir

            self.priors = []
            for path in cfg.prior_paths:
                check_model_dir(path)
                prior = AutoModelForCausalLM.from_pretrained(path)
                if prior.get_output_embeddings().weight.shape[0] != model.vocab_size:
                    raise ConfigError(f"objective.prior_paths: {path} has a vocabulary of "
                                      f"{prior.get_output_embeddings().weight.shape[0]}, the model "
                                      f"{model.vocab_size}; the prior must share the tokenizer")
                self.priors.append(prior)
        else:
            self.priors = [copy.deepcopy(model.lm)]
        weights = torch.tensor(cfg.prior_weights if cfg.prior_weights is not None else [1.0] * len(self.priors))
        self.prior_log_weights = torch.log(weights / weights.sum())
        for prior in self.priors:
            prior.requires_grad_(False)
            prior.eval()
        self.start_lm = None
        if self.normalised:
            self.start_lm = self.priors[0] if not cfg.prior_paths else copy.deepcopy(model.lm)
            self.start_lm.requires_grad_(False)
            self.start_lm.eval()

    def log_normaliser(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``ζ [B, T]``: log Σ_a exp of the starting model's logits at every position (zeros when Q is unshifted)."""
        if self.start_lm is None:
            return torch.zeros(input_ids.shape, device=input_ids.device)
        if next(self.start_lm.parameters()).device != input_ids.device:
            self.start_lm.to(input_ids.device)
        with torch.no_grad():
            h = hidden_states(self.start_lm, input_ids, attention_mask)
            return torch.logsumexp(self.start_lm.get_output_embeddings()(h).float(), dim=-1)

    def prior_logprobs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        """``log p(·|s_t) [N, V]`` at the action states: log Σ_j w_j·p_j, the model-averaged prior."""
        assert self.prior_log_weights is not None, "call setup_model first"
        parts = []
        for prior, log_w in zip(self.priors, self.prior_log_weights.tolist(), strict=True):
            if next(prior.parameters()).device != input_ids.device:
                prior.to(input_ids.device)
            with torch.no_grad():
                h = hidden_states(prior, input_ids, attention_mask)[mask]
                parts.append(F.log_softmax(prior.get_output_embeddings()(h).float(), dim=-1) + log_w)
        return torch.logsumexp(torch.stack(parts), dim=0)

    def loss(self, model: LexiqModel, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        cfg: KLQConfig = self.config
        if model.target_lm is None:
            raise RuntimeError("kl_q needs a target network: call objective.setup_model(model) first")
        ids, attn = batch["input_ids"], batch["attention_mask"]
        mask = batch["action_mask"] > 0
        actions = next_tokens(ids)[mask]
        rows = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(mask)[mask]
        next_pos = batch["next_state"][mask]
        zeta = self.log_normaliser(ids, attn)  # ζ(s) [B, T]: 0 for raw-logit Q
        q_all = model.logits(model.hidden(ids, attn)[mask]).float() - zeta[mask][:, None]  # Q(s_t, ·) [N, V]
        q = q_all.gather(1, actions[:, None]).squeeze(1)
        with torch.no_grad():
            policy_logprobs = F.log_softmax(q_all.detach(), dim=-1)
            prior_logprobs = self.prior_logprobs(ids, attn, mask)
            target = model.target_lm
            was_training = target.training
            target.train(cfg.mc_passes > 1 or was_training)  # dropout on: each pass draws fresh masks
            passes = []
            for _ in range(cfg.mc_passes):
                th = hidden_states(target, ids, attn)[rows, next_pos]
                passes.append(target.get_output_embeddings()(th).float() - zeta[rows, next_pos][:, None])
            target.train(was_training)
            if cfg.mode == "upstream" and cfg.upstream_data_quirks:
                rewards, done = _upstream_rewards_and_dones(batch, mask)
            else:
                rewards, done = batch["rewards"][mask], batch["next_terminal"][mask]
            y = kl_q_targets(cfg, rewards.float(), 1.0 - done.float(), torch.stack(passes), prior_logprobs,
                             policy_logprobs, actions)
        n, world = count_tokens(batch["action_mask"])
        loss = F.smooth_l1_loss(q, y, reduction="sum", beta=cfg.huber_delta) / n
        with torch.no_grad():
            log_p = prior_logprobs.gather(1, actions[:, None]).squeeze(1)
            log_pi = policy_logprobs.gather(1, actions[:, None]).squeeze(1)
            kl_p_pi = (prior_logprobs.exp() * (prior_logprobs - policy_logprobs)).sum(-1)
            metrics = {"losses/q": loss.item(), "values/q": (q.sum() / n).item(), "values/target": (y.sum() / n).item(),
                       "values/log_prior": (log_p.sum() / n).item(), "kl/sample": ((log_pi - log_p).sum() / n).item(),
                       "kl/prior_to_policy": (kl_p_pi.sum() / n).item(), "charts/action_tokens": float(q.numel())}
        return loss * world, metrics

    def after_optimizer_step(self, model: LexiqModel) -> None:
        model.polyak_update(self.config.polyak_alpha)
