"""Strict, atomic JSON files: every ``results.json``, ``summary.json`` and cache file lexiq writes goes through
:func:`write_json`, so a reader never sees a half-written file and never meets ``NaN`` (which strict JSON parsers
reject)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively through dicts, lists and tuples."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented strict JSON to ``path`` through a temporary file in the same folder that is moved
    over it: if serialising fails, the previous file (if any) is left as it was and no temporary file remains."""
    path = Path(path)
    text = json.dumps(json_safe(data), indent=2, allow_nan=False)  # fails before anything is written
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
