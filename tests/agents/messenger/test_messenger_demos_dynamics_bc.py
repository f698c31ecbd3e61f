"""Expert demonstrations (spec A.2), the dynamics model (A.3) and behaviour cloning: layouts, targets, and losses
that go down on a few demonstrations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lexiq.agents.messenger.bc import BCConfig, bc_loss, train_bc
from lexiq.agents.messenger.demos import TransitionSet, load_demos, record_demos, save_demos
from lexiq.agents.messenger.dynamics import DynamicsConfig, DynamicsModel, load_dynamics, train_dynamics, validate
from lexiq.agents.messenger.emma import Emma
from lexiq.cli import main
from lexiq.config import ConfigError


def test_demos_layout_and_round_trip(tmp_path, demos2, table2):
    demos, _ = demos2
    assert demos.won.all() and demos.episodes == 24
    lengths = np.diff(demos.offsets)
    assert len(demos.actions) == len(demos.rewards) == lengths.sum() - 24
    assert demos.frames.shape[1:] == (10, 10, 4) and demos.manuals.shape == (24, 3)
    # the first frame of each episode is the start layout: avatar on a corner, three NPCs
    first = demos.frames[demos.offsets[:-1]]
    assert ((first[..., :3] > 0).sum((1, 2, 3)) == 3).all() and ((first[..., 3] == 15).sum((1, 2)) == 1).all()
    hist, nxt, ep, actions = demos.transitions()
    assert (nxt == hist[:, -1] + 1).all() and (hist[:, 0] <= hist[:, 1]).all()
    assert (hist[demos.offsets[:-1] - np.arange(24)] == demos.offsets[:-1, None]).all()  # copies at the start
    save_demos(tmp_path / "d.npz", demos)
    again = load_demos(tmp_path / "d.npz")
    np.testing.assert_array_equal(again.frames, demos.frames)
    assert again.meta == demos.meta and again.manuals.tolist() == demos.manuals.tolist()
    data = TransitionSet(again, table2)
    obs = data.obs(np.arange(5))
    assert obs["frames"].shape == (5, 3, 10, 10, 4) and obs["manual"].shape == (5, 3)
    np.savez(tmp_path / "bad.npz", frames=np.zeros(1))
    with pytest.raises(ValueError, match="not a Messenger demonstration file"):
        load_demos(tmp_path / "bad.npz")


def test_cli_records_demonstrations(tmp_path, capsys):
    out = tmp_path / "demos.npz"
    assert main(["data", "messenger", "--stage", "1", "--split", "train", "--episodes", "6", "--manual",
                 "template", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 6 and summary["win_rate"] == 1.0 and summary["max_steps"] == 4
    assert load_demos(out).episodes == 6
    assert main(["data", "messenger", "--stage", "1", "--split", "nope", "--episodes", "6", "--manual",
                 "template", "--out", str(tmp_path / "x.npz")]) == 2
    assert "unknown Messenger split 'nope'" in capsys.readouterr().err and not (tmp_path / "x.npz").exists()


def test_multihot_targets_ignore_layers_and_mark_empty_cells(table2, tiny):
    model = DynamicsModel(Emma(tiny(3), table2), "multihot", predict_avatar=True)
    frame = np.zeros((1, 10, 10, 4), dtype=np.uint8)
    frame[0, 2, 3, 0], frame[0, 2, 3, 2], frame[0, 7, 7, 1], frame[0, 7, 7, 3] = 5, 9, 5, 15
    y = model.targets(frame)
    assert y.shape == (1, 10, 10, 17)
    assert y[0, 2, 3].nonzero().flatten().tolist() == [5, 9]
    assert y[0, 7, 7].nonzero().flatten().tolist() == [5, 15]
    assert y[0, 0, 0].nonzero().flatten().tolist() == [0]
    swapped = frame.copy()
    swapped[0, 2, 3, [0, 2]] = swapped[0, 2, 3, [2, 0]]
    assert torch.equal(model.targets(swapped), y)  # the layer an entity sits in does not matter
    entities_only = DynamicsModel(Emma(tiny(3), table2), "multihot")
    assert entities_only.targets(frame)[0, 7, 7].nonzero().flatten().tolist() == [5]
    layered = DynamicsModel(Emma(tiny(3), table2), "layered")
    assert layered.targets(frame).shape == (1, 10, 10, 3)
    avatar_only = DynamicsModel(Emma(tiny(3), table2), "multihot", predict_avatar=True, predict_entities=False)
    y_avatar = avatar_only.targets(frame)
    assert y_avatar[0, 7, 7].nonzero().flatten().tolist() == [15]  # the entity under the avatar is not a target
    assert y_avatar[0, 2, 3].nonzero().flatten().tolist() == [0]
    assert int(y_avatar[..., 1:].sum()) == 1
    assert DynamicsModel(Emma(tiny(3), table2), "layered", predict_avatar=True,
                         predict_entities=False).targets(frame).tolist() == frame[..., 3:].tolist()
    with pytest.raises(ValueError, match="entity layers, the avatar layer or both"):
        DynamicsModel(Emma(tiny(3), table2), "multihot", predict_avatar=False, predict_entities=False)
    with pytest.raises(ConfigError, match="predict_entities=false needs dynamics.predict_avatar=true"):
        DynamicsConfig(predict_avatar=False, predict_entities=False)


@pytest.mark.parametrize("target,entities", [("multihot", True), ("layered", True), ("multihot", False)])
def test_dynamics_loss_decreases_on_a_few_demonstrations(tmp_path, demos2, table2, target, entities, tiny):
    train, val = demos2
    cfg = DynamicsConfig(target=target, lr=3e-3, steps=60, eval_every=30, batch_size=16, progress=False,
                         predict_avatar=not entities, predict_entities=entities, emma=tiny(3))
    torch.manual_seed(0)
    data = TransitionSet(train, table2)
    probe = DynamicsModel(Emma(cfg.emma, table2), target, cfg.predict_avatar, cfg.predict_entities)
    idx = np.arange(32)
    start, _ = probe.loss_and_accuracy(data.obs(idx), data.next_frames(idx))
    result = train_dynamics(cfg, train, val, table2, tmp_path / "dyn")
    lines = [json.loads(line) for line in (tmp_path / "dyn" / "metrics.jsonl").read_text().splitlines()]
    train_lines = [r for r in lines if "losses/dynamics" in r]
    val_lines = [r for r in lines if "eval/validation/losses/dynamics" in r]
    assert [r["step"] for r in val_lines] == [30, 60]  # the one trainer's evaluation schedule
    assert train_lines[-1]["charts/examples_per_second"] > 0  # no token batches: throughput per example
    assert train_lines[-1]["losses/dynamics"] < start.item() * 0.7
    assert val_lines[-1]["eval/validation/losses/dynamics"] < start.item()
    assert 0.0 <= result["best"]["accuracy"] <= 1.0 and result["best"]["step"] in (30, 60)
    # the kept weights are those of the best validation occupied-cell accuracy
    best_line = max(val_lines, key=lambda r: r["eval/validation/occupied_accuracy"])
    assert result["best"]["step"] == best_line["step"]
    assert result["best"]["occupied_accuracy"] == pytest.approx(best_line["eval/validation/occupied_accuracy"])
    assert (tmp_path / "dyn" / "checkpoint.pt").exists()
    assert train_dynamics(cfg, train, val, table2, tmp_path / "dyn") == result  # reused
    # the saved trunk + head score on the validation demonstrations exactly what was recorded for the kept step
    loaded, record = load_dynamics(tmp_path / "dyn" / "checkpoint.pt")
    assert (loaded.predict_avatar, loaded.predict_entities) == (cfg.predict_avatar, cfg.predict_entities)
    again = validate(loaded, TransitionSet(val, table2), cfg.val_transitions)
    assert again["occupied_accuracy"] == pytest.approx(result["best"]["occupied_accuracy"], abs=1e-6)
    assert again["loss"] == pytest.approx(result["best"]["loss"], rel=1e-5)


def test_bc_loss_decreases(tmp_path, demos2, table2, tiny):
    train, val = demos2
    cfg = BCConfig(lr=3e-3, steps=200, batch_size=32, eval_every=100, eval_episodes=4, progress=False,
                   emma=tiny(3))
    data = TransitionSet(train, table2)
    idx = np.arange(len(data))
    torch.manual_seed(0)
    start, _ = bc_loss(Emma(cfg.emma, table2), data, idx)
    result = train_bc(cfg, train, val, table2, tmp_path / "bc")
    from lexiq.agents.messenger.emma import load_emma

    model, _ = load_emma(str(tmp_path / "bc" / "checkpoint.pt"))
    end, acc = bc_loss(model, data, idx)
    assert end.item() < start.item() * 0.8 and acc > 0.4
    assert 0.0 <= result["win_rate"] <= 1.0 and "val_accuracy" in result


def test_recording_rejects_zero_episodes():
    with pytest.raises(ValueError, match="at least 1"):
        record_demos(1, "train", 0, manual="template")
