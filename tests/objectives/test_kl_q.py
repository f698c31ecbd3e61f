"""KL-control Q-learning (Jaques et al. 2019): every target variant against a hand computation on a 3-token
vocabulary, the loss against a naive per-token reference, the upstream reward/done quirks, and a training run."""

import math

import pytest
import torch
import torch.nn.functional as F

from lexiq.config import ConfigError
from lexiq.objectives.kl_q import KLQ, KLQConfig, _upstream_rewards_and_dones, kl_q_targets

# one action (N = 1), vocabulary {0, 1, 2}; the data token is a = 1
LOG_P = [math.log(0.5), math.log(0.25), math.log(0.25)]  # prior p(·|s)
LOG_PI = [math.log(0.2), math.log(0.6), math.log(0.2)]  # policy π(·|s) = softmax(Q(s,·))
NEXT = [[[1.0, 2.0, 0.0]], [[0.5, 1.5, 3.0]]]  # target logits at s' for M = 2 dropout passes
R, GAMMA = 2.0, 0.9


def targets(**kw):
    cfg = KLQConfig(gamma=GAMMA, **kw)
    return kl_q_targets(cfg, torch.tensor([R]), torch.tensor([1.0]), torch.tensor(NEXT), torch.tensor([LOG_P]),
                        torch.tensor([LOG_PI]), torch.tensor([1])).item()


def lse(xs):
    return math.log(sum(math.exp(x) for x in xs))


def test_psi_target_by_hand():
    # y = r/c + log p(a) + γ·min_m logsumexp Q̄_m(s')
    backup = min(lse([1.0, 2.0, 0.0]), lse([0.5, 1.5, 3.0]))  # 2.4076 vs 3.2395 -> the first pass
    assert targets(mode="psi", kl_weight=0.5, mc_passes=2) == pytest.approx(2.0 / 0.5 + math.log(0.25)
                                                                            + GAMMA * backup, rel=1e-6)


def test_kl_q_target_by_hand():
    # y = r/c + log p(a) − log π(a) + γ·min_m max Q̄_m(s') = 2/2 + log .25 − log .6 + .9·min(2, 3)
    assert targets(mode="kl_q", kl_weight=2.0) == pytest.approx(1.0 + math.log(0.25) - math.log(0.6) + 0.9 * 2.0,
                                                                 rel=1e-6)


def test_upstream_targets_by_hand():
    base_max = R + GAMMA * 2.0
    # plain batch Q: r + γ·max Q̄
    assert targets(mode="upstream", kl_calc="none") == pytest.approx(base_max, rel=1e-6)
    # Ψ-backup without KL
    assert targets(mode="upstream", kl_calc="none", backup="logsumexp") == pytest.approx(
        R + GAMMA * lse([1.0, 2.0, 0.0]), rel=1e-6)
    # sampled KL: + c·(log p(a) − log π(a))
    assert targets(mode="upstream", kl_weight=0.5) == pytest.approx(
        base_max + 0.5 * (math.log(0.25) - math.log(0.6)), rel=1e-6)
    # integral KL: − c·Σ_a p(a)(log p(a) − log π(a))
    kl = sum(math.exp(lp) * (lp - lq) for lp, lq in zip(LOG_P, LOG_PI, strict=True))
    assert targets(mode="upstream", kl_weight=0.5, kl_calc="integral") == pytest.approx(base_max - 0.5 * kl, rel=1e-6)
    # model averaging (several priors): the sampled term clipped at 0 from above
    two = ["a", "b"]
    assert targets(mode="upstream", kl_weight=0.5, prior_paths=two) == pytest.approx(
        base_max + 0.5 * min(0.0, math.log(0.25) - math.log(0.6)), rel=1e-6)


def test_done_stops_the_bootstrap():
    cfg = KLQConfig(mode="kl_q", kl_weight=1.0, gamma=GAMMA)
    y = kl_q_targets(cfg, torch.tensor([R]), torch.tensor([0.0]), torch.tensor(NEXT), torch.tensor([LOG_P]),
                     torch.tensor([LOG_PI]), torch.tensor([1]))
    assert y.item() == pytest.approx(R + math.log(0.25) - math.log(0.6), rel=1e-6)


