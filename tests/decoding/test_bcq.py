"""Discrete BCQ decoding (Jaques et al. 2019 §6): the choice rule on hand-made distributions, and the KV-cached
prior / Q paths against a naive step-by-step recomputation."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lexiq.config import ConfigError
from lexiq.decoding import DecodingConfig, generate
from lexiq.decoding.bcq import BCQLogitsProcessor, generate_bcq
from lexiq.models.model import HeadsConfig, LexiqModel

VOCAB = 40


def tiny_lm(seed: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, bos_token_id=None, eos_token_id=None)
    return GPT2LMHeadModel(cfg).eval()


def prompts(batch: int = 3, length: int = 5, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


def test_choice_keeps_the_best_sampled_token_and_never_leaves_the_prior_support():
    """3-token vocabulary: the prior gives token 1 no mass, so its high Q never wins; of tokens 0 and 2 (both
    sampled among 64 draws) the one with the higher Q does."""
    model = LexiqModel(tiny_lm(0))
    proc = BCQLogitsProcessor(model, DecodingConfig(strategy="bcq", bcq_samples=64), prior=tiny_lm(1),
                              generator=torch.Generator().manual_seed(0))
    prior = torch.log(torch.tensor([[0.5, 0.0, 0.5], [0.5, 0.0, 0.5], [0.9, 0.0, 0.1]]))
    q = torch.tensor([[1.0, 9.0, 2.0], [3.0, 9.0, 2.0], [0.0, 9.0, 5.0]])
    assert proc.choose(prior, q).tolist() == [2, 0, 2]


def test_one_sample_is_sampling_from_the_prior():
    """bcq_samples = 1: whatever Q says, the token is a draw from the prior (frequencies of 20,000 rows)."""
    model = LexiqModel(tiny_lm(0))
    proc = BCQLogitsProcessor(model, DecodingConfig(strategy="bcq", bcq_samples=1), prior=tiny_lm(1),
                              generator=torch.Generator().manual_seed(0))
    p = torch.tensor([0.2, 0.5, 0.3])
    rows = 20_000
    tokens = proc.choose(p.log().expand(rows, 3), torch.tensor([[5.0, 0.0, 9.0]]).expand(rows, 3))
    freq = torch.bincount(tokens, minlength=3).float() / rows
    assert torch.allclose(freq, p, atol=0.015), freq  # 4 binomial s.d. at n = 20,000


def test_more_samples_raise_the_chosen_q():
    """The expected Q of the choice grows with n (the best of more draws), towards max Q over the support."""
    model = LexiqModel(tiny_lm(0))
    p = torch.full((4000, 8), 1 / 8).log()
    q = torch.arange(8.0).expand(4000, 8)
    means = []
    for n in (1, 2, 4, 32):
        proc = BCQLogitsProcessor(model, DecodingConfig(strategy="bcq", bcq_samples=n), prior=tiny_lm(1),
                                  generator=torch.Generator().manual_seed(n))
        means.append(q.gather(1, proc.choose(p, q)[:, None]).mean().item())
    # E[max of n uniform draws from 0..7] = 7 − Σ_k (k/8)^n: 3.5, 4.94, 5.99, 7.0
    for got, n in zip(means, (1, 2, 4, 32), strict=True):
        assert got == pytest.approx(7 - sum((k / 8) ** n for k in range(8)), abs=0.08)


def test_a_greedy_prior_makes_bcq_the_prior_greedy_decode():
    """top_k = 1 leaves one token in the prior's support: BCQ must reproduce the prior's own greedy decode, which
    checks the prior's step-by-step KV-cached logits (left-padded prompts of different lengths included)."""
    prior = tiny_lm(1)
    model = LexiqModel(tiny_lm(0))  # Q = this LM's logits (a kl_q policy)
    ids = prompts()
    mask = torch.ones_like(ids)
    mask[0, :2] = 0  # a shorter, left-padded first prompt
    cfg = DecodingConfig(strategy="bcq", top_k=1, max_new_tokens=6, bcq_samples=3)
    got = generate_bcq(model, ids, mask, cfg, prior=prior)
    want = generate(LexiqModel(prior), ids, mask, DecodingConfig(strategy="greedy", beta=0.0, max_new_tokens=6))
    assert torch.equal(got, want)


@torch.no_grad()
def test_each_step_takes_the_higher_q_of_the_prior_top_two():
    """Prior top-k 2 at temperature 100 (near-uniform over the two, so 64 draws contain both): each new token is
    the one of the prior's two best with the higher Q = the policy LM's logits, recomputed on the whole prefix."""
    prior, lm = tiny_lm(1), tiny_lm(0)
    model = LexiqModel(lm)
    ids = prompts(batch=4)
    cfg = DecodingConfig(strategy="bcq", top_k=2, temperature=100.0, bcq_samples=64, max_new_tokens=6)
    torch.manual_seed(0)
    out = generate_bcq(model, ids, torch.ones_like(ids), cfg, prior=prior)
    seqs = ids
    for t in range(out.shape[1]):
        top2 = prior(seqs).logits[:, -1].topk(2).indices
        q = lm(seqs).logits[:, -1].gather(1, top2)
        assert torch.equal(out[:, t], top2.gather(1, q.argmax(1, keepdim=True)).squeeze(1)), t
        seqs = torch.cat([seqs, out[:, t:t + 1]], 1)


@torch.no_grad()
def test_a_model_with_q_heads_samples_its_own_policy_and_ranks_by_min_q():
    """No prior given: the prior is the model's LM head π_β and Q = min of the target Q heads."""
    torch.manual_seed(0)
    model = LexiqModel(tiny_lm(0))
    model.add_heads(HeadsConfig(double_q=True))
    assert model.heads is not None
    for p in model.heads.parameters():
        p.normal_(0.0, 0.5)
    ids = prompts(batch=4)
    cfg = DecodingConfig(strategy="bcq", top_k=2, temperature=100.0, bcq_samples=64, max_new_tokens=5)
    out = generate(model, ids, torch.ones_like(ids), cfg)
    seqs = ids
    for t in range(out.shape[1]):
        h = model.hidden(seqs)[:, -1]
        top2 = model.logits(h).topk(2).indices
        q = model.heads.target_q_min_all(h).gather(1, top2)
        assert torch.equal(out[:, t], top2.gather(1, q.argmax(1, keepdim=True)).squeeze(1)), t
        seqs = torch.cat([seqs, out[:, t:t + 1]], 1)


def test_independent_decodes_per_prompt_and_clear_errors():
    model = LexiqModel(tiny_lm(0))
    ids = prompts(batch=2)
    cfg = DecodingConfig(strategy="bcq", num_return_sequences=3, max_new_tokens=4)
    out = generate_bcq(model, ids, torch.ones_like(ids), cfg, prior=tiny_lm(1))
    assert out.shape == (6, 4)
    with pytest.raises(ConfigError, match="needs decoding.prior=DIR"):
        generate(model, ids, torch.ones_like(ids), DecodingConfig(strategy="bcq"))
    small = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=VOCAB + 1))
    with pytest.raises(ConfigError, match="vocabulary of 41 tokens, the policy 40"):
        generate_bcq(model, ids, torch.ones_like(ids), DecodingConfig(strategy="bcq"), prior=small)
    with pytest.raises(ConfigError, match="bcq_samples"):
        DecodingConfig(strategy="bcq", bcq_samples=0)
