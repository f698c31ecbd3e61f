"""``lexiq bench kl_control``: way-off-policy batch RL of a chat policy with implicit rewards (Jaques et al. 2019).

Jaques et al., "Way Off-Policy Batch Deep Reinforcement Learning of Implicit Human Preferences in Dialog"
(arXiv 1907.00456; ``specs/kl_control.md``). Data: the Taskmaster-4 coffee-ordering chats of ``../shared/data``
with the API traffic removed (customer messages = user turns, the agent's words = bot replies). For every seed:

1. **rewards** of every logged reply with :mod:`lexiq.rewards` (``rewards``/``weights`` of the mode; raw, not
   normalised, so that generated replies are scored on the same scale): by default question asking plus the
   MiniLM semantic coherence between the user's message and the reply — the implicit rewards that can be
   computed for a *generated* reply without a human's answer to it;
2. **prior** ``p``: behaviour cloning of the replies (``configs/kl_control/prior.yaml``; a 2 × 128 byte-level
   GPT-2 from scratch with dropout 0.1), and a second prior from another seed for model averaging;
3. the **Q-learning rows** continue from the prior with ``kl_q`` (Q = the LM's logits; one episode per reply,
   its reward on the reply's end, token-level bootstrapping inside the reply):

   ===========  ===========================================================================================
   batch_q      y = r + γ·max Q̄(s')                    plain batch Q-learning, no KL-control
   psi          y = r + γ·log Σ exp Q̄(s')              Ψ-learning's soft backup, no KL-control
   kl_control   y = r/c + log p(a) − log π(a) + γ·max Q̄(s')   KL-regularised Q-learning (mode kl_q)
   kl_psi_mc    y = r/c + log p(a) + γ·min_m log Σ exp Ψ̄_m(s')   Ψ-learning with KL-control (mode psi),
                M = 5 Monte-Carlo dropout target passes
   model_avg    kl_psi_mc with p = ½·p_1 + ½·p_2, the two priors averaged
   ===========  ===========================================================================================

4. every method answers the same random sample of held-out user turns greedily (argmax of its logits: for the Q
   rows, argmax Q); per method: the implicit **reward** of its replies, **kl_to_prior** (per-token KL(π‖p) along
   its replies, :mod:`lexiq.evaluation.prior_kl`, p = the first prior), **distinct_1/2**, **question_rate**,
   **mean_length** in words and **capped_rate** (replies that hit ``max_new_tokens``), each with its standard
   error (bootstrap for distinct-n).

``results.json``: ``{"methods": {name: {metric: {"mean", "stderr", "seed_means"}}}, ...}``; ``results.md``; and
``results.png`` (reward against KL to the prior). Rerunning the same command reuses every finished training run
(:mod:`lexiq.evaluation.bench_runs`) and evaluation.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError, deep_merge
from lexiq.evaluation.bench_runs import machine_description, write_results

METHODS = ("prior", "batch_q", "psi", "kl_control", "kl_psi_mc", "model_avg")
# every row's Q is the logits minus the starting model's log-normaliser (kl_q.py: "Normalised Q"), so the rows
# differ only in their targets
Q_OBJECTIVES: dict[str, dict[str, Any]] = {
    "batch_q": {"mode": "upstream", "kl_calc": "none", "backup": "max", "upstream_data_quirks": False,
                "q_normalizer": "start"},
    "psi": {"mode": "upstream", "kl_calc": "none", "backup": "logsumexp", "upstream_data_quirks": False,
            "q_normalizer": "start"},
    "kl_control": {"mode": "kl_q"},
    "kl_psi_mc": {"mode": "psi", "mc_passes": 5},
    "model_avg": {"mode": "psi", "mc_passes": 5},
}
REPORTED = ("reward", "kl_to_prior", "distinct_1", "distinct_2", "question_rate", "mean_length", "capped_rate")

QUICK: dict[str, Any] = {
    "train_conversations": 600, "test_replies": 120, "seeds": 1, "prior_steps": 300, "rl_steps": 200,
    "rewards": ["question", "semantic_coherence"], "weights": [1.0, 1.0],
    # 256-byte windows: 160 of context, replies up to 96 bytes (the Taskmaster-4 agent replies: median 59 bytes,
    # 90 % at most 97)
    "max_prompt_tokens": 160, "max_new_tokens": 96,
    "overrides": ["data.max_length=256"], "prior_overrides": ["model.n_positions=256"],
    "generation_batch_size": 16,  # user turns per generate call in the evaluation
}
FULL: dict[str, Any] = {
    "train_conversations": None, "test_replies": 500, "seeds": 2, "prior_steps": 2000, "rl_steps": 1000,
    "rewards": ["question", "semantic_coherence"], "weights": [1.0, 1.0],
    "max_prompt_tokens": 288, "max_new_tokens": 96,
    "generation_batch_size": 16,  # user turns per generate call in the evaluation
}


def chat_view(conversation: Any) -> Any:
    """The conversation without its API traffic (``api_call`` agent turns, ``api`` environment turns)."""
    turns = [t for t in conversation.turns if t.speaker not in ("api_call", "api")]
    return dataclasses.replace(conversation, turns=turns)


def reply_data(conversations: list[Any], names: list[str], weights: list[float]) -> tuple[list[Any], list[Any]]:
    """(one-step episodes, exchanges) of every agent reply, each episode's reward the weighted raw rewards of its
    exchange (:func:`lexiq.rewards.compute.compute_rewards`)."""
    from lexiq.data.dialogue import reply_episodes
    from lexiq.data.interaction import episode_chat
    from lexiq.rewards.compute import compute_rewards

    episodes, chats = [], []
    for conv in conversations:
        chat = chat_view(conv)
        eps = reply_episodes(chat, speakers=["agent"])
        exchanges = episode_chat(chat)
        if len(eps) != len(exchanges):  # both walk the same agent turns in order
            raise RuntimeError(f"{conv.meta}: {len(eps)} replies but {len(exchanges)} exchanges")
        episodes += eps
        chats.append(exchanges)
    _, total = compute_rewards(chats, names, weights, normalise=False, progress=True)
    out = []
    for ep, r in zip(episodes, total, strict=True):
        reply = dataclasses.replace(ep.turns[-1], reward=float(r))
        out.append(dataclasses.replace(ep, turns=[*ep.turns[:-1], reply]))
    return out, [ex for chat in chats for ex in chat]


def score_replies(exchanges: list[Any], replies: list[str], names: list[str], weights: list[float]) -> list[float]:
    """The weighted raw rewards of ``replies`` given in place of the logged ones (same user messages)."""
    from lexiq.rewards.compute import compute_rewards

    rows = [[dataclasses.replace(ex, bot=r, next_user="", chat_id=str(i), index=0, done=True)]
            for i, (ex, r) in enumerate(zip(exchanges, replies, strict=True))]
    return compute_rewards(rows, names, weights, normalise=False)[1]


def _evaluate(policy_dir: Path, prior_dir: Path, contexts: list[Any], exchanges: list[Any], mode: dict[str, Any],
              out: Path, test_key: str, progress: bool = True) -> dict[str, Any]:
    """Greedy replies of one policy and their statistics, cached in ``out/summary.json``."""
    from lexiq.evaluation.bench_runs import fingerprint
    from lexiq.evaluation.candidates import generate_replies
    from lexiq.evaluation.chat_metrics import reply_statistics
    from lexiq.evaluation.metrics import mean_with_stderr
    from lexiq.evaluation.prior_kl import kl_to_prior
    from lexiq.run import decoding_from_meta, load_policy

    key = {"policy": fingerprint(policy_dir), "prior": fingerprint(prior_dir), "test": test_key,
           **{k: mode[k] for k in ("rewards", "weights", "max_prompt_tokens", "max_new_tokens")}}
    if (out / "summary.json").exists():
        cached = json.loads((out / "summary.json").read_text())
        if cached.get("cache_key") == key:
            return cached
    model, tokenizer, fmt = load_policy(str(policy_dir))
    prior, _, _ = load_policy(str(prior_dir))
    dec = decoding_from_meta(model, {"strategy": "greedy", "beta": 0.0, "max_new_tokens": mode["max_new_tokens"]})
    replies = [r[0] for r in generate_replies(model, tokenizer, fmt, contexts, dec,
                                              batch_size=mode["generation_batch_size"],
                                              max_prompt_tokens=mode["max_prompt_tokens"], progress=progress)]
    rewards = score_replies(exchanges, replies, mode["rewards"], mode["weights"])
    kls = kl_to_prior(model.lm, prior.lm, tokenizer, fmt, contexts, replies,
                      max_length=mode["max_prompt_tokens"] + mode["max_new_tokens"])
    capped = [float(len(tokenizer(r, add_special_tokens=False)["input_ids"]) >= mode["max_new_tokens"])
              for r in replies]
    summary: dict[str, Any] = {"reward": mean_with_stderr(rewards), "kl_to_prior": mean_with_stderr(kls),
                               **reply_statistics(replies), "capped_rate": mean_with_stderr(capped),
                               "n": len(replies), "cache_key": key}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "replies.jsonl", "w") as f:
        for ex, r, rw, kl in zip(exchanges, replies, rewards, kls, strict=True):
            f.write(json.dumps({"user": ex.previous_user, "logged": ex.bot, "reply": r, "reward": rw,
                                "kl_to_prior": kl}) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def run_kl_control_benchmark(out: str, quick: bool = False, seeds: int | None = None,
                             overrides: list[str] | None = None, root: str | None = None, jobs: int = 1,
                             mode_overrides: dict[str, Any] | None = None,
                             methods: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark into ``out``; returns the dict written to ``results.json`` (module docstring).

    ``methods``: the rows to train and evaluate (default all of :data:`METHODS`; the prior is always one).

    ``root`` is the data folder (default: the cache, else ``LEXIQ_DATA_MIRROR``); ``overrides`` reach every
    training run (``key=value``); ``mode_overrides`` replace entries of the mode (tests use toy sizes)."""
    from lexiq.data.loaders import load
    from lexiq.evaluation.bench_runs import (
        bench_mode,
        digest,
        parallel_calls,
        preset_job,
        run_jobs,
        sample,
        write_data_once,
    )

    t0 = time.perf_counter()
    mode, n_seeds, overrides = bench_mode(QUICK, FULL, quick, mode_overrides, seeds, jobs, overrides)
    unknown = sorted(set(methods or []) - set(METHODS))
    if methods is not None and not methods:
        raise ConfigError(f"--methods: expected at least one of {', '.join(METHODS)}")
    if unknown:
        raise ConfigError(f"--methods {','.join(unknown)}: expected some of {', '.join(METHODS)}")
    rows = [m for m in METHODS if m == "prior" or methods is None or m in methods]
    if len(mode["weights"]) != len(mode["rewards"]):
        raise ConfigError(f"{len(mode['weights'])} weights for the rewards {mode['rewards']}")
    out_dir = Path(out)
    data_dir = out_dir / "data"
    train_convs = sample(load("taskmaster4", "train", root), mode["train_conversations"], 0)
    train_eps, train_exchanges = reply_data(train_convs, mode["rewards"], mode["weights"])
    write_data_once(data_dir / "train.jsonl", train_eps)
    test_eps, test_exchanges = reply_data(load("taskmaster4", "test", root), mode["rewards"], mode["weights"])
    picked = sample(list(range(len(test_eps))), mode["test_replies"], 1)
    test_eps = [test_eps[i] for i in picked]
    test_exchanges = [test_exchanges[i] for i in picked]
    write_data_once(data_dir / "test.jsonl", test_eps)
    contexts = [e.turns[:-1] for e in test_eps]
    test_key = digest(test_eps)

    # 1. the priors (a second one per seed for model averaging), 2. the Q-learning rows from the first
    prior_jobs = []
    train_file = data_dir / "train.jsonl"
    prior_overrides = list(mode.get("prior_overrides", [])) + overrides
    for s in range(n_seeds):
        for name, seed in ((f"prior_seed{s}", s), (f"prior_b_seed{s}", 1000 + s))[:2 if "model_avg" in rows else 1]:
            prior_jobs.append(preset_job("kl_control", "prior", "bc", out_dir / name, seed, train_file,
                                         mode["prior_steps"], {}, prior_overrides))
    run_jobs(prior_jobs, workers=jobs)
    q_jobs = []
    for s in range(n_seeds):
        start = {"model": {"path": str(out_dir / f"prior_seed{s}" / "policy"), "tokenizer": None}}
        for name, objective in Q_OBJECTIVES.items():
            if name not in rows:
                continue
            extra = deep_merge(start, {"objective": objective})
            if name == "model_avg":
                extra["objective"]["prior_paths"] = [str(out_dir / f"prior_seed{s}" / "policy"),
                                                     str(out_dir / f"prior_b_seed{s}" / "policy")]
                extra["objective"]["prior_weights"] = [0.5, 0.5]
            q_jobs.append(preset_job("kl_control", "kl_q", "kl_q", out_dir / f"{name}_seed{s}", s, train_file,
                                     mode["rl_steps"], extra, overrides))
    run_jobs(q_jobs, workers=jobs)

    # 3. evaluation, ``jobs`` at a time
    calls = [(out_dir / f"{name}_seed{s}" / "policy", out_dir / f"prior_seed{s}" / "policy", contexts,
              test_exchanges, mode, out_dir / f"{name}_seed{s}" / "chat_eval", test_key, jobs == 1)
             for name in rows for s in range(n_seeds)]
    summaries = iter(parallel_calls(_evaluate, calls, workers=jobs))  # ``jobs`` evaluations at a time
    per_method = {name: [next(summaries) for _ in range(n_seeds)] for name in rows}
    methods_out: dict[str, Any] = {}
    for name, runs in per_method.items():
        methods_out[name] = {}
        for metric in REPORTED:
            cells = [r[metric] for r in runs]
            methods_out[name][metric] = {
                "mean": statistics.fmean(c["mean"] for c in cells),
                "stderr": (sum(c["stderr"] ** 2 for c in cells) ** 0.5) / len(cells),  # equal-size seeds
                "seed_means": [c["mean"] for c in cells]}
    logged = score_replies(test_exchanges, [e.bot for e in test_exchanges], mode["rewards"], mode["weights"])
    from lexiq.evaluation.chat_metrics import reply_statistics
    from lexiq.evaluation.metrics import mean_with_stderr

    result = {
        "methods": methods_out,
        "logged_replies": {"reward": mean_with_stderr(logged), **reply_statistics([e.bot for e in test_exchanges])},
        "dataset": {"name": "taskmaster4", "train_conversations": len(train_convs), "train_replies": len(train_eps),
                    "test_replies": len(test_eps)},
        "objectives": Q_OBJECTIVES, "quick": quick, "seeds": n_seeds, "jobs": jobs, "mode": mode,
        "machine": machine_description(),
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, result, _table(result))
    _plot(result, out_dir / "results.png")
    return result


