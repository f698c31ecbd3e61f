"""Messenger as a Gymnasium vector environment on the NumPy engine (``specs/ldd_messenger.md`` Part C).

``MessengerVectorEnv(num_envs, stage, split, seed)`` steps ``num_envs`` games of Messenger (Hanjie et al., ICML
2021; LDD, Zhong et al., NeurIPS 2022) in one :class:`~lexiq.envs.messenger.engine.MessengerEngine`, so a step
costs a few NumPy operations whatever ``num_envs`` is. Game ``i`` is seeded ``seed + i`` and replays exactly
``MessengerEnv(seed=seed + i)`` under the same actions.

Autoreset: ``SAME_STEP`` (``metadata["autoreset_mode"]``): a game that ends is reset inside the same ``step``;
the returned observation is the first one of its new episode, and ``infos["final_obs"][i]`` (with
``infos["_final_obs"][i]`` True) holds the last observation of the finished one. ``infos`` always has ``won``,
``timeout`` and ``steps`` (length of the episode so far, including a step that just ended it).

Observation (a dict of batches): ``entities (n, 10, 10, L)``, ``avatar (n, 10, 10, 1)`` int64, ``manual`` (a tuple
of ``n`` manuals, each a tuple of sentences) and, with ``text_obs=True``, ``text`` (a tuple of ``n`` renderings;
off by default because formatting strings costs more than the game itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.spaces import observation_space
from lexiq.envs.messenger.text import describe


class MessengerVectorEnv(VectorEnv):
    """``num_envs`` Messenger games (see the module docstring); other arguments as
    :class:`~lexiq.envs.messenger.engine.MessengerEngine`. ``env.engine`` is the engine (the expert reads it)."""

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int, stage: int = 2, split: str = "train-mc", seed: int | None = None, *,
                 root: str | None = None, manual: str = "human", max_steps: int | None = None,
                 mc_prob: float = 0.75, text_obs: bool = False) -> None:
        self.engine = MessengerEngine(stage, split, num_envs, seed=seed, root=root, manual=manual,
                                      max_steps=max_steps, mc_prob=mc_prob)
        self.num_envs = self.engine.n
        self.text_obs = bool(text_obs)
        self.single_action_space = spaces.Discrete(5)
        self.action_space = spaces.MultiDiscrete(np.full(self.num_envs, 5))
        self.single_observation_space = observation_space(self.engine, self.text_obs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._manuals: list[tuple[str, ...]] = [() for _ in range(self.num_envs)]
        self._started = False

    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset every game. ``seed``: an int ``s`` seeds game ``i`` with ``s + i``, a sequence gives one seed per
        game; None keeps the streams (the first reset plays episode 0 of the constructor's seeds)."""
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; MessengerVectorEnv takes none")
        if seed is not None:
            self.engine.seed(seed)
        self.engine.reset()
        self._manuals = [self.engine.manual(i) for i in range(self.num_envs)]
        self._started = True
        n = self.num_envs
        infos = {"won": np.zeros(n, dtype=bool), "timeout": np.zeros(n, dtype=bool), "steps": np.zeros(n, np.int64)}
        return self._obs(None), infos

    def step(self, actions: Any) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        e = self.engine
        res = e.step(np.asarray(actions))
        infos: dict[str, Any] = {"won": res.won, "timeout": res.timeout, "steps": e.t.copy()}
        ended = np.flatnonzero(res.terminated)
        if ended.size:
            final = np.full(self.num_envs, None, dtype=object)
            entities, avatar = e.observe(ended)
            for j, i in enumerate(ended.tolist()):
                obs: dict[str, Any] = {"entities": entities[j], "avatar": avatar[j], "manual": self._manuals[i]}
                if self.text_obs:
                    obs["text"] = describe(e, i, manual=True, reward=float(res.reward[i]))
                final[i] = obs
            infos["final_obs"], infos["_final_obs"] = final, res.terminated.copy()
            e.reset(ended)
            for i in ended.tolist():
                self._manuals[i] = e.manual(i)
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._obs(res.reward), res.reward, res.terminated, truncated, infos

    def _obs(self, rewards: np.ndarray | None) -> dict[str, Any]:
        entities, avatar = self.engine.observe()
        obs: dict[str, Any] = {"entities": entities, "avatar": avatar, "manual": tuple(self._manuals)}
        if self.text_obs:
            e = self.engine
            obs["text"] = tuple(describe(e, i, manual=True, reward=None if rewards is None or e.t[i] == 0
                                         else float(rewards[i])) for i in range(self.num_envs))
        return obs
