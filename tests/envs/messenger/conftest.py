"""Fixtures of the Messenger tests: a small data folder in the upstream layout, the shared mirror (when present),
and a helper that puts an engine into a hand-made state."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import NAME_TO_ID, ROLES, TYPES

FIXTURE_GAMES = {
    "train_multi_comb": [["robot", "airplane", "scientist"], ["ship", "thief", "queen"]],
    "train_single_comb": [["dog", "fish", "bird"]],
    "val": [["mage", "sword", "ball"]],
    "test": [["bird", "robot", "thief"], ["airplane", "dog", "fish"]],
}


def fixture_sentence(split: str, entity: str, role: str, typ: str, k: int) -> str:
    """Fixture sentences name their own pool, so a test can check where each manual sentence came from."""
    return f"{split}|{entity}|{role}|{typ}|{k}"


@pytest.fixture(scope="session")
def fixture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Messenger data folder: ``games.json`` and ``texts/text_{train,val,test}.json`` with two sentences per
    (entity, role, type)."""
    root = tmp_path_factory.mktemp("messenger")
    (root / "games.json").write_text(json.dumps(FIXTURE_GAMES))
    (root / "texts").mkdir()
    for split in ("train", "val", "test"):
        pool = {e: {r: {t: [fixture_sentence(split, e, r, t, k) for k in range(2)] for t in TYPES} for r in ROLES}
                for e in NAME_TO_ID}
        (root / "texts" / f"text_{split}.json").write_text(json.dumps(pool))
    return root


def _mirror() -> Path:
    env = os.environ.get("LEXIQ_DATA_MIRROR")
    if env:
        return Path(env) / "messenger"
    return Path("/work/shared/data/messenger")


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """The shared mirror's Messenger folder; the test is skipped when it is absent."""
    root = _mirror()
    if not (root / "games.json").is_file():
        pytest.skip(f"the Messenger data {root} is absent")
    return root


def _place(engine: MessengerEngine, avatar: tuple[int, int], npcs: list[tuple[int, int]],
           types: list[int] | None = None, carrying: bool = False, i: int = 0) -> None:
    """Put game ``i`` into a hand-made state: avatar and NPC slots at the given top-left **pixels**."""
    engine.avatar[i] = avatar
    engine.pos[i, : len(npcs)] = np.array(npcs)
    if types is not None:
        engine.types[i] = types
    engine.carrying[i] = carrying
    engine.alive[i] = True
    engine.avatar_alive[i] = True
    engine.done[i] = False
    engine.won[i] = False
    engine.t[i] = 0


@pytest.fixture
def place():
    """``place(engine, avatar_px, [npc_px, ...], types=None, carrying=False, i=0)``: a hand-made game state."""
    return _place


@pytest.fixture
def engine2() -> MessengerEngine:
    """A one-game stage-2 engine on template manuals (no data needed), reset."""
    engine = MessengerEngine(2, "train-mc", 1, seed=0, manual="template", max_steps=0)
    engine.reset()
    return engine
