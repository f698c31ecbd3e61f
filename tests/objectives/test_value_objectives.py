"""ILQL and MC-returns losses against a naive reference that materialises full-vocabulary Q tables."""

import torch
import torch.nn.functional as F

from lexiq.objectives import ILQL, ILQLConfig, MCReturns, MCReturnsConfig


def _naive_ilql(model, batch, cfg):
    h_pi = model.hidden(batch["input_ids"], batch["attention_mask"])
    h = model.value_hidden(batch["input_ids"], batch["attention_mask"])  # h_pi itself unless separate_policy
    heads = model.heads
    v = heads.values(h)  # [B, L]
    q_all = heads.q_all(h)  # [n_q, B, L, V]
    tq_all = heads.q_all(h, target=True).amin(0)
    logits = model.logits(h_pi)
    value_logits = None if model.value_lm is None else model.value_lm.get_output_embeddings()(h)
    total_q = total_v = total_cql = total_pi = total_vlm = 0.0
    n = 0
    B, L = batch["input_ids"].shape
    for b in range(B):
        for j in range(L):
            if batch["action_mask"][b, j] == 0:
                continue
            n += 1
            a = batch["input_ids"][b, j + 1]
            v_next = v[b, batch["next_state"][b, j]]
            y = batch["rewards"][b, j] + cfg.gamma * (1 - batch["next_terminal"][b, j]) * v_next
            y = y.detach()
            for i in range(q_all.shape[0]):
                total_q = total_q + (q_all[i, b, j, a] - y) ** 2
                total_cql = total_cql + torch.logsumexp(q_all[i, b, j], -1) - q_all[i, b, j, a]
            diff = tq_all[b, j, a].detach() - v[b, j]
            w = cfg.tau if diff >= 0 else 1 - cfg.tau
            total_v = total_v + w * diff**2
            total_pi = total_pi - F.log_softmax(logits[b, j], -1)[a]
            if value_logits is not None:
                total_vlm = total_vlm - F.log_softmax(value_logits[b, j], -1)[a]
    return (cfg.q_weight * total_q + cfg.v_weight * total_v + cfg.cql_weight * total_cql
            + cfg.policy_weight * total_pi + cfg.value_lm_weight * total_vlm) / n


def test_ilql_loss_matches_naive_reference(tiny_model, hand_batch):
    cfg = ILQLConfig(gamma=0.9, tau=0.7, cql_weight=0.5)
    obj = ILQL(cfg)
    obj.setup_model(tiny_model)
    # make targets differ from online heads so the test sees which one is used where
    with torch.no_grad():
        tiny_model.heads.target_q_weight.add_(0.3 * torch.randn_like(tiny_model.heads.target_q_weight))
    loss, metrics = obj.loss(tiny_model, hand_batch)
    ref = _naive_ilql(tiny_model, hand_batch, cfg)
    assert torch.allclose(loss, ref, atol=1e-5), (loss, ref)
    # gradients agree too (the CQL term goes through the fused chunked log-sum-exp)
    params = [p for p in tiny_model.parameters() if p.requires_grad]
    g1 = torch.autograd.grad(loss, params, allow_unused=True)
    g2 = torch.autograd.grad(ref, params, allow_unused=True)
    for a, b in zip(g1, g2, strict=True):
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert torch.allclose(a, b, atol=1e-5)
    assert set(metrics) >= {"losses/q", "losses/v", "losses/cql", "losses/policy", "losses/total"}


def test_ilql_single_q_head(tiny_model, hand_batch):
    cfg = ILQLConfig(double_q=False, cql_weight=0.1)
    obj = ILQL(cfg)
    obj.setup_model(tiny_model)
    assert tiny_model.heads.n_q == 1
    loss, _ = obj.loss(tiny_model, hand_batch)
    assert torch.allclose(loss, _naive_ilql(tiny_model, hand_batch, cfg), atol=1e-5)


def test_polyak_update_moves_targets_by_alpha(tiny_model):
    obj = ILQL(ILQLConfig(polyak_alpha=0.25))
    obj.setup_model(tiny_model)
    heads = tiny_model.heads
    with torch.no_grad():
        heads.q_weight.add_(1.0)
    before = heads.target_q_weight.clone()
    obj.after_optimizer_step(tiny_model)
    expected = before + 0.25 * (heads.q_weight - before)
    assert torch.allclose(heads.target_q_weight, expected)
    assert not torch.allclose(heads.target_q_weight, heads.q_weight)


def test_separate_target_backbone_is_polyak_averaged(tiny_model, hand_batch):
    obj = ILQL(ILQLConfig(separate_target=True, polyak_alpha=0.5))
    obj.setup_model(tiny_model)
    assert tiny_model.target_lm is not None
    p_online = next(tiny_model.lm.parameters())
    p_target = next(tiny_model.target_lm.parameters())
    with torch.no_grad():
        p_online.add_(2.0)
    old = p_target.clone()
    obj.after_optimizer_step(tiny_model)
    assert torch.allclose(p_target, old + 0.5 * (p_online - old))
    loss, _ = obj.loss(tiny_model, hand_batch)
    assert torch.isfinite(loss)


