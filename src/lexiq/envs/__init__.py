"""Text environments with a Gymnasium-style API (``reset`` / ``step`` on strings) plus ``episode()``.

Environments produce lexiq :class:`~lexiq.data.episode.Episode` objects, the data format of offline RL for
language agents as in ILQL (Snell et al. 2022, arXiv 2206.11871). Nothing is registered with Gymnasium's global
registry at import; build environments directly or with :func:`make`.
"""

from __future__ import annotations

from typing import Any

from lexiq.envs.base import TextEnv, TextEnvProtocol, run_batch, run_episode
from lexiq.envs.wordle import WordleEnv

ENV_NAMES = ("wordle", "messenger")


def make(name: str, **kwargs: Any) -> TextEnv:
    """Build an environment by name: ``make("wordle", vocab="answers", mode="resample", seed=0)`` or
    ``make("messenger", stage=2, split="val", seed=0)`` (:class:`~lexiq.envs.messenger.text.MessengerTextEnv`)."""
    if name == "wordle":
        return WordleEnv(**kwargs)
    if name == "messenger":
        from lexiq.envs.messenger.text import MessengerTextEnv

        return MessengerTextEnv(**kwargs)
    raise ValueError(f"unknown environment {name!r}; expected one of {', '.join(ENV_NAMES)}")


__all__ = ["ENV_NAMES", "TextEnv", "TextEnvProtocol", "WordleEnv", "make", "run_batch", "run_episode"]
