"""``lexiq bench messenger``: tabula-rasa PPO, LDD's initialisation, LDD, and behaviour cloning on Messenger.

Zhong et al., "Improving Policy Learning via Language Dynamics Distillation" (NeurIPS 2022;
``specs/ldd_messenger.md`` Part A), on lexiq's Messenger (``docs/messenger.md``). Steps:

1. record expert demonstrations with the scripted expert (``demo_episodes`` on the ``demo_split`` games,
   ``val_demo_episodes`` on ``val``; :mod:`lexiq.agents.messenger.demos`) and measure the expert on the
   held-out evaluation games;
2. train a dynamics model (the teacher, :mod:`lexiq.agents.messenger.dynamics`) on them for every seed, with
   that seed (``dynamics/`` for seed 0, ``dynamics_seed<s>/`` for the others): the teacher's own variance is
   part of the seeds' spread of ``init_only`` and ``ldd`` (in stage 1 two teachers a few points of occupied-cell
   accuracy apart gave held-out win rates of 0.55 and 0.28 — ``docs/benchmarks.md``); with ``teachers`` K > 1
   (``--teachers``) K candidates per seed train (:func:`teacher_seed`) and the best on the validation
   demonstrations teaches (:func:`choose_teacher`; in stage 2 no seed failed with K = 2, one of three did with K = 1);
3. for every seed, train the four methods with PPO (:mod:`lexiq.agents.messenger.ppo`) for the same number of
   environment steps, evaluating greedy + 5 % random on ``eval_episodes`` **test** games every ``eval_every``
   steps (and on as many training games, and on ``select_episodes`` **validation** games that choose the
   checkpoint a run keeps — EMMA's and LDD's protocol; the test games never choose anything):

   * ``tabula_rasa`` — PPO from a fresh EMMA;
   * ``init_only`` — PPO from the dynamics model's EMMA weights (LDD's initialisation alone, A.4.1);
   * ``ldd`` — initialisation + the distillation term β·MSE(h_policy, h_teacher) in every PPO minibatch;
   * ``bc`` — behaviour cloning of the expert's actions on the same demonstrations, then PPO from that policy
     (its curve's first point is BC alone; BC uses the actions, which LDD never sees);

4. write ``results.json`` (``{"methods": {name: {"steps", "win_rate_mean", "win_rate_stderr", "final_win_rate":
   {"mean", "stderr"}, "train_games_win_rate_mean", ...}}, "expert_win_rate", "dynamics", ...}``),
   ``results.md`` and ``winrate.png`` (win rate against environment steps, mean ± standard error over seeds;
   test games, training games, and the test-game win rate of the checkpoint chosen on validation games so far).
   ``final_win_rate`` is the last policy's; ``selected_win_rate`` that of each run's best validation checkpoint
   (:func:`lexiq.agents.messenger.ppo.selection`).

The dynamics model trains alongside the first tabula-rasa and BC runs (``--jobs``); finished pieces (demonstrations,
dynamics model, runs) of the same configuration are reused when the command is run again, and an interrupted PPO
run continues from its last evaluation (``resume.pt``, :mod:`~lexiq.agents.messenger.ppo`). ``--quick`` is stage 1
with a small EMMA (sized to finish in about 25 minutes, an estimate from the timed pieces, with ``--seeds 3
--jobs 2`` on 2 CPU cores); ``--quick --stage
2`` keeps the small EMMA and changes PPO for episodes longer than a rollout (``stage_config``: GAE returns, γ 0.99,
a 32-step cap, 2M steps: about 18 minutes per run on one thread); the full mode is stage 2 with the paper's EMMA
sizes.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lexiq.config import ConfigError, apply_overrides, deep_merge, from_dict
from lexiq.evaluation.bench_runs import machine_description, write_results

METHODS = ("tabula_rasa", "init_only", "ldd", "bc")

QUICK: dict[str, Any] = {
    # stage 1 with a small EMMA: one run (150k env steps) takes 2-2.5 minutes on one thread and a 12,000-step
    # teacher 5-8 minutes (session 20; 4,000 steps: 12 runs + 3 teachers, 2 at a time on 2 cores, took 18 min 45 s)
    "stage": 1, "seeds": 3, "teachers": 1, "demo_split": "train", "demo_episodes": 4000, "val_demo_episodes": 500,
    "config": {
        # MiniLM sentence keys (encoded once, cached): with learned 32-d words no method generalised to the test
        # games (docs/benchmarks.md, Messenger); word_dim is used by emma.text=learned
        "emma": {"embed_dim": 16, "conv_channels": 16, "hidden": 64, "word_dim": 32, "text": "minilm"},
        # stage 1's entities never move, so the teacher predicts the avatar's next cell alone (where the expert
        # goes, which only the manual tells): predicting the entity layers too made its trunk carry entity
        # identities, and PPO from it fitted the training games' entity-role pairs (docs/benchmarks.md, session 18)
        # 12,000 steps (about 6 epochs, best checkpoint on validation): at 4,000 the validation occupied-cell
        # accuracy was still rising, and LDD's stage-1 plateau follows its teacher (docs/benchmarks.md, session 20)
        "dynamics": {"lr": 3e-3, "steps": 12_000, "eval_every": 250, "predict_avatar": True,
                     "predict_entities": False},
        "bc": {"lr": 1e-3, "steps": 1000, "batch_size": 64},
        "ppo": {"n_envs": 32, "rollout_steps": 8, "lr": 5e-4, "total_steps": 150_000, "eval_every": 15_000,
                "eval_episodes": 200, "eval_train_episodes": 200, "select_episodes": 200},
    },
    # --quick --stage 2/3: episodes last 10-30 steps, longer than a rollout, so returns bootstrap with the critic
    # (GAE, γ 0.99 as EMMA's stage 2): upstream's unbootstrapped Monte-Carlo returns over an 8-step rollout never
    # see a reward more than 8 steps ahead, and nothing was learned in 1.5M steps (docs/benchmarks.md). The cap 32
    # lets the scripted expert win 0.985 of stage-2 test games (1.000 at 64, 0.255 at LDD's 10).
    "stage_config": {
        2: {"dynamics": {"predict_entities": True},  # moving entities: their next cells depend on the manual
            "ppo": {"returns": "gae", "gamma": 0.99, "rollout_steps": 16, "max_steps": 32,
                    "total_steps": 2_000_000, "eval_every": 200_000}},
        3: {"dynamics": {"predict_entities": True},
            "ppo": {"returns": "gae", "gamma": 0.99, "rollout_steps": 16, "total_steps": 2_000_000,
                    "eval_every": 200_000}},
    },
}
FULL: dict[str, Any] = {
    # stage 2, the paper's EMMA sizes (256 / 64 / 128) and LDD's demonstration counts (5,000 + 3,000 episodes)
    "stage": 2, "seeds": 3, "teachers": 1, "demo_split": "train-mc", "demo_episodes": 5000, "val_demo_episodes": 3000,
    "config": {
        "emma": {},
        "dynamics": {"lr": 1e-4, "steps": 5000, "eval_every": 500, "predict_avatar": True},
        "bc": {"lr": 5e-4, "steps": 5000, "batch_size": 64},
        # GAE: a 16-step rollout is shorter than a stage-2 episode (see QUICK's stage_config)
        "ppo": {"n_envs": 32, "rollout_steps": 16, "lr": 1e-4, "gamma": 0.99, "returns": "gae",
                "total_steps": 2_000_000, "eval_every": 100_000, "eval_episodes": 500, "eval_train_episodes": 500,
                "select_episodes": 500},
    },
}
EVAL_SEED = 1_000_000
"""First game seed of the evaluation games (the same for every method, seed and evaluation)."""


def bench_configs(stage: int, config: dict[str, Any], overrides: list[str], manual: str = "human",
                  root: str | None = None, progress: bool = True) -> dict[str, Any]:
    """The typed configurations ``{"dynamics", "bc", "ppo"}`` of a benchmark: the mode's ``config`` (sections
    emma, dynamics, bc, ppo) with ``key=value`` overrides (``ppo.lr=1e-3``, ``emma.embed_dim=32``) applied; the
    EMMA section is shared by all three, and BC evaluates nothing itself (PPO's first evaluation of the BC policy
    is its score)."""
    from lexiq.agents.messenger.bc import BCConfig
    from lexiq.agents.messenger.dynamics import DynamicsConfig
    from lexiq.agents.messenger.ppo import PPOConfig
    from lexiq.envs.messenger.games import N_LAYERS, check_stage

    data = deep_merge({"emma": {}, "dynamics": {}, "bc": {}, "ppo": {}}, config)
    apply_overrides(data, list(overrides))
    unknown = sorted(set(data) - {"emma", "dynamics", "bc", "ppo"})
    if unknown:
        raise ConfigError(f"unknown override section {unknown[0]}; expected emma.*, dynamics.*, bc.* or ppo.*")
    emma = {**data["emma"], "entity_layers": N_LAYERS[check_stage(stage)]}
    env = {"manual": manual, "root": root}
    return {"dynamics": from_dict(DynamicsConfig, {**data["dynamics"], "emma": emma, "progress": progress},
                                  prefix="dynamics."),
            "bc": from_dict(BCConfig, {**data["bc"], "emma": emma, "eval_episodes": 0, "root": root,
                                       "progress": progress}, prefix="bc."),
            "ppo": from_dict(PPOConfig, {**data["ppo"], **env, "stage": stage, "emma": emma, "progress": progress},
                             prefix="ppo.")}


def _demos(path: Path, stage: int, split: str, episodes: int, manual: str, root: str | None) -> None:
    """Record the demonstrations into ``path`` unless it already holds the same ones."""
    from lexiq.agents.messenger.demos import load_demos, record_demos, save_demos

    if path.exists():
        meta = load_demos(path).summary()
        if (meta["stage"], meta["split"], meta["episodes"], meta["manual"]) == (stage, split, episodes, manual):
            return
    save_demos(path, record_demos(stage, split, episodes, seed=0, manual=manual, root=root))


def teacher_seed(seed: int, candidate: int) -> int:
    """The training seed of candidate teacher ``candidate`` of run seed ``seed``: the seed itself for the first
    (so one candidate is the plain one-teacher-per-seed benchmark), ``seed + 1000 * candidate`` for the others."""
    return seed + 1000 * candidate


def choose_teacher(candidates: list[dict[str, Any]], select: str) -> int:
    """Index of the candidate teacher with the best validation score ``best[select]`` (the dynamics model's own
    checkpoint-selection metric: highest ``occupied_accuracy`` / ``accuracy``, lowest ``loss``), the first on
    ties. Only validation demonstrations decide: no game is played, so the policy's test games choose nothing."""
    sign = -1.0 if select == "loss" else 1.0
    scores = [sign * c["best"][select] for c in candidates]
    return scores.index(max(scores))


