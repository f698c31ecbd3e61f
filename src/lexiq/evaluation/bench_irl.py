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
documented subset with the same small model; ``--pretrained smollm2`` fine-tunes SmolLM2-135M-Instruct with LoRA
adapters on a smaller GSM8K subset sized for a CPU (:data:`PRETRAINED`; larger subsets through the overrides).

**Equal diversity.** Sampling at a higher temperature makes any policy more diverse, so "more diverse" alone
can be bought. With ``temperatures`` in the mode, every policy also samples at those temperatures
(:func:`lexiq.evaluation.math_eval.temperature_sweep`), giving a curve of sampled accuracy against Self-BLEU, and
the bench reports each method's sampled accuracy **at the Self-BLEU of the default IQLearn at the mode's
temperature, seed by seed** (linear interpolation along the same seed's curve, no extrapolation: a curve that does
not reach the level gives no value for that seed) — the paper's comparison at equal diversity, paired by seed.

``results.json``: ``{"methods": {name: {"accuracy"|"self_bleu"|"entropy"|...: {"mean", "stderr",
"seed_means"}}}, "sweep": {name: [{"temperature", "self_bleu", "accuracy_sampled"}]}, "equal_diversity":
{"self_bleu", "methods": {name: {"mean", "stderr", "seed_means"}}}, ...}`` — mean over seeds of the per-seed
means, standard error over seeds (over problems when there is one seed); ``results.md``;
``accuracy_vs_diversity.png`` (greedy accuracy per method, and the sampled-accuracy curves). Evaluations run
``--jobs`` at a time. Rerunning reuses finished runs and evaluations.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError
from lexiq.evaluation.bench_runs import machine_description, write_results

REPORTED = ("accuracy", "self_bleu", "entropy", "accuracy_sampled", "rouge_l", "reward_accuracy_spearman")
DEFAULT_TD = 0.1

QUICK: dict[str, Any] = {
    # sized for the 15-minute budget on 2 CPU cores: 2 seeds × (MLE, IQLearn λ 0.1) of 500 steps, ~350 s each on
    # one thread (300 steps do not learn the task: greedy accuracy 0.27-0.30 at lr 2e-3 or 4e-3; λ_td = 1 and a
    # third seed are in `--seeds 3` and the full mode)
    "task": "arithmetic", "train_problems": 4000, "test_problems": 100, "seeds": 2, "steps": 500,
    "td_weights": [0.1], "samples": 5, "temperature": 1.0, "max_new_tokens": 96,
    "temperatures": [0.7, 1.0, 1.4],
}
FULL: dict[str, Any] = {
    # bytes: half of GSM8K's prompt + solution pairs are longer than 512, 3 % longer than 1,024; 95 % of the
    # test solutions fit in 640
    "task": "gsm8k", "train_problems": None, "test_problems": 200, "seeds": 3, "steps": 3000,
    "td_weights": [0.01, 0.1, 1.0], "samples": 5, "temperature": 1.0, "max_new_tokens": 640,
    "temperatures": [0.7, 1.0, 1.3],
    "overrides": ["model.n_positions=1024", "data.max_length=1024", "decoding.max_new_tokens=640"],
}

