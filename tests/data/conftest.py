"""Tokenizers shared by the data tests (built locally, no downloads)."""

from __future__ import annotations

import pytest

from lexiq.data.episode import Episode, Turn
from lexiq.models.char_tokenizer import char_tokenizer, wordle_char_tokenizer


@pytest.fixture(scope="session")
def wordle_tok():
    return wordle_char_tokenizer()


@pytest.fixture(scope="session")
def chat_tok():
    """A generic LM-like tokenizer: a..z = 0..25, ' ' = 26, <pad> = 27, <eos> = 28, <bos> = 29."""
    return char_tokenizer("abcdefghijklmnopqrstuvwxyz ", ["<pad>", "<eos>", "<bos>"],
                          pad_token="<pad>", eos_token="<eos>", bos_token="<bos>")


def _wordle_game(*guesses: tuple[str, float, str | None], terminated: bool = True) -> Episode:
    turns: list[Turn] = []
    for guess, reward, colours in guesses:
        turns.append(Turn("agent", guess, reward))
        if colours is not None:
            turns.append(Turn("environment", colours))
    return Episode(turns, terminated=terminated)


@pytest.fixture(scope="session")
def wordle_game():
    """``wordle_game((guess, reward, colours or None for an invalid guess), ..., terminated=True)``."""
    return _wordle_game
