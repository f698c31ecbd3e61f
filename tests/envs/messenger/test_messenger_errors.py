"""Bad input gives one-line errors; games, splits, variants and layouts match specs/ldd_messenger.md C.1, C.4, C.7."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lexiq.envs.messenger import MessengerEngine, MessengerEnv, MessengerVectorEnv
from lexiq.envs.messenger.data import load_games
from lexiq.envs.messenger.games import BUILTIN_GAMES, STAGE3_VARIANTS, layouts, resolve_split, variants


def one_line(exc_info: pytest.ExceptionInfo) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and text
    return text


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"stage": 4}, "unknown Messenger stage 4"),
    ({"stage": "2"}, "unknown Messenger stage '2'"),
    ({"split": "dev"}, "unknown Messenger split 'dev'"),
    ({"stage": 1, "split": "test-se"}, "only in stage 2"),
    ({"manual": "gpt"}, "unknown manual kind 'gpt'"),
    ({"max_steps": -1}, "max_steps must be an int >= 0"),
    ({"mc_prob": 1.5}, "mc_prob must be a probability"),
    ({"n": 0}, "n must be an int >= 1"),
])
def test_bad_arguments(kwargs, match):
    args = {"stage": 2, "split": "val", "manual": "template", **kwargs}
    with pytest.raises(ValueError, match=match) as exc:
        MessengerEngine(**args)
    one_line(exc)


def test_bad_actions():
    env = MessengerEnv(2, "val", seed=0, manual="template")
    env.reset()
    for bad in (5, -1, 1.5, "up", True):
        with pytest.raises(ValueError, match="int in 0..4") as exc:
            env.step(bad)
        one_line(exc)
    venv = MessengerVectorEnv(2, 2, "val", seed=0, manual="template")
    venv.reset()
    with pytest.raises(ValueError, match="expected 2 actions") as exc:
        venv.step(np.array([0, 1, 2]))
    one_line(exc)


def test_missing_data_folder_names_the_path(tmp_path, monkeypatch):
    monkeypatch.delenv("LEXIQ_DATA_MIRROR", raising=False)
    with pytest.raises(FileNotFoundError, match="LEXIQ_DATA_MIRROR is not set") as exc:
        MessengerEnv(2, "val")
    one_line(exc)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere" / "games.json")) as exc:
        MessengerEnv(2, "val", root=str(tmp_path / "nowhere"))
    assert "manual='template'" in one_line(exc)
    monkeypatch.setenv("LEXIQ_DATA_MIRROR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "messenger" / "games.json")) as exc:
        MessengerEnv(2, "val")
    one_line(exc)
    with pytest.warns(UserWarning, match="template"):  # auto falls back only when asked to, with a warning
        engine = MessengerEngine(2, "val", manual="auto")
    assert engine.manual_kind == "template"


def test_mirror_env_var_and_data_folder_root(fixture_root, tmp_path, monkeypatch):
    parent = tmp_path / "mirror"
    shutil.copytree(fixture_root, parent / "messenger")
    monkeypatch.setenv("LEXIQ_DATA_MIRROR", str(parent))
    engine = MessengerEngine(2, "val")
    assert engine.manual_kind == "human" and engine.data_folder == parent / "messenger"
    assert MessengerEngine(2, "val", root=str(parent)).data_folder == parent / "messenger"  # a data folder as root


def test_broken_files_name_the_file(fixture_root, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(fixture_root, root)
    (root / "texts" / "text_val.json").write_text("{not json")
    with pytest.raises(ValueError, match="text_val.json: not valid JSON") as exc:
        MessengerEngine(2, "val", root=str(root))
    one_line(exc)
    pool = json.loads((fixture_root / "texts" / "text_val.json").read_text())
    pool["sword"]["message"]["unknown"] = []  # val game: mage / sword / ball
    (root / "texts" / "text_val.json").write_text(json.dumps(pool))
    with pytest.raises(ValueError, match="no sentence for sword as message with type unknown") as exc:
        MessengerEngine(2, "val", root=str(root))
    one_line(exc)
    MessengerEngine(3, "val", root=str(root))  # stage 3 never uses unknown sentences
    (root / "games.json").write_text(json.dumps({"train_multi_comb": [["robot", "robot", "queen"]]}))
    with pytest.raises(ValueError, match="games.json") as exc:
        MessengerEngine(2, "val", root=str(root))
    one_line(exc)


def test_builtin_games_equal_the_upstream_file(shared_root):
    games = load_games(shared_root)
    assert set(games) == set(BUILTIN_GAMES)
    for key, table in games.items():
        assert np.array_equal(table, BUILTIN_GAMES[key])


def test_game_split_sizes_and_resolution():
    assert {k: len(v) for k, v in BUILTIN_GAMES.items()} == {"train_multi_comb": 40, "train_single_comb": 4,
                                                              "val": 32, "test": 32}
    assert resolve_split(2, "train_mc").game_keys == ("train_multi_comb",)
    assert resolve_split(2, "train").game_keys == ("train_multi_comb", "train_single_comb")
    assert resolve_split(2, "test").new_dynamics and not resolve_split(2, "test-se").new_dynamics
    assert not resolve_split(3, "test").new_dynamics and resolve_split(1, "val").text_split == "val"


def test_variants_and_layouts():
    assert variants(1).tolist() == [[2, 2, 2]]
    assert len(variants(2)) == 6 and len(variants(2, new_dynamics=True)) == 27
    assert {tuple(sorted(v)) for v in variants(2).tolist()} == {(0, 1, 2)}
    assert len(STAGE3_VARIANTS) == 18 and len({tuple(v) for v in STAGE3_VARIANTS.tolist()}) == 18
    v = STAGE3_VARIANTS
    assert (v[:, 3] != v[:, 1]).all() and (v[:, 4] != v[:, 2]).all()  # each decoy moves unlike its real entity
    assert [len(layouts(s)) for s in (1, 2, 3)] == [24, 24, 720]
