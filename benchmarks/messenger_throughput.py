"""Messenger environment throughput: environment steps per second, measured in one run.

    python benchmarks/messenger_throughput.py [--stages 1 2 3] [--n 1 256] [--seconds 2] [--manual template]
                                              [--root DIR] [--json out.json]

Each row steps ``MessengerVectorEnv(N, stage, split="train-mc")`` with uniformly random actions (auto-reset,
grids and manuals returned every step, no text rendering) for ``--seconds`` of wall time after 50 warm-up steps;
``steps/s`` counts game steps (``N`` per vector step). ``single env`` rows step one ``MessengerEnv`` (Gymnasium
single-game path, text rendering included). Everything runs in this one process on one core (NumPy only).
Manuals: ``--manual template`` needs no data; ``--manual human`` reads ``--root`` or ``$LEXIQ_DATA_MIRROR``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from lexiq.envs.messenger import MessengerEnv, MessengerVectorEnv


def _measure(step, seconds: float, per_step: int) -> float:
    for _ in range(50):
        step()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            step()
        count += 20
    return count * per_step / elapsed


def vector_rate(stage: int, n: int, seconds: float, manual: str, root: str | None) -> float:
    env = MessengerVectorEnv(n, stage, "train-mc", seed=0, manual=manual, root=root)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 5, (1024, n))
    k = iter(range(1 << 62))
    return _measure(lambda: env.step(actions[next(k) % 1024]), seconds, n)


def single_rate(stage: int, seconds: float, manual: str, root: str | None) -> float:
    env = MessengerEnv(stage, "train-mc", seed=0, manual=manual, root=root)
    env.reset()
    actions = np.random.default_rng(0).integers(0, 5, 1024).tolist()
    k = iter(range(1 << 62))

    def step() -> None:
        if env.step(actions[next(k) % 1024])[2]:
            env.reset()

    return _measure(step, seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 256], help="games per vector env")
    parser.add_argument("--seconds", type=float, default=2.0, help="measured wall time per row")
    parser.add_argument("--manual", default="template", choices=["template", "human"])
    parser.add_argument("--root", default=None, help="Messenger data folder (for --manual human)")
    parser.add_argument("--json", default=None, help="also write the rows as JSON")
    args = parser.parse_args()

    rows = []
    for stage in args.stages:
        rows.append({"stage": stage, "env": "single env", "n": 1,
                     "steps_per_s": single_rate(stage, args.seconds, args.manual, args.root)})
        for n in args.n:
            rows.append({"stage": stage, "env": "vector env", "n": n,
                         "steps_per_s": vector_rate(stage, n, args.seconds, args.manual, args.root)})
    print(f"Messenger throughput ({platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"manual={args.manual}, random actions, {args.seconds:g} s per row)\n")
    print("| stage | env | N | steps/s |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['stage']} | {r['env']} | {r['n']} | {r['steps_per_s']:,.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, ValueError) as exc:  # missing data, bad stage / split: one line, no traceback
        raise SystemExit(f"error: {exc}") from None
