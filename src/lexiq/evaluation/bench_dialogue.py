"""``lexiq bench dialogue``: TF, TF-top, DT and ILQL on real task-oriented dialogues (Sodhi et al. 2023).

For every seed (``docs/dialogue.md`` has each step on its own):

1. **TF**: ``bc`` with the customer/API tokens in the loss (``configs/dialogue/tf.yaml``) on the (context,
   reply) windows of the training conversations: one episode per agent turn, keeping the last ``data.max_length``
   tokens of context + reply, the same window as at test time (whole conversations cut to their last 512 bytes
   would leave most turns out of training; the paper's 1,024-token blocks of concatenated conversations cover
   every token, and so does this);
2. **candidates**: ``n_candidates`` beam replies of the TF model for a random sample of training replies (the
   *scored* replies: those spoken by ``reply_speakers``, by default the agent's words and not its API calls, as in
   the paper, whose Taskmaster replies are text only; a similarity metric between two API calls is high whatever
   their arguments, so scored API calls would make almost every positive candidate an API call), scored
   against the gold reply with the BERTScore-style F1 (MiniLM); a candidate's reward is 1 when its score is above
   the threshold that makes ``positive_rate`` of all candidates positive (the paper's 0.6 belongs to rescaled
   roberta-large, not to MiniLM, so the threshold is calibrated instead), the gold reply's reward is 1;
3. **TF-top** (``filtered_bc`` on the reward-1 replies), **DT** (``dt``) and **ILQL** (``ilql``) continue from the
   TF model on that data set, each for ``rl_epochs`` passes over the episodes it trains on (the paper trains TF-top
   and DT alike, 5 epochs each; equal *steps* would give DT, which sees all six replies per context, 2.4 times
   fewer passes than TF-top); TF-gold, TF-top and DT keep the weights of their best of ``select_evaluations``
   evaluations of the loss on the validation replies (the paper's ``load_best_model_at_end`` on eval loss; DT's
   validation replies carry the high-return token it is asked with at test time);
4. every method is evaluated on a random sample of scored test replies (:mod:`lexiq.evaluation.dialogue_eval`): top-1
   BLEU, chrF, ROUGE-L, BERTScore-style F1, and the score a learned reward model gives the greedy reply. ILQL's β is
   chosen among ``ilql_betas`` by the reward-model score on validation replies. **ILQL-rerank** is ILQL as a
   reranker instead of a decoder: the TF model's greedy reply and ``n_candidates - 1`` beams, sorted by the ILQL
   model's ``V`` at each reply's end; its top-1 is the value-best candidate. **TF-gold** is the control for the
   extra training the other rows get: TF-top's settings and epochs on the same gold replies without the candidates,
   so TF-top − TF-gold is the effect of the good candidates alone.

The reward model is ``--reward-model DIR`` or, by default, trained once per ``--out`` on the data set's reward file
(Taskmaster-4: 3,228 human 0/1 judgements; ``configs/dialogue/reward_model.yaml`` with a byte-level 2 × 128 model
from scratch: 1,500 steps on 512 bytes in full mode, 200 steps on 384 bytes in quick mode). Rerunning the same
command reuses every finished training run (:mod:`lexiq.evaluation.bench_runs`), candidate file and evaluation.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError, apply_overrides
from lexiq.evaluation.bench_runs import (
    digest,
    fingerprint,
    machine_description,
    preset,
    preset_job,
    sample,
    write_results,
)

METHODS = ("tf", "tf_gold", "tf_top", "dt", "ilql", "ilql_rerank")
OBJECTIVE = {"tf": "bc", "tf_gold": "filtered_bc", "tf_top": "filtered_bc", "dt": "dt", "ilql": "ilql"}
SELECTED = ("tf_gold", "tf_top", "dt")  # the runs that keep their best validation-loss checkpoint (A.7/A.8)
CONFIG = {"tf_gold": "tf_top"}  # the control trains exactly as TF-top, on the gold replies alone
REPORTED = ("reward_model_score", "bertscore_f1", "bleu", "chrf", "rouge_l")
DATASETS = {"taskmaster4": "taskmaster4_reward", "taskmaster3": "taskmaster3_reward"}

QUICK: dict[str, Any] = {
    "train_conversations": 600, "candidate_replies": 240, "validation_replies": 64, "test_replies": 150,
    "seeds": 1, "n_candidates": 5, "positive_rate": 0.3, "ilql_betas": [1.0], "reply_speakers": ["agent"],
    # every continued run trains the same number of epochs over its own data (A.7/A.8: "training identical"),
    # so DT and ILQL, which see all six replies per context, take more steps than TF-top
    "tf_steps": 400, "rl_epochs": 3.2,
    # TF-gold, TF-top and DT keep their best evaluation of the validation replies' loss (Sodhi et al. A.7/A.8)
    "select_evaluations": 8,
    "reward_model": {"path": "small", "tokenizer": "bytes", "steps": 200, "max_length": 384, "lr": 0.001,
                     "shape": {"arch": "llama", "n_layer": 2, "n_embd": 128, "n_head": 4, "n_positions": 384}},
    # 384-byte windows (256 of context, replies up to 128 bytes: 90 % of Taskmaster-4 replies are shorter)
    "max_prompt_tokens": 256, "max_new_tokens": 128,
    "overrides": ["data.max_length=384"], "tf_overrides": ["model.n_positions=384"],
    "generation_batch_size": 16,  # contexts per generate call (candidates and evaluations); larger on a GPU
}
FULL: dict[str, Any] = {
    "train_conversations": None, "candidate_replies": 2000, "validation_replies": 200, "test_replies": 1000,
    "seeds": 2, "n_candidates": 5, "positive_rate": 0.3, "ilql_betas": [0.5, 1.0, 4.0],
    "reply_speakers": ["agent"],
    "tf_steps": 3000, "rl_epochs": 3.2, "select_evaluations": 8,
    # the recipe that beats the majority rate on Taskmaster-4 (docs/benchmarks.md); the MiniLM preset did not
    "reward_model": {"path": "small", "tokenizer": "bytes", "steps": 1500, "max_length": 512, "lr": 0.001,
                     "shape": {"arch": "llama", "n_layer": 2, "n_embd": 128, "n_head": 4, "n_positions": 512}},
    "max_prompt_tokens": 352, "max_new_tokens": 160,
    "generation_batch_size": 16,  # contexts per generate call (candidates and evaluations); larger on a GPU
}

PRETRAINED: dict[str, Any] = FULL | {
    # `--pretrained NAME`: the full mode with TF fine-tuned from a pretrained causal LM (smollm2, or a local HF
    # directory) with its own tokenizer and the paper's windows (spec A.4: the last 96 tokens of context, at most
    # 32 new tokens); the dialogue markers are added special tokens. Sized for a GPU and not run yet: on one CPU
    # thread SmolLM2-135M takes about 20 s per training step (docs/benchmarks.md, IRL).
    "tf_steps": 1500, "max_prompt_tokens": 96, "max_new_tokens": 32, "generation_batch_size": 64,
    "overrides": ["data.max_length=128", "train.lr=0.0001", "decoding.max_new_tokens=32"],
}


def method_config(name: str) -> dict[str, Any]:
    """The packaged YAML preset ``configs/dialogue/<name>.yaml`` (includes resolved)."""
    return preset("dialogue", name)


def _job(name: str, objective: str, out_dir: Path, seed: int, data_path: Path, steps: int,
         extra: dict[str, Any], overrides: list[str]) -> Any:
    return preset_job("dialogue", name, objective, out_dir, seed, data_path, steps, extra, overrides)


def _rl_steps(mode: dict[str, Any], name: str, data_path: Path, overrides: list[str]) -> int:
    """Steps of one continued run: ``mode["rl_steps"]`` if given, else ``rl_epochs`` passes over the episodes
    the run trains on (for a ``return_threshold`` preset, those whose return reaches it)."""
    if mode.get("rl_steps") is not None:
        return int(mode["rl_steps"])
    from lexiq.data.jsonl import iter_episodes

    cfg = method_config(name)
    apply_overrides(cfg, list(overrides))
    threshold = cfg.get("objective", {}).get("return_threshold") if name != "dt" else None
    n = sum(1 for e in iter_episodes(data_path) if threshold is None or e.total_reward >= threshold)
    return max(1, math.ceil(mode["rl_epochs"] * n / int(cfg["train"]["batch_size"])))


def _continued_jobs(mode: dict[str, Any], out_dir: Path, n_seeds: int, overrides: list[str],
                    validation: Path | None) -> list[Any]:
    """Step 3's runs: TF-gold, TF-top, DT and ILQL from each seed's TF model, each for ``rl_epochs`` over its own
    data; with ``validation`` (gold replies) the :data:`SELECTED` runs evaluate their loss on it
    ``select_evaluations`` times and keep the best weights."""
    data_dir = out_dir / "data"
    jobs = []
    for s in range(n_seeds):
        start = {"model": {"path": str(out_dir / f"tf_seed{s}" / "policy"), "tokenizer": None}}
        for name in ("tf_gold", "tf_top", "dt", "ilql"):
            data = data_dir / ("candidate_golds.jsonl" if name == "tf_gold" else f"offline_rl_seed{s}.jsonl")
            steps = _rl_steps(mode, CONFIG.get(name, name), data, overrides)
            extra: dict[str, Any] = dict(start)
            if name in SELECTED and validation is not None:
                extra |= {"data": {"validation": str(validation)},
                          "train": {"eval_every": max(1, math.ceil(steps / mode["select_evaluations"])),
                                    "best_metric": "validation/losses/bc"}}
            jobs.append(_job(CONFIG.get(name, name), OBJECTIVE[name], out_dir / f"{name}_seed{s}", s, data,
                             steps, extra, overrides))
    return jobs


def _evaluate(policy_dir: Path, golds: list[Any], mode: dict[str, Any], reward_model: str, out: Path,
              metrics: tuple[str, ...], beta: float | None = None, reranker: Path | None = None) -> dict[str, Any]:
    """``dialogue_eval`` of one policy (greedy only, or greedy + beams reranked by ``reranker``'s values), cached
    in ``out/summary.json``."""
    from lexiq.evaluation.dialogue_eval import evaluate_dialogue, write_outputs
    from lexiq.run import decoding_from_meta, load_policy

    n_beams = 0 if reranker is None else mode["n_candidates"] - 1
    key = {"policy": fingerprint(policy_dir), "reward_model": fingerprint(Path(reward_model)),
           "golds": digest(golds), "metrics": list(metrics), "beta": beta,
           "max_prompt_tokens": mode["max_prompt_tokens"], "max_new_tokens": mode["max_new_tokens"]}
    if reranker is not None:
        key |= {"reranker": fingerprint(reranker), "beams": n_beams}
    if (out / "summary.json").exists():
        cached = json.loads((out / "summary.json").read_text())
        if cached.get("cache_key") == key:  # same policy, reward model and protocol: reuse
            return cached
    model, tokenizer, fmt = load_policy(str(policy_dir))
    dec = decoding_from_meta(model, {} if beta is None else {"beta": beta})
    summary, rows = evaluate_dialogue(model, tokenizer, fmt, golds, dec, metrics=metrics, n_beams=n_beams,
                                      reward_model=reward_model, max_prompt_tokens=mode["max_prompt_tokens"],
                                      max_new_tokens=mode["max_new_tokens"],
                                      batch_size=mode["generation_batch_size"],
                                      reranker=None if reranker is None else load_policy(str(reranker)))
    summary["beta"] = dec.beta
    summary["cache_key"] = key
    write_outputs(out, summary, rows, name=policy_dir.parent.name)
    return summary


def _candidates(s: int, out_dir: Path, train_golds: list[Any], mode: dict[str, Any], progress: bool
                ) -> dict[str, Any]:
    """Step 2 for seed ``s``: the TF model's beam replies to ``train_golds`` scored against the gold replies, written
    as ``data/offline_rl_seed<s>.jsonl`` with its ``.json`` summary (reused while the TF model and settings are
    the same; runs trained on stale candidates are deleted). Returns the summary."""
    from lexiq.evaluation.bertscore import calibrate_threshold
    from lexiq.evaluation.candidates import generate_replies, offline_rl_episodes, score_replies, split_reply

    data_dir = out_dir / "data"
    path = data_dir / f"offline_rl_seed{s}.jsonl"
    info_path = data_dir / f"offline_rl_seed{s}.json"
    key = {"tf": fingerprint(out_dir / f"tf_seed{s}" / "policy"), "replies": digest(train_golds),
           **{k: mode[k] for k in ("n_candidates", "positive_rate", "max_prompt_tokens", "max_new_tokens")}}
    fresh = path.exists() and info_path.exists() and json.loads(info_path.read_text()).get("cache_key") == key
    if not fresh and path.exists():  # new candidates: the runs trained on the old ones are stale
        import shutil

        for name in ("tf_gold", "tf_top", "dt", "ilql"):
            shutil.rmtree(out_dir / f"{name}_seed{s}", ignore_errors=True)
    if not fresh:
        from lexiq.run import decoding_from_meta, load_policy

        model, tokenizer, fmt = load_policy(str(out_dir / f"tf_seed{s}" / "policy"))
        dec = decoding_from_meta(model, {"strategy": "beam", "num_beams": mode["n_candidates"],
                                         "num_return_sequences": mode["n_candidates"],
                                         "max_new_tokens": mode["max_new_tokens"]})
        contexts = [split_reply(g)[0] for g in train_golds]
        replies = generate_replies(model, tokenizer, fmt, contexts, dec,
                                   batch_size=mode["generation_batch_size"],
                                   max_prompt_tokens=mode["max_prompt_tokens"], progress=progress)
        scores = score_replies(contexts, replies, [split_reply(g)[1].text for g in train_golds],
                               "metric:bertscore_f1")
        flat = [x for xs in scores for x in xs]
        threshold = calibrate_threshold(flat, mode["positive_rate"])
        rewards = [[float(x > threshold) for x in xs] for xs in scores]
        info = {"threshold": threshold, "positive_rate": sum(x > threshold for x in flat) / len(flat),
                "mean_score": statistics.fmean(flat), "replies": len(train_golds), "n": mode["n_candidates"],
                "cache_key": key}
        from lexiq.data.jsonl import write_episodes

        write_episodes(path, offline_rl_episodes(train_golds, replies, rewards))
        info_path.write_text(json.dumps(info, indent=2))
    return json.loads(info_path.read_text())


def _evaluate_method(name: str, s: int, out_dir: Path, val_golds: list[Any], test_golds: list[Any],
                     mode: dict[str, Any], reward_model: str, metrics: tuple[str, ...], dataset: str
                     ) -> dict[str, Any]:
    """Step 4 for one method and seed: its test summary (ILQL: β chosen on the validation replies first)."""
    if name == "ilql_rerank":
        return _evaluate(out_dir / f"tf_seed{s}" / "policy", test_golds, mode, reward_model,
                         out_dir / f"ilql_seed{s}" / "rerank_eval", metrics,
                         reranker=out_dir / f"ilql_seed{s}" / "policy")
    policy = out_dir / f"{name}_seed{s}" / "policy"
    beta = None
    if name == "ilql" and len(mode["ilql_betas"]) == 1:
        beta = mode["ilql_betas"][0]
    elif name == "ilql":
        if not val_golds:
            raise ConfigError(f"{dataset}: no validation replies to choose ILQL's β on")
        sweep = {b: _evaluate(policy, val_golds, mode, reward_model, out_dir / f"ilql_seed{s}" / f"select_beta{b:g}",
                              ("chrf",), beta=b)["reward_model_score"]["mean"]
                 for b in mode["ilql_betas"]}
        beta = max(sweep, key=lambda b: sweep[b])
    return _evaluate(policy, test_golds, mode, reward_model, out_dir / f"{name}_seed{s}" / "dialogue_eval", metrics,
                     beta=beta)


def run_dialogue_benchmark(out: str, dataset: str = "taskmaster4", quick: bool = False, seeds: int | None = None,
                           overrides: list[str] | None = None, reward_model: str | None = None,
                           root: str | None = None, jobs: int = 1, mode_overrides: dict[str, Any] | None = None,
                           metrics: tuple[str, ...] = ("bleu", "chrf", "rouge_l", "bertscore_f1"),
                           pretrained: str | None = None) -> dict[str, Any]:
    """Run the benchmark into ``out``; returns the dict written to ``results.json`` (module docstring).

    ``root`` is the data folder (default: the cache, else ``LEXIQ_DATA_MIRROR``); ``mode_overrides`` replace
    entries of the mode (tests use toy sizes); ``pretrained`` (an offline model name such as ``smollm2``, or a
    local HF directory) is the TF model's starting point, with the :data:`PRETRAINED` settings."""
    from lexiq.data.dialogue import reply_episodes
    from lexiq.data.loaders import load
    from lexiq.evaluation.bench_runs import bench_mode, parallel_calls, run_jobs, write_data_once

    if dataset not in DATASETS:
        raise ConfigError(f"--dataset {dataset}: expected one of {', '.join(DATASETS)}")
    t0 = time.perf_counter()
    if pretrained is not None:
        if quick:
            raise ConfigError("bench dialogue: --quick and --pretrained exclude each other (quick mode trains a "
                              "byte-level model from scratch)")
        from lexiq.models.model import ModelLoadError, check_model_dir
        from lexiq.models.pretrained import OFFLINE_MODELS, resolve

        try:  # before anything is written: an unprepared or missing model is one line
            check_model_dir(resolve(pretrained) if pretrained in OFFLINE_MODELS else pretrained)
        except ModelLoadError as exc:
            raise ConfigError(f"--pretrained {pretrained}: {exc}") from None
        mode_overrides = {**PRETRAINED, "tf_overrides": [f"model.path={pretrained}", "model.tokenizer=null"],
                          **(mode_overrides or {})}
    mode, n_seeds, overrides = bench_mode(QUICK, FULL, quick, mode_overrides, seeds, jobs, overrides)
    if reward_model is not None:
        from lexiq.models.reward_model import is_reward_model_dir

        if not is_reward_model_dir(reward_model):
            raise ConfigError(f"--reward-model {reward_model}: not a lexiq reward model directory (lexiq train "
                              "reward_model writes <output_dir>/reward_model)")
    out_dir = Path(out)
    data_dir = out_dir / "data"
    train_convs = sample(load(dataset, "train", root), mode["train_conversations"], 0)
    speakers = mode.get("reply_speakers")  # the replies that are scored: the paper's are the agent's words

    def scored(convs: list[Any]) -> list[Any]:
        return [g for c in convs for g in reply_episodes(c, reward=1.0, speakers=speakers)]

    val_golds = sample(scored(load(dataset, "validation", root)), mode["validation_replies"], 0)
    test_golds = sample(scored(load(dataset, "test", root)), mode["test_replies"], 1)
    # TF learns every agent turn (API calls too), as plain LM fine-tuning on whole conversations does
    train_replies = [g for c in train_convs for g in reply_episodes(c, reward=1.0)]
    write_data_once(data_dir / "train_replies.jsonl", train_replies)

    # the reward model: given, or trained once on the data set's human judgements
    if reward_model is None:
        rm_mode = mode["reward_model"]
        reward_name = DATASETS[dataset]
        write_data_once(data_dir / "reward_train.jsonl", load(reward_name, "train", root))
        rm_extra: dict[str, Any] = {"model": {"path": rm_mode["path"], "tokenizer": rm_mode["tokenizer"],
                                              **rm_mode.get("shape", {})}}
        if "max_length" in rm_mode:
            rm_extra["data"] = {"max_length": rm_mode["max_length"]}
        if "lr" in rm_mode:  # a from-scratch reward model needs a larger step than the MiniLM fine-tuning preset
            rm_extra["train"] = {"lr": rm_mode["lr"]}
        held_out = load(reward_name, "validation", root)
        if held_out:
            write_data_once(data_dir / "reward_validation.jsonl", held_out)
            rm_extra.setdefault("data", {})["validation"] = str(data_dir / "reward_validation.jsonl")
        rm_job = _job("reward_model", "reward_model", out_dir / "reward_model", 0, data_dir / "reward_train.jsonl",
                      rm_mode["steps"], rm_extra, [])
        rm_result = run_jobs([rm_job], workers=1)[0]
        reward_model = str(out_dir / "reward_model" / "reward_model")
    else:
        rm_result = {"validation": None}

    # 1. TF for every seed
    tf_overrides = overrides + list(mode.get("tf_overrides", []))  # e.g. the backbone of the TF model
    tf_jobs = [_job("tf", "bc", out_dir / f"tf_seed{s}", s, data_dir / "train_replies.jsonl",
                    mode["tf_steps"], {}, tf_overrides) for s in range(n_seeds)]
    run_jobs(tf_jobs, workers=jobs)

    # 2. candidates and their rewards, per seed
    candidate_info: dict[str, Any] = {}
    train_golds = sample(scored(train_convs), mode["candidate_replies"], 2)
    write_data_once(data_dir / "candidate_golds.jsonl", train_golds)
    calls = [(s, out_dir, train_golds, mode, jobs == 1) for s in range(n_seeds)]
    for s, info in enumerate(parallel_calls(_candidates, calls, workers=min(jobs, n_seeds))):
        candidate_info[f"seed{s}"] = info

    # 3. TF-top, DT and ILQL from each seed's TF model
    validation = None
    if mode.get("select_evaluations") and val_golds:
        validation = data_dir / "validation_golds.jsonl"
        write_data_once(validation, val_golds)
    run_jobs(_continued_jobs(mode, out_dir, n_seeds, overrides, validation), workers=jobs)

    # 4. evaluation, ``jobs`` at a time; ILQL first: its β sweep makes it the longest
    order = ["ilql"] + [m for m in METHODS if m != "ilql"]
    calls = [(name, s, out_dir, val_golds, test_golds, mode, reward_model, metrics, dataset)
             for name in order for s in range(n_seeds)]
    per_method: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    for call, summary in zip(calls, parallel_calls(_evaluate_method, calls, workers=jobs), strict=True):
        per_method[call[0]].append(summary)  # seeds in order within each method
    methods_out: dict[str, Any] = {}
    for name, runs in per_method.items():
        entry: dict[str, Any] = {}
        for metric in REPORTED:
            if metric == "reward_model_score":
                cells = [r["reward_model_score"] for r in runs]
            elif metric in runs[0]["metrics"]:
                cells = [r["metrics"][metric]["top1"] for r in runs]
            else:
                continue
            mean = statistics.fmean(c["mean"] for c in cells)
            stderr = (sum(c["stderr"] ** 2 for c in cells) ** 0.5) / len(cells)  # pooled over equal-size seeds
            entry[metric] = {"mean": mean, "stderr": stderr, "seed_means": [c["mean"] for c in cells]}
        entry["betas"] = [r.get("beta", 0.0) for r in runs]
        if name in SELECTED:  # the step each seed's saved weights come from (validation-loss selection)
            run_results = [json.loads((out_dir / f"{name}_seed{s}" / "results.json").read_text())
                           for s in range(n_seeds)]
            entry["selected_steps"] = [r.get("best", {}).get("step", r["steps"]) for r in run_results]
            entry["steps"] = [r["steps"] for r in run_results]
        methods_out[name] = entry
    result = {
        "methods": methods_out,
        "dataset": {"name": dataset, "train_conversations": len(train_convs), "train_replies": len(train_replies),
                    "test_replies": len(test_golds),
                    "validation_replies": len(val_golds)},
        "candidates": candidate_info,
        "reward_model": {"path": reward_model, "validation": rm_result.get("validation")},
        "quick": quick, "pretrained": pretrained, "seeds": n_seeds, "jobs": jobs, "mode": mode,
        "machine": machine_description(),
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, result, _table(result))
    return result


def _table(result: dict[str, Any]) -> str:
    from lexiq.evaluation.bench_runs import machine_line

    ds = result["dataset"]
    names = [m for m in REPORTED if any(m in e for e in result["methods"].values())]
    start = f"TF from {result['pretrained']}, " if result.get("pretrained") else ""
    lines = [f"# Dialogue benchmark: {ds['name']} ({'quick' if result['quick'] else 'full'} mode, {start}"
             f"seeds {result['seeds']})", "",
             f"{ds['train_conversations']} training conversations ({ds.get('train_replies', '?')} replies); "
             f"{ds['test_replies']} test replies; top-1 (greedy) "
             "reply of each method, mean ± s.e. over replies pooled over seeds.", "",
             "| method | " + " | ".join(names) + " | β |", "|---|" + "---|" * (len(names) + 1)]
    for method, e in result["methods"].items():
        cells = [f"{e[n]['mean']:.4f} ± {e[n]['stderr']:.4f}" if n in e else "—" for n in names]
        beta = ", ".join(f"{b:g}" for b in e["betas"]) if method == "ilql" else "—"
        method = "ilql_rerank (TF candidates, ILQL V)" if method == "ilql_rerank" else method
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {beta} |")
    rm = result["reward_model"]
    if rm.get("validation") and "accuracy" in rm["validation"]:
        v = rm["validation"]
        lines += ["", f"Reward model: held-out accuracy {v['accuracy']:.3f} (majority {v['majority_rate']:.3f}), "
                  f"AUC {v['auc']:.3f}."]
    lines += ["", machine_line(result), ""]
    return "\n".join(lines)
