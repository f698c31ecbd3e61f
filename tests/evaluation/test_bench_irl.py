"""lexiq bench irl at toy sizes: every method trains and is evaluated, results.json has the issue's layout, the
IQLearn runs really carry their λ_td, and a rerun reuses everything."""

from __future__ import annotations

import json

import yaml

from lexiq.evaluation.bench_irl import REPORTED, run_irl_benchmark

TOY = {"train_problems": 64, "test_problems": 4, "seeds": 2, "steps": 3, "td_weights": [0.1, 1.0], "samples": 2,
       "max_new_tokens": 8}
SMALL = ["model.n_layer=1", "model.n_embd=16", "model.n_head=2", "train.batch_size=8", "train.progress=false",
         "train.report_to=[]"]


def test_toy_benchmark(tmp_path):
    out = tmp_path / "irl"
    result = run_irl_benchmark(str(out), quick=True, overrides=SMALL, mode_overrides=TOY)
    assert set(result["methods"]) == {"mle", "iq_learn", "iq_learn_td1"}
    saved = json.loads((out / "results.json").read_text())
    for name, cells in saved["methods"].items():
        for metric in REPORTED:
            assert len(cells[metric]["seed_means"]) == 2, (name, metric)
        assert 0.0 <= cells["accuracy"]["mean"] <= 1.0 and 0.0 <= cells["self_bleu"]["mean"] <= 1.0
        assert cells["entropy"]["mean"] > 0
    cfg = yaml.safe_load((out / "iq_learn_td1_seed1" / "config.yaml").read_text())
    assert cfg["objective_name"] == "iq_learn" and cfg["objective"]["td_weight"] == 1.0 and cfg["train"]["seed"] == 1
    assert yaml.safe_load((out / "mle_seed0" / "config.yaml").read_text())["objective_name"] == "bc"
    assert (out / "results.md").read_text().count("| iq_learn") == 2 and (out / "accuracy_vs_diversity.png").exists()
    stamp = (out / "mle_seed0" / "math_eval" / "summary.json").stat().st_mtime_ns
    again = run_irl_benchmark(str(out), quick=True, overrides=SMALL, mode_overrides=TOY)
    assert again["methods"]["mle"]["accuracy"] == result["methods"]["mle"]["accuracy"]
    assert (out / "mle_seed0" / "math_eval" / "summary.json").stat().st_mtime_ns == stamp
