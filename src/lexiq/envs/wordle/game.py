"""Wordle game core in NumPy: words, feedback patterns, vocabularies and the (immutable) game state.

Implements the game of the ILQL paper (Snell et al. 2022, "Offline RL for Natural Language Generation with
Implicit Language Q Learning", arXiv 2206.11871), exactly as specified in ``specs/wordle.md`` §1–§4, plus the
NYT duplicate-letter rule as a variant.

Feedback rules (spec §2.2, §2.4). For a guess ``g`` and a target ``t`` the colour at position ``i`` is

* ``"ilql"`` (the paper's code): green if ``g[i] == t[i]``; else yellow if ``g[i]`` occurs anywhere in ``t``;
  else black. Every letter is judged independently: target ``those``, guess ``geese`` gives ``b y y g g``.
* ``"nyt"``: greens first; then, left to right, a non-green letter is yellow only while the target still has an
  unmatched (non-green, not yet claimed) copy of it: ``those`` / ``geese`` gives ``b b b g g``.

Patterns are integer codes ``0..242``: colour digits ``b=0, y=1, g=2`` read as a base-3 number with the first
letter most significant (``code = sum_i d_i * 3**(4-i)``; all green = 242). As text they are the concatenation of
the five colour tokens ``<g>``, ``<y>``, ``<b>``.

State (spec §2.1–§2.3). The paper keeps a 26×5 knowledge table ``K``. Because every resampled target is
consistent with ``K`` (spec §3), the words consistent with ``K`` after guess ``w`` with feedback ``p`` are exactly
``F' = {u in F : pattern(w, u) = p}`` (the per-position constraints that ``K`` records are those of the
``"ilql"`` pattern), so a state is kept as the sorted index array ``F`` of consistent vocabulary words plus the
history. For the ``"nyt"`` rule the same formula *defines* the filtered vocabulary.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn

WORD_LENGTH = 5
N_PATTERNS = 3**WORD_LENGTH  # 243
ALL_GREEN = N_PATTERNS - 1  # 242
BLACK, YELLOW, GREEN = 0, 1, 2
COLOR_TOKENS = ("<b>", "<y>", "<g>")
FEEDBACK_RULES = ("ilql", "nyt")
NAMED_VOCABS = ("answers", "allowed_guesses", "official_200", "official_400")

_POW3 = np.array([3 ** (WORD_LENGTH - 1 - i) for i in range(WORD_LENGTH)], dtype=np.int32)
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


class GameOverError(RuntimeError):
    """``step`` was called on a finished game."""


# --------------------------------------------------------------------------------------------- patterns / text


def is_valid_guess(text: str) -> bool:
    """True iff ``text`` has 5 characters, all in ``a..z`` (spec §4.2: real-word membership is not checked)."""
    return len(text) == WORD_LENGTH and all(c in _LOWER for c in text)


def check_feedback_rule(rule: str) -> str:
    if rule not in FEEDBACK_RULES:
        raise ValueError(f"unknown feedback rule {rule!r}; expected one of {', '.join(FEEDBACK_RULES)}")
    return rule


def encode_words(words: Sequence[str]) -> np.ndarray:
    """Words as a ``uint8 [N, 5]`` array of letter ids (``a`` = 0). Raises ValueError on a non a–z 5-letter word."""
    for w in words:
        if not is_valid_guess(w):
            raise ValueError(f"expected a 5-letter lowercase a-z word, got {w!r}")
    if not words:
        return np.zeros((0, WORD_LENGTH), dtype=np.uint8)
    buf = np.frombuffer("".join(words).encode("ascii"), dtype=np.uint8)
    return (buf.reshape(len(words), WORD_LENGTH) - ord("a")).astype(np.uint8)


def _digits_ilql(guess: str, target: str) -> list[int]:
    return [GREEN if g == t else (YELLOW if g in target else BLACK) for g, t in zip(guess, target, strict=True)]


def _digits_nyt(guess: str, target: str) -> list[int]:
    digits = [GREEN if g == t else BLACK for g, t in zip(guess, target, strict=True)]
    unmatched: dict[str, int] = {}
    for g, t in zip(guess, target, strict=True):
        if g != t:
            unmatched[t] = unmatched.get(t, 0) + 1
    for i, g in enumerate(guess):
        if digits[i] != GREEN and unmatched.get(g, 0) > 0:
            digits[i] = YELLOW
            unmatched[g] -= 1
    return digits


def digits_to_pattern(digits: Iterable[int]) -> int:
    code = 0
    for d in digits:
        code = code * 3 + int(d)
    return code


def pattern_digits(code: int) -> tuple[int, ...]:
    """The five colour digits (0 black, 1 yellow, 2 green) of a pattern code, first letter first."""
    if not 0 <= code < N_PATTERNS:
        raise ValueError(f"pattern code must be in 0..{N_PATTERNS - 1}, got {code}")
    return tuple((code // 3 ** (WORD_LENGTH - 1 - i)) % 3 for i in range(WORD_LENGTH))


def feedback_pattern(guess: str, target: str, rule: str = "ilql") -> int:
    """Pattern code (0..242) of ``guess`` against ``target`` under ``rule`` ("ilql" or "nyt")."""
    for name, w in (("guess", guess), ("target", target)):
        if not is_valid_guess(w):
            raise ValueError(f"{name} must be 5 lowercase letters a-z, got {w!r}")
    fn = _digits_ilql if check_feedback_rule(rule) == "ilql" else _digits_nyt
    return digits_to_pattern(fn(guess, target))


_COLOR_STRINGS = tuple("".join(COLOR_TOKENS[d] for d in pattern_digits(c)) for c in range(N_PATTERNS))
_COLOR_TO_CODE = {s: c for c, s in enumerate(_COLOR_STRINGS)}


def pattern_to_colors(code: int) -> str:
    """Colour-token string of a pattern, e.g. 242 -> ``<g><g><g><g><g>``."""
    if not 0 <= code < N_PATTERNS:
        raise ValueError(f"pattern code must be in 0..{N_PATTERNS - 1}, got {code}")
    return _COLOR_STRINGS[code]


def colors_to_pattern(colors: str) -> int:
    """Inverse of :func:`pattern_to_colors`; raises ValueError on anything but five ``<g>/<y>/<b>`` tokens."""
    code = _COLOR_TO_CODE.get(colors)
    if code is None:
        raise ValueError(f"expected five colour tokens <g>, <y> or <b> (e.g. '<b><y><b><b><g>'), got {colors!r}")
    return code


def feedback_colors(guess: str, target: str, rule: str = "ilql") -> str:
    """Colour-token string of ``guess`` against ``target``: ``feedback_colors('geese', 'those')`` ->
    ``<b><y><y><g><g>``."""
    return _COLOR_STRINGS[feedback_pattern(guess, target, rule)]


def _ilql_block(g: np.ndarray, t: np.ndarray, t_mask: np.ndarray) -> np.ndarray:
    code = np.zeros((g.shape[0], t.shape[0]), dtype=np.int32)
    for i in range(WORD_LENGTH):
        gi = g[:, i : i + 1].astype(np.int32)
        present = (t_mask[None, :] >> gi) & 1  # yellow digit (1) when the letter is anywhere in the target
        digit = np.where(gi == t[None, :, i], GREEN, present)
        code = code * 3 + digit
    return code.astype(np.uint8)


def _nyt_block(g: np.ndarray, t: np.ndarray) -> np.ndarray:
    gg = g[:, None, :]
    tt = t[None, :, :]
    green = gg == tt  # [G, T, 5]
    not_green = ~green
    code = np.zeros((g.shape[0], t.shape[0]), dtype=np.int32)
    for i in range(WORD_LENGTH):
        gi = g[:, i][:, None]  # [G, 1]
        avail = np.zeros(code.shape, dtype=np.int8)
        for j in range(WORD_LENGTH):
            avail += (t[None, :, j] == gi) & not_green[:, :, j]
        rank = np.zeros(code.shape, dtype=np.int8)
        for k in range(i):
            rank += (g[:, k] == g[:, i])[:, None] & not_green[:, :, k]
        digit = np.where(green[:, :, i], GREEN, (rank < avail).astype(np.int32))
        code = code * 3 + digit
    return code.astype(np.uint8)


def pattern_matrix_of(guesses: np.ndarray, targets: np.ndarray, rule: str = "ilql", block: int = 1024) -> np.ndarray:
    """Patterns of every guess against every target: ``uint8 [G, T]`` from ``uint8 [G, 5]`` and ``[T, 5]`` codes.

    Vectorised over both axes, computed in row blocks of ``block`` guesses to bound temporary memory."""
    check_feedback_rule(rule)
    guesses = np.asarray(guesses, dtype=np.uint8).reshape(-1, WORD_LENGTH)
    targets = np.asarray(targets, dtype=np.uint8).reshape(-1, WORD_LENGTH)
    out = np.empty((guesses.shape[0], targets.shape[0]), dtype=np.uint8)
    t_mask = np.bitwise_or.reduce(np.left_shift(1, targets.astype(np.int32)), axis=1) if len(targets) else None
    for s in range(0, guesses.shape[0], block):
        g = guesses[s : s + block]
        out[s : s + block] = _ilql_block(g, targets, t_mask) if rule == "ilql" else _nyt_block(g, targets)
    return out


# --------------------------------------------------------------------------------------------- vocabulary

_uid_counter = itertools.count()


class WordList:
    """An ordered vocabulary of distinct 5-letter words with lazily computed pattern matrices.

    ``pattern_matrix(rule)[i, j]`` is the pattern of guess ``words[i]`` against target ``words[j]`` (vocab × vocab
    ``uint8``; 5.4 M entries for ``answers.txt``), computed once per rule on first use.
    """

    def __init__(self, words: Sequence[str], name: str = "custom", source: str = "word list") -> None:
        words = [str(w) for w in words]
        seen: dict[str, int] = {}
        for i, w in enumerate(words):
            if not is_valid_guess(w):
                raise ValueError(f"{source}: item {i}: expected a 5-letter lowercase a-z word, got {w!r}")
            if w in seen:
                raise ValueError(f"{source}: item {i}: duplicate word {w!r} (first at item {seen[w]})")
            seen[w] = i
        if not words:
            raise ValueError(f"{source}: the word list is empty")
        self.name = name
        self.words: tuple[str, ...] = tuple(words)
        self.index: dict[str, int] = seen
        self.codes = encode_words(self.words)
        self.codes.flags.writeable = False
        self.uid = next(_uid_counter)
        self._matrices: dict[str, np.ndarray] = {}
        all_idx = np.arange(len(words), dtype=np.int32)
        all_idx.flags.writeable = False
        self.all_indices = all_idx

    # -- construction
    @classmethod
    def from_file(cls, path: str | os.PathLike[str], name: str | None = None) -> WordList:
        """One word per line (whitespace stripped, lower-cased; blank lines and ``#`` comments skipped).

        Differs from upstream ``Vocabulary.from_file``, which silently skips lines that are not 5 long: here a
        bad line is an error naming the file and line."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise ValueError(f"{p}: cannot read word list ({e.strerror or e})") from None
        return cls._from_lines(text.splitlines(), str(p), name or p.stem)

    @classmethod
    def _from_lines(cls, lines: Iterable[str], source: str, name: str) -> WordList:
        words: list[str] = []
        first_line: dict[str, int] = {}
        for lineno, raw in enumerate(lines, start=1):
            w = raw.strip().lower()
            if not w or w.startswith("#"):
                continue
            if not is_valid_guess(w):
                raise ValueError(f"{source}:{lineno}: expected a 5-letter word of letters a-z, got {raw.strip()!r}")
            if w in first_line:
                raise ValueError(f"{source}:{lineno}: duplicate word {w!r} (first on line {first_line[w]})")
            first_line[w] = lineno
            words.append(w)
        if not words:
            raise ValueError(f"{source}: the word list is empty")
        return cls(words, name=name, source=source)

    @classmethod
    def named(cls, name: str) -> WordList:
        """A packaged list, loaded once and shared: ``"answers"`` (2,315 words), ``"allowed_guesses"`` (12,972),
        ``"official_200"`` (236: the ILQL Twitter-experiment evaluation list) or ``"official_400"`` (431: the
        LMRL-Gym Wordle list); the last two are the subsets of ``answers`` given in specs/wordle.md (appendices)."""
        if name not in NAMED_VOCABS:
            raise ValueError(f"unknown vocabulary {name!r}; expected one of {', '.join(NAMED_VOCABS)}, "
                             "a list of words or a path to a word-list file")
        cached = _NAMED.get(name)
        if cached is None:
            res = resources.files("lexiq.envs.wordle").joinpath("words", f"{name}.txt")
            lines = res.read_text(encoding="utf-8").splitlines()
            cached = cls._from_lines(lines, f"lexiq/envs/wordle/words/{name}.txt", name)
            _NAMED[name] = cached
        return cached

    @classmethod
    def resolve(cls, vocab: WordList | str | os.PathLike[str] | Sequence[str]) -> WordList:
        """Accept a WordList, a packaged name, a path to a word-list file or a sequence of words."""
        if isinstance(vocab, WordList):
            return vocab
        if isinstance(vocab, os.PathLike):
            return cls.from_file(vocab)
        if isinstance(vocab, str):
            if vocab in NAMED_VOCABS:
                return cls.named(vocab)
            if os.sep in vocab or vocab.endswith(".txt") or Path(vocab).is_file():
                return cls.from_file(vocab)
            return cls.named(vocab)  # raises the "unknown vocabulary" error
        if isinstance(vocab, Sequence):
            return cls(list(vocab))
        raise TypeError(f"vocab must be a WordList, a name, a path or a list of words, got {type(vocab).__name__}")

    def with_word(self, word: str) -> WordList:
        """This list, or a copy with ``word`` appended when it is not in the list."""
        if word in self.index:
            return self
        return WordList([*self.words, word], name=f"{self.name}+{word}")

    # -- container protocol
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __getitem__(self, i: int) -> str:
        return self.words[i]

    def __repr__(self) -> str:
        return f"WordList({self.name!r}, {len(self)} words)"

    # -- patterns
    def has_pattern_matrix(self, rule: str = "ilql") -> bool:
        return rule in self._matrices

    def pattern_matrix(self, rule: str = "ilql") -> np.ndarray:
        """``uint8 [N, N]``: pattern of guess ``i`` against target ``j`` (computed on first call, then cached)."""
        m = self._matrices.get(check_feedback_rule(rule))
        if m is None:
            m = pattern_matrix_of(self.codes, self.codes, rule)
            m.flags.writeable = False
            self._matrices[rule] = m
        return m

    def pattern_row(self, guess: str, targets: np.ndarray | None = None, rule: str = "ilql") -> np.ndarray:
        """Patterns (``uint8``) of ``guess`` against ``words[targets]`` (all words if None).

        Uses the cached matrix row for an in-vocabulary guess once the matrix exists; any other valid 5-letter
        guess is computed on the fly, vectorised over the targets."""
        idx = self.index.get(guess)
        m = self._matrices.get(rule)
        if idx is not None and m is not None:
            row = m[idx]
            return row if targets is None else row[targets]
        if not is_valid_guess(guess):
            raise ValueError(f"guess must be 5 lowercase letters a-z, got {guess!r}")
        t = self.codes if targets is None else self.codes[targets]
        return pattern_matrix_of(encode_words([guess]), t, check_feedback_rule(rule))[0]

    def consistent_with(self, history: Iterable[tuple[str, int]], rule: str = "ilql") -> np.ndarray:
        """Sorted indices of the words consistent with every ``(guess, pattern)`` of ``history``."""
        f = self.all_indices
        for guess, pat in history:
            f = f[self.pattern_row(guess, f, rule) == pat]
        return f


_NAMED: dict[str, WordList] = {}


# --------------------------------------------------------------------------------------------- game state


class GameState:
    """One immutable Wordle state: the rules, the consistent set ``F`` and the history (spec §2–§4).

    ``consistent`` is the sorted ``int32`` index array of vocabulary words consistent with all feedback so far
    (``F(K)``); ``guesses``, ``patterns`` (None for an invalid guess) and ``rewards`` have one entry per action.
    ``hidden`` is the index of the fixed hidden word (fixed-word mode) or None (resampling mode).
    """

    __slots__ = ("vocab", "feedback", "max_guesses", "require_words_in_vocab", "bad_word_reward",
                 "consistent", "guesses", "patterns", "rewards", "hidden", "solved", "_key")

    def __init__(self, vocab: WordList, consistent: np.ndarray, guesses: tuple[str, ...] = (),
                 patterns: tuple[int | None, ...] = (), rewards: tuple[float, ...] = (), hidden: int | None = None,
                 solved: bool = False, feedback: str = "ilql", max_guesses: int = 6,
                 require_words_in_vocab: bool = False, bad_word_reward: float = -1.0) -> None:
        self.vocab = vocab
        self.feedback = feedback
        self.max_guesses = max_guesses
        self.require_words_in_vocab = require_words_in_vocab
        self.bad_word_reward = bad_word_reward
        self.consistent = consistent
        self.guesses = guesses
        self.patterns = patterns
        self.rewards = rewards
        self.hidden = hidden
        self.solved = solved
        self._key: bytes | None = None

    @classmethod
    def initial(cls, vocab: WordList, *, hidden: str | None = None, feedback: str = "ilql", max_guesses: int = 6,
                require_words_in_vocab: bool = False, bad_word_reward: float = -1.0) -> GameState:
        """New game (spec §4.1): ``F`` = the whole vocabulary. With ``hidden`` (fixed-word mode) the word is
        appended to the vocabulary if missing, and every valid guess is judged against it."""
        check_feedback_rule(feedback)
        if max_guesses < 1:
            raise ValueError(f"max_guesses must be >= 1, got {max_guesses}")
        h = None
        if hidden is not None:
            if not is_valid_guess(hidden):
                raise ValueError(f"hidden_word must be 5 lowercase letters a-z, got {hidden!r}")
            vocab = vocab.with_word(hidden)
            h = vocab.index[hidden]
        return cls(vocab, vocab.all_indices, hidden=h, feedback=feedback, max_guesses=max_guesses,
                   require_words_in_vocab=require_words_in_vocab, bad_word_reward=float(bad_word_reward))

    # -- properties
    @property
    def n_guesses(self) -> int:
        return len(self.guesses)

    @property
    def done(self) -> bool:
        """Spec §4.3: six actions taken, or solved (``|F| == 1`` and that word has been guessed)."""
        return self.solved or len(self.guesses) >= self.max_guesses

    @property
    def key(self) -> bytes:
        """Bytes of ``F``: equal for states with the same consistent set (the policy cache key)."""
        if self._key is None:
            self._key = self.consistent.tobytes()
        return self._key

    @property
    def consistent_words(self) -> list[str]:
        return [self.vocab.words[i] for i in self.consistent]

    @property
    def hidden_word(self) -> str | None:
        return None if self.hidden is None else self.vocab.words[self.hidden]

    def is_valid(self, guess: str) -> bool:
        """Spec §4.2 / §9.1: 5 letters a–z, and in the vocabulary when ``require_words_in_vocab``."""
        if self.require_words_in_vocab:
            return guess in self.vocab.index
        return is_valid_guess(guess)

    # -- transition
    def step(self, guess: str, rng: np.random.Generator) -> GameState:
        """The state after ``guess`` (spec §4.2–§4.3). Resampling mode draws the target uniformly from ``F``."""
        if self.done:
            raise GameOverError("the Wordle game is over (solved or out of guesses); call reset() to start a new one")
        if not isinstance(guess, str):
            raise TypeError(f"a guess must be a string, got {type(guess).__name__}")
        guesses = (*self.guesses, guess)
        f = self.consistent
        if not self.is_valid(guess):
            return GameState(self.vocab, f, guesses, (*self.patterns, None), (*self.rewards, self.bad_word_reward),
                             self.hidden, False, self.feedback, self.max_guesses, self.require_words_in_vocab,
                             self.bad_word_reward)
        row = self.vocab.pattern_row(guess, f, self.feedback)
        if self.hidden is None:
            pos = int(rng.integers(len(f)))
        else:
            pos = int(np.searchsorted(f, self.hidden))
        pat = int(row[pos])
        f2 = f[row == pat]
        solved = len(f2) == 1 and self.vocab.words[f2[0]] in guesses
        return GameState(self.vocab, f2, guesses, (*self.patterns, pat), (*self.rewards, 0.0 if solved else -1.0),
                         self.hidden, solved, self.feedback, self.max_guesses, self.require_words_in_vocab,
                         self.bad_word_reward)

    # -- text
    def feedback_text(self, k: int = -1) -> str:
        """Colour tokens after action ``k`` ("" for an invalid guess)."""
        p = self.patterns[k]
        return "" if p is None else _COLOR_STRINGS[p]

    def episode(self, meta: dict[str, Any] | None = None) -> Episode:
        """The game so far as a lexiq :class:`Episode` (spec §5.1): an agent turn per action with its reward,
        then an environment turn with the colours after each valid guess. ``terminated`` iff the game is over."""
        turns: list[Turn] = []
        for g, p, r in zip(self.guesses, self.patterns, self.rewards, strict=True):
            turns.append(Turn(AGENT, g, r))
            if p is not None:
                turns.append(Turn(ENVIRONMENT, _COLOR_STRINGS[p]))
        return Episode(turns, terminated=self.done, truncated=False, meta=dict(meta or {}))

    def __repr__(self) -> str:
        hist = " ".join(f"{g}:{'-' if p is None else p}" for g, p in zip(self.guesses, self.patterns, strict=True))
        return f"GameState(|F|={len(self.consistent)}, history=[{hist}], done={self.done})"


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A NumPy Generator from a Generator (returned as is), an int seed or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
