"""Gymnasium Wordle environment with text actions and observations.

The environment of the ILQL paper (Snell et al. 2022, arXiv 2206.11871), ``specs/wordle.md`` §3–§5, with the
LMRL-Gym options of §9.1 (``require_words_in_vocab``, ``bad_word_reward``) and an NYT feedback variant.

* ``mode="resample"`` (§3.1, the paper's setting): at every valid step the target is drawn uniformly from the
  vocabulary words consistent with all feedback so far, so the hidden word is never fixed.
* ``mode="fixed"`` (§3.2): every valid guess is judged against one hidden word (``hidden_word``, or
  ``options={"hidden_word": w}`` at reset, else a uniform vocabulary word per reset). Upstream realises this with
  the one-word vocabulary ``[w]``; here the vocabulary stays whole (with ``w`` added if missing), which gives the
  same feedback, rewards and ends, and keeps the consistent set honest for scripted policies.

Step rules (§4.2–§4.3): an invalid guess (not 5 letters a–z, or not in the vocabulary when
``require_words_in_vocab``) gives no feedback (observation ``""``), costs ``bad_word_reward`` and uses a try;
a valid guess costs −1 unless it solves the game (reward 0; solved = one consistent word left and it has been
guessed). ``terminated`` on solve or after ``max_guesses`` actions; ``truncated`` is always False. A solve at
guess ``k`` returns ``-(k-1)``, a failure ``-6``.
"""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from lexiq.data.episode import Episode
from lexiq.envs.base import TextEnv
from lexiq.envs.wordle.game import COLOR_TOKENS, GameState, WordList, is_valid_guess

MODES = ("resample", "fixed")
_OBS_CHARSET = "".join(sorted(set("".join(COLOR_TOKENS))))
_ACTION_CHARSET = string.ascii_letters + string.digits + string.punctuation + " "


class WordleEnv(TextEnv):
    """Wordle as a text environment: ``step("raise")`` -> ``("<b><y><b><b><b>", -1.0, False, False, info)``.

    ``info`` holds ``valid`` (bool), ``n_consistent`` (``|F|`` after the step), ``n_guesses`` and ``solved``.
    ``env.state`` is the current :class:`GameState` (what the scripted policies act on); ``env.episode()`` the
    game so far as an :class:`Episode`.
    """

    def __init__(self, vocab: WordList | str | os.PathLike[str] | Sequence[str] = "answers", mode: str = "resample",
                 hidden_word: str | None = None, feedback: str = "ilql", require_words_in_vocab: bool = False,
                 bad_word_reward: float = -1.0, max_guesses: int = 6, seed: int | None = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected 'resample' or 'fixed'")
        if hidden_word is not None and mode != "fixed":
            raise ValueError("hidden_word is only used with mode='fixed'")
        if hidden_word is not None and not is_valid_guess(hidden_word):
            raise ValueError(f"hidden_word must be 5 lowercase letters a-z, got {hidden_word!r}")
        self.vocab = WordList.resolve(vocab)
        self.mode = mode
        self.hidden_word = hidden_word
        self.feedback = feedback
        self.require_words_in_vocab = bool(require_words_in_vocab)
        self.bad_word_reward = float(bad_word_reward)
        self.max_guesses = int(max_guesses)
        self.observation_space = spaces.Text(max_length=5 * 3, min_length=0, charset=_OBS_CHARSET)
        self.action_space = spaces.Text(max_length=64, min_length=0, charset=_ACTION_CHARSET)
        self._state = self._new_state(hidden_word if mode == "fixed" else None)
        self._started = False
        if seed is not None:
            self.np_random = np.random.default_rng(seed)

    def _new_state(self, hidden: str | None) -> GameState:
        return GameState.initial(self.vocab, hidden=hidden, feedback=self.feedback, max_guesses=self.max_guesses,
                                 require_words_in_vocab=self.require_words_in_vocab,
                                 bad_word_reward=self.bad_word_reward)

    @property
    def state(self) -> GameState:
        """The current game state (immutable; scripted policies act on it)."""
        return self._state

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """New game (§4.1). ``options={"hidden_word": w}`` sets the hidden word of a fixed-mode game."""
        super().reset(seed=seed)
        options = dict(options or {})
        hidden = options.pop("hidden_word", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected only 'hidden_word'")
        if hidden is not None and self.mode != "fixed":
            raise ValueError("options['hidden_word'] needs mode='fixed'")
        if self.mode == "fixed" and hidden is None:
            hidden = self.hidden_word
            if hidden is None:
                hidden = self.vocab.words[int(self.np_random.integers(len(self.vocab)))]
        self._state = self._new_state(hidden)
        self._started = True
        return "", self._info(valid=True)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.check_step(action, "Wordle", self._started)
        self._state = self._state.step(action, self.np_random)  # raises GameOverError after the end
        s = self._state
        valid = s.patterns[-1] is not None
        return s.feedback_text(), s.rewards[-1], s.done, False, self._info(valid)

    def _info(self, valid: bool) -> dict[str, Any]:
        s = self._state
        return {"valid": valid, "n_consistent": len(s.consistent), "n_guesses": s.n_guesses, "solved": s.solved}

    def episode(self) -> Episode:
        """The game so far (§5.1): ``[agent guess (reward), environment colours]*``; terminated iff over."""
        return self._state.episode({"env": "wordle", "mode": self.mode, "feedback": self.feedback})

    def render(self) -> str:  # type: ignore[override]
        s = self._state
        lines = [f"{g} {s.feedback_text(k) or '(invalid)'}" for k, g in enumerate(s.guesses)]
        return "\n".join(lines)
