"""Wordle core: feedback rules, pattern codes, vocabularies, consistent sets and information gain
(specs/wordle.md §1–§2, §6.2; ILQL, Snell et al. 2022, arXiv 2206.11871)."""

from __future__ import annotations

import numpy as np
import pytest

from lexiq.envs.wordle.game import (
    ALL_GREEN,
    N_PATTERNS,
    GameState,
    WordList,
    colors_to_pattern,
    feedback_colors,
    feedback_pattern,
    pattern_digits,
    pattern_to_colors,
)
from lexiq.envs.wordle.policies import OptimalPolicy, StartWordPolicy, information_gain


@pytest.fixture(scope="module")
def answers() -> WordList:
    return WordList.named("answers")


def test_those_geese_both_rules():
    assert feedback_colors("geese", "those", "ilql") == "<b><y><y><g><g>"
    assert feedback_colors("geese", "those", "nyt") == "<b><b><b><g><g>"


@pytest.mark.parametrize(
    ("guess", "target", "ilql", "nyt"),
    [
        ("speed", "abide", "bbyyy", "bbyby"),
        ("crane", "crane", "ggggg", "ggggg"),
        ("allee", "eagle", "yyyyg", "yybyg"),
        ("lolly", "hello", "yyggb", "bygg" + "b"),
        ("sissy", "mossy", "ybggg", "bbggg"),
    ],
)
def test_feedback_examples(guess, target, ilql, nyt):
    to_tokens = {"g": "<g>", "y": "<y>", "b": "<b>"}
    assert feedback_colors(guess, target, "ilql") == "".join(to_tokens[c] for c in ilql)
    assert feedback_colors(guess, target, "nyt") == "".join(to_tokens[c] for c in nyt)


def test_pattern_codes_roundtrip():
    assert pattern_to_colors(ALL_GREEN) == "<g>" * 5
    assert pattern_to_colors(0) == "<b>" * 5
    assert pattern_digits(feedback_pattern("geese", "those")) == (0, 1, 1, 2, 2)  # first letter most significant
    for code in range(N_PATTERNS):
        assert colors_to_pattern(pattern_to_colors(code)) == code
    with pytest.raises(ValueError, match="five colour tokens"):
        colors_to_pattern("<g><g>")
    with pytest.raises(ValueError, match="unknown feedback rule"):
        feedback_pattern("raise", "those", "wordle")


@pytest.mark.parametrize("rule", ["ilql", "nyt"])
def test_pattern_matrix_matches_scalar_rule(answers, rule):
    m = answers.pattern_matrix(rule)
    assert m.shape == (2315, 2315) and m.dtype == np.uint8
    rng = np.random.default_rng(0)
    for i, j in rng.integers(len(answers), size=(3000, 2)):
        assert m[i, j] == feedback_pattern(answers[i], answers[j], rule)
    # a guess outside the vocabulary is computed on the fly, vectorised over the targets
    targets = np.arange(0, 2315, 7)
    row = answers.pattern_row("zzzxq", targets, rule)
    assert row.tolist() == [feedback_pattern("zzzxq", answers[int(t)], rule) for t in targets]
    assert np.array_equal(answers.pattern_row("those", targets, rule), m[answers.index["those"], targets])


# -- the knowledge table of spec §2.1–§2.4, written out literally, as an oracle
NOT_HERE, POSSIBLE, HERE = 0, 1, 2


def _transition(k: list[list[int]], guess: str, target: str) -> None:
    for i, c in enumerate(guess):
        row = k[ord(c) - 97]
        if c == target[i]:
            row[i] = HERE
        elif c in target:
            row[i] = NOT_HERE
        else:
            row[:] = [NOT_HERE] * 5


def _consistent(k: list[list[int]], word: str) -> bool:
    for ci, row in enumerate(k):
        c = chr(97 + ci)
        if all(x == POSSIBLE for x in row):
            continue
        if all(x == NOT_HERE for x in row):
            if c in word:
                return False
            continue
        for i, x in enumerate(row):
            if x == HERE and word[i] != c or x == NOT_HERE and word[i] == c:
                return False
        if c not in word:
            return False
    return True


