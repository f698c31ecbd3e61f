"""χ²-IQLearn (Wulfmeier et al. 2024): the per-token terms by hand on a 3-token vocabulary, the loss against a naive
per-position loop (response masking, the EOS rule, KL to the reference), λ_td = 0 as MLE exactly, the warm-up
switch, the online mixture, and a short training run."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lexiq.config import ConfigError
from lexiq.data.collate import collate_mdp
from lexiq.data.episode import Episode, Turn
from lexiq.data.token_mdp import EpisodeFormat, TokenizedDataset
from lexiq.models.byte_tokenizer import byte_tokenizer
from lexiq.models.model import LexiqModel
from lexiq.objectives import BC
from lexiq.objectives.iq_learn import IQLearn, IQLearnConfig, iq_learn_terms


def lse(xs):
    return math.log(sum(math.exp(x) for x in xs))


def test_terms_by_hand_on_three_tokens():
    q_all = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    actions = torch.tensor([1, 2])
    v_next = torch.tensor([4.0, 7.0])
    not_done = torch.tensor([1.0, 0.0])  # the second action is the end token: V(s') = 0
    t = iq_learn_terms(q_all, actions, v_next, not_done, gamma=0.9)
    v0, v1 = lse([1.0, 2.0, 0.5]), lse([0.0, -1.0, 3.0])
    assert t["v"].tolist() == pytest.approx([v0, v1])
    assert t["logpi"].tolist() == pytest.approx([2.0 - v0, 3.0 - v1])
    assert t["reward"].tolist() == pytest.approx([2.0 - 0.9 * 4.0, 3.0])
    assert t["value_diff"].tolist() == pytest.approx([v0 - 0.9 * 4.0, v1])


def tokenizer_and_format():
    return byte_tokenizer(), EpisodeFormat.for_tokenizer(byte_tokenizer())


def batch(episodes):
    tok, fmt = tokenizer_and_format()
    ds = TokenizedDataset(episodes, tok, fmt, gamma=1.0)
    return collate_mdp([ds[i] for i in range(len(ds))], tok.pad_token_id)


def episodes():
    """Prompt (environment) + reply (agent); the first is terminated (its end token is EOS), the second was cut
    off (it bootstraps from the state after its last token); the third has two agent turns."""
    return [Episode([Turn("environment", "Q: 2+3?"), Turn("agent", " 5", 0.0)], terminated=True),
            Episode([Turn("environment", "Q: 1+1?"), Turn("agent", " 2 ok", 0.0)], terminated=False),
            Episode([Turn("environment", "hi"), Turn("agent", "a", 0.0), Turn("environment", "b"),
                     Turn("agent", "cd", 0.0)], terminated=True)]


def tiny_model(vocab: int, seed: int = 0) -> LexiqModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=vocab, n_positions=64, resid_pdrop=0.0,
                     embd_pdrop=0.0, attn_pdrop=0.0)
    return LexiqModel(GPT2LMHeadModel(cfg))


def naive_loss(model, b, lam, gamma, grad_next=True, kl_weight=0.0, reference=None, estimator="exact"):
    """Loop over every position: only action positions count; V(s') = 0 where the next state is terminal."""
    logits = model.lm(b["input_ids"], attention_mask=b["attention_mask"]).logits.float()
    ref = None if reference is None else reference(b["input_ids"], attention_mask=b["attention_mask"]).logits
    total, n = 0.0, 0
    for r in range(logits.shape[0]):
        for j in range(logits.shape[1]):
            if b["action_mask"][r, j] <= 0:
                continue
            a = int(b["input_ids"][r, j + 1])
            v = torch.logsumexp(logits[r, j], 0)
            v_next = torch.logsumexp(logits[r, int(b["next_state"][r, j])], 0)
            if not grad_next:
                v_next = v_next.detach()
            if b["next_terminal"][r, j] > 0:
                v_next = torch.zeros(())
            q = logits[r, j, a]
            term = -(q - v) + lam * (q - gamma * v_next) ** 2
            if kl_weight:
                logp = torch.log_softmax(logits[r, j], 0)
                ref_logp = torch.log_softmax(ref[r, j].float(), 0)
                kl = (logp[a] - ref_logp[a]) if estimator == "log_ratio" else (logp.exp() * (logp - ref_logp)).sum()
                term = term + kl_weight * kl
            total, n = total + term, n + 1
    return total / n


def grads(model, loss):
    model.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("grad_next", [True, False])
def test_loss_and_gradient_match_the_naive_loop(grad_next):
    b = batch(episodes())
    assert b["next_terminal"].sum() > 0 and (b["action_mask"] == 0).any()  # the EOS rule and masking are exercised
    model = tiny_model(len(byte_tokenizer()))
    obj = IQLearn(IQLearnConfig(td_weight=0.3, gamma=0.95, td_grad_next=grad_next))
    obj.setup_model(model)
    loss, metrics = obj.loss(model, b)
    want = naive_loss(model, b, 0.3, 0.95, grad_next=grad_next)
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    for g, h in zip(grads(model, loss), grads(model, want), strict=True):
        torch.testing.assert_close(g, h, rtol=1e-4, atol=1e-6)
    assert metrics["losses/total"] == pytest.approx(metrics["losses/mle"] + 0.3 * metrics["losses/td"], rel=1e-5)


def test_zero_td_weight_is_mle_exactly():
    b = batch(episodes())
    model = tiny_model(len(byte_tokenizer()))
    obj = IQLearn(IQLearnConfig(td_weight=0.0))
    obj.setup_model(model)
    loss, _ = obj.loss(model, b)
    bc, _ = BC().loss(model, b)
    assert loss.item() == pytest.approx(bc.item(), rel=1e-6)
    for g, h in zip(grads(model, loss), grads(model, bc), strict=True):
        torch.testing.assert_close(g, h, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("estimator", ["exact", "log_ratio"])
def test_kl_to_the_frozen_reference(estimator):
    b = batch(episodes())
    model = tiny_model(len(byte_tokenizer()))
    obj = IQLearn(IQLearnConfig(td_weight=0.1, kl_weight=0.5, kl_estimator=estimator))
    obj.setup_model(model)  # the reference is the model as it is now
    reference = copy.deepcopy(model.lm)
    with torch.no_grad():  # the policy moves away from it
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    loss, metrics = obj.loss(model, b)
    want = naive_loss(model, b, 0.1, 1.0, kl_weight=0.5, reference=reference, estimator=estimator)
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert metrics["losses/kl"] != 0.0
    if estimator == "exact":
        assert metrics["losses/kl"] > 0


def test_mle_warmup_then_td():
    b = batch(episodes())
    model = tiny_model(len(byte_tokenizer()))
    obj = IQLearn(IQLearnConfig(td_weight=1.0, mle_warmup_steps=3))
    obj.setup_model(model)
    bc, _ = BC().loss(model, b)
    obj.global_step = 2
    warm, m_warm = obj.loss(model, b)
    obj.global_step = 3
    after, m_after = obj.loss(model, b)
    assert warm.item() == pytest.approx(bc.item(), rel=1e-6) and m_warm["charts/mle_only"] == 1.0
    assert after.item() == pytest.approx(bc.item() + m_after["losses/td"], rel=1e-5)
    assert m_after["charts/mle_only"] == 0.0


def test_online_mixture_matches_its_formula():
    b = batch(episodes())
    model = tiny_model(len(byte_tokenizer()))
    model.eval()
    cfg = IQLearnConfig(td_weight=0.2, online_fraction=0.25, online_max_new_tokens=6)
    obj = IQLearn(cfg)
    obj.setup_model(model)
    torch.manual_seed(7)
    loss, metrics = obj.loss(model, b)
    torch.manual_seed(7)
    s = obj._policy_samples(model, b, cfg)
    # the samples continue each row's first prompt; actions are the sampled tokens only
    for i in range(len(episodes())):
        prompt_len = int(b["action_mask"][i].nonzero()[0]) + 1
        assert torch.equal(s["input_ids"][i, :prompt_len], b["input_ids"][i, :prompt_len])
        assert int(s["mask"][i].nonzero()[0]) == prompt_len - 1
    assert s["mask"].sum() > 0

    def mean_terms(ids, attn, mask, next_pos, not_done):
        logits = model.lm(ids, attention_mask=attn).logits.float()
        rows = torch.arange(ids.shape[0])[:, None].expand_as(mask)[mask]
        q_all = logits[mask]
        a = torch.cat([ids[:, 1:], ids[:, :1]], 1)[mask]
        v = torch.logsumexp(q_all, -1)
        v_next = torch.logsumexp(logits[rows, next_pos], -1) * not_done
        q = q_all.gather(1, a[:, None]).squeeze(1)
        return q, v, v_next

    m = b["action_mask"] > 0
    q, v, v_next = mean_terms(b["input_ids"], b["attention_mask"], m, b["next_state"][m],
                              1 - b["next_terminal"][m])
    qp, vp, vp_next = mean_terms(s["input_ids"], s["attention_mask"], s["mask"], s["next_pos"], s["not_done"])
    a = 0.25
    want = (-(q - v_next)).mean() + (1 - a) * (v - v_next).mean() + a * (vp - vp_next).mean() \
        + 0.2 * ((1 - a) * ((q - v_next) ** 2).mean() + a * ((qp - vp_next) ** 2).mean())
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert metrics["charts/online_tokens"] == float(s["mask"].sum())
    # α = 0 is the offline loss
    obj0 = IQLearn(IQLearnConfig(td_weight=0.2))
    assert obj0.loss(model, b)[0].item() == pytest.approx(((-(q - v)).mean() + 0.2 * ((q - v_next) ** 2).mean())
                                                          .item(), rel=1e-5)


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="online_fraction"):
        IQLearn(IQLearnConfig(online_fraction=1.5))
    with pytest.raises(ConfigError, match="td_weight"):
        IQLearn(IQLearnConfig(td_weight=-1.0))


def test_training_lowers_the_loss_and_pins_the_values(tmp_path):
    """A few hundred steps on one repeated answer: the MLE term falls, and the TD term drives each state's V
    toward Q at the previous token (smaller squared implicit reward than MLE alone reaches)."""
    from lexiq.train import TrainConfig, train

    eps = [Episode([Turn("environment", f"Q{i % 4}:"), Turn("agent", f" {i % 4}{i % 4}", 0.0)], terminated=True)
           for i in range(32)]
    tok, fmt = tokenizer_and_format()
    ds = TokenizedDataset(eps, tok, fmt, gamma=1.0)
    results = {}
    for lam in (0.0, 1.0):
        model = tiny_model(len(tok), seed=1)
        cfg = TrainConfig(output_dir=str(tmp_path / f"lam{lam}"), max_steps=150, batch_size=8, lr=3e-3,
                          log_every=150, progress=False, report_to=[], save_every=0)
        obj = IQLearn(IQLearnConfig(td_weight=lam))
        first, _ = obj.loss(model, collate_mdp([ds[i] for i in range(8)], tok.pad_token_id))
        summary = train(obj, model, ds, lambda items: collate_mdp(items, tok.pad_token_id), cfg)
        results[lam] = (first.item(), summary["metrics"])
    for lam, (first, final) in results.items():
        assert final["losses/mle"] < 0.5 * first, (lam, first, final)
    assert results[1.0][1]["losses/td"] < 0.5 * results[0.0][1]["losses/td"]
