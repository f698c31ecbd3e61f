"""Presets build the advertised shapes; checkpoints are plain HF directories and round-trip exactly."""

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from lexiq.decoding import generate
from lexiq.decoding.config import DecodingConfig
from lexiq.models.model import HeadsConfig, LexiqModel, ModelLoadError
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_preset_checkpoint_round_trip_and_guided_decoding(tmp_path, arch):
    cfg = ModelConfig(path="tiny", arch=arch, n_positions=64)
    tok = load_tokenizer(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, tok)
    assert model.vocab_size == len(tok) == 35
    model.add_heads(HeadsConfig(head_hidden=16))
    with torch.no_grad():  # make the targets differ from the online heads
        model.heads.target_q_weight.normal_()
    model.eval()
    model.save_pretrained(tmp_path / "ckpt", tokenizer=tok)

    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    ids = torch.tensor([[33, 0, 1, 2, 3, 4, 30, 27, 27, 27, 27, 26, 31]])
    assert torch.allclose(plain(ids).logits, model.lm(ids).logits, atol=1e-6)
    assert AutoTokenizer.from_pretrained(tmp_path / "ckpt").convert_tokens_to_ids("</a>") == 30

    loaded = LexiqModel.from_pretrained(tmp_path / "ckpt").eval()
    for a, b in zip(model.heads.state_dict().values(), loaded.heads.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    guided = DecodingConfig(strategy="greedy", beta=8.0, max_new_tokens=6)
    out_a = generate(model, ids, None, guided, eos_token_id=None, pad_token_id=29)
    out_b = generate(loaded, ids, None, guided, eos_token_id=None, pad_token_id=29)
    assert torch.equal(out_a, out_b)
    # β = 0 is the plain policy; a large β follows the (different) target Q heads instead
    plain_out = generate(model, ids, None, DecodingConfig(beta=0.0, max_new_tokens=6), eos_token_id=None,
                         pad_token_id=29)
    assert torch.equal(plain_out, plain.generate(ids, max_new_tokens=6, do_sample=False, eos_token_id=None,
                                                 pad_token_id=29)[:, ids.shape[1]:])
    with torch.no_grad():
        h = model.hidden(ids)[:, -1]
        expected_first = (model.logits(h) + 1e3 * model.heads.target_q_min_all(h)).argmax(-1)
    huge = generate(model, ids, None, DecodingConfig(beta=1e3, max_new_tokens=1), eos_token_id=None, pad_token_id=29)
    assert torch.equal(huge[:, 0], expected_first)


def test_separate_policy_checkpoint_round_trip(tmp_path):
    """The HF directory holds π_β; the value transformer sits beside it in lexiq_value/ and comes back."""
    cfg = ModelConfig(path="tiny", arch="llama", n_positions=64)
    tok = load_tokenizer(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, tok)
    model.add_heads(HeadsConfig(head_hidden=16, separate_policy=True))
    with torch.no_grad():
        for p in model.value_lm.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model.eval().save_pretrained(tmp_path / "ckpt", tokenizer=tok)
    ids = torch.tensor([[33, 0, 1, 2, 3, 4, 30, 27, 27, 27, 27, 26, 31]])
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt")
    assert torch.allclose(plain(ids).logits, model.lm(ids).logits, atol=1e-6)
    loaded = LexiqModel.from_pretrained(tmp_path / "ckpt").eval()
    assert loaded.value_lm is not None and loaded.target_lm is None
    for a, b in zip(model.value_lm.state_dict().values(), loaded.value_lm.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.allclose(loaded.value_hidden(ids), model.value_hidden(ids), atol=1e-6)
    assert not torch.allclose(loaded.value_hidden(ids), loaded.hidden(ids), atol=1e-3)
    guided = DecodingConfig(strategy="greedy", beta=8.0, max_new_tokens=6)
    assert torch.equal(generate(model, ids, None, guided, eos_token_id=None, pad_token_id=29),
                       generate(loaded, ids, None, guided, eos_token_id=None, pad_token_id=29))


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        LexiqModel.from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        build_model(ModelConfig(path=str(tmp_path / "empty")), load_tokenizer(ModelConfig(path="tiny")))
