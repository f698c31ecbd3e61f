"""lexiq bench textworld at toy size: games, data, BC / filtered BC / ILQL runs and their held-out evaluations
land in the issue's results layout, and a rerun reuses everything (skipped without lexiq[textworld])."""

from __future__ import annotations

import json

import pytest

from lexiq.config import ConfigError

pytest.importorskip("textworld")

from lexiq.evaluation.bench_textworld import METHODS, run_textworld_benchmark  # noqa: E402

TOY = {"train_games": 2, "valid_games": 1, "test_games": 2, "episodes": 16, "max_steps": 4, "eval_repeats": 2,
       "train_eval_games": 1, "vocab_size": 300, "overrides": {"train": {"max_steps": 2}, "eval": {"betas": [1, 4]}}}
SMALL = ["model.n_layer=1", "model.n_embd=16", "model.n_head=2", "train.batch_size=4", "train.progress=false",
         "train.report_to=[]"]
SPEC = {"max_rooms": 1, "objects": 2, "max_quest_length": 2}


def test_toy_benchmark_layout_and_reuse(tmp_path):
    out = tmp_path / "tw"
    result = run_textworld_benchmark(str(out), quick=True, overrides=SMALL, mode_overrides=TOY, spec=SPEC)
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["methods"]) == set(METHODS)
    for m in saved["methods"].values():
        for cell in ("success_rate", "score"):
            assert 0.0 <= m[cell]["mean"] <= 1.0 and m[cell]["stderr"] >= 0.0
        assert m["games"] == 2 and 0.0 <= m["train_games_success_rate"]["mean"] <= 1.0
    assert saved["methods"]["ilql"]["beta"][0] in (1.0, 4.0) and saved["methods"]["bc"]["beta"] == [0.0]
    assert set(saved["methods"]["ilql"]["beta_sweep"][0]) == {"1", "4"}
    data = saved["data"]
    assert data["n"] == 16 and data["games"] == 2 and set(data["kinds"]) <= {"walkthrough", "noisy", "random"}
    assert saved["methods"]["filtered_bc"]["train_episodes"] == round(data["win_rate"] * 16)
    assert saved["games"]["test"] == 2 and saved["anchors"]["walkthrough"]["success_rate"] == 1.0
    assert saved["evaluation"] == {"decode": "admissible", "strategy": "sample", "repeats": 2}
    assert (out / "tokenizer" / "tokenizer.json").exists() and "| filtered_bc |" in (out / "results.md").read_text()
    assert len(list((out / "games" / "test").glob("*.z8"))) == 2
    stamp = (out / "ilql_seed0" / "textworld_eval.json").stat().st_mtime_ns
    again = run_textworld_benchmark(str(out), quick=True, overrides=SMALL, mode_overrides=TOY, spec=SPEC)
    assert again["methods"] == result["methods"]
    assert (out / "ilql_seed0" / "textworld_eval.json").stat().st_mtime_ns == stamp


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="subset"):
        run_textworld_benchmark(str(tmp_path), methods=["ppo"])
    with pytest.raises(ConfigError, match="decode"):
        run_textworld_benchmark(str(tmp_path), decode="beam")
    with pytest.raises(ConfigError, match="game spec"):
        run_textworld_benchmark(str(tmp_path), spec={"min_rooms": 3, "max_rooms": 1})
