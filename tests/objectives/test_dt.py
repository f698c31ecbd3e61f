"""Decision Transformer by return tokens: the serialisation by hand, and a policy that follows the return asked."""

import random

import pytest

from lexiq.cli import _decoding_from, _load_policy
from lexiq.config import ConfigError
from lexiq.data.episode import Episode, Turn
from lexiq.data.jsonl import write_episodes
from lexiq.data.token_mdp import EpisodeFormat, build_prompt, build_token_mdp
from lexiq.evaluation.rollout import LMPolicy
from lexiq.models.char_tokenizer import char_tokenizer
from lexiq.objectives.dt import DecisionTransformer, DTConfig, condition_turns
from lexiq.run import parse_run_config, run_training


def test_return_tokens_by_hand():
    dt = DecisionTransformer(DTConfig(return_threshold=1.0))
    fmt = dt.extend_format(EpisodeFormat.dialogue())
    tok = char_tokenizer("ab", ["<pad>", *fmt.marker_tokens], pad_token="<pad>", eos_token="<_rep_end_>")
    ids = {t: tok.convert_tokens_to_ids(t) for t in fmt.marker_tokens}
    # a one-step episode: customer, a logged agent reply (context), customer, the scored reply (reward 0)
    ep = Episode([Turn("environment", "a", speaker="customer"), Turn("environment", "b", speaker="agent"),
                  Turn("environment", "a", speaker="customer"), Turn("agent", "bb", 0.0, speaker="agent")])
    (conditioned,) = dt.prepare_episodes([ep, Episode([Turn("agent", "a", 1.0)])])[:1]
    m = build_token_mdp(conditioned, tok, fmt)
    a, b = tok.convert_tokens_to_ids("a"), tok.convert_tokens_to_ids("b")
    assert m.input_ids.tolist() == [
        ids["<_soc_>"], ids["<_cus_start_>"], a, ids["<_cus_end_>"],
        ids["<_reward_one_>"], ids["<_rep_start_>"], b, ids["<_rep_end_>"],      # context reply: relabelled high
        ids["<_cus_start_>"], a, ids["<_cus_end_>"],
        ids["<_reward_zero_>"], ids["<_rep_start_>"], b, b, ids["<_rep_end_>"],  # the scored reply earned 0
    ]
    # only the scored reply is trained; the return tokens are observations
    assert m.action_positions.tolist() == [12, 13, 14]
    # decoding asks for a high return: relabelled context, then <_reward_one_> <_rep_start_>
    prompt = build_prompt(condition_turns(ep.turns[:3], 1.0, prompt=True), tok, fmt)
    assert prompt == m.input_ids[:11].tolist() + [ids["<_reward_one_>"], ids["<_rep_start_>"]]
    # multi-turn return-to-go: rewards -1 then 0 with threshold -0.5 → first turn low, second high
    turns = condition_turns([Turn("agent", "a", -1.0), Turn("environment", "b"), Turn("agent", "b", 0.0)], -0.5)
    assert [t.speaker for t in turns if t.speaker] == ["return_low", "return_high"]
    with pytest.raises(ConfigError, match="every agent turn is high-return"):
        dt.prepare_episodes([Episode([Turn("agent", "a", 1.0)])])
    # relabelled context replies are high but are not trained: they neither count nor hide all-low data
    with pytest.raises(ConfigError, match="every agent turn is low-return"):
        dt.prepare_episodes([ep, ep])
    dt.prepare_episodes([ep, Episode([Turn("agent", "a", 1.0)])])
    assert dt.high_fraction == 0.5


def _episodes(n, seed):
    """Each request gets two logged replies: itself (reward 1) and its reverse (reward 0), equally often, so
    plain imitation has no preference and only the return token says which one is good."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        req = rng.choice(["ab", "bc", "ca", "ac", "ba", "cb"])
        good = rng.random() < 0.5
        out.append(Episode([Turn("environment", req), Turn("agent", req if good else req[::-1], float(good))]))
    return out


def test_conditioning_on_high_return_picks_the_rewarded_reply(tmp_path):
    data = tmp_path / "train.jsonl"
    write_episodes(data, _episodes(600, 0))
    cfg = {"model": {"path": "tiny", "n_positions": 32}, "data": {"train": str(data), "format": "wordle"},
           "train": {"output_dir": str(tmp_path / "dt"), "max_steps": 300, "batch_size": 32, "lr": 3e-3,
                     "progress": False, "report_to": [], "log_every": 50}}
    result = run_training("dt", *parse_run_config("dt", cfg))
    assert result["final_metrics"]["charts/high_return_fraction"] == pytest.approx(0.5, abs=0.06)
    model, tok, fmt = _load_policy(str(tmp_path / "dt" / "policy"))
    assert model.meta["return_conditioning"]["threshold"] == 1.0
    requests = ["ab", "bc", "ca", "ac", "ba", "cb"]
    policy = LMPolicy(model, tok, fmt, _decoding_from(model, {}))
    asked = [Episode([Turn("environment", r)], terminated=False) for r in requests]
    assert policy.act(asked) == requests  # asked for a high return, it repeats the request (the rewarded reply)
    # asked for a low return instead, it gives the reverse: the token decides, not the data's 50/50 mixture
    policy.prompt_turns = lambda turns: [*turns, Turn("environment", "", speaker="return_low")]
    assert policy.act(asked) == [r[::-1] for r in requests]