def _naive_loss(obj, model, batch, plain_q: bool = False):
    """Per-token loop: Q from the LM's logits (minus the starting model's log-normaliser when Q is normalised),
    targets from the target LM at next_state, prior = starting model."""
    cfg = obj.config
    ids, attn = batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        zeta = torch.zeros(ids.shape) if obj.start_lm is None else torch.logsumexp(
            obj.start_lm(input_ids=ids, attention_mask=attn).logits, -1)
        t_logits = model.target_lm(input_ids=ids, attention_mask=attn).logits - zeta[..., None]
        p_logits = obj.priors[0](input_ids=ids, attention_mask=attn).logits
    q_all = model.logits(model.hidden(ids, attn)) - zeta[..., None]
    total, n = 0.0, 0
    for b in range(ids.shape[0]):
        for j in range(ids.shape[1]):
            if batch["action_mask"][b, j] == 0:
                continue
            n += 1
            a = ids[b, j + 1]
            log_p = F.log_softmax(p_logits[b, j], -1)[a]
            log_pi = F.log_softmax(q_all[b, j].detach(), -1)[a]
            nxt = t_logits[b, batch["next_state"][b, j]]
            not_done = 1 - batch["next_terminal"][b, j]
            if plain_q:  # batch Q-learning: y = r + γ·max Q̄(s', ·), the reward where the data put it
                y = batch["rewards"][b, j] + cfg.gamma * not_done * nxt.max()
            else:
                y = batch["rewards"][b, j] / cfg.kl_weight + log_p - log_pi + cfg.gamma * not_done * nxt.max()
            total = total + F.smooth_l1_loss(q_all[b, j, a], y.detach(), reduction="sum")
    return total / n


def test_loss_matches_naive_reference_and_polyak(tiny_model, hand_batch):
    obj = KLQ(KLQConfig(mode="kl_q", kl_weight=0.5, gamma=0.9, polyak_alpha=0.25))
    obj.setup_model(tiny_model)
    with torch.no_grad():  # make online, target and prior differ
        for p in tiny_model.lm.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for p in tiny_model.target_lm.parameters():
            p.add_(0.1 * torch.randn_like(p))
    loss, metrics = obj.loss(tiny_model, hand_batch)
    assert loss.item() == pytest.approx(_naive_loss(obj, tiny_model, hand_batch).item(), rel=1e-5)
    assert {"losses/q", "values/q", "values/target", "kl/sample", "kl/prior_to_policy"} <= metrics.keys()
    before = [p.clone() for p in tiny_model.target_lm.parameters()]
    obj.after_optimizer_step(tiny_model)
    for t0, t1, s in zip(before, tiny_model.target_lm.parameters(), tiny_model.lm.parameters(), strict=True):
        assert torch.allclose(t1, 0.75 * t0 + 0.25 * s, atol=1e-6)


def test_raw_logit_q_matches_naive_reference(tiny_model, hand_batch):
    obj = KLQ(KLQConfig(mode="kl_q", kl_weight=0.5, gamma=0.9, q_normalizer="none"))
    obj.setup_model(tiny_model)
    assert obj.start_lm is None
    with torch.no_grad():
        for p in tiny_model.lm.parameters():
            p.add_(0.1 * torch.randn_like(p))
    loss, _ = obj.loss(tiny_model, hand_batch)
    assert loss.item() == pytest.approx(_naive_loss(obj, tiny_model, hand_batch).item(), rel=1e-5)


def test_normalised_psi_starts_at_its_fixed_point_without_reward(tiny_model, hand_batch):
    """Q = logits − ζ₀ makes Q = log p at the start, so log Σ exp Q̄(s') = 0 and with zero rewards the Ψ target
    r/c + log p(a) + γ·0 equals Q(s, a) at every token: the loss is 0. Raw logits are far from it (their
    log-normaliser is a per-state offset that the end of an episode, V = 0, contradicts)."""
    batch = dict(hand_batch, rewards=torch.zeros_like(hand_batch["rewards"]))
    with torch.no_grad():  # give the logits a large offset, as a trained LM's have
        tiny_model.lm.transformer.ln_f.bias.add_(0.5 * tiny_model.lm.lm_head.weight.mean(0))
    normalised = KLQ(KLQConfig(mode="psi", gamma=0.9))
    normalised.setup_model(tiny_model)
    loss, metrics = normalised.loss(tiny_model, batch)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert metrics["values/q"] == pytest.approx(metrics["values/log_prior"], abs=1e-5)  # Q = log p at the start
    raw = KLQ(KLQConfig(mode="psi", gamma=0.9, q_normalizer="none"))
    raw.setup_model(tiny_model)
    assert raw.loss(tiny_model, batch)[0].item() > 0.01
    # the shift depends on the state only: the policy softmax(Q) is the LM's softmax(logits)
    ids, attn, mask = batch["input_ids"], batch["attention_mask"], batch["action_mask"] > 0
    zeta = normalised.log_normaliser(ids, attn)
    logits = tiny_model.lm(input_ids=ids, attention_mask=attn).logits
    assert torch.allclose(F.softmax(logits - zeta[..., None], -1)[mask], F.softmax(logits, -1)[mask], atol=1e-6)
    assert KLQ(KLQConfig(mode="upstream")).normalised is False  # auto: the released code's raw logits


