"""Win rate of an EMMA policy on held-out Messenger games, acting as EMMA evaluates (C.12.9).

Each evaluation plays episode 0 of ``episodes`` games seeded ``seed ..`` of ``split`` (the same games at every
evaluation of a run, and for every method of a benchmark), taking the argmax action with probability
``1 − epsilon`` and a uniform random one otherwise (EMMA's eval mode: ``epsilon = 0.05``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lexiq.agents.messenger.emma import N_ACTIONS, Emma
from lexiq.agents.messenger.history import FrameHistory, frame


def policy_obs(frames: np.ndarray, manual: torch.Tensor, device: torch.device | str = "cpu"
               ) -> dict[str, torch.Tensor]:
    """The model input of numpy ``frames (B, 3, 10, 10, C)`` and manual rows ``(B, S)``, on ``device``."""
    return {"frames": torch.from_numpy(np.ascontiguousarray(frames)).to(device), "manual": manual.to(device)}


@torch.no_grad()
def evaluate(model: Emma, stage: int, split: str = "test", episodes: int = 200, seed: int = 1_000_000, *,
             epsilon: float = 0.05, manual: str = "human", root: str | None = None, max_steps: int | None = None,
             action_seed: int = 0, mc_prob: float = 0.75) -> dict[str, Any]:
    """``win_rate``, ``mean_return``, ``mean_steps``, ``episodes`` of ``model`` on the first episodes of
    ``episodes`` games of ``split`` (``mc_prob``: the multi-combination share of the ``train`` mixture)."""
    from lexiq.envs.messenger.vector import MessengerVectorEnv

    was_training = model.training
    model.eval()
    rng = np.random.default_rng(action_seed)
    env = MessengerVectorEnv(episodes, stage, split, seed=seed, manual=manual, root=root, max_steps=max_steps,
                             mc_prob=mc_prob)
    obs, _ = env.reset()
    history = FrameHistory(episodes)
    frames = history.reset(frame(obs))
    manual_rows = model.table.rows(obs["manual"])
    live = np.ones(episodes, dtype=bool)
    won = np.zeros(episodes, dtype=bool)
    returns = np.zeros(episodes)
    steps = np.zeros(episodes, dtype=np.int64)
    while live.any():
        idx = np.flatnonzero(live)
        logits, _ = model(policy_obs(frames[idx], manual_rows[idx], model.device))
        actions = np.full(episodes, 4, dtype=np.int64)
        greedy = logits.argmax(-1).cpu().numpy()
        explore = rng.random(len(idx)) < epsilon
        actions[idx] = np.where(explore, rng.integers(0, N_ACTIONS, len(idx)), greedy)
        obs, reward, done, _, info = env.step(actions)
        returns[idx] += reward[idx]
        steps[idx] += 1
        ended = idx[done[idx]]
        won[ended] = info["won"][ended]
        live[ended] = False
        frames = history.push(frame(obs), done)
    model.train(was_training)
    return {"win_rate": float(won.mean()), "mean_return": float(returns.mean()), "mean_steps": float(steps.mean()),
            "episodes": episodes, "split": split}
