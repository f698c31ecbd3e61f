"""``lexiq bench textworld``: BC, filtered BC and ILQL on mixed-quality TextWorld play, tested on held-out games.

1. generate three disjoint pools of TextWorld games offline (:mod:`lexiq.envs.textworld.games`; ``tw-make
   custom`` settings of :class:`~lexiq.envs.textworld.games.GameSpec`): training games, validation games (to
   choose ILQL's β) and held-out test games, from different TextWorld seeds, a test game never repeating a
   training or validation game;
2. collect mixed-quality episodes on the training games (:func:`~lexiq.envs.textworld.play.collect_episodes`,
   ``kind="mixed"``: walkthroughs, ε-noisy experts and uniform random play over the admissible commands, cut
   after ``max_steps`` commands) and play the walkthrough and the random player on the test games (anchors);
3. for every seed and method, train a byte-level transformer from scratch with ``configs/textworld/<method>.yaml``
   (filtered BC keeps the won episodes; ILQL the Wordle preset's settings);
4. play every test game once per trained policy (greedy, so one episode per game says all) with the policy
   restricted to the admissible commands (:class:`~lexiq.evaluation.admissible.AdmissiblePolicy`: the command of
   highest log-probability under π_β, or under ILQL's π ∝ π_β·exp(β(Q̄ − V)) with β chosen on the validation
   games), or, with ``decode="generate"``, writing free-text commands with (Q-guided) greedy decoding;
5. write ``results.json`` (``{"methods": {m: {"success_rate": {"mean", "stderr"}, "score": {...}, ...}},
   "data": {...}, ...}``) and ``results.md``.

Standard errors are over test games (sample standard deviation / √games of the per-game values, each the mean
over seeds); with several seeds the seed-to-seed spread is reported too. Running the command again into the same
``--out`` reuses the games, the data, finished training runs and finished evaluations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError, apply_overrides, deep_merge
from lexiq.evaluation.bench_runs import machine_description, write_results

METHODS = ("bc", "filtered_bc", "ilql")
DECODES = ("admissible", "generate")
STRATEGIES = ("sample", "greedy")

# Quick: sized for about 9 minutes on one CPU thread (games ~75 s, BC ~100 s, filtered BC ~75 s, ILQL ~170 s,
# evaluations ~1 minute). Full: more games matter most for held-out games (docs/textworld_nethack.md).
QUICK: dict[str, Any] = {
    "train_games": 60, "valid_games": 4, "test_games": 20, "episodes": 800, "max_steps": 8, "epsilon": 0.3,
    "seeds": 1, "eval_repeats": 4, "train_eval_games": 12, "vocab_size": 2048,
    "overrides": {"train": {"max_steps": 250}, "eval": {"betas": [1, 4, 16]}},
}
FULL: dict[str, Any] = {
    "train_games": 500, "valid_games": 20, "test_games": 100, "episodes": 10000, "max_steps": 8, "epsilon": 0.3,
    "seeds": 3, "eval_repeats": 4, "train_eval_games": 50, "vocab_size": 4096,
    "overrides": {"train": {"max_steps": 3000}},
}


def method_config(method: str) -> dict[str, Any]:
    """The packaged YAML preset ``configs/textworld/<method>.yaml`` (includes resolved)."""
    from lexiq.evaluation.bench_runs import preset

    return preset("textworld", method)


def _pools(out_dir: Path, mode: dict[str, Any], spec: Any) -> dict[str, list[Path]]:
    """The train, valid and test pools (generated where missing; later splits exclude earlier splits' games)."""
    from lexiq.envs.textworld.games import generate_pool, pool_fingerprints

    pools: dict[str, list[Path]] = {}
    seen: set[str] = set()
    for split in ("train", "valid", "test"):
        directory = out_dir / "games" / split
        try:
            pools[split] = generate_pool(directory, spec, split, mode[f"{split}_games"], exclude=seen)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        seen |= pool_fingerprints(directory)
    return pools


def _anchor(games: list[Path], player: str, max_steps: int, repeats: int) -> dict[str, float]:
    """Success rate and score of a scripted player on ``games`` (each game ``repeats`` times)."""
    from lexiq.envs.textworld.env import TextWorldEnv
    from lexiq.envs.textworld.play import RandomPlayer, WalkthroughPlayer
    from lexiq.evaluation.rollout import rollout

    policy = WalkthroughPlayer() if player == "walkthrough" else RandomPlayer(seed=0)
    n = len(games) * (1 if player == "walkthrough" else repeats)
    eps = rollout(lambda: TextWorldEnv(games, max_steps=max_steps), policy, n, seed=0, batch_size=64)
    per_game = _per_game(eps, len(games))
    return {"success_rate": statistics.fmean(g["success"] for g in per_game),
            "score": statistics.fmean(g["score"] for g in per_game), "episodes": n}


def _per_game(episodes: list[Any], n_games: int) -> list[dict[str, float]]:
    """Per-game mean success and score of rollouts whose seeds map to game ``seed mod n_games``."""
    out: list[dict[str, float]] = []
    for g in range(n_games):
        eps = [e for e in episodes if int(e.meta["seed"]) % n_games == g]
        out.append({"success": statistics.fmean(float(e.meta["success"]) for e in eps),
                    "score": statistics.fmean(e.total_reward for e in eps)})
    return out


def _tokenizer(path: Path, episodes: list[Any], vocab_size: int) -> None:
    """Train the benchmark's BPE tokenizer on the training episodes once (an existing one is reused: the finished
    runs were trained with it)."""
    if (path / "tokenizer.json").exists():
        return
    from lexiq.models.bpe_tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer((t.text for e in episodes for t in e.turns), vocab_size=vocab_size)
    tok.save_pretrained(path)


def _policy(model: Any, tokenizer: Any, fmt: Any, decoding: Any, decode: str) -> Any:
    from lexiq.evaluation.admissible import AdmissiblePolicy
    from lexiq.evaluation.rollout import LMPolicy

    if decode == "admissible":
        return AdmissiblePolicy(model, tokenizer, fmt, decoding)
    budget = int(model.meta.get("max_length") or 512)
    return LMPolicy(model, tokenizer, fmt, decoding, max_prompt_tokens=max(1, budget - decoding.max_new_tokens))


def _play(policy: Any, games: list[Path], max_steps: int, repeats: int) -> list[dict[str, float]]:
    """Per-game success and score of ``policy``, each game played ``repeats`` times."""
    from lexiq.envs.textworld.env import TextWorldEnv
    from lexiq.evaluation.rollout import rollout

    eps = rollout(lambda: TextWorldEnv(games, max_steps=max_steps), policy, repeats * len(games), seed=0,
                  batch_size=32)
    return _per_game(eps, len(games))


def _rate(per_game: list[dict[str, float]], key: str = "success") -> float:
    return statistics.fmean(g[key] for g in per_game)


def evaluate_run(run_dir: str, games: dict[str, list[str]], max_steps: int, repeats: int, betas: list[float],
                 decode: str, strategy: str) -> dict[str, Any]:
    """Evaluate the policy saved in ``run_dir/policy`` on ``games["test"]`` (and ``games["train"]``), each game
    ``repeats`` times (once when greedy); with heads and ``betas``, β is chosen on ``games["valid"]`` first.
    Cached in ``run_dir/textworld_eval.json`` for the same weights, games and settings."""
    import dataclasses

    from lexiq.evaluation.bench_runs import fingerprint
    from lexiq.run import decoding_from_meta, load_policy

    policy_dir = Path(run_dir) / "policy"
    repeats = 1 if strategy == "greedy" else repeats
    key = {"weights": fingerprint(policy_dir), "games": games, "max_steps": max_steps, "repeats": repeats,
           "betas": list(betas), "decode": decode, "strategy": strategy}
    cache = Path(run_dir) / "textworld_eval.json"
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return saved["result"]
    model, tokenizer, fmt = load_policy(str(policy_dir))
    decoding = decoding_from_meta(model, {"strategy": strategy, "num_return_sequences": 1})
    pools = {split: [Path(p) for p in paths] for split, paths in games.items()}
    sweep: dict[str, dict[str, float]] = {}
    if model.heads is not None and betas:
        for beta in betas:
            policy = _policy(model, tokenizer, fmt, dataclasses.replace(decoding, beta=float(beta)), decode)
            per_game = _play(policy, pools["valid"], max_steps, repeats)
            sweep[str(beta)] = {"success_rate": _rate(per_game), "score": _rate(per_game, "score")}
        best = max(sweep, key=lambda b: (sweep[b]["success_rate"], sweep[b]["score"], -float(b)))
        decoding = dataclasses.replace(decoding, beta=float(best))
    t0 = time.perf_counter()
    result: dict[str, Any] = {"per_game": _play(_policy(model, tokenizer, fmt, decoding, decode), pools["test"],
                                                max_steps, repeats)}
    result["eval_seconds"] = time.perf_counter() - t0
    if pools.get("train"):
        result["train_games"] = _play(_policy(model, tokenizer, fmt, decoding, decode), pools["train"], max_steps,
                                      repeats)
    result |= {"beta": decoding.beta, "beta_sweep": sweep}
    cache.write_text(json.dumps({"key": key, "result": result}, indent=2))
    return result


def _aggregate(evals: list[dict[str, Any]], trains: list[dict[str, Any]]) -> dict[str, Any]:
    """One method over seeds: per-game values averaged over seeds, then mean ± s.e. over games."""
    from lexiq.evaluation.metrics import mean_with_stderr

    n_games = len(evals[0]["per_game"])
    out: dict[str, Any] = {}
    for key, name in (("success", "success_rate"), ("score", "score")):
        per_game = [statistics.fmean(e["per_game"][g][key] for e in evals) for g in range(n_games)]
        seed_means = [_rate(e["per_game"], key) for e in evals]
        out[name] = {**mean_with_stderr(per_game), "seed_means": seed_means,
                     "seed_stderr": mean_with_stderr(seed_means)["stderr"] if len(seed_means) > 1 else None}
    if all(e.get("train_games") for e in evals):
        n_train = len(evals[0]["train_games"])
        out["train_games_success_rate"] = mean_with_stderr(
            [statistics.fmean(e["train_games"][g]["success"] for e in evals) for g in range(n_train)])
    out["beta"] = [e["beta"] for e in evals]
    out["beta_sweep"] = [e["beta_sweep"] for e in evals]
    out["train_seconds"] = statistics.fmean(r["train_seconds"] for r in trains)
    out["eval_seconds"] = statistics.fmean(e["eval_seconds"] for e in evals)
    out["train_episodes"] = trains[0]["train_episodes"]
    out["games"] = n_games
    return out


def _table(result: dict[str, Any]) -> str:
    d, g, ev = result["data"], result["games"], result["evaluation"]
    kinds = ", ".join(f"{k} {v['n']} (win {v['win_rate']:.2f})" for k, v in d["kinds"].items())
    anchors = result["anchors"]
    lines = [
        f"# TextWorld benchmark ({'quick' if result['quick'] else 'full'} mode, {result['seeds']} seed(s))",
        "",
        f"Games: {g['train']} training, {g['valid']} validation (β), {g['test']} held-out test games (TextWorld "
        f"custom: {g['spec']['min_rooms']}-{g['spec']['max_rooms']} rooms, quests of {g['spec']['min_quest_length']}"
        f"-{g['spec']['max_quest_length']} commands); at most {g['max_steps']} commands per game.",
        f"Data: {d['n']} episodes on the training games, win rate {d['win_rate']:.3f} ({kinds}).",
        f"Evaluation: decode={ev['decode']}, strategy={ev['strategy']}, each test game played {ev['repeats']} "
        f"time(s) per seed. On the test games the walkthrough wins {anchors['walkthrough']['success_rate']:.3f}, "
        f"uniform random admissible commands {anchors['random']['success_rate']:.3f}.",
        "",
        "| method | test success rate ± s.e. | test score ± s.e. | training-games success ± s.e. | β | "
        "training episodes | train seconds | eval seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in result["methods"].items():
        s, sc = m["success_rate"], m["score"]
        tr = m.get("train_games_success_rate")
        train_cell = f"{tr['mean']:.3f} ± {tr['stderr']:.3f}" if tr else "—"
        beta = ", ".join(f"{b:g}" for b in m["beta"]) if any(m["beta"]) else "—"
        lines.append(f"| {name} | {s['mean']:.3f} ± {s['stderr']:.3f} | {sc['mean']:.3f} ± {sc['stderr']:.3f} | "
                     f"{train_cell} | {beta} | {m['train_episodes']} | {m['train_seconds']:.0f} | "
                     f"{m['eval_seconds']:.0f} |")
    lines += ["", "± s.e.: over games (each game's value averaged over its plays and seeds). Score: game points (a "
              "won game scores its maximum, 1 here). Training-games success: the first "
              f"{g['train_eval']} training games, for comparison with the held-out games.", "",
              f"Machine: {result['machine']}, {result['jobs']} run(s) at a time. Wall time of the last invocation "
              f"{result['wall_seconds']:.0f} s (finished pieces of earlier invocations are reused).", ""]
    return "\n".join(lines)


def run_textworld_benchmark(out: str, quick: bool = False, seeds: int | None = None, jobs: int = 1,
                            overrides: list[str] | None = None, mode_overrides: dict[str, Any] | None = None,
                            methods: list[str] | None = None, decode: str = "admissible", strategy: str = "sample",
                            spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the benchmark into ``out`` (module docstring); returns what is written to ``results.json``.

    ``overrides`` (``key=value``) apply to every training run; ``mode_overrides`` replace the mode's sizes
    (``train_games``, ``episodes``, ``max_steps``, ... ; tests use tiny ones); ``spec`` the
    :class:`~lexiq.envs.textworld.games.GameSpec` fields; ``decode`` is ``admissible`` or ``generate`` and
    ``strategy`` ``sample`` or ``greedy``."""
    from lexiq.envs.textworld.games import GameSpec, require_textworld
    from lexiq.envs.textworld.play import collect_episodes, dataset_stats
    from lexiq.evaluation.bench_runs import (
        TrainJob,
        bench_mode,
        parallel_calls,
        run_jobs,
        write_data_once,
    )

    t0 = time.perf_counter()
    try:
        require_textworld()
    except ImportError as exc:
        raise ConfigError(str(exc)) from None
    mode, n_seeds, _ = bench_mode(QUICK, FULL, quick, mode_overrides, seeds, jobs, None)
    names = list(methods or METHODS)
    if not names or set(names) - set(METHODS):
        raise ConfigError(f"methods {names}: expected a non-empty subset of {', '.join(METHODS)}")
    if decode not in DECODES:
        raise ConfigError(f"decode {decode!r}: expected one of {', '.join(DECODES)}")
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    try:
        game_spec = GameSpec(**(spec or {}))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"game spec: {exc}") from None
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    pools = _pools(out_dir, mode, game_spec)
    print(f"games ready ({time.perf_counter() - t0:.0f} s)", flush=True)

    episodes = collect_episodes(pools["train"], "mixed", mode["episodes"], seed=0, max_steps=mode["max_steps"],
                                epsilon=mode["epsilon"])
    data_path = out_dir / "data" / "mixed.jsonl"
    write_data_once(data_path, episodes)
    tokenizer_dir = out_dir / "tokenizer"
    _tokenizer(tokenizer_dir, episodes, mode["vocab_size"])
    data = {"path": str(data_path), "kind": "mixed", "epsilon": mode["epsilon"], "tokenizer": str(tokenizer_dir),
            **dataset_stats(episodes)}
    anchors = {"walkthrough": _anchor(pools["test"], "walkthrough", mode["max_steps"], 1),
               "random": _anchor(pools["test"], "random", mode["max_steps"], mode["eval_repeats"])}

    jobs_list: list[TrainJob] = []
    for seed in range(n_seeds):
        for method in names:
            cfg = deep_merge(method_config(method), mode["overrides"])
            cfg = deep_merge(cfg, {"model": {"tokenizer": str(tokenizer_dir)}, "data": {"train": str(data_path)},
                                   "train": {"seed": seed, "output_dir": str(out_dir / f"{method}_seed{seed}")}})
            apply_overrides(cfg, list(overrides or []))
            jobs_list.append(TrainJob(method, cfg, label=f"{method} seed {seed}"))
    trained = run_jobs(jobs_list, workers=jobs)

    games = {"valid": [str(p) for p in pools["valid"]], "test": [str(p) for p in pools["test"]],
             "train": [str(p) for p in pools["train"][:mode["train_eval_games"]]]}
    calls = [(str(job.output_dir), games, mode["max_steps"], mode["eval_repeats"],
              list(job.config.get("eval", {}).get("betas") or []), decode, strategy) for job in jobs_list]
    evals = parallel_calls(evaluate_run, calls, workers=jobs)
    methods_out = {}
    for method in names:
        idx = [i for i, job in enumerate(jobs_list) if job.objective == method]
        methods_out[method] = _aggregate([evals[i] for i in idx], [trained[i] for i in idx])
    result = {
        "methods": methods_out,
        "data": data,
        "games": {"train": len(pools["train"]), "valid": len(pools["valid"]), "test": len(pools["test"]),
                  "train_eval": len(games["train"]), "spec": asdict(game_spec), "max_steps": mode["max_steps"]},
        "anchors": anchors,
        "evaluation": {"decode": decode, "strategy": strategy,
                       "repeats": 1 if strategy == "greedy" else mode["eval_repeats"]},
        "quick": quick,
        "seeds": n_seeds,
        "jobs": jobs,
        "machine": machine_description(),
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, result, _table(result))
    return result


def _cmd_bench_textworld(args: argparse.Namespace) -> int:
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods is not None else None
    if methods is not None and (not methods or set(methods) - set(METHODS)):
        raise ConfigError(f"--methods {args.methods!r}: expected a comma-separated subset of {','.join(METHODS)}")
    result = run_textworld_benchmark(out=args.out, quick=args.quick, seeds=args.seeds, jobs=args.jobs,
                                     overrides=args.overrides, methods=methods, decode=args.decode,
                                     strategy=args.strategy)
    summary = {m: {"success_rate": v["success_rate"]["mean"], "score": v["score"]["mean"]}
               for m, v in result["methods"].items()}
    print(json.dumps({"out": args.out, "methods": summary}, indent=2))
    return 0


def add_textworld_bench_command(bsub: Any) -> None:
    """Add ``lexiq bench textworld`` to the ``lexiq bench`` sub-parsers ``bsub``."""
    bt = bsub.add_parser("textworld", help="BC, filtered BC and ILQL on generated TextWorld games, tested on "
                                           "held-out games (docs/textworld_nethack.md; needs lexiq[textworld])")
    bt.add_argument("--quick", action="store_true",
                    help="60 training / 20 test games, 800 episodes, 250 steps per run: under 10 minutes on one "
                         "CPU thread")
    bt.add_argument("--seeds", type=int, default=None, help="training seeds (default 1 quick, 3 full)")
    bt.add_argument("--jobs", type=int, default=1, help="runs trained and evaluated at once (separate processes)")
    bt.add_argument("--methods", default=None, metavar="M1,M2",
                    help="comma-separated subset of bc,filtered_bc,ilql (default: all three)")
    bt.add_argument("--decode", default="admissible", choices=DECODES,
                    help="admissible: the policy picks the admissible command it is most likely to write; "
                         "generate: it writes the command (greedy, Q-guided for ILQL)")
    bt.add_argument("--strategy", default="sample", choices=STRATEGIES,
                    help="sample: draw from the policy (each test game played several times); greedy: its best "
                         "choice (once per game)")
    bt.add_argument("--out", default="runs/bench_textworld", help="output directory")
    bt.add_argument("overrides", nargs="*", help="key=value overrides applied to every training run's config")
    bt.set_defaults(func=_cmd_bench_textworld)
