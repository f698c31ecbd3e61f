"""The LDD dynamics model (teacher): EMMA's trunk predicting the next frame from action-free demonstrations.

Zhong et al., "Improving Policy Learning via Language Dynamics Distillation" (NeurIPS 2022;
``specs/ldd_messenger.md`` A.3). From the last 3 frames and the manual, EMMA's trunk gives ``h``
(:meth:`~lexiq.agents.messenger.emma.Emma.features`); a linear head predicts, for every cell of the **next**
frame, which ids it holds. No action is given: with expert demonstrations the text says where things go.

``target="multihot"`` (default, the spec's recommendation): per cell a set over the ``K = 17`` ids (class 0 =
"the cell is empty"), since the environment reshuffles which layer holds which entity at every step:

    L = −(1/(100·K)) Σ_cells Σ_k [ y_ck log σ(z_ck) + (1 − y_ck) log(1 − σ(z_ck)) ]        (BCE)
    accuracy = fraction of cells whose predicted set {k : σ(z_ck) > 1/2} equals the true set

``target="layered"`` (upstream's form, an ablation): a ``K``-way softmax per cell and layer against the id in that
layer, ``L = −mean_{cell, layer} log p(id)``, accuracy = exact match per cell × layer.

Both accuracies are dominated by empty cells, so ``occupied_accuracy`` (over the cells whose true set is
non-empty) is reported as well. ``predict_avatar`` adds the avatar layer to the target: in stage 1 no entity ever
moves, so the entities-only target is a copy task, while the avatar's next cell depends on what the manual says.
``predict_entities=False`` (with ``predict_avatar``) keeps the avatar layer alone.

Training (upstream: batch 32, Adam lr 1e-5, fp16, gradient-norm clip 10, ≤ 1,000 steps, validation every 100
steps, best checkpoint by validation accuracy); lexiq trains in float32 (CPU) and by default keeps the best
validation ``occupied_accuracy`` (``select``), because the all-cells accuracy of an all-empty prediction is
already ~0.965 and the upstream criterion then keeps an untrained-looking model. Trained by the one trainer
(:mod:`lexiq.train`, objective :class:`MessengerDynamics`), which logs to ``metrics.jsonl``: ``losses/dynamics``,
``charts/train_accuracy``, and every ``eval_every`` steps ``eval/validation/losses/dynamics``,
``eval/validation/accuracy``, ``eval/validation/occupied_accuracy``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lexiq.agents.messenger.demos import Demos, TransitionSet
from lexiq.agents.messenger.emma import Emma, EmmaConfig, Obs, load_emma, save_emma
from lexiq.agents.messenger.runlog import finished, start, write_results
from lexiq.agents.messenger.text_encoder import SentenceTable
from lexiq.config import ConfigError
from lexiq.envs.messenger.entities import GRID, N_IDS
from lexiq.objectives.base import Objective


@dataclass
class DynamicsConfig:
    """Training of the dynamics model (defaults: the LDD Messenger code, except float32)."""

    target: Literal["multihot", "layered"] = "multihot"
    """multihot: per-cell set of ids (BCE, layer-invariant); layered: per-cell-and-layer id (cross-entropy)."""
    predict_avatar: bool = False
    """Also predict the avatar layer of the next frame (upstream predicts the entity layers only)."""
    predict_entities: bool = True
    """Predict the entity layers of the next frame (upstream); false with predict_avatar=true predicts the avatar
    alone, which in stage 1 (immovable entities) drops the copy task and keeps what depends on the manual."""
    batch_size: int = 32
    """Transitions per gradient step."""
    lr: float = 1e-5
    """Adam learning rate (upstream 1e-5)."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip."""
    steps: int = 1000
    """Gradient steps."""
    eval_every: int = 100
    """Validate every this many steps (and at the end); the weights of the best validation score are kept."""
    select: Literal["occupied_accuracy", "accuracy", "loss"] = "occupied_accuracy"
    """Validation score that picks the kept weights: occupied_accuracy (cells whose true set is non-empty),
    accuracy (all cells, upstream; an all-empty prediction already scores ~0.965 in stage 1) or loss."""
    val_transitions: int = 4096
    """Validation transitions used (the first ones of the validation demonstrations)."""
    seed: int = 0
    """Seed of the initialisation and the batch order."""
    progress: bool = True
    """Show a progress bar."""
    emma: EmmaConfig = field(default_factory=EmmaConfig)
    """The trunk's sizes."""

    def __post_init__(self) -> None:
        if not (self.predict_avatar or self.predict_entities):
            raise ConfigError("dynamics.predict_entities=false needs dynamics.predict_avatar=true (nothing to predict)")


