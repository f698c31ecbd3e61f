"""Scripted TextWorld players and the episode data sets they produce.

Players follow lexiq's rollout protocol (``act(episodes, envs) -> list[str]``, :mod:`lexiq.evaluation.rollout`)
and read the environments' ``info`` (:class:`~lexiq.envs.textworld.env.TextWorldEnv`):

* :class:`WalkthroughPlayer` — the generator's walkthrough (``extras:walkthrough``), command by command: wins
  every generated game with its maximum score;
* :class:`RandomPlayer` — a uniform draw from the admissible commands at every step;
* :class:`NoisyExpertPlayer` — with probability ``epsilon`` a uniform admissible command, otherwise the first of
  TextWorld's winning commands from the current state (``policy_commands``), so it recovers from its slips.

:func:`collect_episodes` plays one kind (:data:`KINDS`) or a mixture (``"mixed"``: each episode's player drawn
with :data:`MIXTURE`'s weights) on a pool of games, episode ``i`` on game ``i mod n``. Each episode's ``meta``
names its player (``kind``), game, score, ``max_score`` and ``won``; the output is what ``lexiq train`` reads
(``lexiq.data.jsonl.write_episodes``). Offline RL from such mixed-quality logs is the ILQL setting (Snell et al.
2022, arXiv 2206.11871); filtered BC keeps the winning ones.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np

from lexiq.data.episode import Episode

KINDS = ("walkthrough", "noisy", "random", "mixed")
MIXTURE = {"walkthrough": 0.2, "noisy": 0.3, "random": 0.5}
"""Default player weights of ``kind="mixed"``: a fifth expert games, the rest noisy or random play."""


class WalkthroughPlayer:
    """Plays each game's walkthrough (then ``look`` should a game outlast it)."""

    def act(self, episodes: Sequence[Episode], envs: Sequence[Any]) -> list[str]:
        out = []
        for ep, env in zip(episodes, envs, strict=True):
            walk, k = env.info["walkthrough"], len(ep.agent_turns)
            out.append(walk[k] if k < len(walk) else "look")
        return out


class RandomPlayer:
    """A uniform admissible command at every step."""

    def __init__(self, seed: int | np.random.Generator = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def choose(self, env: Any) -> str:
        commands = env.info["admissible_commands"] or ["look"]
        return commands[int(self.rng.integers(len(commands)))]

    def act(self, episodes: Sequence[Episode], envs: Sequence[Any]) -> list[str]:
        return [self.choose(env) for env in envs]


class NoisyExpertPlayer(RandomPlayer):
    """TextWorld's next winning command, replaced by a uniform admissible one with probability ``epsilon``."""

    def __init__(self, epsilon: float = 0.3, seed: int | np.random.Generator = 0) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon={epsilon}: expected a probability in [0, 1]")
        super().__init__(seed)
        self.epsilon = float(epsilon)

    def act(self, episodes: Sequence[Episode], envs: Sequence[Any]) -> list[str]:
        out = []
        for env in envs:
            plan = env.info["policy_commands"]
            slip = self.rng.random() < self.epsilon
            out.append(self.choose(env) if slip or not plan else plan[0])
        return out


def _player(kind: str, rng: np.random.Generator, epsilon: float) -> Any:
    if kind == "walkthrough":
        return WalkthroughPlayer()
    if kind == "random":
        return RandomPlayer(rng)
    return NoisyExpertPlayer(epsilon, rng)


def collect_episodes(games: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], kind: str,
                     n_episodes: int, seed: int = 0, max_steps: int = 10, epsilon: float = 0.3,
                     mixture: dict[str, float] | None = None) -> list[Episode]:
    """``n_episodes`` episodes of ``kind`` (one of :data:`KINDS`) on ``games``, episode ``i`` on game ``i mod n``,
    each cut after ``max_steps`` commands. Deterministic for a given ``seed``."""
    from lexiq.envs.textworld.env import TextWorldEnv

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes}: expected at least 1")
    weights = dict(mixture or MIXTURE)
    if kind == "mixed" and (set(weights) - {"walkthrough", "noisy", "random"} or sum(weights.values()) <= 0
                            or min(weights.values()) < 0):
        raise ValueError(f"mixture {weights}: expected non-negative weights of walkthrough, noisy, random")
    rng = np.random.default_rng(seed)
    env = TextWorldEnv(games, max_steps=max_steps)
    names, probs = list(weights), np.array(list(weights.values()), dtype=float)
    episodes = []
    try:
        for i in range(n_episodes):
            who = kind if kind != "mixed" else names[int(rng.choice(len(names), p=probs / probs.sum()))]
            player = _player(who, rng, epsilon)
            env.reset(options={"game": i % len(env.games)})
            while True:
                (action,) = player.act([env.episode()], [env])
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    break
            ep = env.episode()
            ep.meta["kind"] = who
            episodes.append(ep)
    finally:
        env.close()
    return episodes


def dataset_stats(episodes: Sequence[Episode]) -> dict[str, Any]:
    """Counts of a TextWorld data set: episodes, win rate, mean return and length, per player kind."""
    def summary(eps: Sequence[Episode]) -> dict[str, float]:
        return {"n": len(eps), "win_rate": statistics.fmean(bool(e.meta.get("won")) for e in eps),
                "mean_return": statistics.fmean(e.total_reward for e in eps),
                "mean_commands": statistics.fmean(len(e.agent_turns) for e in eps)}

    out: dict[str, Any] = summary(episodes)
    kinds = sorted({str(e.meta.get("kind", "?")) for e in episodes})
    out["kinds"] = {k: summary([e for e in episodes if str(e.meta.get("kind", "?")) == k]) for k in kinds}
    out["games"] = len({e.meta.get("game") for e in episodes})
    return out
