"""Expert demonstrations of Messenger for LDD and behaviour cloning (``specs/ldd_messenger.md`` A.2).

LDD (Zhong et al., NeurIPS 2022) records a trained EMMA policy; lexiq records the scripted planner of
:mod:`lexiq.envs.messenger.expert` (it reads the true state and wins ~100 % of games). Episode ``e`` is episode 0
of game seed ``seed + e`` of ``split``. Upstream records with LDD's ``max_steps = 4``; the scripted expert needs
~15 steps to win a stage-2 game, so it would almost always time out there: lexiq records with the environment's
default caps (4 / 64 / 128 for stages 1 / 2 / 3) unless ``max_steps`` says otherwise.

Stored (one ``.npz`` file, no pickles):

* ``frames (F, 10, 10, L + 1)`` uint8 — every observation of every episode (entities then avatar layer),
  episode ``e`` owning ``frames[offsets[e]:offsets[e + 1]]`` (its first observation up to the final one);
* ``offsets (E + 1,)``; ``actions``, ``rewards`` (``F − E`` steps, episode ``e``'s at
  ``offsets[e] − e : offsets[e + 1] − e − 1``); ``won (E,)``;
* ``manuals (E, S)`` the manual sentences; ``meta`` a JSON string (stage, split, seed, max_steps, manual kind).

LDD itself never uses the actions (its dynamics model is action-free); behaviour cloning does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lexiq.agents.messenger.history import episode_histories


@dataclass
class Demos:
    """Recorded episodes (see the module docstring for the layout)."""

    frames: np.ndarray
    offsets: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    won: np.ndarray
    manuals: np.ndarray
    meta: dict[str, Any]

    @property
    def episodes(self) -> int:
        return len(self.won)

    def transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every step as ``(history (M, 3) frame indices, next_frame (M,) index, episode (M,), action (M,))``:
        the 3-frame window the policy saw (copies of the first frame at the start), the frame after the step."""
        hist, nxt, ep = [], [], []
        for e in range(self.episodes):
            a, b = int(self.offsets[e]), int(self.offsets[e + 1])
            hist.append(a + episode_histories(b - a)[:-1])
            nxt.append(np.arange(a + 1, b))
            ep.append(np.full(b - a - 1, e))
        return np.concatenate(hist), np.concatenate(nxt), np.concatenate(ep), self.actions.astype(np.int64)

    def summary(self) -> dict[str, Any]:
        steps = np.diff(self.offsets) - 1
        return {**self.meta, "episodes": self.episodes, "transitions": int(steps.sum()),
                "win_rate": float(self.won.mean()), "mean_steps": float(steps.mean())}


def record_demos(stage: int, split: str, episodes: int, seed: int = 0, *, manual: str = "human",
                 root: str | None = None, max_steps: int | None = None, expert_seed: int = 0) -> Demos:
    """Play episode 0 of ``episodes`` games (seeds ``seed ..``) with the scripted expert and record them."""
    from lexiq.envs.messenger.engine import MessengerEngine
    from lexiq.envs.messenger.expert import MessengerExpert

    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    engine = MessengerEngine(stage, split, episodes, seed=seed, root=root, manual=manual, max_steps=max_steps)
    engine.reset()
    expert = MessengerExpert(expert_seed)
    manuals = np.array([engine.manual(i) for i in range(episodes)])
    per_frames: list[list[np.ndarray]] = [[] for _ in range(episodes)]
    per_actions: list[list[int]] = [[] for _ in range(episodes)]
    per_rewards: list[list[float]] = [[] for _ in range(episodes)]
    won = np.zeros(episodes, dtype=bool)

    def snap(idx: np.ndarray) -> None:
        ent, av = engine.observe(idx)
        grids = np.concatenate([ent, av], -1).astype(np.uint8)
        for j, i in enumerate(idx.tolist()):
            per_frames[i].append(grids[j])

    live = np.ones(episodes, dtype=bool)
    snap(np.arange(episodes))
    while live.any():
        idx = np.flatnonzero(live)
        actions = np.full(episodes, 4, dtype=np.int64)
        actions[idx] = expert.act(engine, idx)
        res = engine.step(actions)
        snap(idx)
        for i in idx.tolist():
            per_actions[i].append(int(actions[i]))
            per_rewards[i].append(float(res.reward[i]))
        won[idx] = res.won[idx]
        ended = res.terminated
        live &= ~ended
        engine.reset(np.flatnonzero(ended))  # finished games play on (ignored) so that all step together
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in per_frames])]).astype(np.int64)
    meta = {"stage": engine.stage, "split": engine.split.name, "seed": seed, "max_steps": engine.max_steps,
            "manual": engine.manual_kind, "expert_seed": expert_seed}
    return Demos(np.stack([f for fs in per_frames for f in fs]), offsets,
                 np.array([a for acts in per_actions for a in acts], dtype=np.int8),
                 np.array([r for rs in per_rewards for r in rs], dtype=np.float32), won, manuals, meta)


