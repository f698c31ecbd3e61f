"""NetHack (through the NetHack Learning Environment) as a lexiq text environment.

:class:`NetHackTextEnv` wraps one NLE task (Küttler et al. 2020, arXiv 2006.13760; ``task="score"`` is
``NetHackScore-v0``, see :data:`TASKS`) with lexiq's string API:

* **observation**: :func:`lexiq.envs.nethack.text.render_text` of NLE's ``tty_chars`` and ``message``;
* **action**: a reply naming one word of the vocabulary :data:`~lexiq.envs.nethack.text.ACTION_NAMES` (the first
  such word counts); a reply without one plays ``wait`` and is flagged ``info["valid"] = False``;
* **reward**: what the NLE task gives (``score``: the in-game score change, −0.01 for a step that does not advance
  the game clock);
* **ends**: ``terminated`` when NLE ends the game (death, task done), ``truncated`` when NLE aborts it
  (its own ``max_episode_steps``) or after ``max_steps`` actions.

``reset(seed=s)`` seeds NetHack's core and display RNGs with ``s`` (NLE's ``seed(core, disp, reseed=False)``), so
a seed and the same actions replay the same game. ``info`` holds ``valid``, ``action`` (the word played),
``end_status`` (NLE's, as a name), ``blstats`` (the bottom-line statistics as a list) and ``steps``.
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium import spaces

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn
from lexiq.envs.base import TextEnv
from lexiq.envs.nethack.text import ACTION_NAMES, nle_actions, parse_action, render_text

TASKS = {"score": "NetHackScore", "staircase": "NetHackStaircase", "pet": "NetHackStaircasePet",
         "oracle": "NetHackOracle", "gold": "NetHackGold", "eat": "NetHackEat", "scout": "NetHackScout",
         "challenge": "NetHackChallenge"}
FALLBACK = ACTION_NAMES.index("wait")


def require_nle() -> Any:
    """The ``nle`` package, or a :class:`~lexiq.envs.extras.MissingExtraError` that says how to install it."""
    from lexiq.envs.extras import require

    return require("nle", "nethack", "nle>=1.0")


class NetHackTextEnv(TextEnv):
    """One NLE task with text observations and named actions (see the module docstring).

    ``task``: a key of :data:`TASKS`; ``max_steps``: actions before truncation (None = NLE's own limit);
    ``character``: NLE's role-race-alignment-gender string; ``seed``: seeds the first reset (when it has none).
    """

    def __init__(self, task: str = "score", max_steps: int | None = 1000, character: str = "mon-hum-neu-mal",
                 seed: int | None = None) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"unknown NetHack task {task!r}; expected one of {', '.join(TASKS)}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps={max_steps}: expected at least 1 (or None)")
        require_nle()
        from nle.env import tasks

        self.task = task
        self.max_steps = max_steps
        self.nle = getattr(tasks, TASKS[task])(character=character, actions=nle_actions(),
                                               observation_keys=("tty_chars", "message", "blstats"))
        self.observation_space = spaces.Text(max_length=24 * 81 + 300, min_length=1, charset=string.printable)
        self.action_space = spaces.Text(max_length=64, min_length=0, charset=string.printable)
        self._seed = seed
        self._turns: list[Turn] = []
        self._steps = 0
        self._started = False
        self._over = False
        self._terminated = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; NetHackTextEnv takes none")
        s = seed if seed is not None else self._seed
        self._seed = None  # a constructor seed seeds the first reset only
        if s is not None:
            self.nle.seed(core=int(s), disp=int(s), reseed=False)
        obs, info = self.nle.reset()
        text = render_text(obs)
        self._turns = [Turn(ENVIRONMENT, text)]
        self._steps = 0
        self._started, self._over, self._terminated = True, False, False
        return text, {**self._info(obs, info, True, None), "action": None}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.check_step(action, "NetHack text", self._started, self._over)
        index = parse_action(action)
        obs, reward, terminated, truncated, info = self.nle.step(FALLBACK if index is None else index)
        self._steps += 1
        truncated = bool(truncated) or (not terminated and self.max_steps is not None
                                        and self._steps >= self.max_steps)
        self._terminated, self._over = bool(terminated), bool(terminated) or truncated
        text = render_text(obs)
        self._turns += [Turn(AGENT, action, float(reward)), Turn(ENVIRONMENT, text)]
        return text, float(reward), bool(terminated), truncated, self._info(obs, info, index is not None, index)

    def _info(self, obs: dict[str, Any], info: dict[str, Any], valid: bool, index: int | None) -> dict[str, Any]:
        status = info.get("end_status")
        return {"valid": valid, "action": ACTION_NAMES[FALLBACK if index is None else index],
                "end_status": getattr(status, "name", str(status)), "blstats": [int(x) for x in obs["blstats"]],
                "steps": self._steps, "success": getattr(status, "name", "") == "TASK_SUCCESSFUL"}

    def episode(self) -> Episode:
        """The game so far: the first screen, then ``[action word(s) (reward), screen]*``."""
        return Episode(list(self._turns), terminated=self._terminated, truncated=self._over and not self._terminated,
                       meta={"env": "nethack", "task": self.task})

    def render(self) -> str:  # type: ignore[override]
        return self._turns[-1].text if self._turns else ""

    def close(self) -> None:
        self.nle.close()
        super().close()