def _table(result: dict[str, Any]) -> str:
    from lexiq.evaluation.bench_runs import machine_line

    ds = result["dataset"]
    lines = [f"# KL-control benchmark: {ds['name']} ({'quick' if result['quick'] else 'full'} mode, "
             f"seeds {result['seeds']})", "",
             f"{ds['train_conversations']} training chats ({ds['train_replies']} replies); {ds['test_replies']} "
             f"held-out user turns answered greedily; reward = {' + '.join(result['mode']['rewards'])} (raw); "
             "mean ± s.e. (pooled over seeds).", "",
             "| method | " + " | ".join(REPORTED) + " |", "|---|" + "---|" * len(REPORTED)]
    for method, e in result["methods"].items():
        lines.append(f"| {method} | " + " | ".join(f"{e[m]['mean']:.3f} ± {e[m]['stderr']:.3f}" for m in REPORTED)
                     + " |")
    logged = result["logged_replies"]
    lines.append("| (logged replies) | " + " | ".join(
        f"{logged[m]['mean']:.3f} ± {logged[m]['stderr']:.3f}" if m in logged else "—" for m in REPORTED) + " |")
    lines += ["", machine_line(result), ""]
    return "\n".join(lines)


def _plot(result: dict[str, Any], path: Path) -> None:
    """Reward against KL to the prior, one point per method with standard-error bars."""
    from lexiq.evaluation.bench_runs import errorbar_plot

    points = {name: (e["kl_to_prior"]["mean"], e["kl_to_prior"]["stderr"], e["reward"]["mean"], e["reward"]["stderr"])
              for name, e in result["methods"].items()}
    errorbar_plot(points, path, "KL(π‖prior) per token (nats)", "implicit reward of greedy replies",
                  "KL-control on Taskmaster-4 chats", annotate=True,
                  hline=(result["logged_replies"]["reward"]["mean"], "logged replies"))
