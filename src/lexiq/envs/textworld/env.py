"""A TextWorld game (or a pool of them) as a lexiq text environment.

TextWorld (Côté et al. 2018, arXiv 1806.11532) plays compiled games through Jericho's Z-machine
(``textworld.start``). :class:`TextWorldEnv` wraps it with lexiq's string API:

* **observation**: TextWorld's feedback for the command, cleaned of what the terminal adds around the story text
  (the ASCII-art banner of the first screen, the ``>`` prompt with its status line, the RESTART/RESTORE question
  after the end) by :func:`clean_feedback`; the first observation holds the objective and the first room;
* **action**: any string, played as one command (whitespace and line breaks collapsed, so a reply cannot smuggle
  in a second command); the episode records the reply as given;
* **reward**: the change of the game's score (TextWorld reports the running score);
* **ends**: ``terminated`` when the game is won or lost, ``truncated`` after ``max_steps`` commands;
* **info**: ``admissible_commands`` (sorted, TextWorld's own list for the current state), ``score``,
  ``max_score``, ``won`` (also as ``success``, what lexiq's rollout evaluator reports), ``lost``, ``moves``,
  ``game`` (file name), ``objective``, ``walkthrough`` (the generator's winning commands from the start) and
  ``policy_commands`` (TextWorld's winning commands from the current state).

With several games, ``reset(seed=s)`` plays game ``s mod len(games)`` (so seeds ``0 .. n-1`` visit every game
once), ``reset(options={"game": i})`` game ``i``, and a reset without either a game drawn from the environment's
random generator. Generated games are deterministic: the same commands give the same texts and rewards.
"""

from __future__ import annotations

import os
import re
import string
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn
from lexiq.envs.base import TextEnv
from lexiq.envs.textworld.games import require_textworld

GAME_SUFFIXES = (".z8", ".ulx")
_BANNER_CHARS = set(" _$|\\/<>")
_ENDING_QUESTION = re.compile(r"Would you like to RESTART, RESTORE a saved game, QUIT or UNDO the last command\?")
_BLANKS = re.compile(r"\n{3,}")