class DynamicsModel(nn.Module):
    """EMMA trunk + a linear next-frame head (module docstring)."""

    def __init__(self, emma: Emma, target: str = "multihot", predict_avatar: bool = False,
                 predict_entities: bool = True) -> None:
        super().__init__()
        if target not in ("multihot", "layered"):
            raise ValueError(f"unknown dynamics target {target!r}; expected multihot or layered")
        if not (predict_avatar or predict_entities):
            raise ValueError("the dynamics model must predict the entity layers, the avatar layer or both")
        self.emma, self.target = emma, target
        self.predict_avatar, self.predict_entities = predict_avatar, predict_entities
        n_entities = emma.cfg.entity_layers
        self.first_layer = 0 if predict_entities else n_entities
        self.layers = n_entities * int(predict_entities) + int(predict_avatar)
        per_cell = N_IDS if target == "multihot" else self.layers * N_IDS
        self.head = nn.Linear(emma.feature_dim, GRID * GRID * per_cell)

    def forward(self, obs: Obs) -> torch.Tensor:
        """Logits ``(B, 10, 10, K)`` (multihot) or ``(B, 10, 10, layers, K)`` (layered)."""
        z = self.head(self.emma.features(obs))
        shape = (GRID, GRID, N_IDS) if self.target == "multihot" else (GRID, GRID, self.layers, N_IDS)
        return z.view(z.shape[0], *shape)

    def targets(self, next_frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Multi-hot ``(B, 10, 10, K)`` floats or ids ``(B, 10, 10, layers)`` of the next frames."""
        frames = next_frames if isinstance(next_frames, torch.Tensor) else torch.from_numpy(np.asarray(next_frames))
        ids = frames.long()[..., self.first_layer: self.first_layer + self.layers].to(self.emma.device)
        if self.target == "layered":
            return ids
        hot = F.one_hot(ids, N_IDS).amax(dim=-2).float()
        hot[..., 0] = (ids == 0).all(-1).float()
        return hot

    def loss_and_accuracy(self, obs: Obs, next_frames: np.ndarray | torch.Tensor
                          ) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of the module docstring and ``accuracy`` / ``occupied_accuracy`` of the batch."""
        z, y = self(obs), self.targets(next_frames)
        if self.target == "multihot":
            loss = F.binary_cross_entropy_with_logits(z, y)
            correct = ((z > 0).float() == y).all(-1)
            occupied = y[..., 0] == 0
        else:
            loss = F.cross_entropy(z.reshape(-1, N_IDS), y.reshape(-1))
            correct = z.argmax(-1) == y
            occupied = y > 0
        acc = correct.float().mean().item()
        occ = correct[occupied].float().mean().item() if occupied.any() else float("nan")
        return loss, {"accuracy": acc, "occupied_accuracy": occ}


@torch.no_grad()
def validate(model: DynamicsModel, data: TransitionSet, limit: int, batch_size: int = 512) -> dict[str, float]:
    """Mean loss and accuracies over the first ``limit`` transitions of ``data``."""
    model.eval()
    n = min(limit, len(data))
    totals = {"loss": 0.0, "accuracy": 0.0, "occupied_accuracy": 0.0}
    occ_weight = 0
    for i in range(0, n, batch_size):
        idx = np.arange(i, min(n, i + batch_size))
        loss, stats = model.loss_and_accuracy(data.obs(idx, model.emma.device), data.next_frames(idx))
        totals["loss"] += loss.item() * len(idx)
        totals["accuracy"] += stats["accuracy"] * len(idx)
        if stats["occupied_accuracy"] == stats["occupied_accuracy"]:
            totals["occupied_accuracy"] += stats["occupied_accuracy"] * len(idx)
            occ_weight += len(idx)
    model.train()
    return {"loss": totals["loss"] / n, "accuracy": totals["accuracy"] / n,
            "occupied_accuracy": totals["occupied_accuracy"] / max(occ_weight, 1)}


class MessengerDynamics(Objective):
    """The dynamics loss of the module docstring as a :mod:`lexiq.train` objective on
    :meth:`~lexiq.agents.messenger.demos.TransitionSet.batch` batches (the actions are not read)."""

    name = "messenger_dynamics"
    uses_environment = False

    def loss(self, model: DynamicsModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        loss, stats = model.loss_and_accuracy(batch, batch["next_frames"])
        return loss, {"losses/dynamics": loss.item(), "charts/train_accuracy": stats["accuracy"]}

    def loss_tokens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tensor(batch["next_frames"].shape[0])

    def after_optimizer_step(self, model: Any) -> None:
        model.net.emma.zero_padding()


SELECT_KEYS = {"loss": "validation/losses/dynamics", "accuracy": "validation/accuracy",
               "occupied_accuracy": "validation/occupied_accuracy"}


def train_dynamics(cfg: DynamicsConfig, train: Demos, val: Demos, table: SentenceTable, out: str | Path,
                   cache_dir: str | None = None) -> dict[str, Any]:
    """Train a dynamics model on ``train`` through the one trainer (:func:`lexiq.train.train`: Adam, gradient
    clip ``max_grad_norm``), keep the best on ``val`` (``train.best_metric``), save ``<out>/checkpoint.pt``;
    returns (and writes to ``<out>/results.json``) the best validation scores. A finished run of the same
    configuration and data in ``out`` is reused."""
    from lexiq.train import ObjectiveModule, TrainConfig
    from lexiq.train import train as run_trainer

    record = {"dynamics": asdict(cfg) | {"progress": None}, "train": train.summary(), "val": val.summary(),
              "table": table.digest()}
    done = finished(out, record)
    if done is not None:
        return done
    out = start(out, record)
    torch.manual_seed(cfg.seed)
    model = DynamicsModel(Emma(cfg.emma, table, cache_dir), cfg.target, cfg.predict_avatar, cfg.predict_entities)
    train_set, val_set = TransitionSet(train, table), TransitionSet(val, table)

    def evaluate(module: Any, step: int) -> dict[str, float]:
        v = validate(module.net, val_set, cfg.val_transitions)
        return {SELECT_KEYS[k]: v[k] for k in SELECT_KEYS}

    tcfg = TrainConfig(output_dir=str(out), max_steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                       betas=[0.9, 0.999], max_grad_norm=cfg.max_grad_norm, seed=cfg.seed,
                       log_every=min(10, cfg.eval_every), eval_every=cfg.eval_every,
                       best_metric=SELECT_KEYS[cfg.select], greater_is_better=cfg.select != "loss",
                       report_to=[], progress=cfg.progress)
    summary = run_trainer(MessengerDynamics(), ObjectiveModule(model), train_set, train_set.collate, tcfg,
                          evaluate=evaluate)
    best = {"step": summary["best"]["step"], **{k: summary["eval"][key] for k, key in SELECT_KEYS.items()}}
    model.cpu()
    save_emma(str(out / "checkpoint.pt"), model.emma,
              {"dynamics": asdict(cfg), "head": model.head.state_dict(), "best": best})
    results = {"best": best, "train_seconds": summary["train_seconds"], "transitions": len(train_set),
               "val_transitions": min(cfg.val_transitions, len(val_set))}
    write_results(out, results)
    return results


def load_dynamics(path: str | Path, cache_dir: str | None = None) -> tuple[DynamicsModel, dict[str, Any]]:
    """A whole saved dynamics model (trunk + next-frame head) from :func:`train_dynamics`'s ``checkpoint.pt``, in
    eval mode, and its record (``record["best"]``: the kept step's validation scores)."""
    emma, record = load_emma(str(path), cache_dir)
    if "dynamics" not in record or "head" not in record:
        raise ValueError(f"{path}: not a dynamics-model checkpoint (no next-frame head); expected the checkpoint.pt "
                         "of a dynamics/ folder written by lexiq bench messenger")
    cfg = record["dynamics"]
    model = DynamicsModel(emma, cfg["target"], cfg["predict_avatar"], cfg.get("predict_entities", True))
    model.head.load_state_dict(record["head"])
    model.eval()
    return model, record


def load_teacher(path: str | Path, cache_dir: str | None = None) -> Emma:
    """The frozen trunk of a saved dynamics model (or any saved EMMA): eval mode, no gradients."""
    model, _ = load_emma(str(path), cache_dir)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
