"""Run directories of the Messenger agents: ``metrics.jsonl`` lines, ``results.json``, reuse of finished runs.

A run writes ``<out>/config.json`` first and ``<out>/results.json`` last; :func:`finished` returns the saved
results when both exist and the saved configuration equals the one asked for (so rerunning a benchmark reuses
finished pieces), and None otherwise. A directory holding another configuration is started over.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


class MetricsLog:
    """Appends one JSON object per call to ``<out>/metrics.jsonl`` (keys such as ``losses/policy``)."""

    def __init__(self, out: str | Path, keep_until: int | None = None) -> None:
        """Start an empty log, or with ``keep_until`` (a resumed run) keep the lines up to that step."""
        self.path = Path(out) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = []
        if keep_until is not None and self.path.exists():
            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line)["step"] <= keep_until]
        self.path.write_text("".join(line + "\n" for line in kept))

    def write(self, step: int, values: dict[str, Any]) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **clean}) + "\n")


def append_metrics(out: str | Path, step: int, values: dict[str, Any]) -> None:
    """Add one line to an existing ``<out>/metrics.jsonl`` (e.g. a final evaluation after training)."""
    with (Path(out) / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": step, **values}) + "\n")


def finished(out: str | Path, config: dict[str, Any]) -> dict[str, Any] | None:
    """The ``results.json`` of a finished run of ``config`` in ``out``, else None."""
    out = Path(out)
    try:
        saved = json.loads((out / "config.json").read_text())
        results = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return None
    return results if saved == json.loads(json.dumps(config)) else None


def start(out: str | Path, config: dict[str, Any]) -> Path:
    """Create ``out``, drop an old ``results.json`` and write ``config.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").unlink(missing_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return out


def write_results(out: str | Path, results: dict[str, Any]) -> None:
    """Write ``<out>/results.json`` (through a temporary file, so a partial file never counts as finished)."""
    path = Path(out) / "results.json"
    tmp = path.with_name("results.json.tmp")
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(path)
