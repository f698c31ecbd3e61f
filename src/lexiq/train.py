"""The one training loop, on 🤗 Accelerate.

Every objective trains through :func:`train`: it shuffles tokenised episodes with a seeded generator (epoch e
uses seed ``seed + e``), accumulates gradients, steps AdamW with a warm-up + schedule, calls the objective's
post-step hook (target updates), logs to ``metrics.jsonl`` / TensorBoard / Weights & Biases, shows a progress bar
with the loss and tokens/s, evaluates every ``eval_every`` steps and checkpoints every ``save_every`` steps.

Multi-process: launch with ``accelerate launch`` (DDP, FSDP or DeepSpeed per the accelerate config).
``batch_size`` is the *global* number of episodes per micro-step: each global batch is split across processes
(``split_batches``), and objectives normalise by the global token count, so N processes reproduce the losses of
one process with the same global batch. With ``grad_accum = k`` the k micro-batch losses are weighted by their
token counts (:func:`_accumulation_scales`), so k micro-batches of b episodes give the update of one batch of k·b.

Resume: ``resume: true`` loads the newest ``checkpoints/step_*`` of ``output_dir`` (model, optimizer,
scheduler, RNG states and the data position) and continues exactly where that run was; ``metrics.jsonl`` lines
of later steps (logged by the interrupted run after its last checkpoint) are dropped, so every step is logged once.
A run that starts from step 0 in an existing ``output_dir`` starts a new ``metrics.jsonl``.

Models: a :class:`~lexiq.models.model.LexiqModel`, or any ``torch.nn.Module`` whose ``forward(batch, objective)``
returns ``(loss, metrics)`` — :class:`ObjectiveModule` gives a plain network (the Messenger agents' EMMA) that
``forward``, so grid agents train through this loop too. Throughput is logged per token
(``charts/tokens_per_second``) when batches carry an ``attention_mask``, else per example
(``charts/examples_per_second``).

Best-checkpoint selection: with ``best_metric`` set, every evaluation whose metric improves on the best so far
keeps a CPU copy of the weights, and the run ends with the best ones (the paper recipes that choose the checkpoint
by validation loss, e.g. Sodhi et al. 2023's ``load_best_model_at_end``). A resumed run starts its selection anew
from the resumed step.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from lexiq.objectives.base import Objective


@dataclass
class TrainConfig:
    """Optimisation, logging and checkpointing."""

    output_dir: str = "runs/default"
    """Run directory: config.yaml, metrics.jsonl, checkpoints/, policy/, results.json."""
    max_steps: int = 1000
    """Number of optimizer steps."""
    batch_size: int = 32
    """Global episodes per micro-step (split across processes)."""
    grad_accum: int = 1
    """Micro-steps per optimizer step."""
    lr: float = 3e-4
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    """AdamW betas."""
    warmup_steps: int = 0
    """Linear warm-up steps."""
    schedule: Literal["constant", "cosine", "linear"] = "constant"
    """Learning-rate schedule after warm-up."""
    max_grad_norm: float | None = 1.0
    """Gradient clipping norm (None = no clipping)."""
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    """Mixed precision of the backbone (heads and losses stay fp32)."""
    seed: int = 0
    """Seed of initialisation and data order."""
    log_every: int = 10
    """Log averaged metrics every N optimizer steps."""
    eval_every: int = 0
    """Run the evaluation hook every N steps (0 = only at the end)."""
    best_metric: str = ""
    """Keep the weights of the evaluation where this metric of the evaluation hook was best and save those at the
    end, e.g. validation/losses/bc (HF Trainer's load_best_model_at_end; needs eval_every > 0; '' = the last
    weights). The evaluation after the final step takes part."""
    greater_is_better: bool = False
    """Whether a larger best_metric is better (losses: False; accuracies, returns: True)."""
    save_every: int = 0
    """Save a resumable checkpoint every N steps (0 = none)."""
    resume: bool = False
    """Continue from the newest checkpoint in output_dir/checkpoints."""
    report_to: list[str] = field(default_factory=lambda: ["tensorboard"])
    """Loggers besides metrics.jsonl: tensorboard, wandb."""
    progress: bool = True
    """Show a progress bar."""
    num_workers: int = 0
    """DataLoader worker processes."""


class TrainError(RuntimeError):
    """The training set-up is invalid."""


def process_state() -> Any:
    """Accelerate's process state, created the way the trainer's Accelerator needs it.

    Without CUDA, Accelerate only forms a multi-process (gloo) group when asked for its CPU mode; the state is a
    singleton, so any code that queries it before training must ask the same way.
    """
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def _schedule(cfg: TrainConfig) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.schedule == "constant":
            return 1.0
        progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
        progress = min(max(progress, 0.0), 1.0)
        if cfg.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0 - progress

    return factor


class _Loggers:
    def __init__(self, cfg: TrainConfig, out: Path, is_main: bool, run_config: dict[str, Any] | None):
        self.is_main = is_main
        self.metrics_path = out / "metrics.jsonl"
        self.tb = None
        self.wandb = None
        if not is_main:
            return
        if "tensorboard" in cfg.report_to:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out / "tensorboard"))
            except ImportError:
                self.tb = None
        if "wandb" in cfg.report_to:
            try:
                import wandb
            except ImportError as exc:
                raise TrainError("report_to includes wandb but the wandb package is not installed "
                                 "(pip install wandb)") from exc
            self.wandb = wandb.init(project=os.environ.get("WANDB_PROJECT", "lexiq"), config=run_config or {},
                                    dir=str(out))

    def log(self, step: int, metrics: dict[str, float]) -> None:
        if not self.is_main:
            return
        with self.metrics_path.open("a") as fh:
            fh.write(json.dumps({"step": step, **metrics}) + "\n")
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)
        if self.wandb is not None:
            self.wandb.log(metrics, step=step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.finish()


class ObjectiveModule(nn.Module):
    """Wraps a network that is not a :class:`~lexiq.models.model.LexiqModel` so :func:`train` can call it:
    ``forward(batch, objective)`` is ``objective.loss(self.net, batch)`` (through ``forward``, so DDP/FSDP
    wrappers see the computation)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, batch: dict[str, torch.Tensor], objective: Any) -> Any:
        return objective.loss(self.net, batch)


