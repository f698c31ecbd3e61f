"""Scenes of the visual-dialogue task: a caption, the image's feature vector and (optionally) the percentile the
caption alone reaches.

A scenes file is JSONL (one scene per line) or a JSON list of the same objects::

    {"caption": "a man riding a bike down a street", "img_features": [0.0012, ...], "initial_percentile": 0.41}

``img_features`` is the image's VGG-16 fc7 feature (4,096 numbers for the upstream server); it is L2-normalised
on load, as the protocol expects. ``initial_percentile`` is ``p_0`` of the upstream reward cache; without it the
environment asks the server (``/fetch_reward_rank`` with an empty history) at every reset. To build such a file
from VisDial v0.5, pair each scene of the split's JSON with its row of ``images_{split}`` in ``data_img.h5``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SceneFormatError(ValueError):
    """A scene record is invalid; the message names the file and line (or index) and what was expected."""


@dataclass(frozen=True)
class Scene:
    """One hidden image: its caption, its L2-normalised feature and, if known, ``p_0``."""

    caption: str
    img_features: tuple[float, ...]
    initial_percentile: float | None = None


def scene_from_dict(record: Any, where: str = "scene") -> Scene:
    """A :class:`Scene` from its JSON object (features L2-normalised); errors name ``where``."""
    if not isinstance(record, dict):
        raise SceneFormatError(f"{where}: expected an object with caption and img_features, got "
                               f"{type(record).__name__}")
    unknown = set(record) - {"caption", "img_features", "initial_percentile"}
    if unknown:
        raise SceneFormatError(f"{where}: unexpected keys {sorted(unknown)}; expected caption, img_features, "
                               "initial_percentile")
    caption = record.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        raise SceneFormatError(f"{where}: expected 'caption' to be a non-empty string, got {caption!r:.40}")
    feats = record.get("img_features")
    if (not isinstance(feats, list) or not feats
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in feats)):
        raise SceneFormatError(f"{where}: expected 'img_features' to be a non-empty list of numbers")
    norm = math.sqrt(math.fsum(float(x) * float(x) for x in feats))
    if not math.isfinite(norm) or norm == 0:
        raise SceneFormatError(f"{where}: 'img_features' must be finite and not all zero (it is L2-normalised)")
    p0 = record.get("initial_percentile")
    if p0 is not None and (isinstance(p0, bool) or not isinstance(p0, int | float) or not 0 <= p0 <= 1):
        raise SceneFormatError(f"{where}: expected 'initial_percentile' to be a number in [0, 1], got {p0!r:.40}")
    return Scene(caption, tuple(float(x) / norm for x in feats), None if p0 is None else float(p0))


def load_scenes(source: str | os.PathLike[str] | Sequence[Scene | dict[str, Any]]) -> list[Scene]:
    """Scenes from a JSONL / JSON file, or from a list of :class:`Scene` objects or scene dicts."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("["):
            try:
                records = json.loads(text)
            except json.JSONDecodeError as err:
                raise SceneFormatError(f"{path}: malformed JSON ({err.msg} at line {err.lineno})") from None
            scenes = [scene_from_dict(r, f"{path}: scene {i}") for i, r in enumerate(records)]
        else:
            scenes = []
            for lineno, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise SceneFormatError(f"{path}:{lineno}: malformed JSON ({err.msg}); expected one scene "
                                           "object per line") from None
                scenes.append(scene_from_dict(record, f"{path}:{lineno}"))
        where = str(path)
    else:
        scenes = [s if isinstance(s, Scene) else scene_from_dict(s, f"scene {i}") for i, s in enumerate(source)]
        where = "scenes"
    if not scenes:
        raise SceneFormatError(f"{where}: no scene: expected at least one {{caption, img_features}} object")
    return scenes
