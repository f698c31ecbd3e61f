"""Return guidance (classifier-free guidance on a DT's return token): the score formula by hand, and the batched
decode against a step-by-step recomputation of both prompts."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lexiq.config import ConfigError
from lexiq.data.episode import Episode, Turn
from lexiq.decoding import DecodingConfig
from lexiq.decoding.return_guidance import generate_return_guided, guided_scores
from lexiq.models.model import LexiqModel

VOCAB = 40
HIGH_ID, LOW_ID = 7, 8


def tiny_model(seed: int = 0) -> LexiqModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, bos_token_id=None, eos_token_id=None,
                     tie_word_embeddings=False, initializer_range=0.3)
    return LexiqModel(GPT2LMHeadModel(cfg).eval())


def twin_prompts() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-padded prompts ending in the high-return token, their low-return twins and the mask."""
    ids = torch.randint(10, VOCAB, (3, 6), generator=torch.Generator().manual_seed(3))
    ids[:, -1] = HIGH_ID
    mask = torch.ones_like(ids)
    mask[1, :3] = 0
    ids[1, :3] = 0
    low = ids.clone()
    low[:, -1] = LOW_ID
    return ids, low, mask


def test_scores_match_the_formula_on_three_tokens():
    high = torch.tensor([[2.0, 1.0, 0.0]])
    low = torch.tensor([[0.0, 1.0, 2.0]])
    lse = math.log(math.exp(2) + math.exp(1) + 1)
    lp_high = [2 - lse, 1 - lse, 0 - lse]
    lp_low = [0 - lse, 1 - lse, 2 - lse]
    want = [(1 + 0.5) * h - 0.5 * lo for h, lo in zip(lp_high, lp_low, strict=True)]
    assert guided_scores(high, low, 0.5)[0].tolist() == pytest.approx(want)
    assert guided_scores(high, low, 0.0)[0].tolist() == pytest.approx(lp_high)


@torch.no_grad()
def _naive(model: LexiqModel, ids: torch.Tensor, low: torch.Tensor, mask: torch.Tensor, w: float, steps: int,
           generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
    """Full forwards of both prompts plus the reply so far at every step (no cache, no batching of the twins)."""
    out = []
    for _ in range(steps):
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        hi = model.lm(ids, attention_mask=mask, position_ids=pos).logits[:, -1]
        lo = model.lm(low, attention_mask=mask, position_ids=pos).logits[:, -1]
        s = guided_scores(hi, lo, w) / temperature
        if generator is None:
            tok = s.argmax(-1, keepdim=True)
        else:
            tok = torch.multinomial(torch.softmax(s, -1), 1, generator=generator)
        out.append(tok)
        ids, low = torch.cat([ids, tok], 1), torch.cat([low, tok], 1)
        mask = torch.cat([mask, torch.ones_like(tok)], 1)
    return torch.cat(out, 1)


@pytest.mark.parametrize("w", [0.0, 1.5])
def test_greedy_decode_equals_step_by_step_recomputation(w):
    model = tiny_model()
    ids, low, mask = twin_prompts()
    got = generate_return_guided(model, ids, low, mask, DecodingConfig(beta=0.0, max_new_tokens=6,
                                                                       return_guidance=w))
    assert torch.equal(got, _naive(model, ids, low, mask, w, 6))
    if w:  # the guidance changes the decode of these prompts (else the test above could not fail)
        assert not torch.equal(got, _naive(model, ids, low, mask, 0.0, 6))


def test_sampling_draws_from_the_guided_distribution():
    model = tiny_model()
    ids, low, mask = twin_prompts()
    cfg = DecodingConfig(strategy="sample", beta=0.0, max_new_tokens=5, return_guidance=2.0, temperature=0.7)
    got = generate_return_guided(model, ids, low, mask, cfg, generator=torch.Generator().manual_seed(11))
    want = _naive(model, ids, low, mask, 2.0, 5, generator=torch.Generator().manual_seed(11), temperature=0.7)
    assert torch.equal(got, want)


def test_beam_search_keeps_the_twins_in_step():
    """One beam is greedy; with four beams the best beam's guided score is at least the greedy reply's."""
    model = tiny_model()
    ids, low, mask = twin_prompts()
    one = generate_return_guided(model, ids, low, mask, DecodingConfig(strategy="beam", num_beams=1, beta=0.0,
                                                                       max_new_tokens=5, return_guidance=1.0))
    assert torch.equal(one, _naive(model, ids, low, mask, 1.0, 5))
    four = generate_return_guided(model, ids, low, mask, DecodingConfig(
        strategy="beam", num_beams=4, num_return_sequences=2, beta=0.0, max_new_tokens=5, return_guidance=1.0))
    assert four.shape == (6, 5)

    @torch.no_grad()
    def score(reply: torch.Tensor, i: int) -> float:
        total = 0.0
        for t in range(reply.shape[0]):
            seq_h = torch.cat([ids[i:i + 1], reply[None, :t]], 1)
            seq_l = torch.cat([low[i:i + 1], reply[None, :t]], 1)
            m = torch.cat([mask[i:i + 1], torch.ones(1, t, dtype=torch.long)], 1)
            pos = (m.cumsum(1) - 1).clamp(min=0)
            s = guided_scores(model.lm(seq_h, attention_mask=m, position_ids=pos).logits[:, -1],
                              model.lm(seq_l, attention_mask=m, position_ids=pos).logits[:, -1], 1.0)
            total += torch.log_softmax(s, -1)[0, reply[t]].item()
        return total

    for i in range(3):
        assert score(four[2 * i], i) >= score(one[i], i) - 1e-4


def test_policy_builds_twin_prompts_and_refuses_a_policy_without_returns():
    from lexiq.data.token_mdp import EpisodeFormat
    from lexiq.evaluation.rollout import LMPolicy
    from lexiq.models.byte_tokenizer import byte_tokenizer
    from lexiq.objectives.dt import HIGH_TOKEN, LOW_TOKEN, DecisionTransformer, DTConfig
    from lexiq.run import add_marker_tokens

    tok = byte_tokenizer()
    fmt = add_marker_tokens(tok, DecisionTransformer(DTConfig()).extend_format(EpisodeFormat.dialogue()))
    torch.manual_seed(0)
    lm = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=len(tok)))
    model = LexiqModel(lm.eval())
    model.meta = {"return_conditioning": {"threshold": 1.0, "relabel_context": True}}
    policy = LMPolicy(model, tok, fmt, DecodingConfig(beta=0.0, max_new_tokens=4, return_guidance=1.0))
    ep = Episode([Turn("environment", "hi", speaker="customer"), Turn("environment", "hello", speaker="agent"),
                  Turn("environment", "a tea", speaker="customer")], terminated=False)
    high = policy._build_prompt(policy.prompt_turns(ep.turns), tok, fmt)
    low = policy._build_prompt(policy.prompt_turns(ep.turns, high=False), tok, fmt)
    diff = [i for i, (a, b) in enumerate(zip(high, low, strict=True)) if a != b]
    assert len(diff) == 1  # only the asked-for return differs; the relabelled context reply stays high
    assert (tok.convert_ids_to_tokens(high[diff[0]]), tok.convert_ids_to_tokens(low[diff[0]])) == (HIGH_TOKEN,
                                                                                                  LOW_TOKEN)
    assert len(policy.act([ep])) == 1
    model.meta = {}
    with pytest.raises(ConfigError, match="not return-conditioned"):
        policy.act([ep])
    with pytest.raises(ConfigError, match="return_guidance"):
        DecodingConfig(strategy="bcq", return_guidance=1.0)