def save_demos(path: str | Path, demos: Demos) -> None:
    """Write ``demos`` to ``path`` (``.npz``), whole or not at all."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp.npz")
    np.savez_compressed(tmp, frames=demos.frames, offsets=demos.offsets, actions=demos.actions,
                        rewards=demos.rewards, won=demos.won, manuals=demos.manuals.astype(str),
                        meta=np.array(json.dumps(demos.meta)))
    tmp.replace(target)


def load_demos(path: str | Path) -> Demos:
    """Demonstrations written by :func:`save_demos`; a file of another layout is a one-line ValueError."""
    keys = ("frames", "offsets", "actions", "rewards", "won", "manuals", "meta")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise ValueError(f"{path}: not a Messenger demonstration file (missing {', '.join(missing)})")
        arrays = {k: data[k] for k in keys}
    return Demos(arrays["frames"], arrays["offsets"], arrays["actions"], arrays["rewards"], arrays["won"],
                 arrays["manuals"], json.loads(str(arrays["meta"])))


class TransitionSet:
    """The steps of ``demos`` as model inputs: ``obs(idx)`` (3-frame windows and manual rows of ``table``),
    ``next_frames(idx)`` (the frame after each step) and ``actions[idx]`` (the expert's actions)."""

    def __init__(self, demos: Demos, table: Any) -> None:
        self.hist, self.next, self.episode, self.actions = demos.transitions()
        self.frames = demos.frames
        self.manual_rows = table.rows([tuple(m) for m in demos.manuals.tolist()])

    def __len__(self) -> int:
        return len(self.next)

    def obs(self, idx: np.ndarray, device: Any = "cpu") -> dict[str, Any]:
        import torch

        return {"frames": torch.from_numpy(self.frames[self.hist[idx]]).to(device),
                "manual": self.manual_rows[torch.from_numpy(self.episode[idx])].to(device)}

    def next_frames(self, idx: np.ndarray) -> np.ndarray:
        return self.frames[self.next[idx]]

    def batch(self, idx: np.ndarray, device: Any = "cpu") -> dict[str, Any]:
        """:meth:`obs` plus ``next_frames`` and the expert's ``actions`` of steps ``idx`` as tensors: what the
        Messenger objectives of :mod:`lexiq.train` read."""
        import torch

        out = self.obs(idx, device)
        out["next_frames"] = torch.from_numpy(self.next_frames(idx)).to(device)
        out["actions"] = torch.from_numpy(self.actions[idx]).long().to(device)
        return out

    def __getitem__(self, i: int) -> int:
        """The index itself: a DataLoader over this set yields indices and :meth:`collate` builds the batch."""
        return i

    def collate(self, indices: list[int]) -> dict[str, Any]:
        """A :meth:`batch` on the CPU (the trainer moves it to the model's device)."""
        return self.batch(np.asarray(indices, dtype=np.int64))
