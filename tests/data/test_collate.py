"""Right padding of token-MDP batches: every pad value checked by hand."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from lexiq.data.collate import MDPCollator, collate_mdp
from lexiq.data.token_mdp import EpisodeFormat, TokenizedDataset, build_token_mdp

WORDLE = EpisodeFormat.wordle()
B5 = "<b><y><b><b><b>"
G5 = "<g><g><g><g><g>"


def test_collate_paddings(wordle_tok, wordle_game):
    long = build_token_mdp(wordle_game(("raise", -1.0, B5), ("could", 0.0, G5)), wordle_tok, WORDLE)  # 26
    short = build_token_mdp(wordle_game(("abc", -1.0, None)), wordle_tok, WORDLE)  # <a> a b c </a> </eod>
    batch = collate_mdp([long, short], pad_id=wordle_tok.pad_token_id)
    assert set(batch) == {"input_ids", "attention_mask", "action_mask", "rewards", "next_state", "next_terminal",
                          "returns", "turn_index", "episode_return"}
    for key in batch:
        if key != "episode_return":
            assert batch[key].shape == (2, 26), key
    assert batch["episode_return"].tolist() == [-1.0, -1.0]
    assert batch["input_ids"][1].tolist() == [33, 0, 1, 2, 30, 34] + [29] * 20
    assert batch["attention_mask"][1].tolist() == [1] * 6 + [0] * 20
    assert batch["attention_mask"][0].tolist() == [1] * 26
    assert batch["action_mask"][1].tolist() == [1, 1, 1, 1] + [0] * 22
    assert batch["rewards"][1].tolist() == [0, 0, 0, -1] + [0] * 22
    assert batch["next_state"][1].tolist() == [1, 2, 3, 5] + [0] * 22
    assert batch["next_terminal"][1].tolist() == [0, 0, 0, 1, 0, 0] + [1] * 20
    assert batch["returns"][1].tolist() == [-1, -1, -1, -1] + [0] * 22
    assert batch["turn_index"][1].tolist() == [0, 0, 0, 0, -1, -1] + [-1] * 20
    # the long row is copied unchanged
    assert batch["next_state"][0].tolist() == long.next_state.tolist()
    assert batch["next_terminal"][0].tolist() == long.next_terminal.tolist()
    dtypes = {k: v.dtype for k, v in batch.items()}
    assert dtypes == {"input_ids": torch.int64, "attention_mask": torch.int64, "action_mask": torch.float32,
                      "rewards": torch.float32, "next_state": torch.int64, "next_terminal": torch.float32,
                      "returns": torch.float32, "turn_index": torch.int64, "episode_return": torch.float32}


def test_attention_mask_comes_from_lengths_not_pad_id(chat_tok):
    # GPT-2 style: pad id == eos id; real eos tokens must stay attended
    from lexiq.data.episode import Episode, Turn

    fmt = EpisodeFormat.for_tokenizer(chat_tok)
    a = build_token_mdp(Episode([Turn("agent", "ab", 1.0)]), chat_tok, fmt)  # <bos> a b <eos>
    b = build_token_mdp(Episode([Turn("agent", "a", 0.0)]), chat_tok, fmt)  # <bos> a <eos>
    batch = collate_mdp([a, b], pad_id=chat_tok.eos_token_id)
    assert batch["input_ids"].tolist() == [[29, 0, 1, 28], [29, 0, 28, 28]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]


def test_dataloader_with_collator(wordle_tok, wordle_game):
    eps = [wordle_game(("raise", -1.0, B5), ("could", 0.0, G5)), wordle_game(("abc", -1.0, None))] * 3
    ds = TokenizedDataset(eps, wordle_tok, WORDLE)
    batches = list(DataLoader(ds, batch_size=4, collate_fn=MDPCollator(wordle_tok.pad_token_id)))
    assert [b["input_ids"].shape[0] for b in batches] == [4, 2]
    assert batches[0]["input_ids"].shape[1] == 26
