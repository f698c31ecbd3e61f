"""``lexiq bench irl``: MLE against χ²-IQLearn on math word problems — accuracy against diversity.

Wulfmeier et al. 2024, "Imitating Language via Scalable Inverse Reinforcement Learning" (arXiv 2409.01369;
``specs/irl.md``) report that IQLearn gives a better accuracy / diversity trade-off than MLE on GSM8K. For every
seed this trains, from the same preset (``configs/irl/``):

* ``mle`` — behaviour cloning of the reference solutions (``bc``);
* ``iq_learn`` — ``iq_learn`` with the default λ_td = 0.1, and ``iq_learn_td<λ>`` for the other ``td_weights`` of
  the mode,

for the same number of steps, then evaluates each on the same held-out problems with
:func:`lexiq.evaluation.math_eval.evaluate_math`: greedy **accuracy**, **self_bleu** of ``samples`` solutions per
problem at temperature 1 (lower = more diverse), per-token **entropy** along them, sampled accuracy, ROUGE and
the implicit reward's Spearman correlation with correctness.

Modes: ``--quick`` is the generated arithmetic task of :mod:`lexiq.data.arithmetic` (diverse reference
solutions) with a 4 × 128 byte-level model from scratch; the full mode is GSM8K (``../shared/data/gsm8k``) on a
documented subset — on a CPU with the same small model, or with ``model.path=smollm2`` on a GPU.

``results.json``: ``{"methods": {name: {"accuracy"|"self_bleu"|"entropy"|...: {"mean", "stderr",
"seed_means"}}}, ...}`` — mean over seeds of the per-seed means, standard error over seeds (over problems when
there is one seed); ``results.md``; ``accuracy_vs_diversity.png``. Rerunning reuses finished runs and evaluations.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError

REPORTED = ("accuracy", "self_bleu", "entropy", "accuracy_sampled", "rouge_l", "reward_accuracy_spearman")
DEFAULT_TD = 0.1

QUICK: dict[str, Any] = {
    "task": "arithmetic", "train_problems": 4000, "test_problems": 100, "seeds": 3, "steps": 500,
    "td_weights": [0.1, 1.0], "samples": 5, "temperature": 1.0, "max_new_tokens": 96,
}
FULL: dict[str, Any] = {
    # bytes: half of GSM8K's prompt + solution pairs are longer than 512, 3 % longer than 1,024; 95 % of the
    # test solutions fit in 640
    "task": "gsm8k", "train_problems": None, "test_problems": 200, "seeds": 3, "steps": 3000,
    "td_weights": [0.01, 0.1, 1.0], "samples": 5, "temperature": 1.0, "max_new_tokens": 640,
    "overrides": ["model.n_positions=1024", "data.max_length=1024", "decoding.max_new_tokens=640"],
}


def method_name(td_weight: float) -> str:
    """``iq_learn`` for the default λ_td, ``iq_learn_td<λ>`` otherwise."""
    return "iq_learn" if td_weight == DEFAULT_TD else f"iq_learn_td{td_weight:g}"


def _problems(mode: dict[str, Any], root: str | None) -> tuple[list[Any], list[Any]]:
    from lexiq.evaluation.bench_runs import sample

    if mode["task"] == "arithmetic":
        from lexiq.data.arithmetic import arithmetic_episodes

        return (arithmetic_episodes(mode["train_problems"], seed=0),
                arithmetic_episodes(mode["test_problems"], seed=1, split="test"))
    if mode["task"] == "gsm8k":
        from lexiq.data.loaders import load

        return (sample(load("gsm8k", "train", root), mode["train_problems"], 0),
                sample(load("gsm8k", "test", root), mode["test_problems"], 1))
    raise ConfigError(f"bench irl: unknown task {mode['task']!r} (arithmetic or gsm8k)")


def _evaluate(policy_dir: Path, test: list[Any], mode: dict[str, Any], out: Path, seed: int) -> dict[str, Any]:
    """:func:`evaluate_math` of one policy, cached in ``out/summary.json``."""
    from lexiq.evaluation.bench_runs import digest, fingerprint, json_safe
    from lexiq.evaluation.math_eval import evaluate_math
    from lexiq.run import load_policy

    key = {"policy": fingerprint(policy_dir), "problems": digest(test), "seed": seed,
           **{k: mode[k] for k in ("samples", "temperature", "max_new_tokens")}}
    if (out / "summary.json").exists():
        cached = json.loads((out / "summary.json").read_text())
        if cached.get("cache_key") == key:
            return cached
    model, tokenizer, fmt = load_policy(str(policy_dir))
    summary, rows = evaluate_math(model, tokenizer, fmt, test, samples=mode["samples"],
                                  temperature=mode["temperature"], max_new_tokens=mode["max_new_tokens"], seed=seed)
    summary["cache_key"] = key
    out.mkdir(parents=True, exist_ok=True)
    (out / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=2))
    return summary


def _cell(summaries: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Mean over seeds of the per-seed means; standard error over seeds (over problems with one seed)."""
    values = [s[metric]["mean"] if isinstance(s[metric], dict) else s[metric] for s in summaries]
    values = [float("nan") if v is None else v for v in values]  # a NaN read back from summary.json
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return {"mean": float("nan"), "stderr": float("nan"), "seed_means": values}
    if len(finite) > 1:
        stderr = statistics.stdev(finite) / math.sqrt(len(finite))
    else:  # one seed: the standard error over problems (none for a single correlation)
        stderr = summaries[0][metric].get("stderr", float("nan")) if isinstance(summaries[0][metric], dict) \
            else float("nan")
    return {"mean": statistics.fmean(finite), "stderr": stderr, "seed_means": values}


