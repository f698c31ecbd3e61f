"""lexiq bench messenger at toy sizes: every method trains, results.json has the issue's layout, the runs carry
their variant (initialisation, teacher), a rerun reuses everything, and bad flags are one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from lexiq.cli import main
from lexiq.config import ConfigError, deep_merge
from lexiq.envs.messenger.games import DEFAULT_MAX_STEPS
from lexiq.evaluation import bench_messenger
from lexiq.evaluation.bench_messenger import (
    FULL,
    METHODS,
    QUICK,
    bench_configs,
    choose_teacher,
    run_messenger_benchmark,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """The toy models run fastest on one thread (a second one only contends with the rest of the machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TOY = {"seeds": 2, "demo_episodes": 12, "val_demo_episodes": 6, "config": {
    "emma": {"embed_dim": 4, "conv_channels": 2, "hidden": 8, "word_dim": 4},
    "dynamics": {"lr": 1e-3, "steps": 4, "eval_every": 2, "batch_size": 8, "predict_avatar": True},
    "bc": {"steps": 3, "batch_size": 8},
    "ppo": {"n_envs": 4, "rollout_steps": 4, "total_steps": 32, "eval_every": 16, "eval_episodes": 8,
            "eval_train_episodes": 8, "select_episodes": 8}}}


def test_toy_benchmark(tmp_path):
    out = tmp_path / "bench"
    result = run_messenger_benchmark(str(out), quick=True, mode_overrides=TOY, manual="template")
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["methods"]) == set(METHODS)
    assert saved["expert_win_rate"] == result["expert_win_rate"] == 1.0
    for m in saved["methods"].values():
        assert m["steps"] == [0, 16, 32]
        assert len(m["win_rate_mean"]) == len(m["win_rate_stderr"]) == 3
        assert all(0.0 <= v <= 1.0 for v in m["win_rate_mean"])
        assert set(m["final_win_rate"]) == {"mean", "stderr"} and len(m["seed_final_win_rates"]) == 2
        assert m["final_win_rate"]["mean"] == pytest.approx(sum(m["seed_final_win_rates"]) / 2)
        # the checkpoint chosen on validation games, per seed, and its curve (its last point is the chosen one)
        assert m["selected_win_rate"]["mean"] == pytest.approx(sum(m["seed_selected_win_rates"]) / 2)
        assert all(step in (0, 16, 32) for step in m["seed_selected_steps"])
        assert m["selected_win_rate_mean"][-1] == pytest.approx(m["selected_win_rate"]["mean"])
        assert m["selected_win_rate_mean"][0] == pytest.approx(m["win_rate_mean"][0])
    for name in ("results.md", "winrate.png", "dynamics/checkpoint.pt", "demos/train.npz", "demos/val.npz"):
        assert (out / name).exists(), name
    teacher = str(out / "dynamics_seed1" / "checkpoint.pt")  # every seed has its own teacher, trained with it
    runs = {m: json.loads((out / f"{m}_seed1" / "config.json").read_text()) for m in METHODS}
    assert json.loads((out / "ldd_seed0" / "config.json").read_text())["teacher"] == str(
        out / "dynamics" / "checkpoint.pt")
    teachers = ("dynamics", "dynamics_seed1")
    assert [json.loads((out / d / "config.json").read_text())["dynamics"]["seed"] for d in teachers] == [0, 1]
    weights = [torch.load(out / d / "checkpoint.pt", weights_only=False) for d in teachers]
    assert not torch.equal(*(next(iter(w["state_dict"].values())) for w in weights))
    assert [d["best"] for d in saved["dynamics_per_seed"]][0] == saved["dynamics"]["best"]
    assert len(saved["dynamics_per_seed"]) == 2
    assert runs["tabula_rasa"]["init_from"] == "" and runs["tabula_rasa"]["teacher"] == ""
    assert runs["init_only"]["init_from"] == teacher and runs["init_only"]["teacher"] == ""
    assert runs["ldd"]["init_from"] == teacher == runs["ldd"]["teacher"] and runs["ldd"]["distil_coef"] == 0.01
    assert runs["bc"]["init_from"].endswith("bc_seed1/bc/checkpoint.pt") and runs["bc"]["seed"] == 1
    assert (out / "results.md").read_text().count("| ldd |") == 2  # final and validation-chosen tables
    assert (out / "ldd_seed1" / "best.pt").exists()
    stamp = (out / "ldd_seed0" / "results.json").stat().st_mtime_ns
    again = run_messenger_benchmark(str(out), quick=True, mode_overrides=TOY, manual="template")
    assert again["methods"] == result["methods"]
    assert (out / "ldd_seed0" / "results.json").stat().st_mtime_ns == stamp