def clean_feedback(text: str) -> str:
    """TextWorld's feedback without terminal decoration: banner art lines, the ``>`` prompt and the status line
    after it, the question asked after the end, surrounding spaces of each line and runs of blank lines."""
    text = _ENDING_QUESTION.sub("", text)
    lines = []
    for line in text.split("\n"):
        if line.startswith(">"):  # the prompt, followed by the status line (room, score/moves)
            break
        stripped = line.strip()
        if stripped and set(stripped) <= _BANNER_CHARS:
            continue
        lines.append(stripped)
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def resolve_games(games: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Game files from a file, a directory (its ``*.z8`` / ``*.ulx``, sorted) or a list of files."""
    items = [games] if isinstance(games, str | os.PathLike) else list(games)
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in GAME_SUFFIXES)
            if not found:
                raise ValueError(f"{path}: no TextWorld game files (*.z8, *.ulx) in this directory")
            out += found
        elif path.suffix in GAME_SUFFIXES and path.exists():
            out.append(path)
        elif path.exists():
            raise ValueError(f"{path}: not a TextWorld game file (expected .z8 or .ulx)")
        else:
            raise ValueError(f"{path}: no such TextWorld game file or directory")
    if not out:
        raise ValueError("no TextWorld games given (expected a game file, a directory of games or a list)")
    return out


def play_command(action: str) -> str:
    """The command a reply plays: its words joined by single spaces (one line, one command)."""
    return " ".join(action.split())


class TextWorldEnv(TextEnv):
    """TextWorld games with text actions and observations (see the module docstring).

    ``games``: a game file, a directory of games or a list of files; ``max_steps``: commands before the episode is
    truncated; ``seed``: seeds the random choice of a game on resets without a seed.
    """

    def __init__(self, games: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], max_steps: int = 50,
                 seed: int | None = None) -> None:
        super().__init__()
        require_textworld()
        if max_steps < 1:
            raise ValueError(f"max_steps={max_steps}: expected at least 1")
        self.games = resolve_games(games)
        self.max_steps = int(max_steps)
        self.observation_space = spaces.Text(max_length=100_000, min_length=0, charset=string.printable)
        self.action_space = spaces.Text(max_length=256, min_length=0, charset=string.printable)
        self._loaded: dict[int, Any] = {}
        self._game = 0
        self._turns: list[Turn] = []
        self._info: dict[str, Any] = {}
        self._score = 0
        self._steps = 0
        self._started = False
        self._over = False
        if seed is not None:
            self.np_random = np.random.default_rng(seed)

    # ------------------------------------------------------------------ TextWorld plumbing
    def _env(self, index: int) -> Any:
        if index not in self._loaded:
            textworld = require_textworld()
            infos = textworld.EnvInfos(admissible_commands=True, score=True, max_score=True, won=True, lost=True,
                                       moves=True, objective=True, policy_commands=True, extras=["walkthrough"])
            with warnings.catch_warnings():  # Jericho's own score detection is unused: TextWorld tracks the state
                warnings.filterwarnings("ignore", message=".*is not fully supported")
                self._loaded[index] = textworld.start(str(self.games[index]), request_infos=infos)
        return self._loaded[index]

    def _make_info(self, state: Any) -> dict[str, Any]:
        won, lost = bool(state["won"]), bool(state["lost"])
        return {
            "admissible_commands": sorted(state["admissible_commands"] or []),
            "score": int(state["score"]), "max_score": int(state["max_score"]), "won": won, "success": won,
            "lost": lost, "moves": int(state["moves"] or 0), "game": self.games[self._game].name,
            "objective": state["objective"], "walkthrough": list(state.get("extra.walkthrough") or []),
            "policy_commands": list(state["policy_commands"] or []),
        }

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start a game: ``options={"game": i}``, else game ``seed mod len(games)``, else a random one."""
        super().reset(seed=seed)
        options = dict(options or {})
        game = options.pop("game", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected only 'game'")
        if game is not None:
            if not isinstance(game, int) or not 0 <= game < len(self.games):
                raise ValueError(f"options['game']={game!r}: expected a game index in 0..{len(self.games) - 1}")
            self._game = game
        elif seed is not None:
            self._game = int(seed) % len(self.games)
        else:
            self._game = int(self.np_random.integers(len(self.games)))
        env = self._env(self._game)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is not fully supported")
            state = env.reset()
        text = clean_feedback(state["feedback"])
        self._info = self._make_info(state)
        self._score = self._info["score"]
        self._steps = 0
        self._turns = [Turn(ENVIRONMENT, text)]
        self._started, self._over = True, False
        return text, dict(self._info)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.check_step(action, "TextWorld", self._started, self._over)
        state, _, _ = self._env(self._game).step(play_command(action))
        text = clean_feedback(state["feedback"])
        self._info = self._make_info(state)
        reward = float(self._info["score"] - self._score)
        self._score = self._info["score"]
        self._steps += 1
        terminated = self._info["won"] or self._info["lost"]
        truncated = not terminated and self._steps >= self.max_steps
        self._over = terminated or truncated
        self._turns += [Turn(AGENT, action, reward), Turn(ENVIRONMENT, text)]
        return text, reward, terminated, truncated, dict(self._info)

    @property
    def info(self) -> dict[str, Any]:
        """The info dict of the last reset or step (scripted players read it)."""
        return self._info

    @property
    def admissible_commands(self) -> list[str]:
        """TextWorld's admissible commands in the current state."""
        return list(self._info.get("admissible_commands", []))

    def episode(self) -> Episode:
        """The game so far: the first observation, then ``[command (reward), feedback]*``."""
        terminated = bool(self._info.get("won") or self._info.get("lost"))
        meta = {"env": "textworld", "game": self.games[self._game].name, "score": self._info.get("score", 0),
                "max_score": self._info.get("max_score", 0), "won": bool(self._info.get("won", False)),
                "lost": bool(self._info.get("lost", False))}
        return Episode(list(self._turns), terminated=terminated,
                       truncated=self._over and not terminated, meta=meta)

    def render(self) -> str:  # type: ignore[override]
        return "\n".join(("> " + t.text) if t.is_agent else t.text for t in self._turns)

    def close(self) -> None:
        for env in self._loaded.values():
            env.close()
        self._loaded.clear()
        super().close()
