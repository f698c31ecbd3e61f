"""The 35-token Wordle character tokenizer (wordle.md §5.2)."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from lexiq.models.char_tokenizer import UnencodableTextError, char_tokenizer, encode_checked

WORDLE_ORDER = [*"abcdefghijklmnopqrstuvwxyz", "<g>", "<b>", "<y>", "<|pad|>", "</a>", "</s>", "<s>", "<a>",
                "</eod>"]
EXAMPLE = "<a>raise</a><b><y><b><b><b></s>could</a><g><g><g><g><g></s></eod>"
EXAMPLE_IDS = [33, 17, 0, 8, 18, 4, 30, 27, 28, 27, 27, 27, 31, 2, 14, 20, 11, 3, 30, 26, 26, 26, 26, 26, 31, 34]


def test_exact_id_order(wordle_tok):
    assert len(wordle_tok) == 35
    assert [wordle_tok.convert_tokens_to_ids(t) for t in WORDLE_ORDER] == list(range(35))
    assert wordle_tok.convert_ids_to_tokens(list(range(35))) == WORDLE_ORDER
    assert (wordle_tok.pad_token_id, wordle_tok.eos_token_id, wordle_tok.bos_token_id) == (29, 30, 32)
    assert (wordle_tok.pad_token, wordle_tok.eos_token, wordle_tok.bos_token) == ("<|pad|>", "</a>", "<s>")


def test_encode_decode_worked_example(wordle_tok):
    assert wordle_tok(EXAMPLE, add_special_tokens=False).input_ids == EXAMPLE_IDS
    assert wordle_tok.decode(EXAMPLE_IDS) == EXAMPLE
    # colours are kept when special tokens are skipped; control tokens go
    assert wordle_tok.decode(EXAMPLE_IDS, skip_special_tokens=True) == "raise<b><y><b><b><b>could<g><g><g><g><g>"
    assert wordle_tok("zzzzz").input_ids == [25] * 5  # no bos/eos added


def test_save_load_round_trip_with_auto_tokenizer(wordle_tok, tmp_path):
    wordle_tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded(EXAMPLE, add_special_tokens=False).input_ids == EXAMPLE_IDS
    assert loaded.decode(EXAMPLE_IDS) == EXAMPLE
    assert (loaded.pad_token_id, loaded.eos_token_id, loaded.bos_token_id) == (29, 30, 32)
    assert loaded.convert_ids_to_tokens(list(range(35))) == WORDLE_ORDER


def test_unknown_character_raises_a_clear_error(wordle_tok):
    assert encode_checked(wordle_tok, "raise</a>") == [17, 0, 8, 18, 4, 30]
    with pytest.raises(UnencodableTextError, match=r"^guess: character ' ' \(U\+0020\) at offset 5 of 'raise "):
        encode_checked(wordle_tok, "raise </a>", where="guess")
    with pytest.raises(UnencodableTextError, match=r"character 'É' \(U\+00C9\) at offset 3"):
        encode_checked(wordle_tok, "<g>É")


def test_generic_char_tokenizer():
    tok = char_tokenizer("01", ["<pad>", "<sep>"], pad_token="<pad>")
    assert len(tok) == 4 and tok.pad_token_id == 2
    assert tok("10<sep>0", add_special_tokens=False).input_ids == [1, 0, 3, 0]
    unk = char_tokenizer("01", ["<unk>"], unk_token="<unk>")
    with pytest.raises(UnencodableTextError, match="character '2'"):
        encode_checked(unk, "012")  # the unk token would hide it silently
    with pytest.raises(ValueError, match="single characters"):
        char_tokenizer(["ab"], [])
