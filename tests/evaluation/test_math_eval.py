"""Self-BLEU, Spearman's ρ, the teacher-forced completion scores by hand (a model whose logits are all zero), and
the summary of evaluate_math against its own rows."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lexiq.data.episode import Episode, Turn
from lexiq.data.token_mdp import EpisodeFormat
from lexiq.evaluation.diversity import self_bleu, self_bleu_of, spearman
from lexiq.evaluation.math_eval import completion_scores, evaluate_math, temperature_sweep
from lexiq.models.byte_tokenizer import byte_tokenizer
from lexiq.models.model import LexiqModel


def test_self_bleu_bounds_and_order():
    same = ["we add 3 and 4 to get 7", "we add 3 and 4 to get 7", "we add 3 and 4 to get 7"]
    apart = ["alpha beta gamma delta", "one two three four", "red green blue yellow"]
    assert self_bleu_of(same) == pytest.approx(1.0)
    assert self_bleu_of(apart) == pytest.approx(0.0)
    mixed = ["we add 3 and 4 to get 7", "we add 3 and 4 to get 7", "one two three four"]
    assert 0.0 < self_bleu_of(mixed) < 1.0
    assert self_bleu_of(mixed) == pytest.approx(self_bleu_of(mixed[::-1]))
    mean, se = self_bleu([same, apart])
    assert mean == pytest.approx(0.5) and se == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 2"):
        self_bleu_of(["x"])


def test_spearman():
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)  # 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60
    assert math.isnan(spearman([1, 2, 3], [5, 5, 5]))


def zero_logit_model(vocab: int) -> LexiqModel:
    lm = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=vocab, tie_word_embeddings=False))
    with torch.no_grad():
        lm.lm_head.weight.zero_()
    return LexiqModel(lm.eval())


def test_completion_scores_by_hand():
    """All logits 0: π is uniform over V tokens, so H = log V per token, log π = −log V, and r̂_t = 0 − γ·log V
    except at the end token (terminal: r̂ = 0). A reply of T tokens plus its end token has T + 1 actions."""
    tok = byte_tokenizer()
    fmt = EpisodeFormat.for_tokenizer(tok)
    model = zero_logit_model(len(tok))
    log_v = math.log(len(tok))
    prompts = [[Turn("environment", "QUESTION: 1+1?\n\nSOLUTION:")], [Turn("environment", "Q")]]
    got = completion_scores(model, tok, fmt, prompts, [" 2\n#### 2", "abc"], gamma=0.5)
    for row, reply in zip(got, [" 2\n#### 2", "abc"], strict=True):
        actions = len(reply.encode()) + 1
        assert row["tokens"] == actions
        assert row["entropy"] == pytest.approx(log_v, rel=1e-5)
        assert row["logprob"] == pytest.approx(-actions * log_v, rel=1e-5)
        assert row["implicit_reward"] == pytest.approx(-0.5 * (actions - 1) * log_v, rel=1e-5)


def test_evaluate_math_summary_matches_its_rows():
    tok = byte_tokenizer()
    fmt = EpisodeFormat.for_tokenizer(tok)
    torch.manual_seed(0)
    model = LexiqModel(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=len(tok))).eval())
    eps = [Episode([Turn("environment", f"QUESTION: {i}+1?\n\nSOLUTION:"), Turn("agent", f" #### {i + 1}", 0.0)],
                   terminated=True) for i in range(3)]
    summary, rows = evaluate_math(model, tok, fmt, eps, samples=3, max_new_tokens=6)
    assert len(rows) == 3 and all(len(r["samples"]) == 3 for r in rows)
    assert summary["accuracy"]["mean"] == pytest.approx(sum(r["greedy_correct"] for r in rows) / 3)
    assert summary["accuracy_sampled"]["mean"] == pytest.approx(
        sum(sum(r["samples_correct"]) / 3 for r in rows) / 3)
    assert summary["self_bleu"]["mean"] == pytest.approx(self_bleu([r["samples"] for r in rows])[0])
    assert 0 < summary["entropy"]["mean"] <= math.log(len(tok)) + 1e-6


def test_temperature_sweep_matches_evaluate_math_and_orders_diversity():
    tok = byte_tokenizer()
    fmt = EpisodeFormat.for_tokenizer(tok)
    torch.manual_seed(0)
    model = LexiqModel(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=len(tok))).eval())
    with torch.no_grad():  # peaked logits: at a low temperature every sample is the greedy solution
        model.lm.lm_head.weight.mul_(40.0)
    eps = [Episode([Turn("environment", f"QUESTION: {i}+1?\n\nSOLUTION:"), Turn("agent", f" #### {i + 1}", 0.0)],
                   terminated=True) for i in range(3)]
    summary, rows = evaluate_math(model, tok, fmt, eps, samples=3, max_new_tokens=6, temperature=1.0, seed=4)
    cold, same, hot = temperature_sweep(model, tok, fmt, eps, [0.01, 1.0, 50.0], samples=3, max_new_tokens=6, seed=4)
    assert same["temperature"] == 1.0  # the same seed and settings sample the same solutions
    assert same["self_bleu"]["mean"] == pytest.approx(summary["self_bleu"]["mean"])
    assert same["accuracy_sampled"]["mean"] == pytest.approx(summary["accuracy_sampled"]["mean"])
    assert cold["self_bleu"]["mean"] == pytest.approx(1.0)  # identical samples
    assert hot["self_bleu"]["mean"] < cold["self_bleu"]["mean"]
    with pytest.raises(ValueError, match="positive temperatures"):
        temperature_sweep(model, tok, fmt, eps, [0.0], samples=3)


def test_mean_with_stderr_by_hand():
    from lexiq.evaluation.metrics import mean_with_stderr

    cell = mean_with_stderr([1.0, 2.0, 3.0, 4.0])  # sample s.d. √(5/3); s.e. = s.d. / 2
    assert cell["mean"] == 2.5 and cell["stderr"] == pytest.approx(math.sqrt(5 / 3) / 2)
    assert mean_with_stderr([7.0]) == {"mean": 7.0, "stderr": 0.0}
