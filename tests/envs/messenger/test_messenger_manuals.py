"""Manual sampling per stage and split (specs/ldd_messenger.md C.2-C.4, C.7). Fixture sentences read
``split|entity|role|type|k``, so each test can tell exactly which pool a sentence came from."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lexiq.envs.messenger.engine import MessengerEngine
from lexiq.envs.messenger.entities import ENTITY_NAMES, ROLES, TYPES
from lexiq.envs.messenger.templates import template_pool


def manuals(root, stage: int, split: str, n: int = 200, seed: int = 0):
    engine = MessengerEngine(stage, split, n, seed=seed, root=str(root))
    engine.reset()
    return engine, [[tuple(s.split("|")[:4]) for s in engine.manual(i)] for i in range(n)]


@pytest.mark.parametrize(("split", "pool"), [("train-mc", "train"), ("train-sc", "train"), ("train", "train"),
                                             ("val", "val"), ("test", "test")])
def test_stage2_manual_comes_from_the_split_pool_and_true_types(fixture_root, split, pool):
    engine, rows = manuals(fixture_root, 2, split)
    unknown = 0
    for i, manual in enumerate(rows):
        assert len(manual) == 3 and {s[0] for s in manual} == {pool}
        names = [ENTITY_NAMES[e] for e in engine.game[i].tolist()]
        expected = {(names[r], ROLES[r]) for r in range(3)}
        assert {(e, r) for _, e, r, _ in manual} == expected
        for _, _, r, t in manual:
            true_type = TYPES[int(engine.types[i, ROLES.index(r)])]
            assert t in (true_type, "unknown")
            unknown += t == "unknown"
    assert 0.08 < unknown / 600 < 0.22  # probability 0.15 per sentence


def test_manual_order_is_shuffled(fixture_root):
    _, rows = manuals(fixture_root, 2, "val")
    first_roles = Counter(m[0][2] for m in rows)
    assert set(first_roles) == set(ROLES) and min(first_roles.values()) > 30


def test_stage1_manual_uses_immovable_and_unknown_sentences(fixture_root):
    engine, rows = manuals(fixture_root, 1, "val")
    kinds = Counter()
    for i, manual in enumerate(rows):
        names = [ENTITY_NAMES[e] for e in engine.game[i].tolist()]
        assert {(e, r) for _, e, r, _ in manual} == {(names[r], ROLES[r]) for r in range(3)}
        kinds.update(t for *_, t in manual)
    assert set(kinds) == {"immovable", "unknown"}


def test_stage3_manual_composition(fixture_root):
    engine, rows = manuals(fixture_root, 3, "test")
    misleading_roles = Counter()
    for i, manual in enumerate(rows):
        enemy, message, goal = (ENTITY_NAMES[e] for e in engine.game[i].tolist())
        types = [TYPES[t] for t in engine.types[i].tolist()]
        assert len(manual) == 6 and all(t != "unknown" for *_, t in manual)
        expected = [(enemy, "enemy", types[0]), (message, "message", types[1]), (goal, "goal", types[2]),
                    (message, "enemy", types[3]), (goal, "enemy", types[4])]
        rest = Counter(tuple(s[1:]) for s in manual)
        for item in expected:
            assert rest[item] >= 1
            rest[item] -= 1
        (e, role, t), = [k for k, v in rest.items() if v]
        assert e == enemy and role in ("message", "goal") and t != types[0]  # the misleading sentence
        misleading_roles[role] += 1
    assert set(misleading_roles) == {"message", "goal"}


def test_stage3_decoys_move_differently_from_their_real_entity(fixture_root):
    engine, _ = manuals(fixture_root, 3, "val")
    assert (engine.types[:, 3] != engine.types[:, 1]).all() and (engine.types[:, 4] != engine.types[:, 2]).all()


def test_stage2_test_has_new_dynamics_and_test_se_the_training_ones(fixture_root):
    engine, rows = manuals(fixture_root, 2, "test", n=300)
    assert any(len(set(t)) < 3 for t in engine.types.tolist())  # 27 assignments with repetition
    se, rows_se = manuals(fixture_root, 2, "test-se", n=300)
    assert all(sorted(t) == [0, 1, 2] for t in se.types.tolist())  # the 6 permutations
    assert {s[0] for m in rows_se for s in m} == {"test"}


def test_train_mixture_uses_both_game_lists(fixture_root):
    engine = MessengerEngine(2, "train", 400, seed=0, root=str(fixture_root), mc_prob=0.75)
    engine.reset()
    single = sum(ENTITY_NAMES[int(e)] == "dog" for e in engine.game[:, 0])
    assert 0.15 < single / 400 < 0.35
    only_mc = MessengerEngine(2, "train", 100, seed=0, root=str(fixture_root), mc_prob=1.0)
    only_mc.reset()
    assert not (only_mc.game[:, 0] == 4).any()  # dog: single-combination game only


def test_shared_pools_test_sentences_never_in_train_and_manuals_from_the_right_pool(shared_root):
    def sentences(split: str) -> set[str]:
        data = json.loads((shared_root / "texts" / f"text_{split}.json").read_text())
        return {s for roles in data.values() for types in roles.values() for lst in types.values() for s in lst}

    train, test = sentences("train"), sentences("test")
    assert not train & test
    for stage in (1, 2, 3):
        for split, pool in (("test", test), ("train-mc", train)):
            engine = MessengerEngine(stage, split, 100, seed=stage, root=str(shared_root))
            engine.reset()
            drawn = {s for i in range(100) for s in engine.manual(i)}
            assert drawn <= pool and len(drawn) > 50


def test_template_pools_are_disjoint_across_splits_and_need_no_data(monkeypatch):
    monkeypatch.delenv("LEXIQ_DATA_MIRROR", raising=False)
    flat = {split: {s for roles in template_pool(split).values() for types in roles.values() for lst in types.values()
                    for s in lst} for split in ("train", "val", "test")}
    assert not flat["train"] & flat["test"] and not flat["train"] & flat["val"] and not flat["val"] & flat["test"]
    for stage in (1, 2, 3):
        engine = MessengerEngine(stage, "test", 20, seed=0, manual="template")
        engine.reset()
        assert engine.manual_kind == "template" and set(engine.manual(0)) <= flat["test"]
