import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lexiq.models.model import LexiqModel


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=12, n_positions=32, resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0)
    return LexiqModel(GPT2LMHeadModel(cfg))


@pytest.fixture
def hand_batch():
    """Two sequences. Row 0: tokens [1,2,3,4,5,0(pad)], actions at positions 0,1 (turn 1) and 3 (turn 2),
    next states 1 -> 3 (skips env token at 2... position 2 is an env token), last action -> final state 4."""
    ids = torch.tensor([[1, 2, 3, 4, 5, 0], [6, 7, 8, 9, 10, 11]])
    attn = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    action_mask = torch.tensor([[1, 1, 0, 1, 0, 0], [0, 1, 1, 1, 1, 0]], dtype=torch.float)
    rewards = torch.tensor([[0, -1, 0, 2, 0, 0], [0, 0, 0, 0, 1.5, 0]])
    next_state = torch.tensor([[1, 3, 0, 4, 0, 0], [0, 2, 3, 4, 5, 0]])
    next_terminal = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 0, 0, 0, 0, 1]], dtype=torch.float)
    returns = torch.tensor([[1.0, 1.0, 0, 2.0, 0, 0], [0, 1.5, 1.5, 1.5, 1.5, 0]])
    return {"input_ids": ids, "attention_mask": attn, "action_mask": action_mask, "rewards": rewards.float(),
            "next_state": next_state, "next_terminal": next_terminal, "returns": returns}