def test_overrides_reach_the_configs_and_bad_input_is_a_clear_error(tmp_path, capsys):
    cfgs = bench_configs(2, {"emma": {"embed_dim": 16}}, ["ppo.lr=0.001", "emma.hidden=32"], manual="template")
    assert cfgs["ppo"].lr == 0.001 and cfgs["ppo"].emma.hidden == 32 and cfgs["dynamics"].emma.embed_dim == 16
    assert cfgs["ppo"].emma.entity_layers == 3 and cfgs["ppo"].stage == 2 and cfgs["ppo"].manual == "template"
    with pytest.raises(ConfigError, match="unknown override section"):
        bench_configs(1, {}, ["train.lr=1"])
    with pytest.raises(ConfigError, match="unknown config key ppo.nope"):
        bench_configs(1, {}, ["ppo.nope=1"])
    assert main(["bench", "messenger", "--quick", "--stage", "5", "--out", str(tmp_path / "b")]) == 2
    assert "--stage" in capsys.readouterr().err
    assert main(["bench", "messenger", "--methods", "ldd,nope", "--out", str(tmp_path / "b")]) == 2
    assert "--methods" in capsys.readouterr().err


@pytest.mark.parametrize("mode", [QUICK, FULL], ids=["quick", "full"])
@pytest.mark.parametrize("stage", [1, 2, 3])
def test_no_mode_cuts_returns_at_the_rollout_end(mode, stage):
    """Every mode's PPO sees rewards beyond its rollout: bootstrapped (GAE) returns, or a rollout as long as the
    episode cap (stage 1's 4 steps)."""
    config = deep_merge(mode["config"], mode.get("stage_config", {}).get(stage, {}))
    ppo = bench_configs(stage, config, [], manual="template")["ppo"]
    cap = DEFAULT_MAX_STEPS[stage] if ppo.max_steps is None else ppo.max_steps
    assert ppo.returns == "gae" or ppo.rollout_steps >= cap


def test_the_stage_settings_reach_the_runs(tmp_path):
    out = tmp_path / "bench"
    toy = TOY | {"seeds": 1, "stage_config": {2: {"ppo": {"returns": "gae", "max_steps": 8}}}}
    run_messenger_benchmark(str(out), quick=True, stage=2, mode_overrides=toy, methods=["tabula_rasa"],
                            manual="template")
    cfg = json.loads((out / "tabula_rasa_seed0" / "config.json").read_text())
    assert (cfg["stage"], cfg["returns"], cfg["max_steps"], cfg["rollout_steps"]) == (2, "gae", 8, 4)


def test_choose_teacher_takes_the_best_validation_score_and_the_first_on_ties():
    cands = [{"best": {"occupied_accuracy": 0.30, "loss": 0.02}}, {"best": {"occupied_accuracy": 0.35, "loss": 0.01}},
             {"best": {"occupied_accuracy": 0.35, "loss": 0.03}}]
    assert choose_teacher(cands, "occupied_accuracy") == 1  # 0.35 twice: the earlier candidate
    assert choose_teacher(cands, "loss") == 1  # the lowest loss
    assert choose_teacher(cands[:1], "occupied_accuracy") == 0


def test_teacher_candidates_train_with_their_own_seeds_and_the_best_teaches(tmp_path, capsys, monkeypatch):
    out = tmp_path / "bench"
    toy = TOY | {"seeds": 1, "teachers": 2}
    result = run_messenger_benchmark(str(out), quick=True, mode_overrides=toy, methods=["ldd"], manual="template")
    cands = result["teacher_candidates"][0]
    assert [c["dir"] for c in cands] == ["dynamics", "dynamics_cand1"] and [c["seed"] for c in cands] == [0, 1000]
    assert json.loads((out / "dynamics_cand1" / "config.json").read_text())["dynamics"]["seed"] == 1000
    scores = [c["best"]["occupied_accuracy"] for c in cands]
    best = cands[1] if scores[1] > scores[0] else cands[0]  # the first on ties
    assert result["dynamics_per_seed"][0]["dir"] == best["dir"] and result["teachers"] == 2
    run = json.loads((out / "ldd_seed0" / "config.json").read_text())
    assert run["teacher"] == run["init_from"] == str(out / best["dir"] / "checkpoint.pt")
    assert "best of 2 candidates" in (out / "results.md").read_text()
    # the toy candidates may tie (then the first teaches): make the second win to see the choice reach the run
    monkeypatch.setattr(bench_messenger, "choose_teacher", lambda cands, select: len(cands) - 1)
    again = run_messenger_benchmark(str(out), quick=True, mode_overrides=toy, methods=["ldd"], manual="template")
    run = json.loads((out / "ldd_seed0" / "config.json").read_text())
    assert run["teacher"] == run["init_from"] == str(out / "dynamics_cand1" / "checkpoint.pt")
    assert again["dynamics_per_seed"][0]["dir"] == "dynamics_cand1"
    assert main(["bench", "messenger", "--teachers", "0", "--out", str(tmp_path / "b")]) == 2
    assert "--teachers" in capsys.readouterr().err
