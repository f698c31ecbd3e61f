"""LoRA adapters (model.lora_r): only adapters train, training starts from the base function, the saved policy is
a plain HF directory whose weights equal the adapted model's."""

import json
import random

import pytest
import torch
from accelerate.utils import set_seed

pytest.importorskip("peft")

from lexiq.config import ConfigError  # noqa: E402
from lexiq.data.episode import Episode, Turn  # noqa: E402
from lexiq.data.jsonl import write_episodes  # noqa: E402
from lexiq.models.byte_tokenizer import byte_tokenizer  # noqa: E402
from lexiq.models.lora import is_lora  # noqa: E402
from lexiq.models.presets import ModelConfig, build_model  # noqa: E402
from lexiq.run import load_policy, parse_run_config, run_training  # noqa: E402


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_only_adapters_train_and_start_from_the_base_function(arch):
    tok = byte_tokenizer()
    ids = torch.tensor([[5, 70, 71, 72, 9, 33]])
    torch.manual_seed(0)
    plain = build_model(ModelConfig(path="tiny", tokenizer="bytes", arch=arch, n_positions=16), tok)
    torch.manual_seed(0)
    adapted = build_model(ModelConfig(path="tiny", tokenizer="bytes", arch=arch, n_positions=16, lora_r=4), tok)
    assert is_lora(adapted.lm) and not is_lora(plain.lm)
    trainable = [n for n, p in adapted.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    info = adapted.meta["lora"]
    assert 0 < info["trainable"] < info["total"] and info["r"] == 4
    with torch.no_grad():  # B = 0 at initialisation: the adapted model computes the base model's function
        assert torch.allclose(adapted.lm(ids).logits, plain.lm(ids).logits, atol=1e-6)
        assert torch.allclose(adapted.hidden(ids), plain.hidden(ids), atol=1e-6)


def _episodes(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        req = "".join(rng.choice("abc") for _ in range(3))
        out.append(Episode([Turn("environment", req), Turn("agent", req[::-1], 1.0)]))
    return out


def test_lora_training_lowers_the_loss_freezes_the_base_and_saves_merged_weights(tmp_path):
    write_episodes(tmp_path / "train.jsonl", _episodes(128, 0))
    cfg = {"model": {"path": "tiny", "arch": "llama", "n_positions": 32, "lora_r": 8, "lora_alpha": 16},
           "data": {"train": str(tmp_path / "train.jsonl"), "format": "wordle"},
           "train": {"output_dir": str(tmp_path / "run"), "max_steps": 30, "batch_size": 32, "lr": 1e-2,
                     "progress": False, "report_to": [], "log_every": 5},
           "eval": {"env": None}}
    config, objective_config = parse_run_config("bc", cfg)
    run_training("bc", config, objective_config)
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["losses/bc"] for r in logged if "losses/bc" in r]
    # a frozen model would stay at its first value (up to batch noise): the adapters learn, steadily
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < losses[0] - 0.2

    policy = tmp_path / "run" / "policy"
    assert not (policy / "adapter_config.json").exists()  # a plain HF directory, no peft needed to load it
    model, tokenizer, _ = load_policy(str(policy))
    assert not is_lora(model.lm)
    # the saved (merged) weights differ from the fresh base only through the adapters: rebuild the base with the
    # run's seed (run_training seeds the model initialisation) and compare one adapted and one frozen tensor
    set_seed(config.train.seed)
    base = build_model(ModelConfig(path="tiny", tokenizer="bytes", arch="llama", n_positions=32), tokenizer)
    saved = dict(model.lm.named_parameters())
    fresh = dict(base.lm.named_parameters())
    q = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.allclose(saved[q], fresh[q])  # adapted layer: W + (alpha/r) B A
    emb = "model.embed_tokens.weight"
    assert torch.equal(saved[emb], fresh[emb])  # frozen layer: bit-identical


def test_lora_errors_are_one_line():
    tok = byte_tokenizer()
    with pytest.raises(ConfigError, match="lora_targets='nonexistent_proj'") as err:
        build_model(ModelConfig(path="tiny", tokenizer="bytes", lora_r=2, lora_targets="nonexistent_proj"), tok)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="lora_r=-1"):
        build_model(ModelConfig(path="tiny", tokenizer="bytes", lora_r=-1), tok)
