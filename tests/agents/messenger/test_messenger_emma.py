"""EMMA (spec C.12): shapes, attention that ignores empty cells, the history layouts, save / load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lexiq.agents.messenger.emma import Emma, load_emma, save_emma


def _obs(table, batch: int = 2, layers: int = 1) -> dict[str, torch.Tensor]:
    frames = torch.zeros(batch, 3, 10, 10, layers + 1, dtype=torch.uint8)
    frames[:, :, 5, 5, layers] = 15  # avatar
    frames[:, :, 3, 5, 0] = 4
    frames[:, :, 5, 3, 0] = 7
    frames[:, 2, 5, 7, 0] = 9  # only in the newest frame
    return {"frames": frames, "manual": torch.arange(3 * batch).reshape(batch, 3) % len(table.sentences)}


def test_output_shapes(table1, tiny):
    torch.manual_seed(0)
    model = Emma(tiny(1), table1)
    obs = _obs(table1)
    logits, value = model(obs)
    assert logits.shape == (2, 5) and value.shape == (2,)
    assert model.features(obs).shape == (2, 4 * 9 * 9) == (2, model.feature_dim)
    stage2 = Emma(tiny(3), table1)
    assert stage2(_obs(table1, batch=4, layers=3))[0].shape == (4, 5)
    with pytest.raises(ValueError, match="expects frames"):
        model(_obs(table1, layers=3))


def test_attention_ignores_empty_cells(table1, tiny):
    torch.manual_seed(0)
    model = Emma(tiny(1), table1)
    obs = _obs(table1)
    w = model.attention(obs)
    assert w.shape == (2, 3, 10, 10, 3)
    occupied = (obs["frames"][..., 0] > 0)
    assert torch.allclose(w.sum(-1)[occupied], torch.ones(int(occupied.sum())))
    assert torch.count_nonzero(w[~occupied]) == 0  # the avatar cell and every empty cell: no attention
    # a cell's vector depends on the sentences only through its own entity: changing an empty cell changes nothing
    h0 = model.features(obs)
    obs2 = {"frames": obs["frames"].clone(), "manual": obs["manual"]}
    obs2["frames"][:, :, 0, 0, 0] = 0
    assert torch.equal(model.features(obs2), h0)


def test_empty_board_gives_zero_attention_and_the_upstream_layout_differs(table1, tiny):
    torch.manual_seed(0)
    permute = Emma(tiny(1), table1)
    upstream = Emma(tiny(1, history_layout="upstream"), table1)
    upstream.load_state_dict(permute.state_dict())
    obs = _obs(table1)
    assert not torch.allclose(permute.features(obs), upstream.features(obs))
    # even with three identical frames the upstream reshape mixes neighbouring cells into one conv input cell
    same = {"frames": obs["frames"][:, 2:3].repeat(1, 3, 1, 1, 1), "manual": obs["manual"]}
    empty = {"frames": torch.zeros_like(obs["frames"]), "manual": obs["manual"]}
    assert torch.count_nonzero(permute.attention(empty)) == 0
    assert not torch.allclose(permute.features(same), upstream.features(same))


def test_permute_layout_keeps_a_cells_frames_together(table1, tiny):
    """Moving an entity in the oldest frame changes only the conv outputs next to its cells (permute layout)."""
    torch.manual_seed(0)
    model = Emma(tiny(1), table1)
    obs = _obs(table1, batch=1)
    moved = {"frames": obs["frames"].clone(), "manual": obs["manual"]}
    moved["frames"][0, 0, 3, 5, 0] = 0
    moved["frames"][0, 0, 0, 0, 0] = 4
    diff = (model.features(obs) - model.features(moved)).abs().reshape(4, 9, 9).sum(0)
    changed = {tuple(map(int, p)) for p in np.argwhere(diff.detach().numpy() > 0)}
    allowed = {(y, x) for cy, cx in ((3, 5), (0, 0)) for y in (cy - 1, cy) for x in (cx - 1, cx)
               if 0 <= y < 9 and 0 <= x < 9}
    assert changed and changed <= allowed


def test_save_and_load_round_trip(tmp_path, table1, tiny):
    torch.manual_seed(0)
    model = Emma(tiny(1), table1)
    save_emma(str(tmp_path / "m.pt"), model, {"note": 1})
    loaded, record = load_emma(str(tmp_path / "m.pt"))
    obs = _obs(table1)
    assert record["note"] == 1 and loaded.cfg == model.cfg
    assert torch.equal(loaded(obs)[0], model(obs)[0])
