"""The training runs of a benchmark: reuse finished ones, resume interrupted ones, train several at a time.

A full benchmark is hours of CPU time, so ``lexiq bench`` can be stopped and started again with the same command:

* a run whose ``output_dir`` holds ``results.json`` and a ``config.yaml`` equal to the configuration it would be
  trained with now is **reused** (its results are read back, nothing is retrained);
* a run that was interrupted **resumes** from its newest checkpoint (the benchmark saves one every
  ``save_every`` steps; :mod:`lexiq.train` resumes exactly) and its checkpoints are deleted once it has finished;
* a run directory holding a *different* configuration is an error: that ``--out`` was used with other settings.

Settings that do not change what a run computes (progress bar, loggers, checkpoint frequency, resume flag) are left
out of the comparison.

``workers > 1`` trains that many runs at once in separate processes (``spawn``), each with an equal share of the
machine's threads. Measured on the 2-core CPU with the Wordle models (docs/benchmarks.md, "Runs at a time"): two
1-thread runs side by side did 1.0x (BC) to 1.15x (ILQL) the work of one 2-thread run, so it mainly helps keep
both cores busy through the single-threaded parts (evaluation, data loading).
"""

from __future__ import annotations

import copy
import multiprocessing
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lexiq.config import ConfigError
from lexiq.jsonfile import json_safe, write_json  # noqa: F401  (json_safe: part of this module's API)

# (section, key) pairs that never change a run's results
_NOT_COMPARED = {("train", "progress"), ("train", "report_to"), ("train", "save_every"), ("train", "resume")}


@dataclass
class TrainJob:
    """One training run of a benchmark: an objective name and its nested configuration dict (with
    ``train.output_dir`` set), as :func:`lexiq.run.parse_run_config` takes it."""

    objective: str
    config: dict[str, Any]
    label: str = ""

    @property
    def output_dir(self) -> Path:
        return Path(self.config["train"]["output_dir"])


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(record)
    for section, key in _NOT_COMPARED:
        if isinstance(record.get(section), dict):
            record[section].pop(key, None)
    return record


def _fill_missing(saved: Any, defaults: Any) -> Any:
    """``saved`` with the keys it lacks taken from ``defaults`` (recursively): a configuration field added to
    lexiq after a run was saved has the default that keeps the old behaviour, so the run still counts."""
    if not isinstance(saved, dict) or not isinstance(defaults, dict):
        return saved
    out = dict(saved)
    for key, value in defaults.items():
        out[key] = _fill_missing(out[key], value) if key in out else copy.deepcopy(value)
    return out


def _finished_result(job: TrainJob) -> dict[str, Any] | None:
    """The saved results of ``job`` if its run directory holds a finished run of the same configuration; None if
    there is no run or an unfinished one of the same configuration; ConfigError if the configuration differs."""
    import json

    from lexiq.run import parse_run_config, run_record

    saved_path = job.output_dir / "config.yaml"
    if not saved_path.exists():
        return None
    cfg, obj_cfg = parse_run_config(job.objective, job.config)
    wanted = _comparable(run_record(job.objective, cfg, obj_cfg))
    defaults = run_record(job.objective, *parse_run_config(job.objective, {}))
    try:
        saved = _comparable(_fill_missing(yaml.safe_load(saved_path.read_text()) or {}, defaults))
    except yaml.YAMLError:
        saved = None
    if saved != wanted:
        raise ConfigError(f"{job.output_dir}: holds a run with another configuration than this benchmark's "
                          "(another mode, seed count or override?); choose a new --out or delete that directory")
    results = job.output_dir / "results.json"
    return json.loads(results.read_text()) if results.exists() else None


