"""Per-token KL(π‖p) along replies against a hand loop over the reply's positions."""

import math

import pytest
import torch

from lexiq.data.dialogue import as_context
from lexiq.data.episode import Episode, Turn
from lexiq.data.token_mdp import EpisodeFormat, TokenizedDataset
from lexiq.evaluation.prior_kl import kl_to_prior
from lexiq.models.presets import ModelConfig, build_model, load_tokenizer


@torch.no_grad()
def test_kl_to_prior_matches_a_hand_loop_and_is_zero_against_itself():
    tok = load_tokenizer(ModelConfig(path="tiny"))
    fmt = EpisodeFormat.wordle()
    torch.manual_seed(0)
    policy = build_model(ModelConfig(path="tiny", n_positions=64), tok).lm.eval()
    torch.manual_seed(1)
    prior = build_model(ModelConfig(path="tiny", n_positions=64), tok).lm.eval()
    contexts = [[Turn("environment", "ab")], [Turn("environment", "xyz"), Turn("agent", "c", 0.0),
                                              Turn("environment", "d")]]
    replies = ["cde", "f"]
    got = kl_to_prior(policy, prior, tok, fmt, contexts, replies, batch_size=1)
    for i, (c, r) in enumerate(zip(contexts, replies, strict=True)):
        item = TokenizedDataset([Episode([*map(as_context, c), Turn("agent", r, 0.0)])], tok, fmt)[0]
        ids = torch.as_tensor(item.input_ids)[None]
        log_pi = torch.log_softmax(policy(ids).logits[0], -1)
        log_p = torch.log_softmax(prior(ids).logits[0], -1)
        # the positions whose next token is a token of the reply or its end marker, and no others (the earlier
        # agent turn "c" of the second context is context, not an action)
        positions = [j for j in range(ids.shape[1] - 1) if item.action_mask[j] > 0]
        assert len(positions) == len(tok(r, add_special_tokens=False)["input_ids"]) + 1
        kls = [sum(math.exp(a) * (a - b) for a, b in zip(log_pi[j].tolist(), log_p[j].tolist(), strict=True))
               for j in positions]
        assert got[i] == pytest.approx(sum(kls) / len(kls), rel=1e-4)
        assert got[i] > 0
    assert kl_to_prior(policy, policy, tok, fmt, contexts, replies) == pytest.approx([0.0, 0.0], abs=1e-6)
    with pytest.raises(ValueError, match="2 contexts for 1 replies"):
        kl_to_prior(policy, prior, tok, fmt, contexts, replies[:1])
