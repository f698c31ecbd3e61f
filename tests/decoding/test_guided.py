"""Q-guided decoding: the KV-cache/hook path against a naive full-recompute reference (ILQL §7)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lexiq.decoding import (
    DecodingConfig,
    GuidedLogitsProcessor,
    beta_sweep,
    generate,
    guided_logits_processor,
)
from lexiq.models.model import HeadsConfig, LexiqModel

VOCAB = 40


def tiny_model(seed: int = 0, separate_target: bool = False, double_q: bool = True,
               separate_policy: bool = False) -> LexiqModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, bos_token_id=None, eos_token_id=None)
    model = LexiqModel(GPT2LMHeadModel(cfg))
    model.add_heads(HeadsConfig(double_q=double_q, separate_target=separate_target, separate_policy=separate_policy))
    assert model.heads is not None
    with torch.no_grad():  # heads large enough to change decisions; target heads differ from online ones
        for p in model.heads.parameters():
            p.normal_(0.0, 0.5)
        for lm in (model.target_lm, model.value_lm):  # separate backbones clearly different from the policy
            if lm is not None:
                for p in lm.parameters():
                    p.normal_(0.0, 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> LexiqModel:
    return tiny_model()


def prompts(batch: int = 3, length: int = 5, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB, (batch, length), generator=g)


@torch.no_grad()
def naive_scores(model: LexiqModel, seqs: torch.Tensor, cfg: DecodingConfig,
                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Guided scores of the next token, re-running the whole model on the whole prefix (no cache, no hook)."""
    heads = model.heads
    assert heads is not None
    logits = model.logits(model.hidden(seqs, mask)[:, -1])
    h = model.value_hidden(seqs, mask)[:, -1]  # the policy's own hidden state unless separate_policy
    if cfg.q_source == "target":
        th = model.target_hidden(seqs, mask)
        q = heads.target_q_min_all(h if th is None else th[:, -1])
    else:
        q = heads.q_all(h, target=False).amin(0)
    gap = q - heads.values(h)[:, None]
    if cfg.exp_adv:
        adv = cfg.beta * gap
    else:
        adv = torch.log(cfg.beta * (gap > 0).float() + (1 - cfg.beta) * (gap <= 0).float())
    if cfg.adv_clip is not None:
        adv = adv.clamp(max=cfg.adv_clip)
    return logits, adv


def naive_greedy(model: LexiqModel, ids: torch.Tensor, cfg: DecodingConfig) -> torch.Tensor:
    """argmax of ℓ' + A per step, ℓ' = π_β logits / temperature with a top-k filter applied before A."""
    assert cfg.top_p == 1.0 and (cfg.filter_order == "before" or (cfg.top_k == 0 and cfg.temperature == 1.0))
    seqs = ids
    for _ in range(cfg.max_new_tokens):
        logits, adv = naive_scores(model, seqs, cfg)
        logits = logits / cfg.temperature
        if cfg.top_k:
            kth = logits.topk(cfg.top_k, dim=-1).values[:, -1:]
            logits = logits.masked_fill(logits < kth, -float("inf"))
        seqs = torch.cat([seqs, (logits + adv).argmax(-1, keepdim=True)], 1)
    return seqs[:, ids.shape[1]:]