PRETRAINED: dict[str, Any] = {
    # `--pretrained smollm2`: SmolLM2-135M-Instruct with LoRA adapters (r 16 on every linear layer) on a GSM8K
    # subset sized for a CPU session: 100 steps × 8 problems (800 training problems, one pass), 100 test problems,
    # 4 samples at T = 1; one seed. On a 2-core CPU, two runs at a time: 18-21 s per step (30-35 min per run)
    # and over 30 minutes per policy's evaluation (docs/benchmarks.md).
    "task": "gsm8k", "train_problems": 800, "test_problems": 100, "seeds": 1, "steps": 100,
    "td_weights": [0.1], "samples": 4, "temperature": 1.0, "max_new_tokens": 256, "temperatures": [1.0],
    "overrides": ["model.tokenizer=null", "model.lora_r=16", "model.lora_alpha=32", "train.lr=0.0002",
                  "train.batch_size=8", "train.warmup_steps=10", "train.log_every=5", "data.max_length=384",
                  "decoding.max_new_tokens=256"],
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
    from lexiq.evaluation.bench_runs import digest, fingerprint
    from lexiq.evaluation.math_eval import evaluate_math
    from lexiq.jsonfile import write_json
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
    write_json(out / "summary.json", summary)
    return summary


def _sweep(policy_dir: Path, test: list[Any], mode: dict[str, Any], out: Path, seed: int,
           summary: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`temperature_sweep` of one policy at the mode's ``temperatures``, cached in ``out``; the point at the
    mode's own temperature is the main evaluation's ``summary`` (the same samples: same seed and settings)."""
    from lexiq.evaluation.bench_runs import digest, fingerprint
    from lexiq.evaluation.math_eval import temperature_sweep
    from lexiq.jsonfile import write_json
    from lexiq.run import load_policy

    key = {"policy": fingerprint(policy_dir), "problems": digest(test), "seed": seed,
           **{k: mode[k] for k in ("samples", "temperatures", "max_new_tokens")}}
    if out.exists():
        cached = json.loads(out.read_text())
        if cached.get("cache_key") == key:
            return cached["points"]
    others = [t for t in mode["temperatures"] if t != mode["temperature"]]
    computed: list[dict[str, Any]] = []
    if others:
        model, tokenizer, fmt = load_policy(str(policy_dir))
        computed = temperature_sweep(model, tokenizer, fmt, test, others, samples=mode["samples"],
                                     max_new_tokens=mode["max_new_tokens"], seed=seed)
    by_t = {p["temperature"]: p for p in computed}
    by_t[mode["temperature"]] = {k: summary[k] for k in ("accuracy_sampled", "self_bleu")} | {
        "temperature": mode["temperature"]}
    points = [by_t[t] for t in mode["temperatures"]]
    write_json(out, {"cache_key": key, "points": points})
    return points


def _evaluate_run(name: str, s: int, out_dir: Path, test: list[Any], mode: dict[str, Any]
                  ) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """The evaluation of run ``<name>_seed<s>``: its :func:`_evaluate` summary and its temperature sweep (None
    without ``temperatures`` in the mode)."""
    run = out_dir / f"{name}_seed{s}"
    summary = _evaluate(run / "policy", test, mode, run / "math_eval", s)
    sweep = _sweep(run / "policy", test, mode, run / "math_eval" / "temperature_sweep.json", s, summary) \
        if mode.get("temperatures") else None
    return summary, sweep


def interpolate_at(points: list[tuple[float, float]], x: float) -> float:
    """The y of the piecewise-linear curve through ``points`` (x, y) at ``x``; NaN outside their x range (no
    extrapolation). Used for a method's sampled accuracy at a given Self-BLEU."""
    pts = sorted(points)
    if not pts or not pts[0][0] <= x <= pts[-1][0]:
        return float("nan")
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return pts[0][1]  # a single point exactly at x


def _over_seeds(values: list[float], one_seed_stderr: float = float("nan")) -> dict[str, Any]:
    """``{"mean", "stderr", "seed_means"}`` of per-seed values: NaNs left out, standard error over the finite
    seeds (``one_seed_stderr`` when there is only one)."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return {"mean": float("nan"), "stderr": float("nan"), "seed_means": values}
    stderr = statistics.stdev(finite) / math.sqrt(len(finite)) if len(finite) > 1 else one_seed_stderr
    return {"mean": statistics.fmean(finite), "stderr": stderr, "seed_means": values}


def _cell(summaries: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Mean over seeds of the per-seed means; standard error over seeds (over problems with one seed)."""
    values = [s[metric]["mean"] if isinstance(s[metric], dict) else s[metric] for s in summaries]
    values = [float("nan") if v is None else v for v in values]  # a NaN read back from summary.json
    first = summaries[0][metric]  # one seed: the standard error over problems (none for a single correlation)
    return _over_seeds(values, first.get("stderr", float("nan")) if isinstance(first, dict) else float("nan"))


def run_irl_benchmark(out: str, quick: bool = False, seeds: int | None = None, overrides: list[str] | None = None,
                      root: str | None = None, jobs: int = 1, mode_overrides: dict[str, Any] | None = None,
                      pretrained: str | None = None) -> dict[str, Any]:
    """Run the benchmark into ``out``; returns the dict written to ``results.json`` (module docstring).
    ``pretrained``: an offline model name (``smollm2``) fine-tuned with LoRA on the :data:`PRETRAINED` GSM8K
    subset instead of the from-scratch modes."""
    from lexiq.evaluation.bench_runs import (
        bench_mode,
        parallel_calls,
        preset_job,
        run_jobs,
        write_data_once,
    )

    t0 = time.perf_counter()
    if pretrained is not None:
        if quick:
            raise ConfigError("bench irl: --quick and --pretrained exclude each other (the quick task is from scratch)")
        from lexiq.models.model import ModelLoadError, check_model_dir
        from lexiq.models.pretrained import OFFLINE_MODELS, resolve

        try:  # before any run starts: an unprepared or missing model is one line here, not one per worker
            check_model_dir(resolve(pretrained) if pretrained in OFFLINE_MODELS else pretrained)
        except ModelLoadError as exc:
            raise ConfigError(f"--pretrained {pretrained}: {exc}") from None
        mode_overrides = {**PRETRAINED, "overrides": [f"model.path={pretrained}", *PRETRAINED["overrides"]],
                          **(mode_overrides or {})}
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

    calls = [(name, s, out_dir, test, mode) for name in methods for s in range(n_seeds)]
    evaluated = dict(zip([(c[0], c[1]) for c in calls], parallel_calls(_evaluate_run, calls, workers=jobs),
                         strict=True))
    summaries = {name: [evaluated[name, s][0] for s in range(n_seeds)] for name in methods}
    result = {
        "methods": {name: {m: _cell(runs, m) for m in REPORTED} for name, runs in summaries.items()},
        "task": {"name": mode["task"], "train_problems": len(train), "test_problems": len(test)},
        "td_weights": {name: (0.0 if name == "mle" else methods[name][2]["objective"]["td_weight"])
                       for name in methods},
        "quick": quick, "pretrained": pretrained, "seeds": n_seeds, "jobs": jobs, "mode": mode,
        "machine": machine_description(),
        "wall_seconds": time.perf_counter() - t0,
    }
    if mode.get("temperatures"):
        result |= _equal_diversity({name: [evaluated[name, s][1] for s in range(n_seeds)] for name in methods},
                                   mode["temperatures"], mode["temperature"])
    write_results(out_dir, result, _table(result))
    _plot(result, out_dir / "accuracy_vs_diversity.png")
    return result


def _equal_diversity(sweeps: dict[str, list[list[dict[str, Any]]]], temperatures: list[float],
                     reference_temperature: float) -> dict[str, Any]:
    """``{"sweep", "equal_diversity"}`` of ``results.json`` from each method's per-seed sweeps (module docstring);
    the reference Self-BLEU is the default IQLearn's (else the first method's) at the sweep temperature nearest to
    ``reference_temperature``."""
    cell = _over_seeds
    sweep = {name: [{"temperature": t,
                     "self_bleu": cell([seed[i]["self_bleu"]["mean"] for seed in runs]),
                     "accuracy_sampled": cell([seed[i]["accuracy_sampled"]["mean"] for seed in runs])}
                    for i, t in enumerate(temperatures)] for name, runs in sweeps.items()}
    ref_name = "iq_learn" if "iq_learn" in sweep else next(iter(sweep))
    ref_index = min(range(len(temperatures)), key=lambda i: abs(temperatures[i] - reference_temperature))
    # seed by seed: every method's curve of that seed at the reference run's Self-BLEU of that seed (paired)
    levels = [seed[ref_index]["self_bleu"]["mean"] for seed in sweeps[ref_name]]
    at_level = {name: cell([interpolate_at([(p["self_bleu"]["mean"], p["accuracy_sampled"]["mean"]) for p in seed],
                                           level) for seed, level in zip(runs, levels, strict=True)])
                for name, runs in sweeps.items()}
    return {"sweep": sweep, "equal_diversity": {"self_bleu": statistics.fmean(levels), "levels": levels,
                                                "reference": ref_name, "temperature": temperatures[ref_index],
                                                "methods": at_level}}


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
    if "sweep" in result:
        eq = result["equal_diversity"]
        temps = [p["temperature"] for p in next(iter(result["sweep"].values()))]
        lines += ["", "Sampled accuracy / Self-BLEU by sampling temperature:", "",
                  "| method | " + " | ".join(f"T = {t:g}" for t in temps) + " |", "|---|" + "---|" * len(temps)]
        for name, pts in result["sweep"].items():
            lines.append(f"| {name} | " + " | ".join(f"{_fmt(p['accuracy_sampled'])} / {p['self_bleu']['mean']:.3f}"
                                                       for p in pts) + " |")
        lines += ["", f"Sampled accuracy at equal diversity ({eq['reference']}'s Self-BLEU at "
                  f"T = {eq['temperature']:g}, seed by seed; mean {eq['self_bleu']:.3f}):", "",
                  "| method | accuracy_sampled | seeds reaching the level |", "|---|---|---|"]
        for name, c in eq["methods"].items():
            n = sum(1 for v in c["seed_means"] if v is not None and not math.isnan(v))
            lines.append(f"| {name} | {_fmt(c)} | {n} of {len(c['seed_means'])} |")
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
    if "sweep" not in result:
        errorbar_plot(points, path, "Self-BLEU of samples (lower = more diverse)", "greedy accuracy",
                      f"MLE vs IQLearn on {result['task']['name']}")
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
    for name, (x, xerr, y, yerr) in points.items():
        ax0.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", capsize=3, label=name)
    ax0.set_xlabel("Self-BLEU of samples at T = 1 (lower = more diverse)")
    ax0.set_ylabel("greedy accuracy")
    for name, pts in result["sweep"].items():
        xs = [p["self_bleu"]["mean"] for p in pts]
        ys = [p["accuracy_sampled"]["mean"] for p in pts]
        ax1.errorbar(xs, ys, yerr=[p["accuracy_sampled"]["stderr"] for p in pts], fmt="o-", capsize=3, label=name)
        for p, x, y in zip(pts, xs, ys, strict=True):
            ax1.annotate(f"T={p['temperature']:g}", (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
    ax1.axvline(result["equal_diversity"]["self_bleu"], color="grey", ls=":", lw=1, label="equal diversity")
    ax1.set_xlabel("Self-BLEU of samples (lower = more diverse)")
    ax1.set_ylabel("sampled accuracy")
    for ax in (ax0, ax1):
        ax.legend(fontsize=7)
    fig.suptitle(f"MLE vs IQLearn on {result['task']['name']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
