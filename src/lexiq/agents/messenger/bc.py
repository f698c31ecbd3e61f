"""Behaviour cloning of the scripted Messenger expert into an EMMA policy (a baseline for LDD).

Maximum likelihood of the expert's actions on recorded demonstrations (:mod:`~lexiq.agents.messenger.demos`):

    L_BC = −(1/B) Σ_j log π_θ(a_j | s_j)

with ``s_j`` the 3-frame window and manual the expert saw. Unlike LDD's dynamics model, BC uses the actions.
The critic head is not trained (a BC policy handed to PPO starts with an untrained critic). Logged to
``metrics.jsonl``: ``losses/bc``, ``charts/train_accuracy`` (batch), ``charts/val_accuracy`` and ``losses/val_bc``
(validation demonstrations), ``charts/win_rate`` (greedy + 5 % random on held-out games, at the end).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lexiq.agents.messenger.demos import Demos, TransitionSet
from lexiq.agents.messenger.emma import Emma, EmmaConfig, save_emma
from lexiq.agents.messenger.evaluate import evaluate
from lexiq.agents.messenger.runlog import MetricsLog, finished, start, write_results
from lexiq.agents.messenger.text_encoder import SentenceTable
from lexiq.models.device import default_device


@dataclass
class BCConfig:
    """Behaviour cloning on expert demonstrations."""

    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 64
    """Transitions per gradient step."""
    steps: int = 1000
    """Gradient steps."""
    eval_every: int = 250
    """Action accuracy on the validation demonstrations every this many steps (and at the end)."""
    eval_episodes: int = 200
    """Held-out games of the final win-rate evaluation (0: none)."""
    eval_split: str = "test"
    """Split of those games."""
    max_steps: int | None = None
    """Episode cap of the evaluation games (None: the stage's default)."""
    root: str | None = None
    """Messenger data folder of the evaluation games (default $LEXIQ_DATA_MIRROR/messenger)."""
    seed: int = 0
    """Seed of the initialisation and the batch order."""
    progress: bool = True
    """Show a progress bar."""
    emma: EmmaConfig = field(default_factory=EmmaConfig)
    """Policy sizes."""


def bc_loss(model: Emma, data: TransitionSet, idx: np.ndarray) -> tuple[torch.Tensor, float]:
    """L_BC over transitions ``idx`` and the fraction of argmax actions equal to the expert's."""
    logits, _ = model(data.obs(idx, model.device))
    target = torch.from_numpy(data.actions[idx]).to(model.device)
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean().item()


def train_bc(cfg: BCConfig, train: Demos, val: Demos, table: SentenceTable, out: str | Path,
             cache_dir: str | None = None) -> dict[str, Any]:
    """Clone the expert of ``train`` into a fresh EMMA, save ``<out>/checkpoint.pt``; returns (and writes to
    ``results.json``) the validation accuracy and the final win rate. A finished run of the same configuration
    and data is reused."""
    from tqdm.auto import tqdm

    record = {"bc": asdict(cfg) | {"progress": None}, "train": train.summary(), "val": val.summary(),
              "table": table.digest()}
    done = finished(out, record)
    if done is not None:
        return done
    out = start(out, record)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = Emma(cfg.emma, table, cache_dir).to(default_device())
    train_set, val_set = TransitionSet(train, table), TransitionSet(val, table)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    log = MetricsLog(out)
    t0 = time.perf_counter()
    val_acc = float("nan")
    for step in tqdm(range(1, cfg.steps + 1), desc=f"bc seed {cfg.seed}", disable=not cfg.progress, leave=False):
        idx = rng.integers(0, len(train_set), cfg.batch_size)
        loss, acc = bc_loss(model, train_set, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.zero_padding()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            with torch.no_grad():
                model.eval()
                vidx = np.arange(min(len(val_set), 4096))
                vloss, val_acc = bc_loss(model, val_set, vidx)
                model.train()
            log.write(step, {"losses/bc": loss.item(), "charts/train_accuracy": acc, "losses/val_bc": vloss.item(),
                             "charts/val_accuracy": val_acc})
    results: dict[str, Any] = {"val_accuracy": val_acc, "train_seconds": time.perf_counter() - t0}
    if cfg.eval_episodes:
        stage = int(train.meta["stage"])
        r = evaluate(model, stage, cfg.eval_split, cfg.eval_episodes, manual=str(train.meta["manual"]),
                     root=cfg.root, max_steps=cfg.max_steps)
        results["win_rate"] = r["win_rate"]
        log.write(cfg.steps, {"charts/win_rate": r["win_rate"], "charts/eval_return": r["mean_return"]})
    save_emma(str(out / "checkpoint.pt"), model.cpu(), {"bc": asdict(cfg)})
    write_results(out, results)
    return results
