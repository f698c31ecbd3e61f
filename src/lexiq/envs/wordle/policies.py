"""Scripted Wordle policies of the ILQL paper (Snell et al. 2022, arXiv 2206.11871; ``specs/wordle.md`` §6).

Every policy maps a :class:`~lexiq.envs.wordle.game.GameState` to a guess string with ``act(state)``.

Randomness: upstream draws every choice with Python's global ``random`` module; here each policy owns a
``numpy.random.Generator`` (pass a seed or a shared Generator), so runs are reproducible and independent of other
code, but seeded sequences differ from upstream's. The distributions (uniform choices, Bernoulli mixtures) are
the same.

Information gain (§6.2): for a candidate ``w`` at a state with consistent set ``F``, group the targets ``t in F``
by the pattern ``p = pattern(w, t)`` with counts ``n_p``; the successor consistent set has exactly ``n_p`` words,
so ``IG(w) = ln|F| - (1/|F|) * sum_p n_p ln n_p`` (nats). Candidates are the consistent words only. The sum is
taken over each row's *sorted* counts, so two candidates with the same multiset of counts tie exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lexiq.envs.wordle.game import GameState, WordList, as_generator

START_WORDS: tuple[str, ...] = (
    "opera", "tears", "soare", "roate", "raise", "arose", "earls", "laser", "reals", "aloes", "reais", "slate",
    "sauce", "slice", "shale", "saute", "share", "sooty", "shine", "suite", "crane", "adieu", "audio", "stare",
    "roast", "ratio", "arise", "tales",
)  # spec §6.1, in upstream order

RngLike = np.random.Generator | int | None

_NLOGN = np.zeros(1, dtype=np.float64)
# Shared cache of optimal choices: (vocab uid, feedback rule, bytes of F) -> sorted best word indices.
# Its content is a deterministic function of the key, so sharing it never changes seeded results.
_OPTIMAL_CACHE: dict[tuple[int, str, bytes], np.ndarray] = {}


def clear_caches() -> None:
    """Drop the shared optimal-choice cache."""
    _OPTIMAL_CACHE.clear()


def _nlogn_table(n: int) -> np.ndarray:
    global _NLOGN
    if len(_NLOGN) <= n:
        k = np.arange(max(n + 1, 2 * len(_NLOGN)), dtype=np.float64)
        _NLOGN = k * np.log(np.maximum(k, 1.0))
    return _NLOGN


def information_gain(vocab: WordList, consistent: np.ndarray | None = None, candidates: np.ndarray | None = None,
                     rule: str = "ilql") -> np.ndarray:
    """``IG(w)`` in nats for each candidate index (default: the consistent words), targets = ``consistent``
    (default: the whole vocabulary). See the module docstring for the formula."""
    f = vocab.all_indices if consistent is None else np.asarray(consistent)
    cand = f if candidates is None else np.asarray(candidates)
    n = len(f)
    if n == 0:
        raise ValueError("information_gain: the consistent set is empty")
    pm = vocab.pattern_matrix(rule)
    sub = pm[cand][:, f] if len(f) < len(vocab) else pm[cand]
    counts = np.zeros((len(cand), 243), dtype=np.int32)
    if len(cand):
        flat = (sub.astype(np.int32) + (243 * np.arange(len(cand), dtype=np.int32))[:, None]).ravel()
        counts = np.bincount(flat, minlength=243 * len(cand)).reshape(len(cand), 243)
    counts.sort(axis=1)
    s = _nlogn_table(n)[counts].sum(axis=1)
    return math.log(n) - s / n


class WordlePolicy:
    """Base class: ``act(state) -> guess``. ``rng`` is a NumPy Generator, an int seed or None."""

    name = "policy"

    def __init__(self, rng: RngLike = None) -> None:
        self.rng = as_generator(rng)

    def act(self, state: GameState) -> str:
        raise NotImplementedError

    def _pick(self, items: Sequence[str] | np.ndarray) -> str | int:
        return items[int(self.rng.integers(len(items)))]

    def __call__(self, state: GameState) -> str:
        return self.act(state)


class StartWordPolicy(WordlePolicy):
    """Uniform among the start words that are in ``F`` (only vocabulary words qualify); else uniform from ``F``
    (§6.1). With ``answers.txt`` 18 of the 28 default words qualify."""

    name = "start_words"

    def __init__(self, start_words: Sequence[str] | None = None, rng: RngLike = None) -> None:
        super().__init__(rng)
        self.start_words = tuple(START_WORDS if start_words is None else start_words)
        self._idx: dict[int, np.ndarray] = {}

    def candidates(self, state: GameState) -> np.ndarray:
        """Indices of the start words that are in the consistent set of ``state``."""
        v = state.vocab
        idx = self._idx.get(v.uid)
        if idx is None:
            idx = np.array(sorted({v.index[w] for w in self.start_words if w in v.index}), dtype=np.int32)
            self._idx[v.uid] = idx
        f = state.consistent
        if len(f) == len(v):
            return idx
        pos = np.searchsorted(f, idx)
        ok = (pos < len(f)) & (f[np.minimum(pos, len(f) - 1)] == idx)
        return idx[ok]

    def act(self, state: GameState) -> str:
        cand = self.candidates(state)
        if len(cand) == 0:
            cand = state.consistent
        return state.vocab.words[self._pick(cand)]


class OptimalPolicy(WordlePolicy):
    """Myopic information-gain policy (§6.2; "optimal" in upstream's naming, not truly optimal).

    1. If ``F`` is in the cache, a uniform choice among the cached best words.
    2. Else, before the first action, the start-word policy's choice (if one is set; not cached).
    3. Else compute IG over the consistent candidates, cache all maximisers (exact ties), choose uniformly.

    The cache is keyed by the consistent set ``F`` (equivalent to upstream's knowledge-table key: the IG scores
    depend on ``F`` only) and shared between instances unless ``cache`` is given.
    """

    name = "optimal"

    def __init__(self, start_word_policy: WordlePolicy | None = None, rng: RngLike = None,
                 cache: dict[tuple[int, str, bytes], np.ndarray] | None = None) -> None:
        super().__init__(rng)
        self.start_word_policy = start_word_policy
        self.cache = _OPTIMAL_CACHE if cache is None else cache
        if start_word_policy is not None:
            self.name = f"optimal+{start_word_policy.name}"

    def best_words(self, state: GameState) -> np.ndarray:
        """Sorted indices of the IG maximisers at ``state`` (computed and cached if needed)."""
        key = (state.vocab.uid, state.feedback, state.key)
        best = self.cache.get(key)
        if best is None:
            ig = information_gain(state.vocab, state.consistent, rule=state.feedback)
            best = state.consistent[np.flatnonzero(ig == ig.max())]
            best.flags.writeable = False
            self.cache[key] = best
        return best

    def act(self, state: GameState) -> str:
        best = self.cache.get((state.vocab.uid, state.feedback, state.key))
        if best is None:
            if not state.guesses and self.start_word_policy is not None:
                return self.start_word_policy.act(state)
            best = self.best_words(state)
        if len(best) == 1:
            return state.vocab.words[best[0]]
        return state.vocab.words[self._pick(best)]


class RandomMixturePolicy(WordlePolicy):
    """With probability ``prob_smart`` a uniform *consistent* word (of ``vocab`` refiltered by the game's
    feedback if given, else of ``F``), otherwise a uniform word of the whole vocabulary (§6.3).

    If ``vocab`` has no word consistent with the feedback (upstream would crash), a uniform word of ``F``."""

    def __init__(self, prob_smart: float, vocab: WordList | str | Sequence[str] | None = None,
                 rng: RngLike = None) -> None:
        super().__init__(rng)
        if not 0.0 <= prob_smart <= 1.0:
            raise ValueError(f"prob_smart must be in [0, 1], got {prob_smart}")
        self.prob_smart = float(prob_smart)
        self.vocab = None if vocab is None else WordList.resolve(vocab)
        self.name = f"random_mixture(p_smart={self.prob_smart:g})"

    def act(self, state: GameState) -> str:
        v = state.vocab if self.vocab is None else self.vocab
        if self.rng.random() < self.prob_smart:
            if self.vocab is None:
                return v.words[self._pick(state.consistent)]
            hist = [(g, p) for g, p in zip(state.guesses, state.patterns, strict=True) if p is not None]
            f = v.consistent_with(hist, state.feedback)
            if len(f) == 0:
                return state.vocab.words[self._pick(state.consistent)]
            return v.words[self._pick(f)]
        return v.words[int(self.rng.integers(len(v)))]


class WrongPolicy(WordlePolicy):
    """A uniform word of ``vocab`` (default: the game's vocabulary) that is not in the game's ``F`` — never the
    answer; if every word is in ``F``, a uniform word of ``vocab`` (§6.3). Uses rejection sampling (exactly
    uniform over the complement)."""

    name = "wrong"

    def __init__(self, vocab: WordList | str | Sequence[str] | None = None, rng: RngLike = None) -> None:
        super().__init__(rng)
        self.vocab = None if vocab is None else WordList.resolve(vocab)
        self._map: dict[int, np.ndarray] = {}

    def _to_game(self, game_vocab: WordList, v: WordList) -> np.ndarray:
        m = self._map.get(game_vocab.uid)
        if m is None:
            m = np.array([game_vocab.index.get(w, -1) for w in v.words], dtype=np.int64)
            self._map[game_vocab.uid] = m
        return m

    def act(self, state: GameState) -> str:
        v = state.vocab if self.vocab is None else self.vocab
        m = self._to_game(state.vocab, v)
        f = state.consistent
        in_f = np.zeros(len(state.vocab), dtype=bool)
        in_f[f] = True
        for _ in range(64):
            j = int(self.rng.integers(len(v)))
            if m[j] < 0 or not in_f[m[j]]:
                return v.words[j]
        ok = np.flatnonzero((m < 0) | ~in_f[np.maximum(m, 0)])
        if len(ok) == 0:
            return v.words[int(self.rng.integers(len(v)))]
        return v.words[self._pick(ok)]


class RepeatPolicy(WordlePolicy):
    """First guess from ``start_word_policy`` (or a uniform vocabulary word); afterwards a uniform choice among
    the first ``first_n`` guesses of the history (all if None). Reveals nothing new, so it (almost) never wins."""

    def __init__(self, first_n: int | None = None, start_word_policy: WordlePolicy | None = None,
                 rng: RngLike = None) -> None:
        super().__init__(rng)
        if first_n is not None and first_n < 1:
            raise ValueError(f"first_n must be >= 1 or None, got {first_n}")
        self.first_n = first_n
        self.start_word_policy = start_word_policy
        self.name = f"repeat(first_n={first_n})"

    def act(self, state: GameState) -> str:
        if not state.guesses:
            if self.start_word_policy is not None:
                return self.start_word_policy.act(state)
            return state.vocab.words[int(self.rng.integers(len(state.vocab)))]
        hist = state.guesses if self.first_n is None else state.guesses[: self.first_n]
        return hist[int(self.rng.integers(len(hist)))]


class SwitchPolicy(WordlePolicy):
    """``first`` for the first ``after`` guesses of a game, ``then`` afterwards (e.g. an expert that gets stuck
    in a loop: ``SwitchPolicy(OptimalPolicy(...), RepeatPolicy(first_n=2), after=2)``)."""

    def __init__(self, first: WordlePolicy, then: WordlePolicy, after: int, rng: RngLike = None) -> None:
        super().__init__(rng)
        if after < 0:
            raise ValueError(f"after must be >= 0, got {after}")
        self.first, self.then, self.after = first, then, int(after)
        self.name = f"switch({first.name} -> {then.name} after {after})"

    def act(self, state: GameState) -> str:
        return (self.first if len(state.guesses) < self.after else self.then).act(state)


class MixturePolicy(WordlePolicy):
    """``policy1`` with probability ``prob1``, else ``policy2`` (§6.3)."""

    def __init__(self, prob1: float, policy1: WordlePolicy, policy2: WordlePolicy, rng: RngLike = None) -> None:
        super().__init__(rng)
        if not 0.0 <= prob1 <= 1.0:
            raise ValueError(f"prob1 must be in [0, 1], got {prob1}")
        self.prob1 = float(prob1)
        self.policy1 = policy1
        self.policy2 = policy2
        self.name = f"mixture({self.prob1:g}, {policy1.name}, {policy2.name})"

    def act(self, state: GameState) -> str:
        return (self.policy1 if self.rng.random() < self.prob1 else self.policy2).act(state)


class UniformWordPolicy(WordlePolicy):
    """A uniform word of the whole (unfiltered) game vocabulary."""

    name = "uniform_word"

    def act(self, state: GameState) -> str:
        return state.vocab.words[int(self.rng.integers(len(state.vocab)))]


def rollout(state: GameState, policy: WordlePolicy, rng: np.random.Generator) -> GameState:
    """Play ``policy`` from ``state`` to the end of the game (resampled targets drawn from ``rng``)."""
    while not state.done:
        state = state.step(policy.act(state), rng)
    return state