def test_separate_policy_matches_reference_and_isolates_the_policy(tiny_model, hand_batch):
    """Paper layout: π_β trained by BC only; V/Q (and the auxiliary LM loss) move only the value transformer."""
    cfg = ILQLConfig(gamma=0.9, cql_weight=0.5, separate_policy=True, separate_target=True, value_lm_weight=0.5)
    obj = ILQL(cfg)
    obj.setup_model(tiny_model)
    assert tiny_model.value_lm is not None and tiny_model.target_lm is not None
    with torch.no_grad():  # a value transformer different from the policy, so a mix-up would show
        for p in tiny_model.value_lm.parameters():
            p.add_(0.2 * torch.randn_like(p))
        tiny_model.polyak_update(1.0)  # the target backbone copies the value transformer, not the policy
    for a, b in zip(tiny_model.target_lm.parameters(), tiny_model.value_lm.parameters(), strict=True):
        assert torch.equal(a, b)
    loss, metrics = obj.loss(tiny_model, hand_batch)
    assert torch.allclose(loss, _naive_ilql(tiny_model, hand_batch, cfg), atol=1e-5)
    assert "losses/value_lm" in metrics
    policy_params = list(tiny_model.lm.parameters())
    value_params = list(tiny_model.value_lm.parameters())

    def grads(c):
        loss_, _ = ILQL(c).loss(tiny_model, hand_batch)
        g = torch.autograd.grad(loss_, policy_params + value_params, allow_unused=True)
        norm = [0.0 if x is None else x.abs().sum().item() for x in g]
        return sum(norm[: len(policy_params)]), sum(norm[len(policy_params):])

    pi_only = ILQLConfig(separate_policy=True, q_weight=0, v_weight=0, cql_weight=0, value_lm_weight=0)
    values_only = ILQLConfig(separate_policy=True, policy_weight=0, cql_weight=0.5, value_lm_weight=1.0)
    g_pi = grads(pi_only)
    g_val = grads(values_only)
    assert g_pi[0] > 0 and g_pi[1] == 0
    assert g_val[0] == 0 and g_val[1] > 0


def test_separate_policy_with_policy_weight_zero_freezes_pi_beta(tiny_model, hand_batch, monkeypatch):
    """BC first, then ILQL with π_β frozen: no gradient for π_β and its forward pass is skipped."""
    obj = ILQL(ILQLConfig(separate_policy=True, policy_weight=0.0))
    obj.setup_model(tiny_model)
    assert not any(p.requires_grad for p in tiny_model.lm.parameters())
    assert all(p.requires_grad for p in tiny_model.value_lm.parameters())
    calls = []
    original = type(tiny_model).hidden
    monkeypatch.setattr(type(tiny_model), "hidden", lambda self, *a: calls.append(1) or original(self, *a))
    loss, metrics = obj.loss(tiny_model, hand_batch)
    assert calls == [] and "losses/policy" not in metrics
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in tiny_model.value_lm.parameters())


def test_mc_returns_regresses_on_returns(tiny_model, hand_batch):
    cfg = MCReturnsConfig(cql_weight=0.0, policy_weight=0.0, v_weight=0.0)
    obj = MCReturns(cfg)
    obj.setup_model(tiny_model)
    loss, _ = obj.loss(tiny_model, hand_batch)
    h = tiny_model.hidden(hand_batch["input_ids"], hand_batch["attention_mask"])
    q_all = tiny_model.heads.q_all(h)[0]
    m = hand_batch["action_mask"] > 0
    a = torch.cat([hand_batch["input_ids"][:, 1:], torch.zeros(2, 1, dtype=torch.long)], 1)
    q = q_all.gather(-1, a.unsqueeze(-1)).squeeze(-1)
    ref = ((q - hand_batch["returns"])[m] ** 2).mean()
    assert torch.allclose(loss, ref, atol=1e-6)
    # targets are hard copies after a step
    with torch.no_grad():
        tiny_model.heads.q_weight.add_(1.0)
    obj.after_optimizer_step(tiny_model)
    assert torch.equal(tiny_model.heads.target_q_weight, tiny_model.heads.q_weight)


def test_ilql_td_loss_decreases_with_training(tiny_model, hand_batch):
    obj = ILQL(ILQLConfig(cql_weight=0.0))
    obj.setup_model(tiny_model)
    opt = torch.optim.Adam([p for p in tiny_model.parameters() if p.requires_grad], lr=3e-3)
    first = None
    for _ in range(60):
        loss, metrics = obj.loss(tiny_model, hand_batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        obj.after_optimizer_step(tiny_model)
        first = metrics["losses/q"] if first is None else first
    assert metrics["losses/q"] < 0.2 * first