def naive_beam(model: LexiqModel, ids: torch.Tensor,
               cfg: DecodingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search over Σ log_softmax(ℓ + A) for one prompt ``ids`` [1, L]: final beams best first, scores."""
    k = cfg.num_beams
    seqs, scores = ids.repeat(k, 1), torch.tensor([0.0] + [-1e9] * (k - 1))
    for _ in range(cfg.max_new_tokens):
        logits, adv = naive_scores(model, seqs, cfg)
        total = (scores[:, None] + torch.log_softmax(logits + adv, -1)).flatten()
        scores, flat = total.topk(k)
        seqs = torch.cat([seqs[flat // VOCAB], (flat % VOCAB)[:, None]], 1)
    return seqs[:, ids.shape[1]:], scores


# -------------------------------------------------------------------------------- (1) β = 0
def test_beta_zero_equals_plain_hf_greedy(model: LexiqModel) -> None:
    ids = prompts()
    ours = generate(model, ids, None, DecodingConfig(beta=0.0, max_new_tokens=8))
    plain = model.lm.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=8)
    assert torch.equal(ours, plain[:, ids.shape[1]:])


def test_beta_zero_needs_no_heads() -> None:
    m = tiny_model()
    m.heads = None
    out = generate(m, prompts(), None, DecodingConfig(beta=0.0, max_new_tokens=4))
    assert out.shape == (3, 4)
    with pytest.raises(ValueError, match="heads"):
        generate(m, prompts(), None, DecodingConfig(beta=1.0, max_new_tokens=4))


# -------------------------------------------------------------------------------- (2) reference
@pytest.mark.parametrize("overrides", [
    {"beta": 1.0},
    {"beta": 4.0},
    {"beta": 4.0, "adv_clip": 0.0},
    {"beta": 2.0, "adv_clip": 0.5},
    {"beta": 0.7, "exp_adv": False},
    {"beta": 4.0, "q_source": "online"},
])
def test_greedy_matches_full_recompute_reference(model: LexiqModel, overrides: dict) -> None:
    cfg = DecodingConfig(max_new_tokens=8, **overrides)
    ids = prompts(batch=4)
    out = generate(model, ids, None, cfg)
    assert torch.equal(out, naive_greedy(model, ids, cfg))
    if cfg.exp_adv:  # the heads really change the decisions in these settings
        assert not torch.equal(out, generate(model, ids, None, replace(cfg, beta=0.0)))


@pytest.mark.parametrize("separate_target", [False, True])
@pytest.mark.parametrize("q_source", ["target", "online"])
def test_greedy_reference_separate_policy(separate_target: bool, q_source: str) -> None:
    """Paper layout: logits from π_β, V/Q from the value transformer run step by step with its own cache."""
    m = tiny_model(seed=4, separate_target=separate_target, separate_policy=True)
    cfg = DecodingConfig(beta=4.0, adv_clip=1.0, max_new_tokens=8, q_source=q_source)  # type: ignore[arg-type]
    ids = prompts(batch=4, seed=6)
    out = generate(m, ids, None, cfg)
    assert torch.equal(out, naive_greedy(m, ids, cfg))
    if not (separate_target and q_source == "target"):  # else Q̄ reads the target backbone and V cancels
        shared = LexiqModel(m.lm, heads=m.heads, target_lm=m.target_lm)  # same heads on the policy's states
        assert not torch.equal(out, generate(shared, ids, None, cfg))


@pytest.mark.parametrize("double_q", [True, False])
def test_greedy_reference_single_q_and_separate_target(double_q: bool) -> None:
    m = tiny_model(seed=3, separate_target=True, double_q=double_q)
    cfg = DecodingConfig(beta=4.0, max_new_tokens=8)
    ids = prompts(batch=4, seed=5)
    assert torch.equal(generate(m, ids, None, cfg), naive_greedy(m, ids, cfg))


@pytest.mark.parametrize(("candidates", "group"), [(1, 32), (3, 4), (16, 4), (16, 32)])
@pytest.mark.parametrize("overrides", [{"beta": 4.0}, {"beta": 8.0, "adv_clip": 0.0},
                                       {"beta": 2.0, "top_k": 5}, {"beta": 4.0, "q_source": "online"}])
def test_greedy_upper_bound_shortcut_is_exact(model: LexiqModel, monkeypatch: pytest.MonkeyPatch,
                                              candidates: int, group: int, overrides: dict) -> None:
    """The CPU large-vocabulary shortcut (exact Q̄ only at the top tokens of ℓ + A(Q_1)) keeps the argmax."""
    import lexiq.decoding.bounds as bounds

    monkeypatch.setattr(bounds, "BOUND_MIN_VOCAB", 0)
    monkeypatch.setattr(bounds, "BOUND_CANDIDATES", candidates)
    monkeypatch.setattr(bounds, "BOUND_GROUP", group)
    calls: list[str] = []
    bound, record = GuidedLogitsProcessor._argmax_scores, bounds.Gate.record

    def spy_bound(self, *args):  # type: ignore[no-untyped-def]
        calls.append("step")
        return bound(self, *args)

    def spy_record(self: bounds.Gate, won: bool) -> None:
        calls.append("certified" if won else "not certified")
        record(self, won)

    monkeypatch.setattr(GuidedLogitsProcessor, "_argmax_scores", spy_bound)
    monkeypatch.setattr(bounds.Gate, "record", spy_record)
    cfg = DecodingConfig(max_new_tokens=8, **overrides)
    ids = prompts(batch=6, seed=13)
    assert torch.equal(generate(model, ids, None, cfg), naive_greedy(model, ids, cfg))
    assert calls.count("step") == 8
    if candidates == 1:
        assert "not certified" in calls  # the other heads were evaluated over the vocabulary


def test_greedy_bound_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Q_1 ≈ Q_2: the bound certifies every step; Q_1, Q_2 apart at a huge β: it does not, still exact."""
    import lexiq.decoding.bounds as bounds

    monkeypatch.setattr(bounds, "BOUND_MIN_VOCAB", 0)
    monkeypatch.setattr(bounds, "BOUND_GROUP", 4)
    outcomes: list[bool] = []
    record = bounds.Gate.record

    def spy(self: bounds.Gate, won: bool) -> None:
        outcomes.append(won)
        record(self, won)

    monkeypatch.setattr(bounds.Gate, "record", spy)
    m = tiny_model(seed=5)
    assert m.heads is not None
    w = m.heads.target_q_weight
    with torch.no_grad():  # Q̄_2 = Q̄_1 + 0.01·noise
        w[1].copy_(w[0] + 0.01 * torch.randn_like(w[0]))
        m.heads.target_q_bias[1].copy_(m.heads.target_q_bias[0])
        m.heads.target_trunk.weight[32:].copy_(m.heads.target_trunk.weight[:32])
        m.heads.target_trunk.bias[32:].copy_(m.heads.target_trunk.bias[:32])
    cfg = DecodingConfig(beta=1.0, max_new_tokens=8)
    ids = prompts(batch=4, seed=3)
    assert torch.equal(generate(m, ids, None, cfg), naive_greedy(m, ids, cfg))
    assert outcomes == [True] * 8
    outcomes.clear()
    far = tiny_model(seed=5)
    big = replace(cfg, beta=400.0)
    monkeypatch.setattr(bounds, "BOUND_CANDIDATES", 1)
    assert torch.equal(generate(far, ids, None, big), naive_greedy(far, ids, big))
    assert not all(outcomes), outcomes  # not certified: the other heads are evaluated, still exact

    gate = bounds.Gate(0.6)
    assert gate.open()
    gate.record(False)
    opened = [gate.open() for _ in range(2 * bounds.PROBE_EVERY)]
    assert opened.count(True) == 2 and opened[bounds.PROBE_EVERY - 1]  # closed, probing every PROBE_EVERY


def test_hook_is_removed_after_generate(model: LexiqModel, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(model, prompts(), None, DecodingConfig(beta=2.0, max_new_tokens=3))
    assert not model.lm.base_model._forward_hooks

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(GuidedLogitsProcessor, "advantage", boom)
    with pytest.raises(RuntimeError, match="boom"):
        generate(model, prompts(), None, DecodingConfig(beta=2.0, max_new_tokens=3))
    assert not model.lm.base_model._forward_hooks


# -------------------------------------------------------------------------------- (3) clip
@pytest.mark.parametrize("filter_order", ["before", "after"])
def test_adv_clip_zero_never_increases_a_logit(model: LexiqModel, filter_order: str) -> None:
    ids = prompts(batch=6, length=7)
    cfg = DecodingConfig(beta=8.0, adv_clip=0.0, filter_order=filter_order)
    with torch.no_grad(), guided_logits_processor(model, cfg) as proc:
        logits = model.lm(ids).logits[:, -1]
        out = proc(ids, logits.clone())
    assert (out <= logits + 1e-6).all()
    assert (out < logits - 1e-3).any()  # some tokens are penalised
    unclipped = replace(cfg, adv_clip=None)
    with torch.no_grad(), guided_logits_processor(model, unclipped) as proc:
        model.lm(ids)
        out_raw = proc(ids, logits.clone())
    # V cancels without clipping: compare per-row shifted scores, the argmax prefers boosted tokens
    logits_ref, adv = naive_scores(model, ids, unclipped)
    assert torch.allclose(torch.log_softmax(out_raw, -1), torch.log_softmax(logits_ref + adv, -1), atol=1e-4)


# -------------------------------------------------------------------------------- (4) order
def test_filter_order_before_restricts_to_behaviour_top_k() -> None:
    m = tiny_model(seed=7)
    ids = prompts(batch=1, length=6, seed=2)
    k = 3
    with torch.no_grad():
        logits = m.logits(m.hidden(ids)[:, -1])[0]
        outside = int(logits.argsort(descending=True)[k + 2])  # not in π_β's top-k
        assert m.heads is not None
        m.heads.target_q_bias[:, outside] += 50.0  # Q̄ strongly prefers it
    base = DecodingConfig(beta=1.0, top_k=k, max_new_tokens=6)
    after = generate(m, ids, None, replace(base, filter_order="after"))
    before = generate(m, ids, None, replace(base, filter_order="before"))
    assert int(after[0, 0]) == outside
    seqs = ids
    for tok in before[0]:  # every "before" choice lies in π_β's top-k at its step
        with torch.no_grad():
            step_logits = m.logits(m.hidden(seqs)[:, -1])[0]
        assert int(tok) in step_logits.topk(k).indices.tolist()
        seqs = torch.cat([seqs, tok.view(1, 1)], 1)
    # and inside the top-k it follows the advantage: reference argmax over top-k of ℓ + A
    ref_logits, adv = naive_scores(m, ids, base)
    allowed = ref_logits[0].topk(k).indices
    assert int(before[0, 0]) == int(allowed[(ref_logits[0] + adv[0])[allowed].argmax()])


def test_temperature_before_changes_greedy_after_does_not(model: LexiqModel) -> None:
    ids = prompts(batch=8, seed=11)
    base = DecodingConfig(beta=2.0, max_new_tokens=6, filter_order="after")
    cold = replace(base, temperature=0.3)
    assert torch.equal(generate(model, ids, None, base), generate(model, ids, None, cold))


# -------------------------------------------------------------------------------- (5) beam
def test_beam_width_one_equals_greedy(model: LexiqModel) -> None:
    ids = prompts(batch=4)
    cfg = DecodingConfig(beta=4.0, max_new_tokens=7)
    assert torch.equal(generate(model, ids, None, replace(cfg, strategy="beam", num_beams=1)),
                       generate(model, ids, None, cfg))


@pytest.mark.parametrize(("separate_target", "separate_policy"), [(False, False), (True, False), (True, True)])
def test_beam_returns_best_guided_beam(separate_target: bool, separate_policy: bool) -> None:
    m = tiny_model(seed=2, separate_target=separate_target, separate_policy=separate_policy)
    k = 4
    cfg = DecodingConfig(strategy="beam", num_beams=k, beta=4.0, max_new_tokens=6, num_return_sequences=k)
    ids = prompts(batch=2, seed=9)
    out = generate(m, ids, None, cfg)
    assert out.shape == (2 * k, 6)
    for i in range(2):  # the beams re-order: with a separate target its cache must follow the parents
        ref, ref_scores = naive_beam(m, ids[i : i + 1], cfg)
        assert torch.equal(out[k * i : k * i + k], ref)
        assert torch.all(ref_scores[:-1] >= ref_scores[1:])
    best = generate(m, ids, None, replace(cfg, num_return_sequences=1))
    assert torch.equal(best, out[::k])
    # guidance changes the beams
    assert not torch.equal(best, generate(m, ids, None, replace(cfg, beta=0.0, num_return_sequences=1)))


# -------------------------------------------------------------------------------- (6) sampling
def test_sampling_is_reproducible_with_a_seed(model: LexiqModel) -> None:
    ids = prompts(batch=4)
    cfg = DecodingConfig(strategy="sample", beta=2.0, temperature=0.9, top_k=10, top_p=0.9, max_new_tokens=10,
                         num_return_sequences=2)
    torch.manual_seed(123)
    a = generate(model, ids, None, cfg)
    torch.manual_seed(123)
    b = generate(model, ids, None, cfg)
    torch.manual_seed(124)
    c = generate(model, ids, None, cfg)
    assert a.shape == (8, 10)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sampling_distribution_matches_reference(model: LexiqModel) -> None:
    ids = prompts(batch=5, length=4)
    cfg = DecodingConfig(strategy="sample", beta=3.0, temperature=0.7)
    with torch.no_grad(), guided_logits_processor(model, cfg) as proc:
        logits = model.lm(ids).logits[:, -1]
        out = proc(ids, logits.clone())
    ref_logits, adv = naive_scores(model, ids, cfg)
    assert torch.allclose(torch.softmax(out, -1), torch.softmax(ref_logits / 0.7 + adv, -1), atol=1e-5)


# -------------------------------------------------------------------------------- (7) padding
@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_left_padding_matches_prompts_run_alone(model: LexiqModel, strategy: str) -> None:
    lengths = [3, 7, 5]
    g = torch.Generator().manual_seed(21)
    singles = [torch.randint(1, VOCAB, (1, n), generator=g) for n in lengths]
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(singles):
        ids[i, width - p.shape[1]:] = p[0]
        mask[i, width - p.shape[1]:] = 1
    cfg = DecodingConfig(strategy=strategy, num_beams=3, beta=4.0, max_new_tokens=6)
    batched = generate(model, ids, mask, cfg, pad_token_id=0)
    for i, p in enumerate(singles):
        assert torch.equal(batched[i], generate(model, p, None, cfg, pad_token_id=0)[0])


def test_right_padding_is_rejected(model: LexiqModel) -> None:
    ids = prompts()
    mask = torch.ones_like(ids)
    mask[0, -1] = 0
    with pytest.raises(ValueError, match="left-padded"):
        generate(model, ids, mask, DecodingConfig(beta=1.0))


# -------------------------------------------------------------------------------- misc
def test_eos_stops_rows_and_pads(model: LexiqModel) -> None:
    ids = prompts(batch=4)
    cfg = DecodingConfig(beta=4.0, max_new_tokens=8)
    free = generate(model, ids, None, cfg)
    eos = int(free[0, 1])
    out = generate(model, ids, None, cfg, eos_token_id=eos, pad_token_id=VOCAB - 1)
    row = out[0].tolist()
    assert row[1] == eos and all(t == VOCAB - 1 for t in row[2:])


def test_beta_sweep(model: LexiqModel) -> None:
    ids = prompts()
    cfg = DecodingConfig(max_new_tokens=4)
    out = beta_sweep(model, ids, None, cfg, betas=[0, 2, 8])
    assert list(out) == [0.0, 2.0, 8.0]
    assert torch.equal(out[8.0], generate(model, ids, None, replace(cfg, beta=8.0)))


@pytest.mark.parametrize("bad", [
    {"strategy": "nucleus"}, {"filter_order": "middle"}, {"q_source": "policy"}, {"beta": -1.0},
    {"exp_adv": False, "beta": 2.0}, {"temperature": 0.0}, {"top_p": 0.0}, {"top_k": -1},
    {"strategy": "beam", "num_beams": 2, "num_return_sequences": 3},
])
def test_config_validation(bad: dict) -> None:
    with pytest.raises(ValueError, match="decoding"):
        DecodingConfig(**bad)
