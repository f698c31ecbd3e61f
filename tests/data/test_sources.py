"""Episode sources: paths, lists, datasets.Dataset, trlx samples (+ z-scoring by hand)."""

from __future__ import annotations

import math

import datasets
import pytest

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, EpisodeFormatError, Turn
from lexiq.data.jsonl import write_episodes
from lexiq.data.sources import from_trlx_samples, load_episodes, zscore_rewards
from lexiq.data.token_mdp import EpisodeFormat, build_token_mdp

RECORDS = [
    {"turns": [{"role": "environment", "text": "hi"}, {"role": "agent", "text": "yo", "reward": 1.0}],
     "meta": {"id": "a"}},
    {"turns": [{"role": "agent", "text": "go", "reward": -1.0, "token_rewards": [0.5, 0.5]}],
     "terminated": False, "truncated": True, "meta": {"source": "log"}},
]


def test_load_from_path_list_of_dicts_and_episodes(tmp_path):
    from_dicts = load_episodes(RECORDS)
    assert [e.to_dict() for e in from_dicts] == [
        {"turns": RECORDS[0]["turns"], "terminated": True, "truncated": False, "meta": {"id": "a"}},
        {**RECORDS[1]},
    ]
    assert load_episodes(from_dicts) == from_dicts
    path = tmp_path / "x.jsonl"
    write_episodes(path, from_dicts)
    assert load_episodes(path) == from_dicts
    assert load_episodes(str(path)) == from_dicts


def test_load_errors():
    with pytest.raises(EpisodeFormatError, match=r"^record 1: turn 0: expected role"):
        load_episodes([RECORDS[0], {"turns": [{"role": "user", "text": "x"}]}])
    with pytest.raises(EpisodeFormatError, match=r"^episode 0: episode has no agent turn"):
        load_episodes([Episode([Turn("environment", "x")])])
    with pytest.raises(EpisodeFormatError, match="no episodes"):
        load_episodes([])
    with pytest.raises(EpisodeFormatError, match=r"expected a \.jsonl file"):
        load_episodes("data.csv")


def test_load_from_datasets_dataset():
    # Dataset.from_list takes its columns from the first row, so give every row the top-level keys
    rows = [{"terminated": True, "truncated": False, **RECORDS[0]}, RECORDS[1]]
    ds = datasets.Dataset.from_list(rows)
    eps = load_episodes(ds)
    # Arrow unifies nested schemas (a missing reward / meta key comes back as None); loading drops them again
    assert ds[0]["turns"][0]["reward"] is None and ds[0]["meta"]["source"] is None
    assert [e.to_dict() for e in eps] == [e.to_dict() for e in load_episodes(RECORDS)]
    bad = datasets.Dataset.from_list([RECORDS[0], {"turns": [], "meta": {"id": "b"}}])
    with pytest.raises(EpisodeFormatError, match=r"^dataset row 1: empty episode"):
        load_episodes(bad)
    with pytest.raises(EpisodeFormatError, match=r"pass one split"):
        load_episodes(datasets.DatasetDict({"train": ds}))


def test_trlx_samples_to_episodes():
    samples = ["just text", ["Q: 1+1?", " 2", " Sure?", " yes"]]
    eps, stats = from_trlx_samples(samples, [0.5, 2.0])
    assert stats is None
    assert [(t.role, t.text, t.reward) for t in eps[0].turns] == [(AGENT, "just text", 0.5)]
    assert [(t.role, t.text, t.reward) for t in eps[1].turns] == [
        (ENVIRONMENT, "Q: 1+1?", None), (AGENT, " 2", 0.0), (ENVIRONMENT, " Sure?", None), (AGENT, " yes", 2.0)]
    assert all(e.terminated for e in eps) and eps[1].meta == {"raw_reward": 2.0}
    with pytest.raises(EpisodeFormatError, match=r"^sample 0: expected an even-length list"):
        from_trlx_samples([["a", "b", "c"]], [1.0])
    with pytest.raises(EpisodeFormatError, match="2 samples but 1 rewards"):
        from_trlx_samples(["a", "b"], [1.0])
    eos_eps, _ = from_trlx_samples([["p", "out</s>"]], [1.0], eos_token="</s>")
    assert eos_eps[0].turns[1].text == "out"


def test_trlx_zscore_by_hand():
    # rewards 0, 2, 4: mean 2, unbiased var ((-2)^2 + 0 + 2^2) / 2 = 4, std 2  ->  -1, 0, 1
    eps, stats = from_trlx_samples(["a", "b", "c"], [0.0, 2.0, 4.0], normalize="zscore")
    assert stats.mean == 2.0 and stats.std == 2.0
    assert [e.turns[-1].reward for e in eps] == pytest.approx([-1.0, 0.0, 1.0], abs=1e-12)
    assert eps[0].turns[-1].reward == -2.0 / (2.0 + 2.220446049250313e-16)
    assert [e.meta["raw_reward"] for e in eps] == [0.0, 2.0, 4.0]
    # rewards 1, 2, 3, 6: mean 3, var (4 + 1 + 0 + 9) / 3 = 14/3
    values, st = zscore_rewards([1, 2, 3, 6])
    assert st.std == pytest.approx(math.sqrt(14 / 3), rel=1e-15)
    assert values == pytest.approx([-2 / math.sqrt(14 / 3), -1 / math.sqrt(14 / 3), 0.0, 3 / math.sqrt(14 / 3)])
    # one sample: std is NaN, trlx only centres
    one, st1 = from_trlx_samples(["a"], [5.0], normalize="zscore")
    assert math.isnan(st1.std) and one[0].turns[0].reward == 0.0


def test_trlx_reward_lands_on_the_last_action(chat_tok):
    eps, _ = from_trlx_samples([["hi", "yo", "ok", "bye"]], [2.0])
    m = build_token_mdp(eps[0], chat_tok, EpisodeFormat.for_tokenizer(chat_tok))
    # <bos> h i y o <eos> o k b y e <eos>: only the action emitting the final <eos> (position 10) is rewarded
    assert m.rewards.tolist() == [0] * 10 + [2.0, 0]
    assert m.next_terminal[10] == 1
