"""Messenger as a single-game Gymnasium environment (``specs/ldd_messenger.md`` Part C).

The game of Hanjie, Zhong & Narasimhan, "Grounding Language to Entities and Dynamics for Generalization in
Reinforcement Learning" (ICML 2021), stages 1-3, as used by Zhong et al., "Improving Policy Learning via Language
Dynamics Distillation" (NeurIPS 2022). Actions ``Discrete(5)``: 0 up, 1 down, 2 left, 3 right, 4 stay.
Observations (a dict): ``entities (10, 10, L)`` and ``avatar (10, 10, 1)`` int64 id grids (L = 1, 3, 5 for
stages 1, 2, 3; entity layers reshuffled every step), ``manual`` (tuple of sentences) and ``text`` (the
:func:`~lexiq.envs.messenger.text.describe` rendering, unless ``text_obs=False``).

``MessengerEnv(stage=2, split="train-mc", seed=0)`` plays exactly the episodes of game 0 of
``MessengerVectorEnv(n, stage=2, split="train-mc", seed=0)`` (and ``seed=s`` those of its game ``i`` for
``s = seed + i``), given the same actions.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import SLOT_NAMES, TYPES
from lexiq.envs.messenger.spaces import observation_space
from lexiq.envs.messenger.text import describe


def check_action(action: Any) -> int:
    """``action`` as an int in 0..4; a one-line ValueError otherwise."""
    a = np.asarray(action)
    if a.shape != () or a.dtype.kind not in "iu" or not 0 <= int(a) <= 4:
        raise ValueError(f"a Messenger action is an int in 0..4 (up, down, left, right, stay), got {action!r}")
    return int(a)


def game_info(engine: MessengerEngine, i: int) -> dict[str, Any]:
    """Ground truth of game ``i`` for analysis (not for agents): entity names per role and movement types per slot."""
    return {"game": engine.game_names(i),
            "movement": {SLOT_NAMES[k]: TYPES[int(t)] for k, t in enumerate(engine.types[i].tolist())}}


class MessengerEnv(gym.Env):
    """One Messenger game (see the module docstring); arguments as
    :class:`~lexiq.envs.messenger.engine.MessengerEngine`, plus ``text_obs`` (add the text rendering).

    ``step`` returns ``terminated`` at a win, a loss or the ``max_steps`` cap (timeout: reward -1, see the
    engine); ``truncated`` is always False. ``info``: ``won``, ``timeout``, ``steps``, ``game`` (enemy, message,
    goal names) and ``movement`` (type per NPC slot). ``env.engine`` is the underlying one-game engine (what the
    scripted expert reads).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"]}

    def __init__(self, stage: int = 2, split: str = "train-mc", seed: int | None = None, *, root: str | None = None,
                 manual: str = "human", max_steps: int | None = None, mc_prob: float = 0.75, text_obs: bool = True,
                 render_mode: str | None = None) -> None:
        super().__init__()
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unknown render_mode {render_mode!r}; expected None or 'ansi'")
        self.render_mode = render_mode
        self.engine = MessengerEngine(stage, split, 1, seed=seed, root=root, manual=manual, max_steps=max_steps,
                                      mc_prob=mc_prob)
        self.text_obs = bool(text_obs)
        self.action_space = spaces.Discrete(5)
        self.observation_space = observation_space(self.engine, self.text_obs)
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """New episode; ``seed`` restarts the game's stream (episode 0 of that seed), otherwise the next episode."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; MessengerEnv takes none")
        if seed is not None:
            self.engine.seed(seed)
        self.engine.reset()
        self._started = True
        return self._obs(None), {"won": False, "timeout": False, "steps": 0, **game_info(self.engine, 0)}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if self.engine.done[0]:
            raise RuntimeError("the episode is over; call reset()")
        res = self.engine.step(np.array([check_action(action)]))
        reward = float(res.reward[0])
        info = {"won": bool(res.won[0]), "timeout": bool(res.timeout[0]), "steps": int(self.engine.t[0]),
                **game_info(self.engine, 0)}
        return self._obs(reward), reward, bool(res.terminated[0]), False, info

    def _obs(self, reward: float | None) -> dict[str, Any]:
        entities, avatar = self.engine.observe([0])
        obs: dict[str, Any] = {"entities": entities[0], "avatar": avatar[0], "manual": self.engine.manual(0)}
        if self.text_obs:
            obs["text"] = describe(self.engine, 0, manual=True, reward=reward)
        return obs

    def render(self) -> str | None:  # type: ignore[override]
        return describe(self.engine, 0, manual=True) if self.render_mode == "ansi" else None
