"""Shared base for lexiq text environments.

A text environment is a Gymnasium environment whose actions and observations are strings:
``reset(seed=None, options=None) -> (obs, info)`` and ``step(text) -> (obs, reward, terminated, truncated, info)``.
On top of Gymnasium it exposes ``episode()``: the interaction so far as a lexiq :class:`Episode` (agent turns with
their rewards, environment turns with the observations), which is what a language policy is prompted with and what
datasets store. Offline RL from such episodes follows the ILQL setting (Snell et al. 2022, arXiv 2206.11871).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym

from lexiq.data.episode import Episode


@runtime_checkable
class TextEnvProtocol(Protocol):
    """What evaluators and data generators rely on."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        ...

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        ...

    def episode(self) -> Episode:
        ...


class TextEnv(gym.Env):
    """Base class of lexiq text environments (Gymnasium API with string actions/observations + ``episode()``)."""

    metadata: dict[str, Any] = {"render_modes": ["ansi"]}

    def episode(self) -> Episode:
        """The interaction since the last ``reset`` as an :class:`Episode`."""
        raise NotImplementedError

    def render(self) -> str:  # type: ignore[override]
        return repr(self.episode())

    @staticmethod
    def check_step(action: Any, game: str, started: bool, over: bool = False) -> None:
        """The guard every ``step`` starts with: reset first, no step after the end, actions are strings."""
        if not started:
            raise RuntimeError("call reset() before step()")
        if over:
            raise RuntimeError("the episode is over; call reset() to play again")
        if not isinstance(action, str):
            raise TypeError(f"a {game} action must be a string, got {type(action).__name__}")


def run_episode(env: TextEnvProtocol, act: Callable[[Episode], str], seed: int | None = None,
                options: dict[str, Any] | None = None, max_steps: int = 10_000) -> Episode:
    """Reset ``env`` and play until terminated or truncated, asking ``act(env.episode())`` for every action."""
    env.reset(seed=seed, options=options)
    for _ in range(max_steps):
        _, _, terminated, truncated, _ = env.step(act(env.episode()))
        if terminated or truncated:
            break
    return env.episode()


def run_batch(make_env: Callable[[], TextEnvProtocol], act: Callable[[Episode], str],
              seeds: list[int]) -> list[Episode]:
    """:func:`run_episode` once per seed on a fresh environment from ``make_env``."""
    return [run_episode(make_env(), act, seed=s) for s in seeds]