def _render(k: list[list[int]], guess: str) -> str:
    out = ""
    for i, c in enumerate(guess):
        row = k[ord(c) - 97]
        out += "<g>" if row[i] == HERE else "<b>" if all(x == NOT_HERE for x in row) else "<y>"
    return out


def test_consistent_set_equals_knowledge_table_filter():
    """F' = {u in F : pattern(w, u) = p} reproduces the knowledge-table state of the paper's code exactly."""
    full = WordList.named("answers")
    rng = np.random.default_rng(1)
    vocab = WordList([full[int(i)] for i in np.sort(rng.choice(len(full), 300, replace=False))])
    guesses = WordList.named("allowed_guesses")
    for _ in range(60):
        state = GameState.initial(vocab)
        k = [[POSSIBLE] * 5 for _ in range(26)]
        while not state.done:
            guess = guesses[int(rng.integers(len(guesses)))] if rng.random() < 0.5 else \
                vocab[int(rng.choice(state.consistent))]
            nxt = state.step(guess, rng)
            # recover the sampled target: any word of F with the observed pattern gives the same K transition
            target = nxt.consistent_words[0]
            _transition(k, guess, target)
            assert nxt.consistent_words == [w for w in vocab.words if _consistent(k, w)]
            state = nxt
        ep = state.episode()
        env_texts = [t.text for t in ep.turns if t.role == "environment"]
        assert env_texts == [_render(k, g) for g in state.guesses]  # colours rendered from the final table


def test_initial_consistent_set_is_whole_vocab(answers):
    s = GameState.initial(answers)
    assert np.array_equal(s.consistent, np.arange(2315))
    assert s.consistent_words == list(answers.words)
    assert not s.done and s.n_guesses == 0


def test_information_gain_anchors(answers):
    ig = information_gain(answers)  # all 2,315 words are consistent (and candidates) at the initial state
    got = {w: round(float(ig[answers.index[w]]), 4) for w in ("raise", "slate", "crate", "irate", "trace")}
    assert got == {"raise": 4.0743, "slate": 4.0589, "crate": 4.0444, "irate": 4.0420, "trace": 4.0414}
    assert answers[int(np.argmax(ig))] == "raise"
    best = OptimalPolicy(None, rng=0, cache={}).best_words(GameState.initial(answers))
    assert [answers[int(i)] for i in best] == ["raise"]


def test_information_gain_ties_are_exact(answers):
    # two consistent words left: each splits them into 1 + 1, so both tie and both are kept
    f = np.array([answers.index["those"], answers.index["whose"]], dtype=np.int32)
    s = GameState(answers, f, guesses=("zzzzz",), patterns=(0,), rewards=(-1.0,))
    best = OptimalPolicy(None, rng=0, cache={}).best_words(s)
    assert sorted(answers[int(i)] for i in best) == ["those", "whose"]
    assert np.allclose(information_gain(answers, f), np.log(2))


def test_start_words_in_answers(answers):
    cand = StartWordPolicy().candidates(GameState.initial(answers))
    assert sorted(answers[int(i)] for i in cand) == sorted(
        "opera raise arose slate sauce slice shale saute share sooty shine suite crane audio stare roast ratio "
        "arise".split())


def test_word_list_errors(tmp_path):
    p = tmp_path / "words.txt"
    p.write_text("crane\nslate\nsix\n")
    with pytest.raises(ValueError, match=r"words\.txt:3: expected a 5-letter word"):
        WordList.from_file(p)
    p.write_text("crane\n\n# comment\nSlate\ncrane\n")
    with pytest.raises(ValueError, match=r"words\.txt:5: duplicate word 'crane' \(first on line 1\)"):
        WordList.from_file(p)
    p.write_text("crane\n\n# comment\nSlate\n")
    assert WordList.from_file(p).words == ("crane", "slate")
    with pytest.raises(ValueError, match="unknown vocabulary 'answer'"):
        WordList.resolve("answer")
    with pytest.raises(ValueError, match="cannot read word list"):
        WordList.resolve(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="item 1: expected a 5-letter"):
        WordList(["crane", "cranes"])
