"""benchmarks/wordle_q_rank.py reads V and Q̄ from the value (and target) transformer, log π_β from the policy."""

import importlib.util
from pathlib import Path

import torch

from lexiq.models.model import HeadsConfig
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "wordle_q_rank.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("wordle_q_rank", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_token_scores_use_the_value_and_target_transformers():
    q_rank = _load_script()
    cfg = ModelConfig(path="tiny", arch="llama", n_positions=64)
    tok = load_tokenizer(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, tok)
    model.add_heads(HeadsConfig(head_hidden=16, separate_policy=True, separate_target=True))
    with torch.no_grad():  # three clearly different transformers
        for lm in (model.value_lm, model.target_lm):
            for p in lm.parameters():
                p.add_(0.3 * torch.randn_like(p))
    model.eval()
    prompt, word = [33, 0, 1, 2, 3, 4, 30], [5, 6, 7, 8, 9, 30]
    got = q_rank.token_scores(model, prompt, word)
    ids = torch.tensor([prompt + word])
    at = slice(len(prompt) - 1, -1)
    actions = torch.tensor(word)
    with torch.no_grad():
        heads = model.heads
        v = heads.values(model.value_hidden(ids)[0, at])
        q = heads.q_at(model.target_hidden(ids)[0, at], actions, target=True).amin(0)
        logp = torch.log_softmax(model.logits(model.hidden(ids)[0, at]), -1).gather(1, actions[:, None])[:, 0]
        v_policy_states = heads.values(model.hidden(ids)[0, at])
    assert torch.allclose(torch.from_numpy(got["v"]), v, atol=1e-5)
    assert torch.allclose(torch.from_numpy(got["q"]), q, atol=1e-5)
    assert torch.allclose(torch.from_numpy(got["logp"]), logp, atol=1e-5)
    assert not torch.allclose(v, v_policy_states, atol=1e-3)  # reading π_β's states would be caught
