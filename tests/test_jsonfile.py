"""lexiq.jsonfile: strict JSON (no NaN) written atomically."""

import json

import pytest

from lexiq.jsonfile import json_safe, write_json


def test_nan_and_infinities_become_null_and_the_file_parses_as_strict_json(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"a": [1.0, float("nan")], "b": {"c": float("-inf"), "d": ("x", 2)}})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict constant {c}")) == {
        "a": [1.0, None], "b": {"c": None, "d": ["x", 2]}}
    assert json_safe({"k": float("inf")}) == {"k": None}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
