"""How well saved Messenger dynamics teachers predict where the expert goes next, as a Markdown table.

    python benchmarks/messenger_teacher_probe.py --demos runs/bench_messenger_q18/demos/val.npz \\
        runs/bench_messenger_q18/dynamics runs/bench_messenger_q18/dynamics_seed1 [...] [--limit 4096]

For each teacher (a folder with ``checkpoint.pt`` written by ``lexiq bench messenger``, or the file itself), over
the first ``--limit`` transitions of the demonstrations:

* ``avatar next-cell accuracy``: the cell with the largest avatar logit (id 15 or 16) of the predicted next frame
  is the avatar's true next cell (chance ≈ 1/4 in stage 1, where the avatar moves one cell from the centre);
  this is the part of the dynamics that only the manual tells (which entity the expert walks to);
* ``entities right``: fraction of frames in which every occupied entity cell's argmax id is the true id (only
  for teachers that predict the entity layers; meaningful in stage 1, where no two entities share a cell).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from lexiq.agents.messenger.demos import TransitionSet, load_demos
from lexiq.agents.messenger.dynamics import load_dynamics
from lexiq.envs.messenger.entities import N_IDS


@torch.no_grad()
def probe(checkpoint: Path, demos_path: Path, limit: int) -> dict[str, float | str]:
    """Scores of one saved teacher (module docstring)."""
    if not checkpoint.is_file():
        raise SystemExit(f"{checkpoint}: no such checkpoint")
    try:
        model, record = load_dynamics(checkpoint)
        demos = load_demos(demos_path)
    except (OSError, ValueError) as exc:
        raise SystemExit(str(exc).splitlines()[0]) from None
    cfg = record["dynamics"]
    if cfg["target"] != "multihot" or not cfg["predict_avatar"]:
        raise SystemExit(f"{checkpoint}: the probe needs a multihot teacher that predicts the avatar")
    data = TransitionSet(demos, model.emma.table)
    idx = np.arange(min(limit, len(data)))
    logits = torch.cat([model(data.obs(idx[i:i + 512])) for i in range(0, len(idx), 512)])
    nxt = torch.from_numpy(data.next_frames(idx)).long()
    avatar = nxt[..., -1].flatten(1) > 0
    has_avatar = avatar.any(1)
    predicted = torch.maximum(logits[..., 15], logits[..., 16]).flatten(1).argmax(1)
    avatar_acc = (predicted == avatar.float().argmax(1))[has_avatar].float().mean().item()
    row: dict[str, float | str] = {"teacher": str(checkpoint), "step": record["best"]["step"],
                                   "occupied_accuracy": record["best"]["occupied_accuracy"],
                                   "avatar_next_cell_accuracy": avatar_acc, "entities_right": float("nan")}
    if cfg.get("predict_entities", True):
        entity_ids = nxt[..., :-1]
        ok = torch.ones(len(idx), dtype=torch.bool)
        for layer in range(entity_ids.shape[-1]):
            ids = entity_ids[..., layer]
            right = (logits[..., :N_IDS].argmax(-1) == ids) | (ids == 0)
            ok &= right.flatten(1).all(1)
        row["entities_right"] = ok.float().mean().item()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teachers", nargs="+", help="teacher folders (with checkpoint.pt) or checkpoint files")
    parser.add_argument("--demos", required=True, help="demonstrations to probe on (e.g. <bench>/demos/val.npz)")
    parser.add_argument("--limit", type=int, default=4096, help="transitions used (the first ones)")
    args = parser.parse_args()
    print("| teacher | kept step | validation occupied-cell accuracy | avatar next-cell accuracy | entities right |")
    print("|---|---|---|---|---|")
    for teacher in args.teachers:
        path = Path(teacher)
        row = probe(path / "checkpoint.pt" if path.is_dir() else path, Path(args.demos), args.limit)
        print(f"| {teacher} | {row['step']} | {row['occupied_accuracy']:.3f} | "
              f"{row['avatar_next_cell_accuracy']:.3f} | {row['entities_right']:.3f} |")


if __name__ == "__main__":
    main()
