"""benchmarks/wordle_q_rank.py reads V and Q̄ from the value (and target) transformer, log π_β from the policy."""

import torch

from lexiq.models.model import HeadsConfig
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer


def test_token_scores_use_the_value_and_target_transformers(load_script):
    q_rank = load_script("wordle_q_rank")
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