def _job(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """One piece of the benchmark, in this process or a worker: ``dynamics``, ``ppo`` or ``bc`` (BC, then PPO)."""
    import dataclasses

    from lexiq.agents.messenger.bc import BCConfig, train_bc
    from lexiq.agents.messenger.demos import load_demos
    from lexiq.agents.messenger.dynamics import DynamicsConfig, train_dynamics
    from lexiq.agents.messenger.ppo import PPOConfig, train_ppo
    from lexiq.agents.messenger.text_encoder import messenger_table

    out = Path(args["out"])
    if kind == "ppo":
        return train_ppo(from_dict(PPOConfig, args["ppo"]), out, args["cache_dir"])
    train, val = load_demos(args["demos"]), load_demos(args["val_demos"])
    table = messenger_table(int(train.meta["stage"]), args["manual"], args["root"])
    if kind == "dynamics":
        return train_dynamics(from_dict(DynamicsConfig, args["dynamics"]), train, val, table, out, args["cache_dir"])
    bc_cfg = from_dict(BCConfig, args["bc"])
    bc = train_bc(bc_cfg, train, val, table, out / "bc", args["cache_dir"])
    ppo = from_dict(PPOConfig, args["ppo"])
    result = train_ppo(dataclasses.replace(ppo, init_from=str(out / "bc" / "checkpoint.pt")), out, args["cache_dir"])
    return {**result, "bc": bc, "train_seconds": result["train_seconds"] + bc["train_seconds"]}


def _mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0)


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Curves of one method over seeds: mean and standard error at every evaluation point."""
    steps = runs[0]["steps"]
    if any(r["steps"] != steps for r in runs):
        raise ValueError("the runs of one method were evaluated at different steps")
    out: dict[str, Any] = {"steps": steps}
    for key in ("win_rate", "train_games_win_rate"):
        if not all(r.get(key) for r in runs):
            continue
        cols = [_mean_se([r[key][i] for r in runs]) for i in range(len(steps))]
        out[f"{key}_mean"], out[f"{key}_stderr"] = [c[0] for c in cols], [c[1] for c in cols]
    final = _mean_se([r["win_rate"][-1] for r in runs])
    out["final_win_rate"] = {"mean": final[0], "stderr": final[1]}
    if "train_games_win_rate_mean" in out:
        t = _mean_se([r["train_games_win_rate"][-1] for r in runs])
        out["final_train_games_win_rate"] = {"mean": t[0], "stderr": t[1]}
    out["seed_final_win_rates"] = [r["win_rate"][-1] for r in runs]
    if all(r.get("selected_curve") for r in runs):
        cols = [_mean_se([r["selected_curve"][i] for r in runs]) for i in range(len(steps))]
        out["selected_win_rate_mean"], out["selected_win_rate_stderr"] = [c[0] for c in cols], [c[1] for c in cols]
        chosen = _mean_se([r["selected_win_rate"] for r in runs])
        out["selected_win_rate"] = {"mean": chosen[0], "stderr": chosen[1]}
        out["seed_selected_win_rates"] = [r["selected_win_rate"] for r in runs]
        out["seed_selected_steps"] = [r["selected_step"] for r in runs]
    out["train_seconds"] = statistics.fmean(r["train_seconds"] for r in runs)
    return out


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("win_rate", "test games")]
    if all("train_games_win_rate_mean" in m for m in result["methods"].values()):
        panels.append(("train_games_win_rate", "training games"))
    if all("selected_win_rate_mean" in m for m in result["methods"].values()):
        panels.append(("selected_win_rate", "test games, best-validation checkpoint"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        for name, m in result["methods"].items():
            mean, se = m[f"{key}_mean"], m[f"{key}_stderr"]
            ax.plot(m["steps"], mean, label=name)
            ax.fill_between(m["steps"], [a - b for a, b in zip(mean, se, strict=True)],
                            [a + b for a, b in zip(mean, se, strict=True)], alpha=0.2)
        if key in ("win_rate", "selected_win_rate"):
            ax.axhline(result["expert_win_rate"], color="grey", ls=":", lw=1, label="scripted expert")
        ax.set_xlabel("environment steps")
        ax.set_ylabel("win rate (greedy + 5 % random)")
        ax.set_ylim(-0.02, 1.02)
        seeds = f"{result['seeds']} seed{'s' if result['seeds'] > 1 else ''}"
        ax.set_title(f"Messenger stage {result['stage']}, {title} (± s.e., {seeds})", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _table(result: dict[str, Any]) -> str:
    d = result["dynamics_per_seed"]

    def each(key: str, spec: str) -> str:
        return ", ".join(format(x["best"][key], spec) for x in d)

    lines = [
        f"# Messenger LDD benchmark (stage {result['stage']}, {'quick' if result['quick'] else 'full'} mode, "
        f"{result['seeds']} seeds)",
        "",
        f"Evaluation: {result['eval_episodes']} test games, greedy + 5 % random. Scripted expert on the same games: "
        f"{result['expert_win_rate']:.3f}. Demonstrations: {result['demos']['episodes']} episodes "
        f"({result['demos']['transitions']} transitions) on {result['demos']['split']}. Dynamics model"
        f"{'s (one per seed)' if len(d) > 1 else ''}: validation accuracy {each('accuracy', '.4f')}, "
        f"occupied-cell accuracy {each('occupied_accuracy', '.3f')} (step {each('step', 'd')}).",
        "",
    ]
    if result.get("teachers", 1) > 1:
        select = result["config"]["dynamics"]["select"]
        scores = "; ".join(f"seed {s}: " + ", ".join(format(c["best"][select], ".3f") for c in cands)
                           for s, cands in enumerate(result["teacher_candidates"]))
        lines += [f"Each seed's teacher is the best of {result['teachers']} candidates (training seeds s, "
                  f"s + 1000, ...) by validation {select} ({scores}); the chosen: "
                  f"{', '.join(x['dir'] for x in d)}.", ""]
    lines += [
        "| method | final test win rate ± s.e. | seeds | final training-games win rate ± s.e. | env steps | "
        "train seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in result["methods"].items():
        f = m["final_win_rate"]
        t = m.get("final_train_games_win_rate")
        seeds = ", ".join(f"{v:.3f}" for v in m["seed_final_win_rates"])
        train = f"{t['mean']:.3f} ± {t['stderr']:.3f}" if t else "—"
        lines.append(f"| {name} | {f['mean']:.3f} ± {f['stderr']:.3f} | {seeds} | {train} | {m['steps'][-1]} | "
                     f"{m['train_seconds']:.0f} |")
    if all("selected_win_rate" in m for m in result["methods"].values()):
        lines += ["", "Checkpoint chosen on validation games (each run's best validation win rate, the earliest on "
                  "ties; EMMA's and LDD's protocol), scored on the test games:", "",
                  "| method | test win rate ± s.e. | seeds | chosen at env step |", "|---|---|---|---|"]
        for name, m in result["methods"].items():
            c = m["selected_win_rate"]
            seeds = ", ".join(f"{v:.3f}" for v in m["seed_selected_win_rates"])
            at = ", ".join(str(v) for v in m["seed_selected_steps"])
            lines.append(f"| {name} | {c['mean']:.3f} ± {c['stderr']:.3f} | {seeds} | {at} |")
    lines += ["", "s.e.: standard error of the mean over seeds. `bc`: behaviour cloning, then PPO (its first "
              "evaluation is BC alone); its train seconds include BC.", "",
              f"Machine: {result['machine']}, {result['jobs']} run(s) at a time. Wall time of the last invocation "
              f"{result['wall_seconds']:.0f} s (finished pieces of earlier invocations are reused).", ""]
    return "\n".join(lines)


def run_messenger_benchmark(out: str, quick: bool = False, stage: int | None = None, seeds: int | None = None,
                            jobs: int = 1, overrides: list[str] | None = None,
                            mode_overrides: dict[str, Any] | None = None, methods: list[str] | None = None,
                            manual: str = "human", root: str | None = None,
                            cache_dir: str | None = None) -> dict[str, Any]:
    """Run the benchmark into ``out`` (module docstring); returns what is written to ``results.json``.

    ``overrides`` (``section.key=value``, sections emma, dynamics, bc, ppo) apply to every run; ``mode_overrides``
    replace top-level mode keys (tests use tiny sizes); ``methods`` a subset of :data:`METHODS`."""
    from lexiq.agents.messenger.demos import load_demos
    from lexiq.agents.messenger.text_encoder import messenger_table
    from lexiq.envs.messenger.expert import evaluate_expert
    from lexiq.envs.messenger.games import check_stage
    from lexiq.evaluation.bench_runs import bench_mode, parallel_calls

    t0 = time.perf_counter()
    mode, n_seeds, _ = bench_mode(QUICK, FULL, quick, mode_overrides, seeds, jobs, None)
    try:
        stage = check_stage(mode["stage"] if stage is None else stage)
    except ValueError as exc:
        raise ConfigError(f"--stage: {exc}") from None
    n_teachers = int(mode.get("teachers", 1))
    if n_teachers < 1:
        raise ConfigError(f"--teachers {n_teachers}: expected at least 1")
    names = list(methods or METHODS)
    if not names or set(names) - set(METHODS):
        raise ConfigError(f"methods {names}: expected a non-empty subset of {', '.join(METHODS)}")
    config = deep_merge(mode["config"], mode.get("stage_config", {}).get(stage, {}))  # the stage's PPO settings
    cfgs = bench_configs(stage, config, list(overrides or []), manual, root, progress=jobs == 1)
    ppo = cfgs["ppo"]
    out_dir = Path(out)
    (out_dir / "demos").mkdir(parents=True, exist_ok=True)
    demo_path, val_path = out_dir / "demos" / "train.npz", out_dir / "demos" / "val.npz"
    _demos(demo_path, stage, mode["demo_split"], mode["demo_episodes"], manual, root)
    _demos(val_path, stage, "val", mode["val_demo_episodes"], manual, root)
    if cfgs["ppo"].emma.text == "minilm":  # encode the sentences once here, before the workers read the cache
        from lexiq.agents.messenger.text_encoder import minilm_states

        minilm_states(messenger_table(stage, manual, root), cache_dir)
    expert = evaluate_expert(stage, ppo.eval_split, ppo.eval_episodes, seed=EVAL_SEED, root=root, manual=manual,
                             max_steps=ppo.max_steps)

    common = {"demos": str(demo_path), "val_demos": str(val_path), "manual": manual, "root": root,
              "cache_dir": cache_dir}

    def dyn_dir(seed: int, candidate: int = 0) -> Path:
        name = "dynamics" if seed == 0 else f"dynamics_seed{seed}"
        return out_dir / (name if candidate == 0 else f"{name}_cand{candidate}")

    chosen: dict[int, int] = {}  # seed -> the candidate teacher chosen on validation demonstrations

    def ppo_args(method: str, seed: int) -> dict[str, Any]:
        cfg = asdict(ppo) | {"seed": seed, "init_from": "", "teacher": ""}
        teacher = str(dyn_dir(seed, chosen.get(seed, 0)) / "checkpoint.pt")
        if method in ("init_only", "ldd"):
            cfg["init_from"] = teacher
        if method == "ldd":
            cfg["teacher"] = teacher
        return {**common, "out": str(out_dir / f"{method}_seed{seed}"), "ppo": cfg,
                "bc": asdict(cfgs["bc"]) | {"seed": seed}}

    teacher_seeds = range(n_seeds) if {"init_only", "ldd"} & set(names) else range(1)
    phases: list[list[tuple[str, str, int, int]]] = [
        [("dynamics", "dynamics", s, k) for s in teacher_seeds for k in range(n_teachers)], []]
    for seed in range(n_seeds):
        for method in names:
            phases[0 if method in ("tabula_rasa", "bc") else 1].append(
                ("bc" if method == "bc" else "ppo", method, seed, 0))
    results: dict[tuple[str, int], dict[str, Any]] = {}
    candidates: dict[int, list[dict[str, Any]]] = {s: [] for s in teacher_seeds}
    for number, phase in enumerate(phases):
        if number == 1:  # every teacher has finished: choose each seed's on the validation demonstrations
            chosen.update({s: choose_teacher(c, cfgs["dynamics"].select) for s, c in candidates.items()})
        calls = []
        for kind, method, seed, cand in phase:
            args = ({**common, "out": str(dyn_dir(seed, cand)),
                     "dynamics": asdict(cfgs["dynamics"]) | {"seed": teacher_seed(seed, cand)}}
                    if kind == "dynamics" else ppo_args(method, seed))
            calls.append((kind, args))

        def done(k: int, result: dict[str, Any], phase: list[tuple[str, str, int, int]] = phase) -> None:
            kind, method, seed, cand = phase[k]
            label = (f"dynamics model seed {seed}" + (f" candidate {cand}" if n_teachers > 1 else "")
                     if kind == "dynamics" else f"{method} seed {seed}")
            score = (f"val occupied accuracy {result['best']['occupied_accuracy']:.3f}" if kind == "dynamics"
                     else f"final test win rate {result['win_rate'][-1]:.3f}")
            print(f"{label}: {score} ({time.perf_counter() - t0:.0f} s since start)", flush=True)

        for (kind, method, seed, cand), result in zip(phase, parallel_calls(_job, calls, workers=jobs, done=done),
                                                      strict=True):
            if kind == "dynamics":
                candidates[seed].append({**result, "candidate": cand, "seed": teacher_seed(seed, cand),
                                         "dir": dyn_dir(seed, cand).name})
            else:
                results[(method, seed)] = result

    methods_out = {m: _aggregate([results[(m, s)] for s in range(n_seeds)]) for m in names}
    result = {
        "methods": methods_out,
        "expert_win_rate": expert["win_rate"],
        "expert": expert,
        "dynamics": candidates[0][chosen[0]],
        "dynamics_per_seed": [candidates[s][chosen[s]] for s in sorted(candidates)],
        "teachers": n_teachers,
        "teacher_candidates": [candidates[s] for s in sorted(candidates)],
        "demos": load_demos(demo_path).summary(),
        "stage": stage,
        "quick": quick,
        "seeds": n_seeds,
        "jobs": jobs,
        "eval_split": ppo.eval_split,
        "eval_episodes": ppo.eval_episodes,
        "config": {k: asdict(v) for k, v in cfgs.items()},
        "machine": machine_description(),
        "wall_seconds": time.perf_counter() - t0,
    }
    write_results(out_dir, result, _table(result))
    _plot(result, out_dir / "winrate.png")
    return result
