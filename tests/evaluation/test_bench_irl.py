"""lexiq bench irl at toy sizes: every method trains and is evaluated, results.json has the issue's layout, the
IQLearn runs really carry their λ_td, and a rerun reuses everything."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from lexiq.evaluation.bench_irl import REPORTED, _equal_diversity, interpolate_at, run_irl_benchmark

TOY = {"train_problems": 64, "test_problems": 4, "seeds": 2, "steps": 3, "td_weights": [0.1, 1.0], "samples": 2,
       "max_new_tokens": 8, "temperatures": [0.5, 1.0]}
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
    assert (out / "results.md").read_text().count("| iq_learn") == 2 * 3  # main, sweep and equal-diversity tables
    assert (out / "accuracy_vs_diversity.png").exists()
    # the sweep's point at the bench temperature is the main evaluation's (the same samples: see test_math_eval)
    for name in ("mle", "iq_learn"):
        for s in range(2):
            main = json.loads((out / f"{name}_seed{s}" / "math_eval" / "summary.json").read_text())
            sweep = json.loads((out / f"{name}_seed{s}" / "math_eval" / "temperature_sweep.json").read_text())
            point = sweep["points"][1]
            assert point["temperature"] == 1.0
            assert point["self_bleu"]["mean"] == pytest.approx(main["self_bleu"]["mean"])
            assert point["accuracy_sampled"]["mean"] == pytest.approx(main["accuracy_sampled"]["mean"])
    assert [p["temperature"] for p in saved["sweep"]["mle"]] == [0.5, 1.0]
    assert saved["equal_diversity"]["reference"] == "iq_learn" and saved["equal_diversity"]["temperature"] == 1.0
    assert saved["equal_diversity"]["self_bleu"] == pytest.approx(saved["sweep"]["iq_learn"][1]["self_bleu"]["mean"])
    assert "at equal diversity" in (out / "results.md").read_text()
    stamp = (out / "mle_seed0" / "math_eval" / "summary.json").stat().st_mtime_ns
    # the rerun evaluates two at a time (processes) and finds every evaluation cached
    again = run_irl_benchmark(str(out), quick=True, overrides=SMALL, mode_overrides=TOY, jobs=2)
    assert again["methods"]["mle"]["accuracy"] == result["methods"]["mle"]["accuracy"]
    assert (out / "mle_seed0" / "math_eval" / "summary.json").stat().st_mtime_ns == stamp


def test_interpolation_along_a_curve():
    pts = [(0.8, 0.6), (0.6, 0.4), (0.7, 0.55)]  # unsorted (Self-BLEU, accuracy)
    assert interpolate_at(pts, 0.75) == pytest.approx(0.575)
    assert interpolate_at(pts, 0.65) == pytest.approx(0.475)
    assert interpolate_at(pts, 0.8) == pytest.approx(0.6)
    assert math.isnan(interpolate_at(pts, 0.85)) and math.isnan(interpolate_at(pts, 0.5))  # no extrapolation
    assert interpolate_at([(0.5, 0.2)], 0.5) == 0.2 and math.isnan(interpolate_at([], 0.5))


def test_equal_diversity_by_hand():
    def point(t, sb, acc):
        return {"temperature": t, "self_bleu": {"mean": sb}, "accuracy_sampled": {"mean": acc}}

    sweeps = {  # two seeds each
        "mle": [[point(0.7, 0.9, 0.8), point(1.0, 0.8, 0.7), point(1.4, 0.6, 0.3)],
                [point(0.7, 0.95, 0.8), point(1.0, 0.85, 0.7), point(1.4, 0.75, 0.5)]],
        "iq_learn": [[point(0.7, 0.8, 0.7), point(1.0, 0.72, 0.6), point(1.4, 0.5, 0.2)],
                     [point(0.7, 0.8, 0.7), point(1.0, 0.68, 0.6), point(1.4, 0.5, 0.2)]],
    }
    out = _equal_diversity(sweeps, [0.7, 1.0, 1.4], 1.0)
    eq = out["equal_diversity"]
    # each seed's level is IQLearn's own Self-BLEU at T = 1 on that seed: 0.72 and 0.68
    assert eq["levels"] == pytest.approx([0.72, 0.68]) and eq["self_bleu"] == pytest.approx(0.7)
    assert eq["reference"] == "iq_learn"
    # MLE seed 0 at 0.72: between (0.6, 0.3) and (0.8, 0.7) → 0.3 + 0.4·0.12/0.2; seed 1's curve stops at 0.75
    assert eq["methods"]["mle"]["seed_means"][0] == pytest.approx(0.54)
    assert math.isnan(eq["methods"]["mle"]["seed_means"][1]) and eq["methods"]["mle"]["mean"] == pytest.approx(0.54)
    # the reference meets its own level at its own point: its T = 1 accuracy on every seed
    assert eq["methods"]["iq_learn"]["seed_means"] == pytest.approx([0.6, 0.6])
    assert out["sweep"]["mle"][2]["accuracy_sampled"]["mean"] == pytest.approx(0.4)


def test_pretrained_mode_fine_tunes_a_local_model_with_lora(tmp_path):
    pytest.importorskip("peft")
    from lexiq.config import ConfigError
    from lexiq.models.byte_tokenizer import byte_tokenizer
    from lexiq.models.presets import ModelConfig, build_model

    tok = byte_tokenizer()
    base = tmp_path / "base"
    build_model(ModelConfig(path="tiny", tokenizer="bytes", arch="llama", n_positions=384), tok).save_pretrained(
        base, tokenizer=tok)
    out = tmp_path / "irl"
    # the arithmetic task instead of GSM8K keeps the test free of data files; everything else is the mode's
    tiny = {"task": "arithmetic", "train_problems": 32, "test_problems": 2, "steps": 2, "samples": 2,
            "max_new_tokens": 8}
    result = run_irl_benchmark(str(out), pretrained=str(base), mode_overrides=tiny,
                               overrides=["train.progress=false", "train.report_to=[]"])
    assert result["pretrained"] == str(base) and set(result["methods"]) == {"mle", "iq_learn"}
    for name in ("mle", "iq_learn"):
        cfg = yaml.safe_load((out / f"{name}_seed0" / "config.yaml").read_text())
        assert cfg["model"]["path"] == str(base) and cfg["model"]["lora_r"] == 16 and cfg["train"]["lr"] == 2e-4
        policy = out / f"{name}_seed0" / "policy"
        assert not (policy / "adapter_config.json").exists()  # merged: a plain HF directory
        assert json.loads((policy / "lexiq.json").read_text())["lora"]["r"] == 16
    with pytest.raises(ConfigError, match="--quick and --pretrained"):
        run_irl_benchmark(str(tmp_path / "x"), quick=True, pretrained=str(base))
    with pytest.raises(ConfigError, match="--pretrained .*no_such_model: model directory does not exist") as err:
        run_irl_benchmark(str(tmp_path / "y"), pretrained=str(tmp_path / "no_such_model"))
    assert "\n" not in str(err.value) and not (tmp_path / "y").exists()  # nothing written
