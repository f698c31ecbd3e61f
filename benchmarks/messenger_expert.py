"""Win rate of the scripted Messenger expert (``lexiq.envs.messenger.expert``), as a Markdown table.

    python benchmarks/messenger_expert.py [--stages 1 2 3] [--split test] [--episodes 1000] [--seed 0]
                                          [--max-steps N] [--manual human|template|auto] [--root DIR] [--json out.json]

Plays episode 0 of ``--episodes`` games seeded ``seed .. seed + episodes - 1`` per stage
(:func:`~lexiq.envs.messenger.expert.evaluate_expert`); episode caps default to EMMA's 4 / 64 / 128 steps. Human
manuals need ``--root`` or ``$LEXIQ_DATA_MIRROR`` (they do not change the expert's play, only the manuals drawn).
"""

from __future__ import annotations

import argparse
import json
import time

from lexiq.envs.messenger import evaluate_expert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--split", default="test")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None, help="episode cap (default: 4 / 64 / 128 by stage)")
    parser.add_argument("--manual", default="human", choices=["human", "template", "auto"])
    parser.add_argument("--root", default=None, help="Messenger data folder (default $LEXIQ_DATA_MIRROR/messenger)")
    parser.add_argument("--json", default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    rows = []
    print("| stage | split | episodes | max steps | win rate | mean return | mean steps | timeouts | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for stage in args.stages:
        start = time.perf_counter()
        r = evaluate_expert(stage, args.split, args.episodes, args.seed, root=args.root, manual=args.manual,
                            max_steps=args.max_steps)
        r["seconds"] = time.perf_counter() - start
        rows.append(r)
        print(f"| {stage} | {r['split']} | {r['episodes']} | {r['max_steps']} | {r['win_rate']:.3f} | "
              f"{r['mean_return']:.3f} | {r['mean_steps']:.1f} | {r['timeouts']:.3f} | {r['seconds']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:  # missing data, bad stage / split: one line, no traceback
        raise SystemExit(f"error: {exc}") from None
