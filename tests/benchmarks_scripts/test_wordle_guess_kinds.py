"""benchmarks/wordle_guess_kinds.py sorts guesses of a hand-made game correctly."""

import importlib.util
from pathlib import Path

from lexiq.data.episode import Episode, Turn
from lexiq.envs.wordle.game import WordList, feedback_colors

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "wordle_guess_kinds.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("wordle_guess_kinds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _game(guesses, target, vocab):
    turns = []
    for g in guesses:
        turns.append(Turn(role="agent", text=g, reward=0.0 if g == target else -1.0))
        turns.append(Turn(role="environment", text=feedback_colors(g, target) if g in vocab else "<b><b><b><b><b>"))
    return Episode(turns=turns, terminated=True)


def test_guess_kinds_of_a_hand_made_game():
    kinds = _load_script()
    vocab = WordList.resolve("official_200")
    # hidden word "those". After "audio" (o yellow, a/u/d/i grey) the information-gain maximiser of the 236-word
    # list is "close" alone, so "chose" is consistent but not the expert's word; "abate" contains the grey "a";
    # after audio, chose and abate (t yellow) only "those" is left, which the expert must play.
    game = _game(["audio", "chose", "audio", "zzzzz", "abate", "those"], "those", vocab)
    assert kinds.guess_kinds(game, vocab) == ["opening", "consistent", "repeat", "nonword", "inconsistent", "expert"]
    table = kinds.kind_table([game, _game(["audio", "close"], "those", vocab)], vocab)
    assert table[1] == {"opening": 2}
    assert table[2] == {"consistent": 1, "expert": 1}
    assert table[6] == {"expert": 1}