def _batch_size_in(batch: dict[str, torch.Tensor]) -> tuple[int, str]:
    """(tokens of a token batch, else examples; the unit's name) for the throughput chart."""
    if "attention_mask" in batch:
        return int(batch["attention_mask"].sum()), "tokens"
    return int(next(iter(batch.values())).shape[0]), "examples"


def _drop_logged_after(metrics_path: Path, step: int) -> None:
    """Forget the ``metrics.jsonl`` lines of steps after ``step``: a run killed between two checkpoints logged
    steps that the resumed run trains (and logs) again."""
    if not metrics_path.exists():
        return
    lines = metrics_path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= step]
    if len(kept) != len(lines):
        tmp = metrics_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(kept))
        os.replace(tmp, metrics_path)


def _latest_checkpoint(out: Path) -> Path | None:
    ckpts = sorted((out / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))
    return ckpts[-1] if ckpts else None


def _micro_batches(loader: Any, accelerator: Any, generator: torch.Generator, seed: int, start_micro: int,
                   batches_per_epoch: int) -> Iterator[dict[str, torch.Tensor]]:
    """Endless stream of micro-batches from position ``start_micro`` on; epoch e is shuffled with seed ``seed + e``."""
    micro = start_micro
    while True:
        epoch, offset = divmod(micro, batches_per_epoch)
        generator.manual_seed(seed + epoch)
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        for batch in accelerator.skip_first_batches(loader, offset) if offset else loader:
            micro += 1
            yield batch


def _accumulation_scales(objective: Objective, batches: list[dict[str, torch.Tensor]],
                         accelerator: Any) -> list[float | None]:
    """Loss multipliers that make an accumulated step the gradient of the per-token mean over the whole window.

    Each micro-batch loss is a mean over its own n_i loss tokens (summed over processes), and Accelerate divides
    every micro-batch loss by k, the number of micro-batches per step; scaling micro-batch i by ``k·n_i / Σ_j n_j``
    turns the average of k per-batch means into ``Σ_i (sum of token losses in i) / Σ_j n_j``, exactly what one
    batch of the whole window would give (micro-batches of unequal token counts no longer get equal say). With one
    micro-batch per step the scale is 1 and nothing is multiplied (``None``).
    """
    if len(batches) == 1:
        return [None]
    counts = torch.stack([objective.loss_tokens(b).detach().to(torch.float64) for b in batches])
    counts = accelerator.reduce(counts.to(accelerator.device), reduction="sum")
    total = float(counts.sum())
    if total <= 0:
        return [None] * len(batches)
    return [len(batches) * float(c) / total for c in counts]


