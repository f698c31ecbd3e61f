"""Recorded NetHack play for offline learning: roll a policy in :class:`NetHackTextEnv`, write episode JSONL.

The default policy draws a word of :data:`~lexiq.envs.nethack.text.ACTION_NAMES` uniformly at every step (NLE's
random-agent baseline over a small action set); any lexiq rollout policy (``act(episodes, envs)``, e.g. a trained
:class:`~lexiq.evaluation.rollout.LMPolicy`) can be recorded instead. Episode ``i`` is the game seeded ``seed + i``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from lexiq.data.episode import Episode
from lexiq.envs.nethack.text import ACTION_NAMES


class RandomWordPolicy:
    """A uniform word of the action vocabulary (or of ``words``) at every step."""

    def __init__(self, seed: int = 0, words: Sequence[str] = ACTION_NAMES) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = list(words)

    def act(self, episodes: Sequence[Episode], envs: Sequence[Any]) -> list[str]:
        return [self.words[int(self.rng.integers(len(self.words)))] for _ in episodes]


def record_episodes(n_episodes: int, policy: Any = None, seed: int = 0, task: str = "score",
                    max_steps: int = 200) -> list[Episode]:
    """``n_episodes`` episodes of ``policy`` (default :class:`RandomWordPolicy`), game ``i`` seeded ``seed + i``,
    each at most ``max_steps`` actions; ``meta`` gets ``seed`` and the NLE ``end_status``."""
    from lexiq.envs.nethack.env import NetHackTextEnv

    if n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes}: expected at least 1")
    policy = policy if policy is not None else RandomWordPolicy(seed)
    env = NetHackTextEnv(task=task, max_steps=max_steps)
    out: list[Episode] = []
    try:
        for i in range(n_episodes):
            env.reset(seed=seed + i)
            info: dict[str, Any] = {}
            while True:
                (action,) = policy.act([env.episode()], [env])
                _, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            ep = env.episode()
            ep.meta.update({"seed": seed + i, "end_status": info.get("end_status")})
            out.append(ep)
    finally:
        env.close()
    return out


def write_nethack_episodes(path: str | os.PathLike[str], n_episodes: int, seed: int = 0, task: str = "score",
                           max_steps: int = 200) -> dict[str, Any]:
    """Record random-word episodes into the JSONL file ``path``; returns their counts."""
    from lexiq.data.jsonl import write_episodes

    episodes = record_episodes(n_episodes, seed=seed, task=task, max_steps=max_steps)
    write_episodes(path, episodes)
    returns = [e.total_reward for e in episodes]
    return {"out": str(path), "n": len(episodes), "mean_return": statistics.fmean(returns),
            "mean_actions": statistics.fmean(len(e.agent_turns) for e in episodes),
            "terminated": sum(e.terminated for e in episodes)}


def _cmd_data_nethack(args: argparse.Namespace) -> int:
    from lexiq.config import ConfigError

    try:
        summary = write_nethack_episodes(args.out, args.episodes, seed=args.seed, task=args.task,
                                         max_steps=args.max_steps)
    except (ImportError, ValueError) as exc:
        raise ConfigError(f"lexiq data nethack: {exc}") from None
    print(json.dumps(summary, indent=2))
    return 0


def add_nethack_data_command(dsub: Any) -> None:
    """Add ``lexiq data nethack`` (random-word play written as episode JSONL) to the ``lexiq data`` sub-parsers."""
    from lexiq.envs.nethack.env import TASKS

    dn = dsub.add_parser("nethack", help="NetHack episodes of uniform play over the named action vocabulary "
                                         "(needs lexiq[nethack])")
    dn.add_argument("--task", default="score", choices=list(TASKS), help="NLE task")
    dn.add_argument("--episodes", type=int, default=10, help="episodes (game i seeded seed + i)")
    dn.add_argument("--max-steps", type=int, default=200, help="actions before an episode is cut")
    dn.add_argument("--seed", type=int, default=0, help="seed of the first game and of the random policy")
    dn.add_argument("--out", required=True, help="output episode JSONL file")
    dn.set_defaults(func=_cmd_data_nethack)
