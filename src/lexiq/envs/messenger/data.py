"""Where the Messenger data files are and how they are read (``games.json``, ``texts/text_{split}.json``).

A Messenger data folder is laid out as ``messenger/envs/`` of ``ahjwang/messenger-emma`` (Hanjie et al., ICML
2021): ``games.json`` and ``texts/text_train.json``, ``text_val.json``, ``text_test.json``. It is found from an
explicit ``root`` (the folder itself, or a data folder holding ``messenger/``), else from
``$LEXIQ_DATA_MIRROR/messenger``. Nothing is downloaded. A missing folder is a one-line FileNotFoundError naming
the path that was looked at.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from lexiq.envs.messenger.entities import NAME_TO_ID, ROLES, TYPES
from lexiq.envs.messenger.games import parse_games

MIRROR_ENV = "LEXIQ_DATA_MIRROR"
"""The environment variable of the shared data mirror (same name as :mod:`lexiq.data.loaders.registry`)."""
TEXT_SPLITS = ("train", "val", "test")
_HINT = ("pass root= a folder with games.json and texts/text_{train,val,test}.json, set LEXIQ_DATA_MIRROR to a "
         "data folder holding messenger/, or use manual='template'")


def find_data_folder(root: str | os.PathLike[str] | None = None) -> Path | None:
    """The Messenger data folder (``root``, ``root/messenger``, else ``$LEXIQ_DATA_MIRROR/messenger``), or None
    when no candidate holds ``games.json``."""
    candidates: list[Path] = []
    if root is not None:
        candidates = [Path(root), Path(root) / "messenger"]
    elif os.environ.get(MIRROR_ENV):
        candidates = [Path(os.environ[MIRROR_ENV]) / "messenger"]
    return next((c for c in candidates if (c / "games.json").is_file()), None)


def resolve_data_folder(root: str | os.PathLike[str] | None = None) -> Path:
    """Like :func:`find_data_folder` but a one-line FileNotFoundError names the path when nothing is found."""
    folder = find_data_folder(root)
    if folder is not None:
        return folder
    if root is not None:
        raise FileNotFoundError(f"Messenger data not found: {Path(root) / 'games.json'} does not exist; {_HINT}")
    if os.environ.get(MIRROR_ENV):
        where = Path(os.environ[MIRROR_ENV]) / "messenger" / "games.json"
        raise FileNotFoundError(f"Messenger data not found: {where} does not exist ({MIRROR_ENV} is set); {_HINT}")
    raise FileNotFoundError(f"Messenger data not found: no root given and {MIRROR_ENV} is not set; {_HINT}")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"Messenger data file {path} does not exist; {_HINT}")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None


@lru_cache(maxsize=16)
def _games_cached(path: str, mtime: float) -> dict[str, np.ndarray]:
    return parse_games(_read_json(Path(path)), path)


def load_games(folder: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """``folder/games.json`` parsed by :func:`~lexiq.envs.messenger.games.parse_games` (cached per file)."""
    path = Path(folder) / "games.json"
    if not path.is_file():
        raise FileNotFoundError(f"Messenger data file {path} does not exist; {_HINT}")
    return _games_cached(str(path), path.stat().st_mtime)


def check_text_pool(data: Any, where: str) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Validate ``{entity: {role: {type: [sentences]}}}``; missing entities, roles or types count as empty lists.

    Unknown entity / role / type names and non-string sentences raise a one-line ValueError naming ``where``.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object {{entity: {{role: {{type: [sentences]}}}}}}")
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for entity, roles in data.items():
        if entity not in NAME_TO_ID:
            raise ValueError(f"{where}: unknown entity {entity!r}; expected names from {', '.join(NAME_TO_ID)}")
        if not isinstance(roles, dict) or set(roles) - set(ROLES):
            raise ValueError(f"{where}: {entity!r} must map roles ({', '.join(ROLES)}) to objects")
        out[entity] = {}
        for role, types in roles.items():
            if not isinstance(types, dict) or set(types) - set(TYPES):
                raise ValueError(f"{where}: {entity}.{role} must map types ({', '.join(TYPES)}) to sentence lists")
            for typ, sentences in types.items():
                if not isinstance(sentences, list) or not all(isinstance(s, str) and s for s in sentences):
                    raise ValueError(f"{where}: {entity}.{role}.{typ} must be a list of non-empty strings")
            out[entity][role] = {typ: list(types.get(typ, [])) for typ in TYPES}
    return out


@lru_cache(maxsize=16)
def _texts_cached(path: str, mtime: float) -> dict[str, dict[str, dict[str, list[str]]]]:
    return check_text_pool(_read_json(Path(path)), path)


def load_texts(folder: str | os.PathLike[str], text_split: str) -> dict[str, dict[str, dict[str, list[str]]]]:
    """The sentence pool ``folder/texts/text_{text_split}.json`` (validated, cached per file)."""
    if text_split not in TEXT_SPLITS:
        raise ValueError(f"unknown manual pool {text_split!r}; expected one of {', '.join(TEXT_SPLITS)}")
    path = Path(folder) / "texts" / f"text_{text_split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"Messenger data file {path} does not exist; {_HINT}")
    return _texts_cached(str(path), path.stat().st_mtime)
