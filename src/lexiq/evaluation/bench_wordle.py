"""``lexiq bench wordle``: BC, filtered BC, MC returns and ILQL on mixed-quality Wordle data.

1. generate the mixed-quality data set (``lexiq data wordle --kind mixed``: games of an information-gain expert,
   of the expert stuck repeating itself after two guesses, and of a player of random consistent words, all
   opening with the expert's start words; ``specs/wordle.md`` §6, ``lexiq.envs.wordle.datasets``) and measure
   the scripted expert in the evaluation environment (the normalisation's 100 anchor);
2. for every seed and method, train a char-level transformer from scratch with ``configs/wordle/<method>.yaml``;
3. evaluate each policy in the resampling environment on the configured vocabulary (``official_200`` by
   default; ≥ 512 games per seed, greedy; value methods choose β on separate games: 128 in quick mode, 512 in
   full mode);
4. write ``results.json``, ``results.md`` (table) and ``returns.png``.

The normalised score follows LMRL-Gym: 0 = the minimum return (−6), 50 = the data set's mean return,
100 = the scripted information-gain policy.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from lexiq.config import apply_overrides, deep_merge
from lexiq.evaluation.bench_runs import machine_description, write_results

METHODS = ["bc", "filtered_bc", "mc_returns", "ilql"]
MIN_RETURN = -6.0

QUICK = {"data_episodes": 4000, "seeds": 1, "overrides": {"train": {"max_steps": 1500}}}
# Full mode: 5x the data needs a deeper model (with 2 layers ILQL gained only +0.2 over BC on it: the small model
# cannot work out which words the feedback still allows; docs/benchmarks.md, session 6), β is chosen on 512 games
# per seed (on 128 the choice was noisy), and 4 seeds because seed-to-seed spread is larger than the per-game error.
FULL = {"data_episodes": 20000, "seeds": 4,
        "overrides": {"model": {"n_layer": 4}, "train": {"max_steps": 3000}, "eval": {"select_episodes": 512}}}


def method_config(method: str) -> dict[str, Any]:
    """The packaged YAML preset of ``method`` (with its includes resolved)."""
    from lexiq.evaluation.bench_runs import preset

    return preset("wordle", method)


def _optimal_anchor(env_options: dict[str, Any], episodes: int, seed: int) -> dict[str, float]:
    from lexiq.envs import make
    from lexiq.envs.wordle.policies import OptimalPolicy, StartWordPolicy
    from lexiq.evaluation.metrics import summarize
    from lexiq.evaluation.rollout import rollout

    class Scripted:
        def __init__(self) -> None:
            self.policy = OptimalPolicy(StartWordPolicy(rng=seed), rng=seed)

        def act(self, episodes_: Any, envs: Any) -> list[str]:
            return [self.policy.act(env.state) for env in envs]

    eps = rollout(lambda: make("wordle", **env_options), Scripted(), episodes, seed=seed, batch_size=256)
    return summarize(eps)


def _plot(methods: dict[str, dict[str, Any]], dataset: dict[str, Any], anchor: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(methods)
    means = [methods[m]["mean_return"] for m in names]
    errs = [methods[m]["stderr"] for m in names]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    colors = ["#999999", "#6b8fb3", "#d9a441", "#3f8f5f"][: len(names)]
    # bars rise from the minimum possible return, so the better method has the taller bar
    ax.bar(names, [m - MIN_RETURN for m in means], bottom=MIN_RETURN, yerr=errs, capsize=4, color=colors)
    ax.axhline(dataset["mean_return"], color="k", ls="--", lw=1, label=f"data mean {dataset['mean_return']:.2f}")
    ax.axhline(anchor, color="g", ls=":", lw=1, label=f"scripted info-gain {anchor:.2f}")
    ax.set_ylabel("mean episode return (± s.e.)")
    ax.set_ylim(MIN_RETURN, 0)
    ax.set_title("Wordle, mixed-quality data")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _table(result: dict[str, Any]) -> str:
    ds = result["dataset"]
    lines = [
        f"# Wordle benchmark ({'quick' if result['quick'] else 'full'} mode, seeds {result['seeds']})",
        "",
        f"Data: {ds['n']} mixed-quality episodes, mean return {ds['mean_return']:.3f}, "
        f"success {ds['success_rate']:.3f}. Scripted information-gain policy: {result['anchor']['mean_return']:.3f}.",
        "",
        "| method | mean return ± s.e. | s.e. over seeds | seed means | success rate | normalised score | β | "
        "train seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in result["methods"].items():
        beta = "—" if m.get("beta") in (None, 0.0) else ", ".join(f"{b:g}" for b in m["betas"])
        seed_se = "—" if m.get("seed_stderr") is None else f"{m['seed_stderr']:.3f}"
        seed_means = ", ".join(f"{v:.3f}" for v in m["seed_mean_returns"])
        lines.append(f"| {name} | {m['mean_return']:.3f} ± {m['stderr']:.3f} | {seed_se} | {seed_means} | "
                     f"{m['success_rate']:.3f} | {m['normalized_score']:.1f} | {beta} | {m['train_seconds']:.0f} |")
    lines += ["", "± s.e.: pooled over all evaluation games of all seeds; s.e. over seeds: of the seed means "
              "(sample standard deviation / √seeds).", "",
              f"Machine: {result['machine']}, {result['jobs']} run(s) at a time. Wall time of the last invocation "
              f"{result['wall_seconds']:.0f} s (finished runs of earlier invocations are reused).", ""]
    return "\n".join(lines)


def run_wordle_benchmark(out: str, quick: bool = False, seeds: int | None = None,
                         overrides: list[str] | None = None, methods: list[str] | None = None,
                         data_episodes: int | None = None, anchor_episodes: int = 512,
                         jobs: int = 1) -> dict[str, Any]:
    """Run the benchmark into ``out``; returns the dict written to ``results.json``.

    ``overrides`` (``key=value``) apply to every method's config; ``data_episodes`` replaces the mode's data-set
    size (tests use tiny values); ``jobs`` runs train at once (:mod:`lexiq.evaluation.bench_runs`). Running it
    again into the same ``out`` reuses finished runs and resumes interrupted ones."""
    from lexiq.envs.wordle.datasets import dataset_stats, generate_dataset
    from lexiq.evaluation.bench_runs import TrainJob, bench_mode, run_jobs, write_data_once
    from lexiq.evaluation.metrics import mean_stderr, normalized_score

    t0 = time.perf_counter()
    mode, n_seeds, _ = bench_mode(QUICK, FULL, quick, None, seeds, jobs, None)  # mode["overrides"]: a dict here
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = out_dir / "data" / "mixed.jsonl"
    probe = apply_overrides(method_config("bc"), list(overrides or []))
    env_options = probe["eval"]["env_options"]
    episodes = generate_dataset("mixed", data_episodes or mode["data_episodes"], seed=0,
                                vocab=env_options.get("vocab", "answers"))
    write_data_once(data_path, episodes)
    dataset = dataset_stats(episodes)
    anchor = _optimal_anchor(env_options, anchor_episodes, seed=100_000)

    names = methods or METHODS
    train_jobs: list[TrainJob] = []
    for seed in range(n_seeds):
        for method in names:
            data = deep_merge(method_config(method), mode["overrides"])
            data = deep_merge(data, {"data": {"train": str(data_path)},
                                     "train": {"seed": seed, "output_dir": str(out_dir / f"{method}_seed{seed}")}})
            apply_overrides(data, list(overrides or []))
            train_jobs.append(TrainJob(method, data, label=f"{method} seed {seed}"))
    results = run_jobs(train_jobs, workers=jobs)
    per_method = {m: [r for job, r in zip(train_jobs, results, strict=True) if job.objective == m] for m in names}

    methods_out: dict[str, dict[str, Any]] = {}
    for method, runs in per_method.items():
        seed_means = [r["eval"]["mean_return"] for r in runs]
        # pooled standard error over all evaluation games of all seeds
        n = [r["eval"]["n_episodes"] for r in runs]
        se_parts = [r["eval"]["stderr"] ** 2 * k * k for r, k in zip(runs, n, strict=True)]
        mean = sum(m * k for m, k in zip(seed_means, n, strict=True)) / sum(n)
        stderr = (sum(se_parts) ** 0.5) / sum(n) if n_seeds > 1 else runs[0]["eval"]["stderr"]
        methods_out[method] = {
            "mean_return": mean,
            "stderr": stderr,
            "success_rate": sum(r["eval"]["success_rate"] * k for r, k in zip(runs, n, strict=True)) / sum(n),
            "normalized_score": normalized_score(mean, dataset["mean_return"], anchor["mean_return"], MIN_RETURN),
            "train_seconds": sum(r["train_seconds"] for r in runs) / len(runs),
            "seed_mean_returns": seed_means,
            "seed_std": mean_stderr(seed_means)[1] * len(seed_means) ** 0.5 if len(seed_means) > 1 else 0.0,
            # standard error of the mean over seeds: counts seed-to-seed spread, which the pooled one does not
            "seed_stderr": statistics.stdev(seed_means) / len(seed_means) ** 0.5 if len(seed_means) > 1 else None,
            "betas": [r["eval"].get("beta", 0.0) for r in runs],
            "beta": runs[0]["eval"].get("beta", 0.0),
            "eval_episodes": int(sum(n)),
        }
    result = {
        "methods": methods_out,
        "dataset": {"path": str(data_path), "kind": "mixed", **dataset},
        "anchor": {"policy": "scripted information gain + start words", **anchor},
        "quick": quick,
        "seeds": n_seeds,
        "jobs": jobs,
        "machine": f"{machine_description()}, torch {_torch_version()}",
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, result, _table(result))
    _plot(methods_out, dataset, anchor["mean_return"], out_dir / "returns.png")
    return result


def _torch_version() -> str:
    import torch

    return torch.__version__
