"""From a run configuration to a trained, evaluated policy: the glue the CLI and the benchmarks call.

``run_training(objective_name, cfg)`` loads episodes, lets the objective select them, tokenises them into the
token MDP, builds/loads the model, trains with :func:`lexiq.train.train`, saves the policy to
``<output_dir>/policy`` (a plain ``save_pretrained`` directory plus lexiq heads) and, if an environment is
configured, evaluates it (with a β sweep for value-based objectives) into ``<output_dir>/results.json``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lexiq.config import ConfigError, from_dict, to_dict
from lexiq.decoding.config import DecodingConfig
from lexiq.models.presets import ModelConfig
from lexiq.objectives import get_objective
from lexiq.train import TrainConfig


@dataclass
class DataConfig:
    """Training data."""

    train: str = ""
    """JSONL file of training episodes (docs/data-format.md)."""
    validation: str = ""
    """JSONL file of held-out episodes: the objective's metrics on them are logged at every evaluation (under
    eval/validation/) and saved in results.json (reward models: accuracy, AUC, majority rate)."""
    format: Literal["auto", "wordle", "dialogue", "chat_template"] = "auto"
    """Turn markers: 'wordle' (<a> </a> </s> </eod>, the ILQL paper), 'dialogue' (<_soc_> <_cus_start_> ...
    <_rep_start_> ... <_rep_end_>, Sodhi et al. 2023; added to the tokenizer as special tokens), 'chat_template'
    (the model's own chat template: customer/API turns as user, agent turns as assistant) or 'auto' (the
    tokenizer's bos/eos)."""
    max_length: int | None = None
    """Maximum tokens per episode (None = no limit)."""
    truncation: Literal["error", "drop_turns", "left", "left_tokens"] = "error"
    """What to do with longer episodes: error, drop whole trailing turns, drop whole leading turns, or keep the
    last max_length tokens (left_tokens: cuts inside a turn, never fails on a long reply)."""
    limit: int | None = None
    """Use only the first N episodes of the file."""


@dataclass
class EvalConfig:
    """Environment rollouts after training."""

    env: str | None = None
    """Environment to evaluate in ('wordle', 'messenger', 'visdial', or 'remote' for a served one); None = no
    rollouts."""
    env_options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the environment (for Wordle: vocab, mode, feedback, ...; for remote: url and the served
    environment's options)."""
    episodes: int = 512
    """Evaluation episodes (seeds seed .. seed+episodes-1); 0 = train only, no rollouts."""
    batch_size: int = 128
    """Games decoded together."""
    seed: int = 100_000
    """First evaluation seed."""
    betas: list[float] = field(default_factory=list)
    """β values to sweep for value-based objectives; the best on `select_episodes` separate games is reported."""
    select_episodes: int = 128
    """Games (seeds from seed + 1,000,000) used to choose β; never reused for the reported numbers."""


@dataclass
class RunConfig:
    """A whole training run. The `objective` section holds the fields of the chosen objective's config."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    objective: dict[str, Any] = field(default_factory=dict)


def parse_run_config(objective_name: str, data: dict[str, Any]) -> tuple[RunConfig, Any]:
    """(RunConfig, objective config) from a nested dict; unknown keys fail with a one-line error."""
    data = dict(data)
    data.pop("name", None)
    data.pop("objective_name", None)  # written into config.yaml by run_training
    obj_cls = get_objective(objective_name)
    obj_fields = data.get("objective", {}) or {}
    cfg = from_dict(RunConfig, data)
    obj_cfg = from_dict(obj_cls.config_class, obj_fields, prefix="objective.")
    return cfg, obj_cfg


def episode_format(cfg: DataConfig, tokenizer: Any) -> Any:
    """The configured markers; the dialogue markers are added to ``tokenizer`` as special tokens if missing (the
    model's embeddings are then resized when it is built)."""
    from lexiq.data.token_mdp import EpisodeFormat

    if cfg.format == "wordle":
        return EpisodeFormat.wordle()
    if cfg.format == "auto":
        return EpisodeFormat.for_tokenizer(tokenizer)
    if cfg.format == "dialogue":
        fmt = add_marker_tokens(tokenizer, EpisodeFormat.dialogue())
    else:
        fmt = EpisodeFormat.from_chat_template(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or fmt.agent_end
    return fmt


def add_marker_tokens(tokenizer: Any, fmt: Any, base: Any = None) -> Any:
    """Add the markers of ``fmt`` that ``tokenizer`` lacks as special tokens (returns ``fmt``); with ``base``, only
    those that ``fmt`` adds to it (an objective's extra markers on top of a chat template's multi-token ones)."""
    vocab = tokenizer.get_vocab()
    known = set(base.marker_tokens) if base is not None else set()
    missing = [t for t in fmt.marker_tokens if t not in vocab and t not in known]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
    return fmt


def make_env_factory(ecfg: EvalConfig) -> Any:
    if ecfg.env is None:
        return None
    from lexiq.envs import make

    options = dict(ecfg.env_options)
    try:  # build one now so that a bad name or option fails before any training or rollout
        make(ecfg.env, **options).close()
    except (TypeError, ValueError, OSError) as exc:
        raise ConfigError(f"eval.env={ecfg.env} eval.env_options={options}: {exc}") from None
    return lambda: make(ecfg.env, **options)


def check_eval_decoding(decoding: DecodingConfig, ecfg: EvalConfig) -> None:
    """Reject evaluation settings that cannot work before any work is done.

    Rollouts play one action per turn (``num_return_sequences`` must be 1) and need at least one game.
    """
    if ecfg.episodes < 0 or ecfg.select_episodes < 1:
        raise ConfigError(f"eval.episodes={ecfg.episodes}, eval.select_episodes={ecfg.select_episodes}: expected "
                          "episodes >= 0 (0 = no rollouts) and select_episodes >= 1")
    if ecfg.env is not None and decoding.num_return_sequences != 1:
        raise ConfigError(f"decoding.num_return_sequences={decoding.num_return_sequences}: evaluation plays one "
                          "action per turn, so it must be 1 (use lexiq generate for several samples)")


def evaluate_policy(model: Any, tokenizer: Any, fmt: Any, decoding: DecodingConfig, ecfg: EvalConfig,
                    betas: list[float] | None = None, progress: bool = False) -> dict[str, Any]:
    """Roll out the policy; with ``betas`` choose β on separate seeds first. Returns summary metrics."""
    check_eval_decoding(decoding, ecfg)
    if ecfg.episodes < 1:
        raise ConfigError(f"eval.episodes={ecfg.episodes}: evaluation needs at least one game")
    from lexiq.evaluation.metrics import summarize
    from lexiq.evaluation.rollout import LMPolicy, rollout

    make_env = make_env_factory(ecfg)
    was_training = model.training
    model.eval()
    sweep: dict[str, dict[str, float]] = {}
    chosen = decoding
    if betas and model.heads is not None:
        best = None
        for beta in betas:
            dec = dataclasses.replace(decoding, beta=float(beta))
            eps = rollout(make_env, LMPolicy(model, tokenizer, fmt, dec), ecfg.select_episodes,
                          seed=ecfg.seed + 1_000_000, batch_size=ecfg.batch_size)
            stats = summarize(eps)
            sweep[str(beta)] = stats
            if best is None or stats["mean_return"] > best[0]:
                best = (stats["mean_return"], dec)
        assert best is not None
        chosen = best[1]
    elif model.heads is None:
        chosen = dataclasses.replace(decoding, beta=0.0)
    episodes = rollout(make_env, LMPolicy(model, tokenizer, fmt, chosen), ecfg.episodes, seed=ecfg.seed,
                       batch_size=ecfg.batch_size, progress=progress)
    out: dict[str, Any] = summarize(episodes)
    out["beta"] = chosen.beta
    if sweep:
        out["beta_sweep"] = sweep
    if was_training:
        model.train()
    return out


def run_record(objective_name: str, cfg: RunConfig, obj_cfg: Any) -> dict[str, Any]:
    """The plain dict a run writes to ``config.yaml`` (``lexiq train <objective_name> --config`` reads it back)."""
    return {"objective_name": objective_name, **to_dict(cfg), "objective": to_dict(obj_cfg)}


def run_training(objective_name: str, cfg: RunConfig, obj_cfg: Any, evaluate: bool = True) -> dict[str, Any]:
    """Train ``objective_name`` as configured; returns the summary written to ``results.json``."""
    from lexiq.config import dump_yaml
    from lexiq.data.collate import collate_mdp
    from lexiq.data.jsonl import read_episodes
    from lexiq.data.token_mdp import TokenizedDataset
    from lexiq.models.presets import load_tokenizer
    from lexiq.train import train

    if not cfg.data.train:
        raise ConfigError("data.train: expected the path of a JSONL file of episodes")
    objective = get_objective(objective_name)(obj_cfg)
    if cfg.eval.env is not None and not objective.uses_environment:
        raise ConfigError(f"eval.env={cfg.eval.env}: {objective_name} trains no policy to roll out; set eval.env=null "
                          "(held-out metrics come from data.validation)")
    make_env_factory(cfg.eval)  # validates the evaluation environment up front
    check_eval_decoding(cfg.decoding, cfg.eval)
    episodes = read_episodes(cfg.data.train)
    if cfg.data.limit is not None:
        episodes = episodes[: cfg.data.limit]
    selected = objective.prepare_episodes(episodes)
    tokenizer = load_tokenizer(cfg.model)
    base_fmt = episode_format(cfg.data, tokenizer)
    fmt = add_marker_tokens(tokenizer, objective.extend_format(base_fmt), base=base_fmt)
    record_of = {id(ep): i for i, ep in enumerate(episodes)}  # errors name the record in the data file
    # a selecting objective returns (a subset of) the input objects, a transforming one 1:1 copies in order
    names = [f"{cfg.data.train}: episode {record_of.get(id(ep), i)}" for i, ep in enumerate(selected)]
    dataset = TokenizedDataset(selected, tokenizer, fmt, gamma=obj_cfg.gamma, max_length=cfg.data.max_length,
                               truncation=cfg.data.truncation, names=names)
    validation = None
    if cfg.data.validation:
        raw = read_episodes(cfg.data.validation)
        held_out = objective.prepare_validation(raw)
        raw_record = {id(ep): i for i, ep in enumerate(raw)}
        validation = TokenizedDataset(held_out, tokenizer, fmt, gamma=obj_cfg.gamma, max_length=cfg.data.max_length,
                                      truncation=cfg.data.truncation,
                                      names=[f"{cfg.data.validation}: episode {raw_record.get(id(ep), i)}"
                                             for i, ep in enumerate(held_out)])
    from accelerate.utils import set_seed

    set_seed(cfg.train.seed)  # model initialisation is part of the run's seed
    model = objective.build_model(cfg.model, tokenizer)
    model.meta.update({"objective": objective_name, "episode_format": fmt.to_dict(),
                       "decoding": to_dict(cfg.decoding), "max_length": cfg.data.max_length,
                       **objective.model_meta()})
    from lexiq.train import process_state

    main_process = process_state().is_main_process
    out = Path(cfg.train.output_dir)
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
        dump_yaml(run_record(objective_name, cfg, obj_cfg), out / "config.yaml")
    pad_id = tokenizer.pad_token_id

    def collate(items: list[Any]) -> Any:
        return collate_mdp(items, pad_id)

    periodic = None
    rollouts_during_training = cfg.eval.env is not None and bool(cfg.train.eval_every)
    if rollouts_during_training or validation is not None:
        def periodic(m: Any, step: int) -> dict[str, float]:
            if not main_process:
                return {}
            stats: dict[str, float] = {}
            if validation is not None:
                stats |= {f"validation/{k}": v for k, v in
                          validate(objective, m, validation, collate, cfg.train.batch_size).items()}
            if rollouts_during_training:
                quick = dataclasses.replace(cfg.eval, episodes=cfg.eval.select_episodes,
                                            seed=cfg.eval.seed + 2_000_000)
                rolled = evaluate_policy(m, tokenizer, fmt, cfg.decoding, quick)
                stats |= {k: v for k, v in rolled.items() if isinstance(v, float)}
            return stats

    summary = train(objective, model, dataset, collate, cfg.train, evaluate=periodic,
                    run_config={"objective": objective_name, **to_dict(cfg)})
    result: dict[str, Any] = {
        "objective": objective_name, "train_seconds": summary["train_seconds"], "steps": summary["steps"],
        "train_episodes": len(selected), "data_episodes": len(episodes), "final_metrics": summary["metrics"],
        "num_processes": summary["num_processes"], "resumed_from": summary["resumed_from"],
    }
    if "best" in summary:  # train.best_metric: the saved weights are those of this evaluation
        result["best"] = summary["best"]
    if getattr(objective, "cutoff", None) is not None:
        result["return_cutoff"] = objective.cutoff
    if validation is not None:  # the trainer's last evaluation ran after the final step
        result["validation"] = {k.removeprefix("validation/"): v for k, v in summary.get("eval", {}).items()
                                if k.startswith("validation/")}
    if not main_process:
        return result
    if evaluate and cfg.eval.env is not None and cfg.eval.episodes > 0:
        betas = cfg.eval.betas if objective.uses_heads else None
        result["eval"] = evaluate_policy(model, tokenizer, fmt, cfg.decoding, cfg.eval, betas=betas,
                                         progress=cfg.train.progress)
        model.meta["decoding"]["beta"] = result["eval"]["beta"]  # the saved policy decodes as evaluated
    model.save_pretrained(out / objective.artifact, tokenizer=tokenizer)
    (out / "results.json").write_text(json.dumps(result, indent=2))
    return result


def validate(objective: Any, model: Any, dataset: Any, collate: Any, batch_size: int) -> dict[str, float]:
    """The objective's held-out metrics on ``dataset`` (in order, on the model's device, this process only)."""
    from torch.utils.data import DataLoader

    device = next(model.parameters()).device
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    batches = ({k: v.to(device) for k, v in batch.items()} for batch in loader)
    return objective.evaluate(model, batches)


def load_policy(path: str, device: str | None = None) -> tuple[Any, Any, Any]:
    """(model, tokenizer, episode format) of a saved policy directory, in eval mode on ``device`` (default:
    :func:`lexiq.models.device.default_device`)."""
    from lexiq.data.token_mdp import EpisodeFormat
    from lexiq.models.model import LexiqModel, check_model_dir

    check_model_dir(path)
    from transformers import AutoTokenizer

    model = LexiqModel.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    fmt_fields = model.meta.get("episode_format")
    fmt = EpisodeFormat.from_dict(fmt_fields) if fmt_fields else EpisodeFormat.for_tokenizer(tokenizer)
    from lexiq.models.device import default_device

    model.to(device or default_device()).eval()
    return model, tokenizer, fmt


def decoding_from_meta(model: Any, overrides: dict[str, Any]) -> Any:
    """The decoding settings saved with the policy, updated by ``overrides`` (β forced to 0 without heads)."""
    base = dict(model.meta.get("decoding", {}))
    if model.heads is None:
        base["beta"] = 0.0  # a policy without value heads decodes from π_β alone
    base.update(overrides)
    if model.heads is None and base.get("beta"):
        raise ConfigError(f"decoding.beta={base['beta']}: this policy has no value heads (train it with ilql or "
                          "mc_returns for Q-guided decoding)")
    return from_dict(DecodingConfig, base, prefix="decoding.")
