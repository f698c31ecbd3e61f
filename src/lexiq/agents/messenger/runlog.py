"""Run directories of the Messenger agents: ``metrics.jsonl`` lines, ``results.json``, reuse of finished runs.

A run writes ``<out>/config.json`` first and ``<out>/results.json`` last; :func:`finished` returns the saved
results when both exist and the saved configuration equals the one asked for (so rerunning a benchmark reuses
finished pieces), and None otherwise. A directory holding another configuration is started over.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lexiq.jsonfile import json_safe, write_json


def _line(step: int, values: dict[str, Any]) -> str:
    """One ``metrics.jsonl`` line; NaN and infinities become null (strict JSON)."""
    clean = json_safe(values)
    return json.dumps({"step": step, **clean}) + "\n"


def _step_of(line: str) -> int | None:
    """The step of a logged line, None for a line a killed run left half-written."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


class MetricsLog:
    """Appends one JSON object per call to ``<out>/metrics.jsonl`` (keys such as ``losses/policy``)."""

    def __init__(self, out: str | Path, keep_until: int | None = None) -> None:
        """Start an empty log, or with ``keep_until`` (a resumed run) keep the complete lines up to that step."""
        self.path = Path(out) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if keep_until is not None and self.path.exists():
            kept = [line for line in self.path.read_text().splitlines()
                    if (step := _step_of(line)) is not None and step <= keep_until]
        self.path.write_text("".join(line + "\n" for line in kept))

    def write(self, step: int, values: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(_line(step, values))


def append_metrics(out: str | Path, step: int, values: dict[str, Any]) -> None:
    """Add one line to an existing ``<out>/metrics.jsonl`` (e.g. a final evaluation after training)."""
    with (Path(out) / "metrics.jsonl").open("a") as f:
        f.write(_line(step, values))


def same_config(out: str | Path, config: dict[str, Any]) -> bool:
    """Whether ``<out>/config.json`` holds ``config`` (as JSON would store it)."""
    try:
        saved = json.loads((Path(out) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return saved == json.loads(json.dumps(config))


def finished(out: str | Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The ``results.json`` of a finished run of ``config`` in ``out``, else None."""
    if not same_config(out, config):
        return None
    try:
        return json.loads((Path(out) / "results.json").read_text())
    except (OSError, ValueError):
        return None


def start(out: str | Path, config: dict[str, Any]) -> Path:
    """Create ``out``, drop an old ``results.json`` and write ``config.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").unlink(missing_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return out


def write_results(out: str | Path, results: dict[str, Any]) -> None:
    """Write ``<out>/results.json`` (strict JSON, atomic, so a partial file never counts as finished)."""
    write_json(Path(out) / "results.json", results)