def _train(objective: str, config: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """Train one run (in this process or a worker); its checkpoints are removed once results.json is written."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    from lexiq.run import parse_run_config, run_training

    cfg, obj_cfg = parse_run_config(objective, config)
    result = run_training(objective, cfg, obj_cfg)
    shutil.rmtree(Path(cfg.train.output_dir) / "checkpoints", ignore_errors=True)
    return result


def run_jobs(jobs: list[TrainJob], workers: int = 1, save_every: int = 500,
             log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Results of every job (in order): reused when finished, otherwise trained, resuming from a checkpoint
    where one exists; ``workers`` runs train at once."""
    if workers < 1:
        raise ConfigError(f"--jobs {workers}: expected at least 1")
    results: list[dict[str, Any] | None] = []
    todo: list[int] = []
    for i, job in enumerate(jobs):
        done = _finished_result(job)
        results.append(done)
        if done is not None:
            log(f"{job.label or job.output_dir}: finished before, reusing {job.output_dir}/results.json")
        else:
            job.config.setdefault("train", {}).update({"resume": True, "save_every": save_every})
            todo.append(i)
    if workers == 1 or len(todo) <= 1:
        for i in todo:
            t0 = time.perf_counter()
            results[i] = _train(jobs[i].objective, jobs[i].config, None)
            log(f"{jobs[i].label or jobs[i].output_dir}: trained in {time.perf_counter() - t0:.0f} s")
        return [r for r in results if r is not None]

    started = time.perf_counter()
    calls = []
    for i in todo:
        config = copy.deepcopy(jobs[i].config)
        config["train"]["progress"] = False  # interleaved bars from several processes are unreadable
        calls.append((jobs[i].objective, config, None))

    def finished(k: int, result: dict[str, Any]) -> None:
        i = todo[k]
        results[i] = result
        log(f"{jobs[i].label or jobs[i].output_dir}: trained ({time.perf_counter() - started:.0f} s since start)")

    parallel_calls(_train, calls, workers=workers, done=finished)
    return [r for r in results if r is not None]


def _call_with_threads(fn: Callable[..., Any], args: tuple[Any, ...], threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(*args)


def parallel_calls(fn: Callable[..., Any], calls: list[tuple[Any, ...]], workers: int = 1,
                   done: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(*args) for args in calls]``, with ``workers`` calls at once in separate processes (``spawn``, each with
    an equal share of the machine's threads) when ``workers > 1``: a benchmark's training runs, evaluations and
    candidate generations are independent of each other. ``fn`` must be a module-level function and its arguments
    picklable; results come back in the order of ``calls``, each also passed to ``done(index, result)`` as soon as
    it and all calls before it have finished."""
    if workers < 1:
        raise ConfigError(f"--jobs {workers}: expected at least 1")
    out: list[Any] = []
    if workers == 1 or len(calls) <= 1:
        for k, args in enumerate(calls):
            out.append(fn(*args))
            if done is not None:
                done(k, out[-1])
        return out
    import torch

    threads = max(1, torch.get_num_threads() // workers)
    with ProcessPoolExecutor(max_workers=min(workers, len(calls)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_call_with_threads, fn, tuple(args), threads) for args in calls]
        for k, future in enumerate(futures):
            out.append(future.result())
            if done is not None:
                done(k, out[-1])
    return out


def write_data_once(path: Path, episodes: list[Any]) -> None:
    """Write a benchmark's data file; an existing one must hold the same bytes, since the finished runs trained on
    it are reused (one-line error otherwise)."""
    import filecmp

    from lexiq.data.jsonl import write_episodes

    if not path.exists():
        write_episodes(path, episodes)
        return
    fresh = path.with_name(path.name + ".check")
    try:
        write_episodes(fresh, episodes)
        if not filecmp.cmp(fresh, path, shallow=False):
            raise ConfigError(f"{path}: holds other episodes than this benchmark generates (another mode or data "
                              "size?); choose a new --out or delete that directory")
    finally:
        fresh.unlink(missing_ok=True)


def torch_threads() -> int:
    """The intra-op threads torch uses in this process (the machine line of benchmark tables)."""
    import torch

    return torch.get_num_threads()


def preset(group: str, name: str) -> dict[str, Any]:
    """The packaged YAML preset ``configs/<group>/<name>.yaml`` of a benchmark (includes resolved)."""
    from importlib import resources

    from lexiq.config import load_yaml

    path = resources.files("lexiq") / "configs" / group / f"{name}.yaml"
    with resources.as_file(path) as p:
        return load_yaml(p)


def preset_job(group: str, name: str, objective: str, out_dir: Path, seed: int, data_path: Path, steps: int,
               extra: dict[str, Any], overrides: list[str]) -> TrainJob:
    """A run of preset ``configs/<group>/<name>.yaml`` merged with ``extra``, on ``data_path`` for ``steps`` steps
    with ``seed`` into ``out_dir``; ``overrides`` (``key=value``) come last."""
    from lexiq.config import apply_overrides, deep_merge

    data = deep_merge(preset(group, name), extra)
    data = deep_merge(data, {"data": {"train": str(data_path)},
                             "train": {"seed": seed, "max_steps": steps, "output_dir": str(out_dir)}})
    apply_overrides(data, list(overrides))
    return TrainJob(objective, data, label=out_dir.name)


def sample(items: list[Any], n: int | None, seed: int) -> list[Any]:
    """``n`` items drawn without replacement with ``random.Random(seed)`` (all of them, in order, if n is None or
    at least their number)."""
    import random

    return list(items) if n is None or n >= len(items) else random.Random(seed).sample(list(items), n)


def fingerprint(directory: Path) -> list[Any]:
    """(name, size, mtime) of a model directory's weight files: changes whenever the model is retrained."""
    return sorted([p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in Path(directory).glob("*.safetensors"))


def digest(episodes: list[Any]) -> str:
    """A short hash of the episodes' texts: a cached result is reused only for the same replies."""
    import hashlib

    text = "\x1e".join("\x1f".join(t.text for t in e.turns) for e in episodes)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def bench_mode(quick_mode: dict[str, Any], full_mode: dict[str, Any], quick: bool,
               mode_overrides: dict[str, Any] | None, seeds: int | None, jobs: int,
               overrides: list[str] | None) -> tuple[dict[str, Any], int, list[str]]:
    """``(mode, seeds, overrides)`` of a benchmark invocation: the quick or full mode updated by
    ``mode_overrides``, the seed count (the mode's unless given) and the training overrides (the mode's first,
    the user's last so that they win); one-line errors for fewer than 1 seed or job."""
    from lexiq.config import ConfigError

    mode = {**(quick_mode if quick else full_mode), **(mode_overrides or {})}
    n_seeds = seeds if seeds is not None else mode["seeds"]
    if n_seeds < 1:
        raise ConfigError(f"--seeds {n_seeds}: expected at least 1")
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: expected at least 1")
    return mode, n_seeds, list(mode.get("overrides", [])) + list(overrides or [])


def machine_description() -> str:
    """The ``machine`` entry of a benchmark's results.json: processor and torch threads."""
    import platform

    return f"{platform.processor() or platform.machine()}, torch threads {torch_threads()}"


def write_results(out_dir: Path, result: dict[str, Any], table: str) -> None:
    """Write a benchmark's ``results.json`` (strict JSON, atomic: :func:`lexiq.jsonfile.write_json`) and
    ``results.md`` (``table``)."""
    write_json(Path(out_dir) / "results.json", result)
    (Path(out_dir) / "results.md").write_text(table)


def machine_line(result: dict[str, Any]) -> str:
    """The last line of a benchmark's results.md: machine and wall time."""
    return f"Machine: {result['machine']}. Wall time of the last invocation {result['wall_seconds']:.0f} s."


def errorbar_plot(points: dict[str, tuple[float, float, float, float]], path: Path, xlabel: str, ylabel: str,
                  title: str, annotate: bool = False, hline: tuple[float, str] | None = None) -> None:
    """One point per name, ``(x, x_stderr, y, y_stderr)`` with standard-error bars, saved to ``path``;
    ``annotate`` writes the names beside the points, ``hline`` draws a labelled reference level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (x, xerr, y, yerr) in points.items():
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", capsize=3, label=name)
        if annotate:
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if hline is not None:
        ax.axhline(hline[0], color="grey", ls=":", lw=1, label=hline[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
