"""Messenger for language-model agents: a text rendering of the state and a text environment.

Messenger (Hanjie et al., ICML 2021; used for LDD by Zhong et al., NeurIPS 2022) is a grid game with a text manual.
:func:`describe` renders one game of a :class:`~lexiq.envs.messenger.engine.MessengerEngine` as plain text: the
manual (optionally), the avatar's cell and whether it carries the message, and every NPC on the board by entity
name and cell. NPCs are listed by name then position, never in role order, so the text reveals no more than the
grids do (in stage 3 two NPCs share a name: the real one and its decoy).

:class:`MessengerTextEnv` is a lexiq :class:`~lexiq.envs.base.TextEnv`: actions are the strings ``up``, ``down``,
``left``, ``right``, ``stay`` (case and surrounding text ignored: the first of these words in the reply counts; a
reply without one is played as ``stay`` and flagged ``info["valid"] = False``); observations are :func:`describe`
texts, the first one with the manual; ``episode()`` is the game as a lexiq Episode.
"""

from __future__ import annotations

import re
import string
from typing import Any

import numpy as np
from gymnasium import spaces

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn
from lexiq.envs.base import TextEnv
from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import ACTION_NAMES, BLOCK, ENTITY_NAMES, STAY
from lexiq.envs.messenger.spaces import MAX_TEXT, text_charset

_ACTION_RE = re.compile(r"\b(" + "|".join(ACTION_NAMES) + r")\b", re.IGNORECASE)


def describe(engine: MessengerEngine, i: int = 0, manual: bool = True, reward: float | None = None) -> str:
    """Game ``i`` as text: manual (if ``manual``), the outcome of the last step (if ``reward`` is given), the
    avatar and the NPCs with their ``(x, y)`` cells (x = column 0-9 from the left, y = row 0-9 from the top)."""
    lines: list[str] = []
    if manual:
        lines.append("Manual:")
        lines.extend(f"- {s}" for s in engine.manual(i))
    if reward is not None:
        lines.append(_outcome(engine, i, reward))
    x, y = (engine.avatar[i] // BLOCK).tolist()
    if engine.avatar_alive[i]:
        has = "carry the message" if engine.carrying[i] else "do not carry the message"
        lines.append(f"Step {int(engine.t[i])}. You are at (x={x}, y={y}) and {has}.")
    else:
        lines.append(f"Step {int(engine.t[i])}. You were removed from the board at (x={x}, y={y}).")
    npcs = sorted((ENTITY_NAMES[int(engine.ids[i, k])], *(engine.pos[i, k] // BLOCK).tolist())
                  for k in range(engine.n_npcs) if engine.alive[i, k])
    lines.append("On the board: " + "; ".join(f"{name} at (x={cx}, y={cy})" for name, cx, cy in npcs) + "."
                 if npcs else "Nothing else is on the board.")
    if not engine.done[i]:
        lines.append("Actions: up, down, left, right, stay.")
    return "\n".join(lines)


def _outcome(engine: MessengerEngine, i: int, reward: float) -> str:
    if engine.done[i]:
        if engine.won[i]:
            return f"You delivered the message and won (reward {reward:+g})."
        if engine.max_steps and engine.t[i] >= engine.max_steps and engine.avatar_alive[i]:
            return f"Out of time: you lost (reward {reward:+g})."
        return f"Game over: you lost (reward {reward:+g})."
    if reward > 0:
        return f"You picked up the message (reward {reward:+g})."
    return "Nothing happened." if reward == 0 else f"Reward {reward:+g}."


def parse_action(text: str) -> int | None:
    """The action named in ``text`` (its first of up/down/left/right/stay, any case), or None."""
    match = _ACTION_RE.search(text)
    return ACTION_NAMES.index(match.group(1).lower()) if match else None


class MessengerTextEnv(TextEnv):
    """One Messenger game with text actions and observations (see the module docstring).

    Arguments as :class:`~lexiq.envs.messenger.engine.MessengerEngine` (``stage``, ``split``, ``seed``, ``root``,
    ``manual``, ``max_steps``, ``mc_prob``). ``info`` holds ``valid``, ``action`` (the move played), ``won`` (also as
    ``success``, what lexiq's rollout evaluator reports), ``timeout`` and ``steps``.
    """

    def __init__(self, stage: int = 2, split: str = "train-mc", seed: int | None = None, *, root: str | None = None,
                 manual: str = "human", max_steps: int | None = None, mc_prob: float = 0.75) -> None:
        super().__init__()
        self.engine = MessengerEngine(stage, split, 1, seed=seed, root=root, manual=manual, max_steps=max_steps,
                                      mc_prob=mc_prob)
        charset = text_charset(self.engine)
        self.observation_space = spaces.Text(MAX_TEXT, min_length=1, charset=charset)
        self.action_space = spaces.Text(64, min_length=0, charset=string.printable)
        self._turns: list[Turn] = []
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; MessengerTextEnv takes none")
        if seed is not None:
            self.engine.seed(seed)
        self.engine.reset()
        text = describe(self.engine, 0, manual=True)
        self._turns = [Turn(ENVIRONMENT, text)]
        self._started = True
        return text, self._info(True, None, False)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.check_step(action, "Messenger text", self._started)
        move = parse_action(action)
        valid = move is not None
        res = self.engine.step(np.array([STAY if move is None else move]))
        reward = float(res.reward[0])
        text = describe(self.engine, 0, manual=False, reward=reward)
        self._turns += [Turn(AGENT, action, reward), Turn(ENVIRONMENT, text)]
        return text, reward, bool(res.terminated[0]), False, self._info(valid, move, bool(res.timeout[0]))

    def _info(self, valid: bool, move: int | None, timeout: bool) -> dict[str, Any]:
        e = self.engine
        won = bool(e.won[0])
        return {"valid": valid, "action": ACTION_NAMES[STAY if move is None else move], "won": won,
                "success": won, "timeout": timeout, "steps": int(e.t[0])}

    def episode(self) -> Episode:
        """The game so far: the first observation (with the manual), then ``[agent move (reward), observation]*``;
        ``terminated`` once the game is over."""
        e = self.engine
        meta = {"env": "messenger", "stage": e.stage, "split": e.split.name, "game": list(e.game_names(0)),
                "won": bool(e.won[0])}
        return Episode(list(self._turns), terminated=bool(self._started and e.done[0]), truncated=False, meta=meta)

    def render(self) -> str:  # type: ignore[override]
        return describe(self.engine, 0, manual=True)
