"""train.best_metric: the run ends with (and saves) the weights of its best evaluation."""

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from lexiq.data.episode import Episode, Turn
from lexiq.data.jsonl import write_episodes
from lexiq.objectives.dt import HIGH, DecisionTransformer, DTConfig
from lexiq.objectives.filtered_bc import FilteredBC, FilteredBCConfig, FilterError
from lexiq.run import load_policy, parse_run_config, run_training
from lexiq.train import TrainError


def _pairs(n, seed, reverse):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        req = "".join(rng.choice("abc") for _ in range(3))
        out.append(Episode([Turn("environment", req), Turn("agent", req[::-1] if reverse else req, 1.0)]))
    return out


def _config(tmp_path, **train):
    train_path, val_path = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    # training teaches the reversed request, validation wants the request itself: the validation loss gets worse
    # as training goes on, so the best evaluation is an early one
    write_episodes(train_path, _pairs(256, 0, reverse=True))
    write_episodes(val_path, _pairs(32, 1, reverse=False))
    return {"model": {"path": "tiny", "n_positions": 32},
            "data": {"train": str(train_path), "validation": str(val_path), "format": "wordle"},
            "train": {"output_dir": str(tmp_path / "run"), "max_steps": 24, "batch_size": 32, "lr": 3e-3,
                      "progress": False, "report_to": [], "log_every": 4, "eval_every": 4, "save_every": 4,
                      **train},
            "eval": {"env": None}}


def _eval_values(run_dir, key):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r[key] for r in rows if key in r}


@pytest.mark.parametrize("greater", [False, True])
def test_saved_weights_are_those_of_the_best_evaluation(tmp_path, greater):
    cfg = _config(tmp_path, best_metric="validation/losses/bc", greater_is_better=greater)
    result = run_training("bc", *parse_run_config("bc", cfg))
    run_dir = tmp_path / "run"
    logged = _eval_values(run_dir, "eval/validation/losses/bc")
    assert sorted(logged) == [4, 8, 12, 16, 20, 24]
    pick = max if greater else min
    best_step = pick(logged, key=lambda s: logged[s])
    assert result["best"]["step"] == best_step
    assert result["best"]["value"] == pytest.approx(logged[best_step])
    assert result["validation"]["losses/bc"] == pytest.approx(logged[best_step])  # the saved weights' numbers
    # the loss falls while the shared markers are learnt, then rises: neither extreme is at the last step
    assert best_step < 24
    # the saved policy holds exactly the weights of the checkpoint taken at the best step
    model, _, _ = load_policy(str(run_dir / "policy"), device="cpu")
    saved = model.state_dict()
    ckpt = load_file(str(run_dir / "checkpoints" / f"step_{best_step}" / "model.safetensors"))
    last = load_file(str(run_dir / "checkpoints" / "step_24" / "model.safetensors"))
    common = [k for k in ckpt if k in saved]
    assert len(common) > 5
    for k in common:
        assert torch.equal(saved[k], ckpt[k]), k
    assert any(not torch.equal(saved[k], last[k]) for k in common)


def test_without_selection_the_last_weights_are_saved(tmp_path):
    result = run_training("bc", *parse_run_config("bc", _config(tmp_path)))
    assert "best" not in result
    logged = _eval_values(tmp_path / "run", "eval/validation/losses/bc")
    assert result["validation"]["losses/bc"] == pytest.approx(logged[24])


def test_bad_selection_settings_are_one_line_errors(tmp_path):
    with pytest.raises(TrainError, match="eval_every"):
        run_training("bc", *parse_run_config("bc", _config(tmp_path, best_metric="validation/losses/bc",
                                                           eval_every=0)))
    with pytest.raises(TrainError, match=r"validation/loss/bc: not a metric .*validation/losses/bc"):
        run_training("bc", *parse_run_config("bc", _config(tmp_path, best_metric="validation/loss/bc")))


def test_validation_episodes_are_prepared_like_training_without_refitting():
    gold = Episode([Turn("environment", "ab"), Turn("agent", "ba", 1.0)])
    bad = Episode([Turn("environment", "ab"), Turn("agent", "ab", 0.0)])
    dt = DecisionTransformer(DTConfig())
    dt.prepare_episodes([gold, bad])
    prepared = dt.prepare_validation([gold, gold])  # all high-return is fine for held-out data
    assert [t.speaker for t in prepared[0].turns] == [None, HIGH, None]
    assert dt.high_fraction == 0.5  # the training statistic is untouched
    fbc = FilteredBC(FilteredBCConfig(top_fraction=0.5))
    fbc.prepare_episodes([gold, bad])
    assert fbc.prepare_validation([bad, gold, bad]) == [gold]  # the training cut-off (1.0), not refitted
    assert fbc.cutoff == 1.0
    with pytest.raises(FilterError, match="no validation episode"):
        fbc.prepare_validation([bad])
