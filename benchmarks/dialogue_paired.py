"""Paired differences from TF in a ``lexiq bench dialogue`` output directory.

Every method of the benchmark answers the same test replies, so the per-reply difference ``method − tf`` has a
much smaller standard error than the two unpaired means. For each method and metric this prints the mean paired
difference over all replies of all seeds and its standard error (sample s.d. / √n), then the share of each
method's top-1 replies that are API calls (JSON) where the gold reply is the agent's words — the failure that
separates the methods on Taskmaster-4 (docs/benchmarks.md).

    python benchmarks/dialogue_paired.py runs/bench_dialogue_full [--seeds 2]
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

METHODS = ("tf_gold", "tf_top", "dt", "ilql", "ilql_rerank")
COLUMNS = {"bertscore_f1": "bertscore_f1_1", "reward_model_score": "reward_model_1"}


def column(out: Path, method: str, seed: int, name: str) -> list[float]:
    """The top-1 ``name`` column of one method's predictions.csv for one seed."""
    return [float(v) for v in text_column(out, method, seed, name)]


def api_call_share(out: Path, seeds: int, method: str) -> float:
    """Fraction of ``method``'s top-1 replies, pooled over seeds, that are API calls (a JSON object)."""
    replies = [r for s in range(seeds) for r in text_column(out, method, s, "response_1")]
    return sum(r.lstrip().startswith("{") for r in replies) / len(replies)


def text_column(out: Path, method: str, seed: int, name: str) -> list[str]:
    """Like :func:`column`, as text."""
    run = out / (f"ilql_seed{seed}" if method == "ilql_rerank" else f"{method}_seed{seed}")
    path = run / ("rerank_eval" if method == "ilql_rerank" else "dialogue_eval") / "predictions.csv"
    with open(path, newline="") as f:
        return [row[name] for row in csv.DictReader(f)]


def paired(out: Path, seeds: int, method: str, name: str) -> tuple[float, float]:
    """(mean, standard error) of ``method − tf`` per reply, pooled over seeds."""
    diffs: list[float] = []
    for s in range(seeds):
        base = column(out, "tf", s, name)
        other = column(out, method, s, name)
        if len(base) != len(other):
            raise SystemExit(f"{out}: seed {s}: {method} has {len(other)} replies, tf has {len(base)}")
        diffs += [a - b for a, b in zip(other, base, strict=True)]
    return statistics.fmean(diffs), statistics.stdev(diffs) / len(diffs) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the --out directory of lexiq bench dialogue")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds in that directory")
    args = parser.parse_args()
    print("| method − tf | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for method in METHODS:
        cells = [paired(args.out, args.seeds, method, col) for col in COLUMNS.values()]
        print(f"| {method} | " + " | ".join(f"{m:+.4f} ± {e:.4f}" for m, e in cells) + " |")
    print()
    print("| method | top-1 replies that are API calls |")
    print("|---|---|")
    for method in ("tf", *METHODS):
        print(f"| {method} | {api_call_share(args.out, args.seeds, method):.3f} |")


if __name__ == "__main__":
    main()