def _check_accumulation(accelerator: Any, cfg: TrainConfig) -> None:
    """A caller's Accelerator must cut accumulation windows where :func:`train` does (every ``grad_accum``
    micro-batches, not at epoch ends), else updates would silently mix windows."""
    steps = accelerator.gradient_accumulation_steps
    if steps != cfg.grad_accum:
        raise TrainError(f"train.grad_accum={cfg.grad_accum} but the given Accelerator accumulates {steps} steps")
    if cfg.grad_accum > 1 and accelerator.gradient_state.sync_with_dataloader:
        raise TrainError("train.grad_accum > 1 needs an Accelerator built with GradientAccumulationPlugin("
                         "num_steps=grad_accum, sync_with_dataloader=False)")


def train(
    objective: Objective,
    model: nn.Module,
    dataset: Dataset,
    collate_fn: Callable[[list[Any]], dict[str, torch.Tensor]],
    cfg: TrainConfig,
    evaluate: Callable[[Any, int], dict[str, float]] | None = None,
    run_config: dict[str, Any] | None = None,
    accelerator: Any = None,
) -> dict[str, Any]:
    """Train ``model`` (a LexiqModel, or any module with ``forward(batch, objective) -> (loss, metrics)``) with
    ``objective`` on ``dataset``; returns a summary (steps, seconds, last metrics)."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, GradientAccumulationPlugin, set_seed

    if len(dataset) == 0:  # type: ignore[arg-type]
        raise TrainError("the training set is empty")
    if accelerator is None:
        process_state()
        accelerator = Accelerator(
            cpu=not torch.cuda.is_available(),  # also makes `accelerate launch` / torchrun use gloo on CPU machines
            # windows are cut by lexiq (_micro_batches), not at epoch ends: a window may span two epochs
            gradient_accumulation_plugin=GradientAccumulationPlugin(num_steps=cfg.grad_accum,
                                                                    sync_with_dataloader=False),
            mixed_precision=cfg.mixed_precision,
            dataloader_config=DataLoaderConfiguration(split_batches=True),
        )
    _check_accumulation(accelerator, cfg)
    if cfg.best_metric and (evaluate is None or not cfg.eval_every):
        raise TrainError(f"train.best_metric={cfg.best_metric}: needs an evaluation every few steps (train.eval_every "
                         "> 0 and held-out data, e.g. data.validation)")
    world = accelerator.num_processes
    if cfg.batch_size % world:
        raise TrainError(f"batch_size {cfg.batch_size} must be divisible by the number of processes ({world})")
    set_seed(cfg.seed)
    out = Path(cfg.output_dir)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
    objective.setup_model(model)

    generator = torch.Generator()
    generator.manual_seed(cfg.seed)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate_fn, drop_last=False,
                        generator=generator, num_workers=cfg.num_workers)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=tuple(cfg.betas),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg))
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    unwrapped: Any = accelerator.unwrap_model(model)

    step = 0
    micro = 0
    resumed_from = None
    if cfg.resume:
        ckpt = _latest_checkpoint(out)
        if ckpt is not None:
            accelerator.load_state(str(ckpt))
            state = json.loads((ckpt / "trainer_state.json").read_text())
            step, micro = state["step"], state["micro_step"]
            resumed_from = str(ckpt)
    if accelerator.is_main_process:  # a fresh start forgets an old log; a resumed one what came after its checkpoint
        _drop_logged_after(out / "metrics.jsonl", step)
    loggers = _Loggers(cfg, out, accelerator.is_main_process, run_config)
    batches_per_epoch = len(loader)
    bar = None
    if cfg.progress and accelerator.is_main_process:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.max_steps, initial=step, desc=f"train {objective.name}", dynamic_ncols=True)

    window: dict[str, float] = {}
    window_count = 0
    tokens_window = 0
    unit = "tokens"
    t_window = time.perf_counter()
    t_start = time.perf_counter()
    last_metrics: dict[str, float] = {}
    eval_results: dict[str, float] = {}
    best: dict[str, Any] | None = None  # train.best_metric: the best evaluation so far and its weights (on the CPU)
    best_state: dict[str, torch.Tensor] | None = None

    def save_checkpoint() -> None:
        ckpt = out / "checkpoints" / f"step_{step}"
        accelerator.save_state(str(ckpt))
        if accelerator.is_main_process:
            (ckpt / "trainer_state.json").write_text(json.dumps({"step": step, "micro_step": micro}))
        accelerator.wait_for_everyone()

    model.train()
    stream = _micro_batches(loader, accelerator, generator, cfg.seed, micro, batches_per_epoch)
    while step < cfg.max_steps:
        window_batches = [next(stream) for _ in range(cfg.grad_accum)]
        objective.global_step = step  # schedules inside an objective (iq_learn's MLE warm-up)
        scales = _accumulation_scales(objective, window_batches, accelerator)
        for batch, scale in zip(window_batches, scales, strict=True):
            with accelerator.accumulate(model):
                loss, metrics = model(batch, objective)
                accelerator.backward(loss if scale is None else loss * scale)
                if accelerator.sync_gradients and cfg.max_grad_norm is not None:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            micro += 1
            for k, v in metrics.items():
                window[k] = window.get(k, 0.0) + float(v)
            window_count += 1
            count, unit = _batch_size_in(batch)
            tokens_window += count
            if not accelerator.sync_gradients:
                continue
            objective.after_optimizer_step(unwrapped)
            step += 1
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                vals = torch.tensor([window[k] / window_count for k in sorted(window)] + [tokens_window],
                                    dtype=torch.float64, device=accelerator.device)
                vals = accelerator.reduce(vals, reduction="sum")
                elapsed = time.perf_counter() - t_window
                last_metrics = {k: float(v) for k, v in zip(sorted(window), vals[:-1].tolist(), strict=True)}
                last_metrics[f"charts/{unit}_per_second"] = float(vals[-1]) / max(elapsed, 1e-9)
                last_metrics["charts/lr"] = scheduler.get_last_lr()[0]
                last_metrics["charts/epoch"] = micro / batches_per_epoch
                loggers.log(step, last_metrics)
                if bar is not None:
                    losses = [k for k in sorted(last_metrics) if k.startswith("losses/")]
                    main_loss = last_metrics.get("losses/total", last_metrics[losses[0]] if losses else float("nan"))
                    rate = {"tok_s" if unit == "tokens" else "ex_s": f"{last_metrics[f'charts/{unit}_per_second']:.0f}"}
                    bar.set_postfix(loss=f"{main_loss:.4f}", **rate)
                window, window_count, tokens_window = {}, 0, 0
                t_window = time.perf_counter()
            if bar is not None:
                bar.update(1)
            if cfg.save_every and step % cfg.save_every == 0:
                save_checkpoint()
            if evaluate is not None and ((cfg.eval_every and step % cfg.eval_every == 0) or step >= cfg.max_steps):
                model.eval()
                eval_results = evaluate(unwrapped, step)
                loggers.log(step, {f"eval/{k}": v for k, v in eval_results.items()})
                if cfg.best_metric and eval_results:  # the hook returns {} on processes that do not evaluate
                    if cfg.best_metric not in eval_results:
                        raise TrainError(f"train.best_metric={cfg.best_metric}: not a metric of the evaluation "
                                         f"(it gives {', '.join(sorted(eval_results))})")
                    value = float(eval_results[cfg.best_metric])
                    if best is None or (value > best["value"] if cfg.greater_is_better else value < best["value"]):
                        best = {"metric": cfg.best_metric, "step": step, "value": value, "eval": dict(eval_results)}
                        best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
                model.train()
            if step >= cfg.max_steps:
                break
    train_seconds = time.perf_counter() - t_start
    if bar is not None:
        bar.close()
    accelerator.wait_for_everyone()
    model.eval()
    summary = {"steps": step, "train_seconds": train_seconds, "metrics": last_metrics, "resumed_from": resumed_from,
               "num_processes": world}
    if best is not None and best_state is not None:
        if best["step"] != step:  # back to the best evaluation's weights: what the run saves
            unwrapped.load_state_dict(best_state)
        eval_results = best.pop("eval")
        summary["best"] = best
    if eval_results:
        summary["eval"] = eval_results
    loggers.close()
    return summary