def test_upstream_without_quirks_and_kl_is_plain_batch_q(tiny_model, hand_batch):
    cfg = KLQConfig(mode="upstream", kl_calc="none", backup="max", upstream_data_quirks=False, gamma=0.9)
    obj = KLQ(cfg)
    obj.setup_model(tiny_model)
    with torch.no_grad():
        for p in tiny_model.target_lm.parameters():
            p.add_(0.1 * torch.randn_like(p))
    loss, _ = obj.loss(tiny_model, hand_batch)
    assert loss.item() == pytest.approx(_naive_loss(obj, tiny_model, hand_batch, plain_q=True).item(), rel=1e-5)
    batch = dict(hand_batch, turn_index=torch.tensor([[0, 0, -1, 1, -1, -1], [-1, 0, 0, 0, 0, -1]]))
    quirky = KLQ(KLQConfig(mode="upstream", kl_calc="none", backup="max", gamma=0.9))
    quirky.priors, quirky.prior_log_weights = obj.priors, obj.prior_log_weights
    assert quirky.loss(tiny_model, batch)[0].item() != pytest.approx(obj.loss(tiny_model, batch)[0].item())


def test_upstream_spreads_the_utterance_reward_and_done_over_the_last_utterance(hand_batch):
    batch = dict(hand_batch)
    # row 0: turn 0 = positions 0,1 (reward −1 on its last token), turn 1 = position 3 (reward 2, terminal)
    # row 1: one turn at positions 1..4 with reward 1.5, not terminated (next_terminal 0 on its actions)
    batch["turn_index"] = torch.tensor([[0, 0, -1, 1, -1, -1], [-1, 0, 0, 0, 0, -1]])
    mask = batch["action_mask"] > 0
    rewards, done = _upstream_rewards_and_dones(batch, mask)
    assert rewards.tolist() == [-1.0, -1.0, 2.0, 1.5, 1.5, 1.5, 1.5]
    assert done.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_training_fits_the_targets_and_mc_dropout_lowers_them(tiny_model, hand_batch):
    torch.manual_seed(0)
    obj = KLQ(KLQConfig(mode="psi", kl_weight=1.0, gamma=0.5, polyak_alpha=0.05))
    obj.setup_model(tiny_model)
    opt = torch.optim.Adam(tiny_model.lm.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss, _ = obj.loss(tiny_model, hand_batch)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
        obj.after_optimizer_step(tiny_model)
    assert loss.item() < 0.5 * first
    # with dropout in the target network, the minimum over 8 passes is below a single pass on average
    tiny_model.target_lm.config.resid_pdrop = 0.3
    for m in tiny_model.target_lm.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.3
    one = KLQ(KLQConfig(mode="psi", mc_passes=1))
    eight = KLQ(KLQConfig(mode="psi", mc_passes=8))
    for o in (one, eight):
        o.priors, o.prior_log_weights = obj.priors, obj.prior_log_weights
    torch.manual_seed(1)
    _, m1 = one.loss(tiny_model, hand_batch)
    torch.manual_seed(1)
    _, m8 = eight.loss(tiny_model, hand_batch)
    assert m8["values/target"] < m1["values/target"]


def test_bad_settings():
    with pytest.raises(ConfigError, match="kl_weight"):
        KLQ(KLQConfig(kl_weight=0.0))
    with pytest.raises(ConfigError, match="mc_passes"):
        KLQ(KLQConfig(mc_passes=0))
    with pytest.raises(ConfigError, match="2 weights for 1 prior_paths"):
        KLQ(KLQConfig(prior_paths=["x"], prior_weights=[0.5, 0.5]))