def run_irl_benchmark(out: str, quick: bool = False, seeds: int | None = None, overrides: list[str] | None = None,
                      root: str | None = None, jobs: int = 1, mode_overrides: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
    """Run the benchmark into ``out``; returns the dict written to ``results.json`` (module docstring)."""
    from lexiq.evaluation.bench_runs import bench_mode, json_safe, preset_job, run_jobs, torch_threads, write_data_once

    t0 = time.perf_counter()
    mode, n_seeds, overrides = bench_mode(QUICK, FULL, quick, mode_overrides, seeds, jobs, overrides)
    out_dir = Path(out)
    train, test = _problems(mode, root)
    train_file = out_dir / "data" / "train.jsonl"
    write_data_once(train_file, train)
    write_data_once(out_dir / "data" / "test.jsonl", test)
    methods = {"mle": ("mle", "bc", {})}
    for w in mode["td_weights"]:
        methods[method_name(w)] = ("iq_learn", "iq_learn", {"objective": {"td_weight": w}})
    train_jobs = [preset_job("irl", preset_name, objective, out_dir / f"{name}_seed{s}", s, train_file,
                             mode["steps"], extra, overrides)
                  for s in range(n_seeds) for name, (preset_name, objective, extra) in methods.items()]
    run_jobs(train_jobs, workers=jobs)

    summaries = {name: [_evaluate(out_dir / f"{name}_seed{s}" / "policy", test, mode,
                                  out_dir / f"{name}_seed{s}" / "math_eval", s) for s in range(n_seeds)]
                 for name in methods}
    result = {
        "methods": {name: {m: _cell(runs, m) for m in REPORTED} for name, runs in summaries.items()},
        "task": {"name": mode["task"], "train_problems": len(train), "test_problems": len(test)},
        "td_weights": {name: (0.0 if name == "mle" else methods[name][2]["objective"]["td_weight"])
                       for name in methods},
        "quick": quick, "seeds": n_seeds, "jobs": jobs, "mode": mode,
        "machine": f"{platform.processor() or platform.machine()}, torch threads {torch_threads()}",
        "wall_seconds": time.perf_counter() - t0,
    }
    (out_dir / "results.json").write_text(json.dumps(json_safe(result), indent=2))
    (out_dir / "results.md").write_text(_table(result))
    _plot(result, out_dir / "accuracy_vs_diversity.png")
    return result


def _table(result: dict[str, Any]) -> str:
    from lexiq.evaluation.bench_runs import machine_line

    task = result["task"]
    kind = "quick" if result["quick"] else "full"
    lines = [f"# IRL benchmark: {task['name']} ({kind} mode, seeds {result['seeds']})",
             "", f"{task['train_problems']} training problems; {task['test_problems']} held-out problems; "
             f"{result['mode']['samples']} samples per problem at temperature {result['mode']['temperature']:g}; "
             "mean ± s.e. over seeds.", "",
             "| method | λ_td | " + " | ".join(REPORTED) + " |", "|---|---|" + "---|" * len(REPORTED)]
    for name, e in result["methods"].items():
        cells = [_fmt(e[m]) for m in REPORTED]
        lines.append(f"| {name} | {result['td_weights'][name]:g} | " + " | ".join(cells) + " |")
    lines += ["", machine_line(result), ""]
    return "\n".join(lines)


def _fmt(cell: dict[str, Any]) -> str:
    mean, stderr = cell["mean"], cell["stderr"]
    if mean is None or math.isnan(mean):
        return "—"
    return f"{mean:.3f}" + ("" if stderr is None or math.isnan(stderr) else f" ± {stderr:.3f}")


def _plot(result: dict[str, Any], path: Path) -> None:
    """Accuracy against Self-BLEU (diversity grows to the left), one point per method with s.e. bars."""
    from lexiq.evaluation.bench_runs import errorbar_plot

    points = {name: (e["self_bleu"]["mean"], e["self_bleu"]["stderr"], e["accuracy"]["mean"], e["accuracy"]["stderr"])
              for name, e in result["methods"].items()}
    errorbar_plot(points, path, "Self-BLEU of samples (lower = more diverse)", "greedy accuracy",
                  f"MLE vs IQLearn on {result['task']['name']}")
