"""benchmarks/wordle_guess_kinds.py sorts guesses of hand-made games correctly."""

from lexiq.data.episode import Episode, Turn
from lexiq.envs.wordle.game import WordList, feedback_colors, is_valid_guess


def _game(guesses, target):
    """Turns as the environment writes them: colours after every valid 5-letter guess, none after an invalid one."""
    turns = []
    for g in guesses:
        turns.append(Turn(role="agent", text=g, reward=0.0 if g == target else -1.0))
        if is_valid_guess(g):
            turns.append(Turn(role="environment", text=feedback_colors(g, target)))
    return Episode(turns=turns, terminated=True)


def test_guess_kinds_of_a_hand_made_game(load_script):
    kinds = load_script("wordle_guess_kinds")
    vocab = WordList.resolve("official_200")
    # hidden word "those". After "audio" (o yellow, a/u/d/i grey) the information-gain maximiser of the 236-word
    # list is "close" alone, so "chose" is consistent but not the expert's word; "abate" contains the grey "a";
    # after audio, chose and abate (t yellow) only "those" is left, which the expert must play.
    game = _game(["audio", "chose", "audio", "zzzzz", "abate", "those"], "those")
    assert kinds.guess_kinds(game, vocab) == ["opening", "consistent", "repeat", "nonword", "inconsistent", "expert"]
    table = kinds.kind_table([game, _game(["audio", "close"], "those")], vocab)
    assert table[1] == {"opening": 2}
    assert table[2] == {"consistent": 1, "expert": 1}
    assert table[6] == {"expert": 1}


def test_feedback_of_a_non_word_counts(load_script):
    kinds = load_script("wordle_guess_kinds")
    vocab = WordList.resolve("official_200")
    # "chxse" is no word but a valid guess: its grey "c" rules out "chose", which after "audio" alone is consistent
    assert kinds.guess_kinds(_game(["audio", "chxse", "chose"], "those"), vocab) == [
        "opening", "nonword", "inconsistent"]
    assert kinds.guess_kinds(_game(["audio", "chose"], "those"), vocab) == ["opening", "consistent"]
