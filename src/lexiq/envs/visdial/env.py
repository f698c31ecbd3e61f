"""The visual-dialogue environment of ILQL (``specs/visdial_protocol.md`` §2.3–§2.4) as a lexiq text environment.

The agent asks questions about a hidden image of which it sees only the caption; a fixed A-bot on the upstream
server answers, and the server's Q-bot image regressor scores how much each answer narrowed the image down
(a percentile gain). Rewards and the end of an episode follow :mod:`lexiq.envs.visdial.rules`.

* ``reset()`` picks a uniformly random scene (or ``options={"scene": i}``); the observation is its caption.
  ``p_0`` is the scene's ``initial_percentile`` if known, else ``/fetch_reward_rank`` with an empty history.
* ``step(question)`` sends the whole history ending with the question to ``/step_rank`` with
  ``{"inference": "greedy", "beamSize": 1}`` and gets ``(answer, gain)``; the observation is the answer.
  ``terminated`` when the cut-off is met or after ``max_rounds`` questions; ``truncated`` is always False.
  With ``actor_stop`` a question containing ``<stop>`` ends the episode at once with reward 0 (off, as in ILQL).
* Stepping after the end raises ``RuntimeError``.

``info`` holds ``answer``, ``gain``, ``progress``, ``success`` (cut-off met), ``yes_no`` (penalised), ``rounds``
and the reward settings; ``episode().meta`` records the settings (reward mode, penalty, cut-off, goal, rounds) and
the scene, as every result should.
"""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from typing import Any

from gymnasium import spaces

from lexiq.data.episode import AGENT, ENVIRONMENT, Episode, Turn
from lexiq.envs.base import TextEnv
from lexiq.envs.http import HttpOptions
from lexiq.envs.visdial.client import DEFAULT_URL, GREEDY, VisDialClient, history_of
from lexiq.envs.visdial.rules import check_reward_mode, is_yes_no, progress, turn_reward
from lexiq.envs.visdial.scenes import Scene, load_scenes

STOP = "<stop>"
_CHARSET = string.printable + "’‘“”"


