"""DT return guidance on a ``lexiq bench dialogue`` output directory: BERTScore-F1 and reward-model score of the
greedy reply on validation replies, for TF and for DT at each guidance weight w, per seed.

    python benchmarks/dt_return_guidance.py runs/bench_dialogue_full2 --reward-model DIR [--replies 200]
        [--weights 0,1,3] [--seeds 2]

The validation replies are the benchmark's own (same sample; full-mode windows). Needs ``LEXIQ_DATA_MIRROR`` (or
the data cache) for Taskmaster-4.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="a lexiq bench dialogue output directory")
    ap.add_argument("--reward-model", required=True, help="the reward model directory the benchmark used")
    ap.add_argument("--replies", type=int, default=200, help="validation replies (the benchmark's sample)")
    ap.add_argument("--weights", default="0,1,3", help="comma-separated guidance weights w")
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args()

    import torch

    from lexiq.data.dialogue import reply_episodes
    from lexiq.data.loaders import load
    from lexiq.evaluation.bench_dialogue import FULL
    from lexiq.evaluation.bench_runs import sample
    from lexiq.evaluation.dialogue_eval import evaluate_dialogue
    from lexiq.run import decoding_from_meta, load_policy

    torch.set_num_threads(1)
    replies = [g for c in load("taskmaster4", "validation") for g in reply_episodes(c, reward=1.0,
                                                                                   speakers=FULL["reply_speakers"])]
    val = sample(replies, args.replies, 0)
    weights = [float(w) for w in args.weights.split(",")]
    print(f"{len(val)} validation replies, greedy; BERTScore-F1 / reward-model score per seed\n")
    print("| decoder | " + " | ".join(f"seed {s}" for s in range(args.seeds)) + " | seconds |")
    print("|---|" + "---|" * (args.seeds + 1))
    for name, w in [("tf", None)] + [("dt", w) for w in weights]:
        cells, t0 = [], time.perf_counter()
        for s in range(args.seeds):
            model, tok, fmt = load_policy(str(args.out / f"{name}_seed{s}" / "policy"))
            dec = decoding_from_meta(model, {} if w is None else {"return_guidance": w})
            summary, _ = evaluate_dialogue(model, tok, fmt, val, dec, metrics=("bertscore_f1",), n_beams=0,
                                           reward_model=args.reward_model,
                                           max_prompt_tokens=FULL["max_prompt_tokens"],
                                           max_new_tokens=FULL["max_new_tokens"])
            cells.append(f"{summary['metrics']['bertscore_f1']['top1']['mean']:.3f} / "
                         f"{summary['reward_model_score']['mean']:.3f}")
        label = "TF" if w is None else f"DT, w = {w:g}"
        print(f"| {label} | " + " | ".join(cells) + f" | {time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
