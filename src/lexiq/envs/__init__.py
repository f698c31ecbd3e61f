"""Text environments with a Gymnasium-style API (``reset`` / ``step`` on strings) plus ``episode()``.

Environments produce lexiq :class:`~lexiq.data.episode.Episode` objects, the data format of offline RL for
language agents as in ILQL (Snell et al. 2022, arXiv 2206.11871). Nothing is registered with Gymnasium's global
registry at import; build environments directly or with :func:`make`.
"""

from __future__ import annotations

from typing import Any

from lexiq.envs.base import TextEnv, TextEnvProtocol, run_batch, run_episode
from lexiq.envs.wordle import WordleEnv

ENV_NAMES = ("wordle", "messenger", "visdial", "remote")
EXTRA_ENV_NAMES = ("textworld", "nethack")
"""Environments of optional extras: ``make`` builds them; they are not (yet) listed or served by ``lexiq env``."""


def make(name: str, **kwargs: Any) -> TextEnv:
    """Build an environment by name: ``make("wordle", vocab="answers", mode="resample", seed=0)``,
    ``make("messenger", stage=2, split="val", seed=0)`` (:class:`~lexiq.envs.messenger.text.MessengerTextEnv`),
    ``make("visdial", scenes="scenes.jsonl", url="http://localhost:5000")``
    (:class:`~lexiq.envs.visdial.env.VisDialEnv`) or ``make("remote", url="http://127.0.0.1:8765", **options)``:
    a session of an environment served by ``lexiq env serve`` (:class:`~lexiq.envs.remote.client.RemoteEnv`).
    Third-party games need their optional extra (else :class:`~lexiq.envs.extras.MissingExtraError`, one line):
    ``make("textworld", games="runs/tw/games/test", max_steps=8)`` (generated TextWorld games,
    :class:`~lexiq.envs.textworld.env.TextWorldEnv`, ``lexiq[textworld]``) and ``make("nethack", task="score")``
    (:class:`~lexiq.envs.nethack.env.NetHackTextEnv`, ``lexiq[nethack]``)."""
    if name == "wordle":
        return WordleEnv(**kwargs)
    if name == "messenger":
        from lexiq.envs.messenger.text import MessengerTextEnv

        return MessengerTextEnv(**kwargs)
    if name == "visdial":
        from lexiq.envs.visdial import VisDialEnv

        return VisDialEnv(**kwargs)
    if name == "remote":
        if "url" not in kwargs:
            raise ValueError("make('remote', ...) needs url=, the base URL of a `lexiq env serve` server")
        from lexiq.envs.remote import RemoteEnv

        return RemoteEnv(**kwargs)
    if name == "textworld":
        from lexiq.envs.textworld.env import TextWorldEnv  # the textworld package itself is imported on use

        return TextWorldEnv(**kwargs)
    if name == "nethack":
        from lexiq.envs.nethack.env import NetHackTextEnv

        return NetHackTextEnv(**kwargs)
    raise ValueError(f"unknown environment {name!r}; expected one of {', '.join(ENV_NAMES + EXTRA_ENV_NAMES)}")


__all__ = ["ENV_NAMES", "EXTRA_ENV_NAMES", "TextEnv", "TextEnvProtocol", "WordleEnv", "make", "run_batch",
           "run_episode"]
