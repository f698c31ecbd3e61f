"""TextWorld games generated offline, in pools of one split each (train, valid, test).

TextWorld (Côté et al., "TextWorld: A Learning Environment for Text-based Games", 2018, arXiv 1806.11532) builds
a game from a map, objects and a quest with its own generator (``textworld.generator.make_game``, the same code
as ``tw-make custom``) and compiles it to a Z-machine file (``.z8``, with a ``.json`` description beside it).
:class:`GameSpec` holds the knobs; game ``i`` of a pool is generated with the TextWorld seed
``base_seed + i`` of its split (:data:`SPLIT_SEEDS`), so the training games and the held-out games come from
disjoint seeds of the same distribution. A seed whose quest cannot be generated, or whose game repeats one of
``exclude`` (same objective and walkthrough: a held-out game identical to a training game), is skipped and the
next seed is tried, deterministically.

A pool directory holds ``game_000.z8`` (+ ``.json``) ... and ``pool.json`` (the spec, split, seeds and each
game's objective and walkthrough). Asking again for the same pool reuses the files; asking for more games of the
same pool adds them; a directory holding another spec is an error (choose a new directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SPLIT_SEEDS = {"train": 0, "valid": 20_000, "test": 40_000}
"""First TextWorld seed of each split's games (seeds are < 65,535 in TextWorld's own seeding)."""
MANIFEST = "pool.json"


def require_textworld() -> Any:
    """The ``textworld`` module, or a :class:`~lexiq.envs.extras.MissingExtraError` that says how to install it."""
    from lexiq.envs.extras import require

    return require("textworld", "textworld", "textworld>=1.6")


@dataclass
class GameSpec:
    """How the games of a pool are generated (``tw-make custom`` settings)."""

    min_rooms: int = 1
    """Fewest rooms of a game (the count of each game is drawn uniformly from min_rooms..max_rooms)."""
    max_rooms: int = 2
    """Most rooms of a game."""
    objects: int = 4
    """Minimum number of objects in the world (distractors are added up to it)."""
    min_quest_length: int = 1
    """Fewest actions the quest needs."""
    max_quest_length: int = 3
    """Most actions the quest needs."""
    theme: str = "house"
    """Text grammar theme."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_rooms <= self.max_rooms:
            raise ValueError(f"GameSpec: expected 1 <= min_rooms <= max_rooms, got {self.min_rooms}, {self.max_rooms}")
        if not 1 <= self.min_quest_length <= self.max_quest_length:
            raise ValueError(f"GameSpec: expected 1 <= min_quest_length <= max_quest_length, got "
                             f"{self.min_quest_length}, {self.max_quest_length}")
        if self.objects < 0:
            raise ValueError(f"GameSpec: expected objects >= 0, got {self.objects}")


def generate_game(spec: GameSpec, seed: int, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Generate and compile one game with TextWorld seed ``seed`` into ``path`` (``.z8``; a ``.json`` lands beside
    it). Returns ``{"seed", "rooms", "objective", "walkthrough", "max_score"}``; raises ValueError when TextWorld
    finds no quest for this seed."""
    require_textworld()
    from textworld import GameOptions
    from textworld.generator import QuestGenerationError, compile_game, make_game
    from textworld.generator.data import KnowledgeBase

    rooms = random.Random(seed).randint(spec.min_rooms, spec.max_rooms)
    opts = GameOptions()
    opts.kb = KnowledgeBase.default()  # the logic parsed once at import (a fresh GameOptions parses it again: ~1 s)
    opts.seeds = int(seed)
    opts.nb_rooms = rooms
    opts.nb_objects = spec.objects
    opts.chaining.min_length = spec.min_quest_length
    opts.chaining.max_length = spec.max_quest_length
    opts.chaining.max_depth = spec.max_quest_length
    opts.grammar.theme = spec.theme
    dest = Path(path).with_suffix(".z8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    opts.path = str(dest)
    opts.force_recompile = True
    try:
        game = make_game(opts)
    except (QuestGenerationError, ValueError, IndexError) as exc:
        raise ValueError(f"TextWorld seed {seed}: no game ({type(exc).__name__}: {exc})") from None
    compile_game(game, opts)
    dest.with_suffix(".ni").unlink(missing_ok=True)  # the Inform 7 source is not needed to play
    return {"seed": int(seed), "rooms": rooms, "objective": game.objective,
            "walkthrough": list(game.walkthrough or []), "max_score": int(game.max_score)}


def fingerprint(record: dict[str, Any]) -> str:
    """What makes two generated games the same for a player: objective and walkthrough."""
    text = record["objective"] + "\x1f" + "\x1e".join(record["walkthrough"])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a pool manifest ({exc.msg}); delete the directory") from None


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, directory / MANIFEST)


def generate_pool(directory: str | os.PathLike[str], spec: GameSpec, split: str, n_games: int,
                  exclude: set[str] | None = None, max_tries: int = 20) -> list[Path]:
    """The first ``n_games`` game files of the ``split`` pool in ``directory`` (generated now where missing).

    Game seeds run from ``SPLIT_SEEDS[split]`` upwards; seeds without a quest or whose game's fingerprint is in
    ``exclude`` are skipped (at most ``max_tries`` per game before giving up)."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_SEEDS)}")
    if n_games < 1:
        raise ValueError(f"n_games={n_games}: expected at least 1")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {"spec": asdict(spec), "split": split, "base_seed": SPLIT_SEEDS[split]}
    manifest = _read_manifest(out)
    if manifest is not None and {k: manifest.get(k) for k in wanted} != wanted:
        raise ValueError(f"{out}: holds a pool of other games ({manifest.get('split')} split, spec "
                         f"{manifest.get('spec')}); choose a new directory or delete it")
    if manifest is None:
        manifest = {**wanted, "next_seed": SPLIT_SEEDS[split], "games": []}
    games: list[dict[str, Any]] = manifest["games"]
    exclude = set(exclude or ())
    seen = {fingerprint(g) for g in games}
    while len(games) < n_games:
        name = f"game_{len(games):03d}"
        for _ in range(max_tries):
            seed = manifest["next_seed"]
            manifest["next_seed"] = seed + 1
            try:
                record = generate_game(spec, seed, out / f"{name}.z8")
            except ValueError:
                continue
            fp = fingerprint(record)
            if fp in exclude or fp in seen:
                continue
            seen.add(fp)
            games.append({"file": f"{name}.z8", "fingerprint": fp, **record})
            _write_manifest(out, manifest)
            break
        else:
            raise ValueError(f"{out}: no new game in {max_tries} seeds up to {manifest['next_seed'] - 1}; the spec "
                             "allows too few distinct games")
    return [out / g["file"] for g in games[:n_games]]


def pool_records(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-game records (file, seed, objective, walkthrough, ...) of a pool directory's manifest."""
    manifest = _read_manifest(Path(directory))
    if manifest is None:
        raise FileNotFoundError(f"{directory}: no {MANIFEST} (generate the pool with lexiq data textworld)")
    return list(manifest["games"])


def pool_fingerprints(directory: str | os.PathLike[str]) -> set[str]:
    """Fingerprints of a pool's games (to exclude them from another split)."""
    return {g["fingerprint"] for g in pool_records(directory)}
