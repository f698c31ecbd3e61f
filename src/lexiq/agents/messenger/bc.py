"""Behaviour cloning of the scripted Messenger expert into an EMMA policy (a baseline for LDD).

Maximum likelihood of the expert's actions on recorded demonstrations (:mod:`~lexiq.agents.messenger.demos`):

    L_BC = −(1/B) Σ_j log π_θ(a_j | s_j)

with ``s_j`` the 3-frame window and manual the expert saw. Unlike LDD's dynamics model, BC uses the actions.
The critic head is not trained (a BC policy handed to PPO starts with an untrained critic). Trained by the one
trainer (:mod:`lexiq.train`), which logs to ``metrics.jsonl``: ``losses/bc``, ``charts/train_accuracy`` (batch),
``eval/validation/losses/bc`` and ``eval/validation/accuracy`` (validation demonstrations, every ``eval_every``
steps), and at the end ``charts/win_rate`` (greedy + 5 % random on held-out games).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lexiq.agents.messenger.demos import Demos, TransitionSet
from lexiq.agents.messenger.emma import Emma, EmmaConfig, save_emma
from lexiq.agents.messenger.evaluate import evaluate
from lexiq.agents.messenger.runlog import append_metrics, finished, start, write_results
from lexiq.agents.messenger.text_encoder import SentenceTable
from lexiq.objectives.base import Objective


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
    loss, metrics = MessengerBC().loss(model, data.batch(idx, model.device))
    return loss, metrics["charts/train_accuracy"]


class MessengerBC(Objective):
    """L_BC of the module docstring as a :mod:`lexiq.train` objective on :meth:`TransitionSet.batch` batches."""

    name = "messenger_bc"
    uses_environment = False

    def loss(self, model: Emma, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logits, _ = model(batch)
        target = batch["actions"]
        loss = F.cross_entropy(logits, target)
        accuracy = (logits.argmax(-1) == target).float().mean().item()
        return loss, {"losses/bc": loss.item(), "charts/train_accuracy": accuracy}

    def loss_tokens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tensor(batch["actions"].shape[0])

    def after_optimizer_step(self, model: Any) -> None:
        model.net.zero_padding()


def train_bc(cfg: BCConfig, train: Demos, val: Demos, table: SentenceTable, out: str | Path,
             cache_dir: str | None = None) -> dict[str, Any]:
    """Clone the expert of ``train`` into a fresh EMMA through the one trainer (:func:`lexiq.train.train`: Adam,
    no clipping), save ``<out>/checkpoint.pt``; returns (and writes to ``results.json``) the validation accuracy
    and the final win rate. A finished run of the same configuration and data is reused."""
    from lexiq.train import ObjectiveModule, TrainConfig
    from lexiq.train import train as run_trainer

    record = {"bc": asdict(cfg) | {"progress": None}, "train": train.summary(), "val": val.summary(),
              "table": table.digest()}
    done = finished(out, record)
    if done is not None:
        return done
    out = start(out, record)
    torch.manual_seed(cfg.seed)
    model = Emma(cfg.emma, table, cache_dir)
    train_set, val_set = TransitionSet(train, table), TransitionSet(val, table)
    objective = MessengerBC()
    val_idx = np.arange(min(len(val_set), 4096))

    def validate(module: Any, step: int) -> dict[str, float]:
        with torch.no_grad():
            loss, metrics = objective.loss(module.net, val_set.batch(val_idx, module.net.device))
        return {"validation/losses/bc": loss.item(), "validation/accuracy": metrics["charts/train_accuracy"]}

    tcfg = TrainConfig(output_dir=str(out), max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                       betas=[0.9, 0.999], max_grad_norm=None, seed=cfg.seed, log_every=min(10, cfg.eval_every),
                       eval_every=cfg.eval_every, report_to=[], progress=cfg.progress)
    summary = run_trainer(objective, ObjectiveModule(model), train_set, train_set.collate, tcfg, evaluate=validate)
    results: dict[str, Any] = {"val_accuracy": summary["eval"]["validation/accuracy"],
                               "train_seconds": summary["train_seconds"]}
    model.cpu()
    if cfg.eval_episodes:
        stage = int(train.meta["stage"])
        r = evaluate(model, stage, cfg.eval_split, cfg.eval_episodes, manual=str(train.meta["manual"]),
                     root=cfg.root, max_steps=cfg.max_steps)
        results["win_rate"] = r["win_rate"]
        append_metrics(out, cfg.steps, {"charts/win_rate": r["win_rate"], "charts/eval_return": r["mean_return"]})
    save_emma(str(out / "checkpoint.pt"), model, {"bc": asdict(cfg)})
    write_results(out, results)
    return results