class VisDialEnv(TextEnv):
    """ILQL's visual dialogue (see the module docstring): ``reset() -> caption``, ``step(question) -> answer``."""

    def __init__(self, scenes: str | os.PathLike[str] | Sequence[Scene | dict[str, Any]], url: str = DEFAULT_URL,
                 reward_mode: str = "hard", yn_reward: float = -2.0, cutoff: float = 0.5, goal: float = 1.0,
                 max_rounds: int = 10, actor_stop: bool = False, generation_kwargs: dict[str, Any] | None = None,
                 http_timeout: float = 60.0, http_retries: int = 3, http_backoff: float = 0.5,
                 seed: int | None = None) -> None:
        """``scenes``: a scenes file or list (:mod:`lexiq.envs.visdial.scenes`); ``url``: the visdial-rl server;
        ``reward_mode``: none, hard, soft or conservative; ``yn_reward``: the yes/no penalty; ``cutoff``,
        ``goal``: the percentile cut-off rule; ``max_rounds``: questions at most; ``actor_stop``: let ``<stop>``
        end the episode; ``generation_kwargs``: the A-bot's decoding (default greedy, beam 1)."""
        super().__init__()
        self.reward_mode = check_reward_mode(reward_mode)
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
        if not 0 < cutoff:
            raise ValueError(f"cutoff must be > 0, got {cutoff}")
        self.scenes = load_scenes(scenes)
        self.yn_reward = float(yn_reward)
        self.cutoff = float(cutoff)
        self.goal = float(goal)
        self.max_rounds = int(max_rounds)
        self.actor_stop = bool(actor_stop)
        self.generation_kwargs = dict(GREEDY if generation_kwargs is None else generation_kwargs)
        self.client = VisDialClient(url, HttpOptions(http_timeout, http_retries, http_backoff))
        self.observation_space = spaces.Text(max_length=4096, min_length=0, charset=_CHARSET)
        self.action_space = spaces.Text(max_length=1024, min_length=0, charset=_CHARSET)
        if seed is not None:
            super().reset(seed=seed)
        self._scene_index: int | None = None
        self._p0 = 0.0
        self._pairs: list[tuple[str, str]] = []
        self._rewards: list[float] = []
        self._gains: list[float] = []
        self._stopped = False
        self._done = False

    @property
    def scene(self) -> Scene:
        if self._scene_index is None:
            raise RuntimeError("call reset() before step()")
        return self.scenes[self._scene_index]

    def settings(self) -> dict[str, Any]:
        """The reward settings recorded with every result."""
        return {"reward_mode": self.reward_mode, "yn_reward": self.yn_reward, "cutoff": self.cutoff,
                "goal": self.goal, "max_rounds": self.max_rounds}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """A new dialogue about a random scene (``options={"scene": i}`` picks scene ``i``)."""
        super().reset(seed=seed)
        options = dict(options or {})
        index = options.pop("scene", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected only 'scene'")
        if index is None:
            index = int(self.np_random.integers(len(self.scenes)))
        elif isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.scenes):
            raise ValueError(f"options['scene'] must be an index in 0..{len(self.scenes) - 1}, got {index!r}")
        self._scene_index = index
        scene = self.scenes[index]
        p0 = scene.initial_percentile
        self._p0 = self.client.fetch_reward_rank([], scene.img_features, scene.caption) if p0 is None else p0
        self._pairs, self._rewards, self._gains = [], [], []
        self._stopped = self._done = False
        return scene.caption, {"scene": index, "p0": self._p0, "rounds": 0, **self.settings()}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        scene = self.scene
        if self._done:
            raise RuntimeError("the visual dialogue is over (cut-off met, max_rounds questions or <stop>); call "
                               "reset() to start a new one")
        if not isinstance(action, str):
            raise TypeError(f"a question must be a string, got {type(action).__name__}")
        if self.actor_stop and STOP in action:
            self._stopped = self._done = True
            self._pairs.append((action, ""))
            self._rewards.append(0.0)
            return "", 0.0, True, False, self._info("", 0.0, False)
        history = history_of(self._pairs, action)
        answer, gain = self.client.step_rank(history, scene.img_features, scene.caption, self.generation_kwargs)
        self._pairs.append((action, answer))
        self._gains.append(gain)
        met = progress(self._p0, self._gains, self.goal) >= self.cutoff
        self._done = met or len(self._pairs) >= self.max_rounds
        reward = turn_reward(self._done, answer, self.reward_mode, self.yn_reward)
        self._rewards.append(reward)
        return answer, reward, self._done, False, self._info(answer, gain, met)

    def _info(self, answer: str, gain: float, met: bool) -> dict[str, Any]:
        return {"answer": answer, "gain": gain, "progress": progress(self._p0, self._gains, self.goal),
                "success": met, "yes_no": bool(answer) and is_yes_no(answer, self.reward_mode),
                "rounds": len(self._pairs), "scene": self._scene_index, **self.settings()}

    def episode(self) -> Episode:
        """``caption, (question [reward], answer)*`` as an Episode; terminated iff the dialogue is over."""
        turns: list[Turn] = []
        if self._scene_index is not None:
            turns.append(Turn(ENVIRONMENT, self.scene.caption, speaker="caption"))
        for k, ((question, answer), reward) in enumerate(zip(self._pairs, self._rewards, strict=True)):
            turns.append(Turn(AGENT, question, reward, speaker="question"))
            if not (self._stopped and k == len(self._pairs) - 1):
                turns.append(Turn(ENVIRONMENT, answer, speaker="answer"))
        meta = {"env": "visdial", "scene": self._scene_index, "p0": self._p0, **self.settings()}
        return Episode(turns, terminated=self._done, truncated=False, meta=meta)

    def close(self) -> None:
        self.client.close()
        super().close()
